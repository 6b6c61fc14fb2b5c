import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../../src/store/atomic-file.ts";

describe("writeFileAtomic", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-atomic-"));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("creates and then replaces a file, leaving no temporary file behind", async () => {
    const file = path.join(dir, "data.bin");
    await writeFileAtomic(file, "first");
    await writeFileAtomic(file, Buffer.from([1, 2, 3]));
    expect([...(await readFile(file))]).toEqual([1, 2, 3]);
    expect(await readdir(dir)).toEqual(["data.bin"]);
  });

  it("keeps the last complete contents when many writes race", async () => {
    const file = path.join(dir, "race.json");
    const payloads = Array.from({ length: 20 }, (_, i) => JSON.stringify({ i, pad: "x".repeat(50_000) }));
    await Promise.all(payloads.map((p) => writeFileAtomic(file, p)));
    const text = await readFile(file, "utf8");
    expect(payloads).toContain(text);
    expect(await readdir(dir)).toEqual(["race.json"]);
  });

  it("fails without leaving debris when the folder does not exist", async () => {
    await expect(writeFileAtomic(path.join(dir, "missing", "x.bin"), "data")).rejects.toMatchObject({
      code: "ENOENT",
    });
    expect(await readdir(dir)).toEqual([]);
  });
});
