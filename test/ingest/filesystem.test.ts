// The filesystem source on a real folder tree: which files a folder, a file or a glob stands for, and the
// blobs read from them.
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BadRequestError } from "../../src/errors.ts";
import type { SourceBlob } from "../../src/ingest/sources/blob.ts";
import { filesystemSource, listFilesystemSources } from "../../src/ingest/sources/filesystem.ts";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures");

async function collect(source: AsyncIterable<SourceBlob>): Promise<SourceBlob[]> {
  const blobs: SourceBlob[] = [];
  for await (const blob of source) blobs.push(blob);
  return blobs;
}

describe("filesystemSource", () => {
  let dir: string;
  const at = (...parts: string[]) => path.join(dir, ...parts);

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-fs-"));
    for (const folder of ["policies", ".git", "node_modules/pkg", ".hidden"])
      await mkdir(at(folder), { recursive: true });
    const copies: [string, string][] = [
      ["fake-memo.pdf", "memo.pdf"],
      ["handbook-1p.docx", "policies/handbook.docx"],
      ["fastify-getting-started.md", "policies/guide.md"],
      ["debian-releases.csv", "RELEASES.CSV"],
      ["paystub.jpg", "paystub.jpg"],
      ["fastify-getting-started.md", "node_modules/pkg/README.md"],
      ["fastify-getting-started.md", ".hidden/notes.md"],
      ["fake-memo.txt", ".draft.txt"],
      ["fake-memo.txt", ".git/HEAD.txt"],
    ];
    for (const [from, to] of copies) await copyFile(path.join(FIXTURES, from), at(to));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("walks a folder recursively for readable extensions, skipping dotfiles and node_modules", async () => {
    expect(await listFilesystemSources(dir)).toEqual(
      [at("RELEASES.CSV"), at("memo.pdf"), at("policies/guide.md"), at("policies/handbook.docx")].sort(),
    );
  });

  it("yields each file's bytes with its absolute path as source and its file name as name", async () => {
    const blobs = await collect(filesystemSource(dir));
    const memo = blobs.find((b) => b.source === at("memo.pdf"));
    expect(memo?.name).toBe("memo.pdf");
    expect(memo?.data.equals(await readFile(path.join(FIXTURES, "fake-memo.pdf")))).toBe(true);
    expect(blobs.find((b) => b.source === at("policies/handbook.docx"))?.name).toBe("handbook.docx");
  });

  it("names a file the same however it was reached, so its chunks do not change", async () => {
    const fromRoot = (await collect(filesystemSource(dir))).find((b) => b.source.endsWith("handbook.docx"));
    const fromSub = (await collect(filesystemSource(at("policies")))).find((b) =>
      b.source.endsWith("handbook.docx"),
    );
    expect(fromSub?.name).toBe(fromRoot?.name);
    expect(fromSub?.source).toBe(fromRoot?.source);
  });

  it("takes a file given by path whatever its extension, leaving the type to the loaders", async () => {
    const blobs = await collect(filesystemSource(at("paystub.jpg")));
    expect(blobs.map((b) => b.source)).toEqual([at("paystub.jpg")]);
  });

  it("expands a glob, absolute or relative to cwd, without dotfiles or node_modules", async () => {
    expect(await listFilesystemSources(`${dir}/**/*.md`)).toEqual([at("policies/guide.md")]);
    expect(await listFilesystemSources("**/*.{pdf,jpg}", { cwd: dir })).toEqual([
      at("memo.pdf"),
      at("paystub.jpg"),
    ]);
  });

  it("refuses a path that does not exist", async () => {
    await expect(listFilesystemSources(at("missing"))).rejects.toBeInstanceOf(BadRequestError);
  });

  it("skips a file deleted between listing and reading", async () => {
    const source = filesystemSource(dir);
    const first = await source.next();
    expect(first.value?.source).toBe(at("RELEASES.CSV"));
    await rm(at("memo.pdf"));
    const rest = await collect(source);
    expect(rest.map((b) => b.source)).toEqual([at("policies/guide.md"), at("policies/handbook.docx")]);
  });
});
