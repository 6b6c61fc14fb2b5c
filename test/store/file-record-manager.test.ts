// The file-backed record manager: in memory, then persisted (its file and journal) on plain files and on files
// sealed at rest, each suite run over both; then what only each adds: a torn journal line cut off in a plain
// file, and in a sealed one a torn append (garbage after the last frame, or a flush torn across frames).
import { randomBytes } from "node:crypto";
import { appendFile, mkdtemp, readFile, rm, stat, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { DataFiles } from "../../src/store/at-rest/data-files.ts";
import { plainFiles } from "../../src/store/at-rest/plain-files.ts";
import { SealedFileError, sealedFiles } from "../../src/store/at-rest/sealed-files.ts";
import { FileRecordManager } from "../../src/store/file-record-manager.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "counsel-rm-"));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

const fileModes: [string, DataFiles][] = [
  ["plain files", plainFiles],
  ["sealed files", sealedFiles(randomBytes(32))],
];

/** A record manager on `file`, what it holds loaded. */
async function openRecords(file: string, files: DataFiles): Promise<FileRecordManager> {
  const records = new FileRecordManager({ namespace: "ns", path: file, files });
  await records.createSchema();
  return records;
}

/** A records file holding a1 (document a), and its journal b1 (document b). */
async function fileAndJournal(files: DataFiles): Promise<string> {
  const file = path.join(dir, "records.json");
  const first = await openRecords(file, files);
  await first.update(["a1"], { groupIds: ["a"] });
  await first.flush();
  await first.update(["b1"], { groupIds: ["b"] });
  await first.flush();
  return file;
}

describe("FileRecordManager", () => {
  it("gives strictly increasing times, even within one millisecond", async () => {
    const rm = new FileRecordManager({ namespace: "t" });
    const times = await Promise.all(Array.from({ length: 50 }, () => rm.getTime()));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1]);
  });

  it("lists keys by group and by time, and forgets deleted keys", async () => {
    const rm = new FileRecordManager({ namespace: "t" });
    await rm.update(["a1", "a2", "b1"], { groupIds: ["a", "a", "b"] });
    const cut = await rm.getTime();
    await rm.update(["a2"]);
    expect(await rm.exists(["a1", "b1", "zz"])).toEqual([true, true, false]);
    expect((await rm.listKeys({ groupIds: ["a"] })).sort()).toEqual(["a1", "a2"]);
    expect((await rm.listKeys({ before: cut })).sort()).toEqual(["a1", "b1"]);
    expect(await rm.listKeys({ after: cut })).toEqual(["a2"]);
    // An update without group ids keeps the group the key had.
    expect(await rm.listKeys({ groupIds: ["a"], after: cut })).toEqual(["a2"]);
    await rm.deleteKeys(["a1"]);
    expect(await rm.exists(["a1"])).toEqual([false]);
    expect((await rm.listGroupIds()).sort()).toEqual(["a", "b"]);
  });

  it("refuses an update that would go back in time", async () => {
    const rm = new FileRecordManager({ namespace: "t" });
    await expect(rm.update(["k"], { timeAtLeast: Date.now() + 60_000 })).rejects.toThrow(/timeAtLeast/);
  });
});

describe.each(fileModes)("FileRecordManager on %s", (_mode, files) => {
  /** A file's content as its store wrote it (opened, when sealed). */
  const content = async (file: string) => (await files.readFile(file)).toString("utf8");

  it("keeps its records across a restart once flushed", async () => {
    const file = path.join(dir, "records.json");
    const first = new FileRecordManager({ namespace: "ns", path: file, files });
    await first.createSchema();
    await first.update(["k1", "k2"], { groupIds: ["doc", "doc"] });
    await first.flush();

    const second = new FileRecordManager({ namespace: "ns", path: file, files });
    await second.createSchema();
    expect(await second.exists(["k1", "k2", "k3"])).toEqual([true, true, false]);
    expect(await second.listKeys({ groupIds: ["doc"] })).toHaveLength(2);
    // Times keep increasing past what was persisted.
    expect(await second.getTime()).toBeGreaterThan(JSON.parse(await content(file)).records.k1.updatedAt);
  });

  it("writes many records, with any characters in their ids, as one JSON file it reads back whole", async () => {
    const file = path.join(dir, "many-records.json");
    const first = new FileRecordManager({ namespace: 'ns "quoted"', path: file, files });
    await first.createSchema();
    // Enough records for the file to be written in many pieces.
    const keys = Array.from({ length: 5000 }, (_, i) => `key-${i}-"é"\u2028`);
    const groups = keys.map((_, i) => `doc-${i % 700}\t`);
    await first.update(keys, { groupIds: groups });
    await first.flush();
    const parsed = JSON.parse(await content(file));
    expect(parsed.namespace).toBe('ns "quoted"');
    expect(Object.keys(parsed.records)).toHaveLength(5000);
    expect(Object.keys(parsed.documents)).toHaveLength(700);

    const second = new FileRecordManager({ namespace: 'ns "quoted"', path: file, files });
    await second.createSchema();
    expect(await second.exists(keys)).toEqual(keys.map(() => true));
    expect(await second.listKeys({ groupIds: [groups[3]] })).toEqual(keys.filter((_, i) => i % 700 === 3));
  });

  it("will not load another namespace's records", async () => {
    const file = path.join(dir, "records.json");
    const a = new FileRecordManager({ namespace: "tenant-a", path: file, files });
    await a.update(["k"], { groupIds: ["g"] });
    await a.flush();
    await expect(
      new FileRecordManager({ namespace: "tenant-b", path: file, files }).createSchema(),
    ).rejects.toThrow(/tenant-a/);
  });

  it("keeps its document records across a restart, in the same file as the keys", async () => {
    const file = path.join(dir, "records.json");
    const first = new FileRecordManager({ namespace: "ns", path: file, files });
    await first.update(["k1", "k2"], {
      groupIds: ["doc", "doc"],
      documents: { doc: { name: "doc.md", bytes: 12 } },
    });
    await first.flush();
    const saved = await first.getDocument("doc");

    const second = new FileRecordManager({ namespace: "ns", path: file, files });
    await second.createSchema();
    expect(await second.getDocument("doc")).toEqual(saved);
    expect(await second.listDocuments({ limit: 10 })).toEqual([saved?.record]);
    expect(await second.documentsWithoutInfo()).toEqual([]);
  });

  it("reads a file from before document records: every document listed, each waiting for its info", async () => {
    const file = path.join(dir, "records.json");
    // The format FileRecordManager wrote before it kept document records.
    await files.writeFileAtomic(
      file,
      JSON.stringify({
        namespace: "ns",
        records: {
          k1: { updatedAt: 1_700_000_000_000, groupId: "/docs/a.pdf" },
          k2: { updatedAt: 1_700_000_000_500, groupId: "/docs/a.pdf" },
          k3: { updatedAt: 1_700_000_001_000, groupId: "/docs/b.md" },
          k4: { updatedAt: 1_700_000_002_000, groupId: null },
        },
      }),
    );
    const rm = new FileRecordManager({ namespace: "ns", path: file, files });
    await rm.createSchema();
    expect(await rm.listDocuments({ limit: 10 })).toEqual([
      { source: "/docs/a.pdf", chunks: 2, updatedAt: 1_700_000_000_500 },
      { source: "/docs/b.md", chunks: 1, updatedAt: 1_700_000_001_000 },
    ]);
    expect(await rm.documentsWithoutInfo()).toEqual(["/docs/a.pdf", "/docs/b.md"]);
    await rm.backfillInfo("/docs/a.pdf", { name: "a.pdf", type: "pdf" });
    expect((await rm.getDocument("/docs/a.pdf"))?.record).toEqual({
      source: "/docs/a.pdf",
      chunks: 2,
      updatedAt: 1_700_000_000_500,
      info: { name: "a.pdf", type: "pdf" },
    });
  });

  describe("journal", () => {
    const open = (file: string) => openRecords(file, files);
    const info = (name: string) => ({ name, type: "text" });

    it("appends what each flush added, and a restart reads the file and then the journal", async () => {
      const file = path.join(dir, "records.json");
      const first = await open(file);
      await first.update(["a1", "a2", "b1"], { groupIds: ["a", "a", "b"], documents: { a: info("a") } });
      await first.flush(); // the first flush writes the file
      const written = await readFile(file);
      await first.update(["c1", "c2"], { groupIds: ["c", "c"], documents: { c: info("c") } });
      await first.update(["a1", "a2"], { groupIds: ["a", "a"], documents: { a: info("a") } }); // seen again
      await first.flush();
      await first.flush(); // nothing changed: nothing appended
      expect((await readFile(file)).equals(written)).toBe(true); // the file is not rewritten…
      const journal = (await content(`${file}.log`)).split("\n");
      expect(journal).toHaveLength(2); // …one line and its newline
      expect(Object.keys(JSON.parse(journal[0]).records).sort()).toEqual(["a1", "a2", "c1", "c2"]);

      const second = await open(file);
      expect(await second.exists(["a1", "a2", "b1", "c1", "c2"])).toEqual([true, true, true, true, true]);
      expect((await second.listKeys({ groupIds: ["c"] })).sort()).toEqual(["c1", "c2"]);
      expect(await second.getDocument("c")).toMatchObject({ record: { chunks: 2, info: info("c") } });
      // Its times go on from the journal's.
      expect(await second.getTime()).toBeGreaterThan((await first.getTime()) - 1);
    });

    it("rewrites the file once an entry is deleted, moved or says something else: nothing it said stays", async () => {
      const file = path.join(dir, "records.json");
      const onDisk = async () => `${await content(file)}${await content(`${file}.log`)}`;
      const first = await open(file);
      await first.update(["a1", "b1", "m1"], {
        groupIds: ["a", "Bob's file", "m"],
        documents: { a: { name: "a", type: "text", title: "Contact jane.doe@example.com" } },
      });
      await first.flush();
      await first.update(["z1"], { groupIds: ["z"] });
      await first.flush(); // an addition: appended
      expect(await content(`${file}.log`)).not.toBe("");
      // Redacted on re-ingestion: the document's info says something else.
      await first.update(["a1"], {
        groupIds: ["a"],
        documents: { a: { name: "a", type: "text", title: "[EMAIL]" } },
      });
      await first.flush();
      expect(await onDisk()).not.toContain("jane.doe");
      expect(await content(`${file}.log`)).toBe(""); // folded into the file
      await first.deleteKeys(["b1"]); // a deleted document's name goes with it
      await first.flush();
      expect(await onDisk()).not.toContain("Bob's file");
      await first.update(["m1"], { groupIds: ["moved"] });
      await first.flush();
      expect(await onDisk()).not.toContain('"m"');

      const second = await open(file);
      expect(await second.exists(["a1", "b1", "m1", "z1"])).toEqual([true, false, true, true]);
      expect(await second.getDocument("a")).toMatchObject({ record: { info: { title: "[EMAIL]" } } });
      expect(await second.listKeys({ groupIds: ["moved"] })).toEqual(["m1"]);
    });

    it("is folded into the file once larger than it (and 1 MiB), then starts over", async () => {
      const file = path.join(dir, "records.json");
      const first = await open(file);
      await first.update(["seed"], { groupIds: ["s"] });
      await first.flush();
      const big = Array.from({ length: 6000 }, (_, i) => `key-${i}-${"x".repeat(120)}`);
      await first.update(big, { groupIds: big.map((_, i) => `doc-${i % 50}`) });
      await first.flush(); // appended: ~1 MB of journal past a small file
      expect((await files.readFile(`${file}.log`)).length).toBeGreaterThan(1 << 20);
      await first.update(["one-more"], { groupIds: ["s"] });
      await first.flush(); // the journal outgrew the file: a new file, an empty journal
      expect((await files.readFile(`${file}.log`)).length).toBe(0);
      const parsed = JSON.parse(await content(file));
      expect(Object.keys(parsed.records)).toHaveLength(6002);
      expect(await (await open(file)).exists(["seed", big[5999], "one-more"])).toEqual([true, true, true]);
    });

    it("is not read beside a records file that was deleted, and is emptied by the next flush", async () => {
      const file = await fileAndJournal(files);
      await rm(file);
      const second = await open(file);
      expect(await second.exists(["a1", "b1"])).toEqual([false, false]);
      await second.update(["z1"], { groupIds: ["z"] });
      await second.flush();
      expect(await content(`${file}.log`)).toBe("");
      expect(await (await open(file)).exists(["b1", "z1"])).toEqual([false, true]);
    });

    it("is started anew beside a records file that has none, and read back", async () => {
      const file = await fileAndJournal(files);
      await rm(`${file}.log`); // as beside a file written before journals, or a journal deleted by hand
      const second = await open(file);
      expect(await second.exists(["a1", "b1"])).toEqual([true, false]);
      await second.update(["c1"], { groupIds: ["c"] });
      await second.flush();
      expect(await (await open(file)).exists(["a1", "c1"])).toEqual([true, true]);
    });
  });
});

describe("FileRecordManager's journal on plain files", () => {
  it("cuts off a line torn by a crash, with a warning, and keeps the lines before it", async () => {
    const file = await fileAndJournal(plainFiles);
    await appendFile(`${file}.log`, '{"records":{"c1":{"updatedAt":1,"gro');
    const warnings = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const second = await openRecords(file, plainFiles);
    expect(warnings).toHaveBeenCalledWith(expect.stringContaining("cut off 36 bytes"), {
      code: "COUNSEL_RECORDS_TORN_LOG",
    });
    warnings.mockRestore();
    expect(await second.exists(["a1", "b1", "c1"])).toEqual([true, true, false]);
    // The torn bytes are gone: what this process appends next is read back.
    await second.update(["d1"], { groupIds: ["d"] });
    await second.flush();
    expect(await (await openRecords(file, plainFiles)).exists(["b1", "d1"])).toEqual([true, true]);
  });
});

describe("FileRecordManager on sealed files", () => {
  const files = sealedFiles(randomBytes(32));

  it("writes its file and journal sealed: neither names a document", async () => {
    const file = path.join(dir, "records.json");
    const first = await openRecords(file, files);
    await first.update(["a1"], { groupIds: ["Bob's payslip.pdf"], documents: { "Bob's payslip.pdf": {} } });
    await first.flush(); // the file
    await first.update(["c1"], { groupIds: ["Carol's contract.docx"] });
    await first.flush(); // the journal
    expect(await files.readFile(`${file}.log`)).not.toHaveLength(0);
    const onDisk = Buffer.concat([await readFile(file), await readFile(`${file}.log`)]);
    expect(onDisk.includes("payslip")).toBe(false);
    expect(onDisk.includes("contract")).toBe(false);
    expect(await (await openRecords(file, files)).listGroupIds()).toEqual([
      "Bob's payslip.pdf",
      "Carol's contract.docx",
    ]);
  });

  it("refuses its records when opened with another data key, rather than starting empty", async () => {
    const file = await fileAndJournal(files);
    await expect(openRecords(file, sealedFiles(randomBytes(32)))).rejects.toThrow(SealedFileError);
  });

  it("keeps the flushes before garbage a crash left after the journal's last append, and appends after them", async () => {
    const file = await fileAndJournal(files);
    await appendFile(`${file}.log`, '{"records":{"c1":{"updatedAt":1,"gro');
    const second = await openRecords(file, files);
    expect(await second.exists(["a1", "b1", "c1"])).toEqual([true, true, false]);
    await second.update(["d1"], { groupIds: ["d"] });
    await second.flush();
    expect(await (await openRecords(file, files)).exists(["a1", "b1", "d1"])).toEqual([true, true, true]);
  });

  it("cuts off a flush torn across frames, with a warning, and keeps the flushes before it", async () => {
    const file = await fileAndJournal(files);
    const second = await openRecords(file, files);
    // One flush of ~40 KB: an append of several frames, its last one torn by the crash.
    const big = Array.from({ length: 300 }, (_, i) => `key-${i}-${"x".repeat(120)}`);
    await second.update(big, { groupIds: big.map(() => "big") });
    await second.flush();
    await truncate(`${file}.log`, (await stat(`${file}.log`)).size - 100);
    const warnings = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const third = await openRecords(file, files);
    expect(warnings).toHaveBeenCalledWith(expect.stringContaining("cut off"), {
      code: "COUNSEL_RECORDS_TORN_LOG",
    });
    warnings.mockRestore();
    expect(await third.exists(["a1", "b1", big[0], big[299]])).toEqual([true, true, false, false]);
    await third.update(["d1"], { groupIds: ["d"] });
    await third.flush();
    expect(await (await openRecords(file, files)).exists(["b1", big[0], "d1"])).toEqual([true, false, true]);
  });
});
