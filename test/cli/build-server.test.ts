// scripts/build-server.ts: what `npm start` compiles the service with before running dist/main.js.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { buildServer } from "../../scripts/build-server.ts";
import { type CounselProcess, startCounsel, stopCounsel } from "../helpers/counsel-process.ts";
import { ROOT } from "../helpers/services.ts";

const run = promisify(execFile);
const quiet = { log: () => undefined };

// Inside the repository, so that compiled modules resolve its node_modules as dist/ does.
async function scratch(): Promise<string> {
  await mkdir(path.join(ROOT, ".cache"), { recursive: true });
  return mkdtemp(path.join(ROOT, ".cache", "build-server-"));
}

describe("build-server", () => {
  let dir: string | undefined;
  let service: CounselProcess | undefined;
  afterEach(async () => {
    await stopCounsel(service);
    service = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("compiles each module to JavaScript with its relative imports renamed, and only what changed", async () => {
    dir = await scratch();
    const src = path.join(dir, "src");
    const out = path.join(dir, "dist");
    await mkdir(path.join(src, "text"), { recursive: true });
    await writeFile(path.join(src, "types.ts"), "export interface Greeting { to: string }\n");
    await writeFile(
      path.join(src, "text", "greet.ts"),
      'import type { Greeting } from "../types.ts";\nexport const greet = (g: Greeting): string => "hello " + g.to;\n',
    );
    await writeFile(
      path.join(src, "main.ts"),
      'import { greet } from "./text/greet.ts";\nconst { shout } = await import("./shout.ts");\n' +
        'console.log(shout(greet({ to: "counsel" })));\n',
    );
    await writeFile(
      path.join(src, "shout.ts"),
      "export const shout = (s: string): string => s.toUpperCase();\n",
    );
    await writeFile(path.join(src, "main.test.ts"), "throw new Error('tests are not compiled');\n");

    expect(await buildServer(src, out, quiet)).toEqual({ compiled: 4, unchanged: 0, removed: 0 });
    expect((await run(process.execPath, [path.join(out, "main.js")])).stdout).toBe("HELLO COUNSEL\n");
    expect(await readFile(path.join(out, "main.js"), "utf8")).toContain('from "./text/greet.js"');
    await expect(stat(path.join(out, "main.test.js"))).rejects.toThrow();

    expect(await buildServer(src, out, quiet)).toEqual({ compiled: 0, unchanged: 4, removed: 0 });

    // An edit (newer than its output) is compiled again; a module whose source is gone is removed.
    await writeFile(path.join(src, "shout.ts"), 'export const shout = (s: string): string => s + "!";\n');
    const later = new Date(Date.now() + 5_000);
    await utimes(path.join(src, "shout.ts"), later, later);
    await rm(path.join(src, "types.ts"));
    expect(await buildServer(src, out, quiet)).toEqual({ compiled: 1, unchanged: 2, removed: 1 });
    expect((await run(process.execPath, [path.join(out, "main.js")])).stdout).toBe("hello counsel!\n");
    await expect(stat(path.join(out, "types.js"))).rejects.toThrow();
  });

  it("compiles Counsel's sources into a service that starts and answers, as `npm start` runs it", async () => {
    dir = await scratch();
    const out = path.join(dir, "dist");
    const result = await buildServer(path.join(ROOT, "src"), out, quiet);
    expect(result.compiled).toBeGreaterThan(100);
    const data = path.join(dir, "data");
    service = await startCounsel(
      { DATA_DIR: data, LOAD_EXAMPLES: "true" },
      { compiled: path.join(out, "main.js") },
    );
    // The examples are indexed before the service listens: a question finds them.
    const res = await fetch(`${service.url}/chain/qa`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question: "What does the handbook say about the standing trustee?" }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { answer: string; sources: { metadata: { source?: string } }[] };
    expect(body.answer).toMatch(/trustee/i);
    expect(body.sources.length).toBeGreaterThan(0);
  }, 60_000);
});
