// The documentation cannot drift: docs/configuration.md holds the settings table the schema gives now, and every
// relative link in README.md, docs/ and bench/README.md leads to a file (and to a heading, when it names one).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { withSettingsTable } from "../../scripts/settings-table.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");

const MARKDOWN = [
  "README.md",
  "bench/README.md",
  ...readdirSync(path.join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];

describe("docs/configuration.md", () => {
  it("holds the settings table that `npm run docs:config` writes from the settings schema now", () => {
    const doc = read("docs/configuration.md");
    expect(doc, "run `npm run docs:config` and commit docs/configuration.md").toBe(withSettingsTable(doc));
  });
});

describe.each(MARKDOWN)("%s", (file) => {
  it("links only to files and headings that exist", () => {
    const broken = relativeLinks(read(file))
      .map((link) => ({ link, problem: checkLink(file, link) }))
      .filter(({ problem }) => problem !== undefined)
      .map(({ link, problem }) => `${link}: ${problem}`);
    expect(broken).toEqual([]);
  });
});

/** The targets of the Markdown links outside code, except those with a scheme (https:, mailto:). */
function relativeLinks(markdown: string): string[] {
  const prose = withoutCode(markdown).replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)]
    .map((match) => match[1])
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** Why `link` in `file` leads nowhere, or undefined when it resolves. */
function checkLink(file: string, link: string): string | undefined {
  const [target, fragment] = link.split("#", 2);
  const resolved = target ? path.join(path.dirname(file), target) : file;
  if (!existsSync(path.join(ROOT, resolved))) return `no file ${resolved}`;
  if (fragment === undefined || !resolved.endsWith(".md")) return undefined;
  return headingAnchors(read(resolved)).has(fragment) ? undefined : `no heading #${fragment} in ${resolved}`;
}

/** The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const [, heading] of withoutCode(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const slug = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    let anchor = slug;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${slug}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

// Fenced code holds shell comments and JSON, not headings or links.
function withoutCode(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, "");
}
