// The approximate index's background build and a process's life: it never keeps a process up that has nothing
// else to do (`counsel ask` ends as soon as it has answered), and a process that waits for it is kept up until
// the graph is whole (Node ends a process whose only work left is a pending promise, with exit code 13).
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const script = path.resolve(import.meta.dirname, "../helpers/ann-process.ts");

async function status(...args: string[]) {
  const { stdout } = await run(process.execPath, ["--import", "tsx", script, ...args], { timeout: 60_000 });
  return JSON.parse(stdout.trim()) as { indexed: number; pending: number };
}

describe("the approximate index in a process", () => {
  it("lets a process end with the graph unfinished", async () => {
    const { indexed, pending } = await status();
    expect(pending).toBeGreaterThan(0);
    expect(indexed + pending).toBe(3000);
  });

  it("keeps a process up while it waits for the graph", async () => {
    expect(await status("wait")).toMatchObject({ indexed: 3000, pending: 0 });
  });
});
