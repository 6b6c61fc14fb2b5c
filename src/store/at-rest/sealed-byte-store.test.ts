import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { LocalFileStore } from "@langchain/classic/storage/file_system";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { plainFiles } from "./plain-files.ts";
import { SealedByteStore, sealedByteStore } from "./sealed-byte-store.ts";
import { SealedFileError, sealedFiles } from "./sealed-files.ts";

describe("SealedByteStore over a LocalFileStore", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-sealed-bytes-"));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  const open = async (key: Buffer) =>
    new SealedByteStore({ inner: await LocalFileStore.fromPath(dir), files: sealedFiles(key) });
  const text = (value: Uint8Array | undefined) => Buffer.from(value as Uint8Array).toString("utf8");
  const memo = Buffer.from("Payroll memo for Jane Doe: salary review postponed to March.");

  it("writes each value sealed, and gives it back as it was; a missing key stays undefined", async () => {
    const store = await open(randomBytes(32));
    await store.mset([["memo", memo]]);
    expect((await readFile(path.join(dir, "memo.txt"))).includes("Jane Doe")).toBe(false);
    const [value, missing] = await store.mget(["memo", "never-written"]);
    expect(text(value)).toBe(memo.toString("utf8"));
    expect(missing).toBeUndefined();
  });

  it("reads back what another store over the same folder wrote with the same key", async () => {
    const key = randomBytes(32);
    // An empty value, a view of a larger buffer, and one spanning several frames.
    const large = randomBytes(40_000);
    const whole = Buffer.from("..the part..");
    await (await open(key)).mset([
      ["empty", new Uint8Array(0)],
      ["view", whole.subarray(2, 10)],
      ["large", large],
    ]);
    const [empty, view, back] = await (await open(key)).mget(["empty", "view", "large"]);
    expect(empty?.length).toBe(0);
    expect(text(view)).toBe("the part");
    expect(Buffer.from(back as Uint8Array).equals(large)).toBe(true);
  });

  it("refuses a value sealed under another data key rather than returning other bytes", async () => {
    await (await open(randomBytes(32))).mset([["memo", memo]]);
    await expect((await open(randomBytes(32))).mget(["memo"])).rejects.toThrow(SealedFileError);
  });

  it("refuses a value written before sealing (plain) rather than returning it as it lies", async () => {
    await (await LocalFileStore.fromPath(dir)).mset([["memo", memo]]);
    await expect((await open(randomBytes(32))).mget(["memo"])).rejects.toThrow(SealedFileError);
  });

  it("lists and deletes keys as the store beneath it does", async () => {
    const store = await open(randomBytes(32));
    await store.mset([
      ["job-1.a", memo],
      ["job-1.b", memo],
      ["job-2.a", memo],
    ]);
    const keys = async (prefix?: string) => {
      const out: string[] = [];
      for await (const key of store.yieldKeys(prefix)) out.push(key);
      return out.sort();
    };
    expect(await keys("job-1.")).toEqual(["job-1.a", "job-1.b"]);
    await store.mdelete(["job-1.a", "never-written"]);
    expect(await keys()).toEqual(["job-1.b", "job-2.a"]);
    expect((await readdir(dir)).sort()).toEqual(["job-1.b.txt", "job-2.a.txt"]);
  });
});

describe("sealedByteStore", () => {
  it("seals only when the data files are sealed: with plain ones it is the store it was given", async () => {
    const inner = new LocalFileStore({ rootPath: tmpdir() });
    expect(sealedByteStore(inner, plainFiles)).toBe(inner);
    expect(sealedByteStore(inner, sealedFiles(randomBytes(32)))).toBeInstanceOf(SealedByteStore);
  });
});
