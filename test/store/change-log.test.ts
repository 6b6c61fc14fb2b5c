import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ChangeLog, type ChangeRecord, encodeRecord } from "../../src/store/local/change-log.ts";

const DIMS = 3;

function put(ids: string[], seed = 1): ChangeRecord {
  return {
    op: "put",
    ids,
    texts: ids.map((id) => `text of ${id} — ünïcode`),
    metadata: ids.map((id, i) => ({ doc_id: id, n: i, nested: { seed } })),
    vectors: Float32Array.from({ length: ids.length * DIMS }, (_, i) => Math.fround((i + seed) / 7)),
    dimensions: DIMS,
  };
}

async function replay(file: string, baseId: string | null = "base-1") {
  const records: ChangeRecord[] = [];
  const opened = await ChangeLog.open(file, baseId, (r) => records.push(r));
  return { ...opened, replayed: records };
}

describe("ChangeLog", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-log-"));
    file = path.join(dir, "vectors.log");
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("replays what was appended, in order, with texts, metadata and vectors exact", async () => {
    const { log } = await replay(file);
    expect(log.bytes).toBe(0);
    const first = [put(["a", "b"], 1), { op: "delete", ids: ["a"] } as ChangeRecord];
    await log.append(first);
    await log.append([put(["c"], 5)]);
    expect(log.bytes).toBe((await stat(file)).size);

    const again = await replay(file);
    expect(again.replayed).toEqual([...first, put(["c"], 5)]);
    expect(again.records).toBe(3);
    expect(again.tornBytes).toBe(0);
    expect(again.log.bytes).toBe(log.bytes);
  });

  it("cuts off a record torn by a crash, keeps the ones before it, and appends after them", async () => {
    const { log } = await replay(file);
    await log.append([put(["a"]), put(["b"])]);
    const whole = encodeRecord(put(["c"]));
    await appendFile(file, whole.subarray(0, whole.length - 5));

    const torn = await replay(file);
    expect(torn.replayed.map((r) => r.ids)).toEqual([["a"], ["b"]]);
    expect(torn.tornBytes).toBe(whole.length - 5);
    expect((await stat(file)).size).toBe(log.bytes);

    await torn.log.append([put(["d"])]);
    expect((await replay(file)).replayed.map((r) => r.ids)).toEqual([["a"], ["b"], ["d"]]);
  });

  it("treats a zero-filled tail or a flipped byte as where the good records end", async () => {
    const { log } = await replay(file);
    await log.append([put(["a"]), put(["b"])]);
    const goodLength = log.bytes;
    await appendFile(file, Buffer.alloc(4096));
    expect((await replay(file)).replayed.map((r) => r.ids)).toEqual([["a"], ["b"]]);
    expect((await stat(file)).size).toBe(goodLength);

    const bytes = await readFile(file);
    bytes[bytes.length - 2] ^= 0xff; // inside the last record's vectors
    await writeFile(file, bytes);
    const flipped = await replay(file);
    expect(flipped.replayed.map((r) => r.ids)).toEqual([["a"]]);
    expect(flipped.tornBytes).toBeGreaterThan(0);
  });

  it("ignores a log written for another base and replaces it at the next append", async () => {
    const { log } = await replay(file, "base-1");
    await log.append([put(["old"])]);

    const next = await replay(file, "base-2");
    expect(next.replayed).toEqual([]);
    expect(next.stale).toBe(true);
    await next.log.append([put(["new"])]);
    expect((await replay(file, "base-2")).replayed.map((r) => r.ids)).toEqual([["new"]]);
    expect((await replay(file, "base-1")).stale).toBe(true);
  });

  it("leaves the log as it was when an append fails part way", async () => {
    const { log } = await replay(file);
    await log.append([put(["a"])]);
    const before = log.bytes;
    async function* failing(): AsyncGenerator<ChangeRecord> {
      yield put(["b"]);
      throw new Error("disk full");
    }
    await expect(log.append(failing())).rejects.toThrow("disk full");
    expect(log.bytes).toBe(before);
    expect((await stat(file)).size).toBe(before);
    await log.append([put(["c"])]);
    expect((await replay(file)).replayed.map((r) => r.ids)).toEqual([["a"], ["c"]]);
  });

  it("reset starts an empty log for a new base", async () => {
    const { log } = await replay(file, null);
    await log.append([put(["a"])]);
    await log.reset("base-9");
    expect((await replay(file, "base-9")).replayed).toEqual([]);
    expect((await replay(file, null)).stale).toBe(true);
  });
});
