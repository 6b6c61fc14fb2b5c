import { randomBytes } from "node:crypto";
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FileRecordManager } from "../file-record-manager.ts";
import { plainFiles } from "./plain-files.ts";
import { SEALED_MARKER, sealDataDir } from "./seal-data-dir.ts";
import { sealedFiles } from "./sealed-files.ts";

describe("sealing a DATA_DIR written before it was encrypted", () => {
  let dir: string;
  const files = sealedFiles(randomBytes(32));
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-seal-dir-"));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  const at = (...parts: string[]) => path.join(dir, ...parts);
  const write = async (name: string, text: string) => {
    await mkdir(path.dirname(at(name)), { recursive: true });
    await writeFile(at(name), text);
  };

  it("seals each store file in place, appendable logs as logs, and leaves the keys' files plain", async () => {
    const index = "local/default/default/model";
    await write(`${index}/statuses.json`, '{"doc":"failed: salary review"}');
    await write(`${index}/records.json.log`, '{"records":{"a":1}}\n');
    await write(`${index}/ledger/s3%3A%2F%2Fbucket%2Fpay.pdf`, '"etag-1"');
    await write("jobs/job-1.json", '{"name":"salary review.pdf"}');
    await write("api-keys.json", '{"keys":[]}');
    await write("data-key.json", "{}");

    expect(await sealDataDir(dir, files)).toEqual({ sealed: 4, removed: 0 });
    expect((await files.readFile(at(index, "statuses.json"))).toString()).toBe(
      '{"doc":"failed: salary review"}',
    );
    expect((await files.readFile(at("jobs/job-1.json"))).toString()).toContain("salary review.pdf");
    expect((await readFile(at("jobs/job-1.json"))).includes("salary")).toBe(false);
    expect(await readFile(at("api-keys.json"), "utf8")).toBe('{"keys":[]}');
    expect(await readFile(at("data-key.json"), "utf8")).toBe("{}");
    // The journal goes on taking appends.
    const journal = at(index, "records.json.log");
    const appender = await files.openAppender(journal);
    await appender.append(Buffer.from('{"records":{"b":2}}\n'));
    await appender.close();
    expect((await files.readFile(journal)).toString()).toBe('{"records":{"a":1}}\n{"records":{"b":2}}\n');
  });

  it("seals a journal a crash tore before the key was set, which the record manager then cuts and goes on", async () => {
    const file = at("records.json");
    const open = async (using: typeof plainFiles) => {
      const records = new FileRecordManager({ namespace: "ns", path: file, files: using });
      await records.createSchema();
      return records;
    };
    const plain = await open(plainFiles);
    await plain.update(["a1"], { groupIds: ["a"] });
    await plain.flush();
    for (const key of ["b1", "c1", "d1"]) {
      await plain.update([key], { groupIds: [key[0]] });
      await plain.flush();
    }
    await appendFile(`${file}.log`, '{"records":{"e1"');

    expect(await sealDataDir(dir, files)).toEqual({ sealed: 2, removed: 0 });
    const warning = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const sealed = await open(files);
    expect(warning).toHaveBeenCalledWith(expect.stringContaining("cut off 16 bytes"), expect.anything());
    warning.mockRestore();
    expect(await sealed.exists(["a1", "b1", "c1", "d1", "e1"])).toEqual([true, true, true, true, false]);
    await sealed.update(["f1"], { groupIds: ["f"] });
    await sealed.flush();
    expect(await (await open(files)).exists(["d1", "f1"])).toEqual([true, true]);
  });

  it("deletes saved graphs (usearch writes them in the clear) and what interrupted writes left", async () => {
    await write("local/t/c/m/vectors.bin.hnsw.1234", "graph bytes");
    await write("local/t/c/m/vectors.bin.graph", '{"graph":"vectors.bin.hnsw.1234"}');
    await write("local/t/c/m/.statuses.json.99.abc.tmp", "half");
    expect(await sealDataDir(dir, files)).toEqual({ sealed: 0, removed: 2 });
    expect(await readdir(at("local/t/c/m"))).toEqual([]);
  });

  it("goes on where a crash stopped it, and walks DATA_DIR no more once it finished", async () => {
    await write("jobs/a.json", "{}");
    await files.writeFileAtomic(at("jobs/b.json"), "{}");
    expect(await sealDataDir(dir, files)).toEqual({ sealed: 1, removed: 0 });
    expect(await readdir(dir)).toContain(SEALED_MARKER);
    await write("jobs/c.json", "{}");
    expect(await sealDataDir(dir, files)).toEqual({ sealed: 0, removed: 0 });
  });
});
