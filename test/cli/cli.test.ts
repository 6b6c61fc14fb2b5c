// The `counsel` command as a user runs it: a child process through bin/counsel.mjs.
import { execFile } from "node:child_process";
import { copyFile, mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES, ROOT, tempDataDir } from "../helpers/services.ts";

const run = promisify(execFile);

describe("counsel CLI", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let docs: string;
  let env: NodeJS.ProcessEnv;

  const counsel = (...args: string[]) =>
    run(process.execPath, [path.join(ROOT, "bin/counsel.mjs"), ...args], { env, cwd: ROOT });

  beforeAll(async () => {
    data = await tempDataDir();
    docs = path.join(data.dir, "docs");
    await mkdir(docs);
    await copyFile(path.join(FIXTURES, "fake-memo.pdf"), path.join(docs, "fake-memo.pdf"));
    await copyFile(path.join(FIXTURES, "handbook-1p.docx"), path.join(docs, "handbook-1p.docx"));
    env = { ...process.env, DATA_DIR: path.join(data.dir, "state"), LOG_LEVEL: "silent" };
  });
  afterAll(async () => data?.remove());

  it("ingests a folder, then skips it when nothing changed", async () => {
    const first = await counsel("ingest", docs, "--json");
    expect(JSON.parse(first.stdout)).toMatchObject({ added: 2, skipped: 0, failed: [] });
    const second = await counsel("ingest", docs);
    expect(second.stdout).toMatch(/added 0, updated 0, skipped 2/);
  });

  it("answers a question with its sources", async () => {
    const { stdout } = await counsel("ask", "How many bottles of water were shipped?");
    expect(stdout).toContain("20,000");
    expect(stdout).toMatch(/Sources:\n\s+\[1\] .*fake-memo\.pdf/);
  });

  it("removes a deleted file's document with --cleanup", async () => {
    await rm(path.join(docs, "handbook-1p.docx"));
    const { stdout } = await counsel("ingest", docs, "--cleanup", "--json");
    expect(JSON.parse(stdout)).toMatchObject({ deleted: 1, skipped: 1 });
  });

  it("exits non-zero and names the variable when a setting is bad", async () => {
    const failure = await run(process.execPath, [path.join(ROOT, "bin/counsel.mjs"), "ask", "x"], {
      env: { ...env, PORT: "not-a-port" },
      cwd: ROOT,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toContain("PORT");
  });
});
