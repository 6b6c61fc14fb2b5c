// `counsel documents list|show|delete` as a user runs them: child processes through bin/counsel.mjs, on a data
// folder that `counsel ingest` filled with one good file and one cut short.
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { DocumentDetail, DocumentList } from "../../src/contracts/documents.ts";
import { FIXTURES, ROOT, tempDataDir } from "../helpers/services.ts";

const run = promisify(execFile);

// Each command is a new Node process that compiles the TypeScript sources and opens the stores.
vi.setConfig({ testTimeout: 180_000 });

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

describe("counsel documents", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let memo: string;
  let broken: string;
  let env: NodeJS.ProcessEnv;

  /** Runs the command; a non-zero exit is an outcome to check, not a throw. */
  const counsel = (...args: string[]): Promise<Outcome> =>
    run(process.execPath, [path.join(ROOT, "bin/counsel.mjs"), ...args], { env, cwd: ROOT }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: Outcome) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );
  const json = async <T>(...args: string[]): Promise<T> => {
    const outcome = await counsel(...args, "--json");
    expect(outcome).toMatchObject({ code: 0 });
    return JSON.parse(outcome.stdout) as T;
  };

  beforeAll(async () => {
    data = await tempDataDir();
    const docs = path.join(data.dir, "docs");
    await mkdir(docs);
    memo = path.join(docs, "fake-memo.pdf");
    broken = path.join(docs, "broken.pdf");
    const bytes = await readFile(path.join(FIXTURES, "fake-memo.pdf"));
    await writeFile(memo, bytes);
    await writeFile(broken, bytes.subarray(0, 400));
    env = { ...process.env, DATA_DIR: path.join(data.dir, "state"), LOG_LEVEL: "silent" };
    const ingested = await counsel("ingest", docs, "--json");
    // One document failed, so the run exits 1, having indexed the other.
    expect(ingested.code).toBe(1);
    expect(JSON.parse(ingested.stdout)).toMatchObject({ added: 1, failed: [{ name: "broken.pdf" }] });
  });
  afterAll(async () => data?.remove());

  it("lists the documents with their status, a failed one with why, and pages them", async () => {
    // Read-only runs, side by side: each process only reads the stores.
    const [listed, all, failed, pdfs, first, globex] = await Promise.all([
      counsel("documents", "list"),
      json<DocumentList>("documents", "list"),
      json<DocumentList>("documents", "list", "--status", "failed"),
      json<DocumentList>("documents", "list", "--type", "pdf"),
      json<DocumentList>("documents", "list", "--limit", "1"),
      json<DocumentList>("documents", "list", "-t", "globex"),
    ]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      /^failed\s+0 chunks\s+-\s+\S*broken\.pdf\n\s+failed while extracting: .*broken\.pdf/m,
    );
    expect(listed.stdout).toMatch(/^indexed\s+\d+ chunks\s+pdf\s+\S*fake-memo\.pdf$/m);
    expect(listed.stderr).toBe("");

    expect(all.documents.map((d) => [d.source, d.status])).toEqual([
      [broken, "failed"],
      [memo, "indexed"],
    ]);
    expect(all.documents[1]).toMatchObject({
      recipe: "default",
      checksum: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(failed.documents.map((d) => d.source)).toEqual([broken]);
    expect(pdfs.documents.map((d) => d.source)).toEqual([memo]);
    // Another tenant's knowledge base has none of them.
    expect(globex).toEqual({ documents: [] });

    expect(first.documents.map((d) => d.source)).toEqual([broken]);
    const second = await json<DocumentList>("documents", "list", "--cursor", first.nextCursor as string);
    expect(second).toMatchObject({ documents: [{ source: memo }] });
    expect(second.nextCursor).toBeUndefined();
  });

  it("shows one document, with its chunks when asked", async () => {
    const [shown, withChunks, detail] = await Promise.all([
      counsel("documents", "show", memo),
      counsel("documents", "show", memo, "--chunks"),
      json<DocumentDetail>("documents", "show", broken, "--chunks"),
    ]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^status:\s+indexed$/m);
    expect(shown.stdout).toMatch(/^checksum:\s+[0-9a-f]{64}$/m);
    expect(shown.stdout).not.toContain("--- chunk");
    expect(withChunks.stdout).toMatch(/--- chunk 0 \(page 1\) ---\n.*200 laptops/s);
    expect(detail).toMatchObject({
      document: { status: "failed", error: { step: "extracting", status: 400 } },
      chunks: [],
    });
  });

  it("refuses an unknown id, an unknown status, a limit out of range and a bad cursor, saying what is wrong", async () => {
    const [unknown, status, limit, cursor] = await Promise.all([
      counsel("documents", "show", "upload:nothing.pdf"),
      counsel("documents", "list", "--status", "done"),
      counsel("documents", "list", "--limit", "0"),
      counsel("documents", "list", "--cursor", "not a cursor"),
    ]);
    expect(unknown).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('No document "upload:nothing.pdf" in tenant default'),
    });
    expect(status).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/expected one of queued, extracting, embedding, indexed, failed/),
    });
    expect(limit).toMatchObject({ code: 1, stderr: expect.stringContaining("expected 1-500") });
    expect(cursor).toMatchObject({
      code: 1,
      stderr: expect.stringContaining("cursor is not one this API returned"),
    });
  });

  it("deletes a document, a failed one included, and then knows it no more", async () => {
    expect(await counsel("documents", "delete", broken, "-t", "globex")).toMatchObject({ code: 1 });
    expect(await counsel("documents", "delete", broken)).toMatchObject({
      code: 0,
      stderr: expect.stringContaining(`deleted ${broken} (0 chunks)`),
    });
    const deleted = await counsel("documents", "delete", memo);
    expect(deleted.stderr).toMatch(/deleted .*fake-memo\.pdf \(\d+ chunks\)/);
    expect(await json<DocumentList>("documents", "list")).toEqual({ documents: [] });
    expect(await counsel("documents", "delete", memo)).toMatchObject({
      code: 1,
      stderr: expect.stringContaining("No document"),
    });
  });
});
