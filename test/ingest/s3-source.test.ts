// The S3 source through the real AWS SDK against the S3 emulator: listing over pages, keys as S3 allows them,
// skipping unchanged objects before downloading them, and what happens when S3 or the network misbehaves.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { BadRequestError, NotFoundError } from "../../src/errors.ts";
import type { SourceBlob } from "../../src/ingest/sources/blob.ts";
import {
  createS3Client,
  parseS3Url,
  readS3Object,
  type S3SkippedObject,
  type S3SourceOptions,
  s3Source,
  uploadObject,
} from "../../src/ingest/sources/s3.ts";
import { INTERNAL_ERROR, type S3Emulator } from "../emulators/s3.ts";
import { useS3Emulator } from "../helpers/s3.ts";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures");
const fixture = (name: string) => readFile(path.join(FIXTURES, name));
const md5 = (bytes: Buffer) => createHash("md5").update(bytes).digest("hex");

/** Puts fixtures into a new bucket: [key, fixture file, content type]. */
async function seed(emulator: S3Emulator, bucket: string, objects: [string, string, string?][]) {
  emulator.createBucket(bucket);
  const bytes = new Map<string, Buffer>();
  for (const [key, file, contentType] of objects) {
    const data = file === "" ? Buffer.alloc(0) : await fixture(file);
    emulator.putObject(bucket, key, data, { contentType });
    bytes.set(key, data);
  }
  return bytes;
}

/** Runs the source to the end: what it yielded and what it reported. */
async function run(url: string, options: Partial<S3SourceOptions> = {}) {
  const skipped: S3SkippedObject[] = [];
  const blobs: SourceBlob[] = [];
  const source = s3Source(url, {
    client: createS3Client({ forcePathStyle: true }),
    onSkip: (s) => skipped.push(s),
    ...options,
  });
  for await (const blob of source) blobs.push(blob);
  return { blobs, skipped };
}

describe("S3 source", () => {
  const emulator = useS3Emulator();

  it("parses s3:// URLs and refuses anything else, saying what it expected", () => {
    expect(parseS3Url("s3://docs")).toEqual({ bucket: "docs", prefix: "" });
    expect(parseS3Url("s3://docs/")).toEqual({ bucket: "docs", prefix: "" });
    expect(parseS3Url("s3://my.docs-2/policies/hr ")).toEqual({
      bucket: "my.docs-2",
      prefix: "policies/hr ",
    });
    for (const bad of ["https://docs.s3.amazonaws.com/x", "s3://", "s3:///key", "docs/policies", ""]) {
      expect(() => parseS3Url(bad)).toThrow(BadRequestError);
      expect(() => parseS3Url(bad)).toThrow(/Expected an S3 URL such as s3:\/\/bucket\/prefix/);
    }
    expect(() => parseS3Url("s3://My_Bucket/x")).toThrow(/"My_Bucket" .* is not an S3 bucket name/);
    expect(() => parseS3Url("s3://ab/x")).toThrow(BadRequestError);
  });

  it("yields every object under the prefix exactly once over several pages, leaving out folder keys", async () => {
    const bytes = await seed(emulator, "pages", [
      ["policies/", ""],
      ["policies/hr/", ""],
      ["policies/hr/handbook.docx", "handbook-1p.docx"],
      ["policies/memo.pdf", "fake-memo.pdf", "application/pdf"],
      ["policies/guide.md", "fastify-getting-started.md", "text/markdown"],
      ["policies/releases.csv", "debian-releases.csv", "text/csv"],
      ["policies/status.json", "http-status-codes.json", "application/json"],
      ["policies/rustdoc.html", "what-is-rustdoc.html", "text/html"],
      ["policies/tables.pdf", "multi-table.pdf", "application/pdf"],
      ["policies-old/memo.pdf", "fake-memo.pdf"],
      ["archive/memo.pdf", "fake-memo.pdf"],
    ]);
    const expected = [...bytes.keys()].filter((k) => k.startsWith("policies/") && !k.endsWith("/")).sort();
    const since = emulator.requests.length;

    const { blobs, skipped } = await run("s3://pages/policies/", { pageSize: 2 });

    expect(skipped).toEqual([]);
    expect(blobs.map((b) => b.source)).toEqual(expected.map((k) => `s3://pages/${k}`));
    for (const blob of blobs) {
      const key = blob.source.slice("s3://pages/".length);
      const stored = emulator.getObject("pages", key);
      expect(blob.data.equals(bytes.get(key) as Buffer), key).toBe(true);
      expect(blob.name).toBe(path.posix.basename(key));
      expect(blob.mediaType).toBe(stored?.contentType);
      expect(blob.metadata).toEqual({
        etag: md5(blob.data),
        s3_last_modified: stored?.lastModified.toISOString(),
        size: blob.data.length,
      });
    }
    expect(blobs.find((b) => b.name === "memo.pdf")?.mediaType).toBe("application/pdf");
    // Nine keys under the prefix (two of them folders), two a page: five pages, chained by continuation tokens.
    const lists = emulator.recorded("ListObjectsV2", since);
    expect(lists).toHaveLength(5);
    expect(lists.map((r) => r.query["max-keys"])).toEqual(["2", "2", "2", "2", "2"]);
    expect(lists.every((r) => r.query.prefix === "policies/" && r.style === "path")).toBe(true);
    expect(lists[0].query["continuation-token"]).toBeUndefined();
    expect(lists.slice(1).every((r) => r.query["continuation-token"])).toBe(true);
    const gets = emulator.recorded("GetObject", since);
    expect(gets.map((r) => r.key).sort()).toEqual(expected);
    // The SDK asked for S3's CRC32 and checked the bodies against it, as it does against AWS.
    expect(gets.every((r) => r.headers["x-amz-checksum-mode"] === "ENABLED")).toBe(true);
  });

  it("round-trips keys with spaces, a plus sign, unicode and URL punctuation", async () => {
    const bytes = await seed(emulator, "names", [
      ["inbox/annual report 2023.pdf", "fake-memo.pdf"],
      ["inbox/a b.md", "fastify-getting-started.md"],
      ["inbox/a+b.md", "scifact-sample.md"],
      ["inbox/résumé – final.docx", "handbook-1p.docx"],
      ["inbox/日本語/メモ.txt", "fake-memo.txt"],
      ["inbox/100% done?x=1&y=#2.json", "http-status-codes.json"],
    ]);

    const { blobs, skipped } = await run("s3://names/inbox/");

    expect(skipped).toEqual([]);
    expect(blobs.map((b) => b.source).sort()).toEqual([...bytes.keys()].map((k) => `s3://names/${k}`).sort());
    for (const blob of blobs) {
      const key = blob.source.slice("s3://names/".length);
      expect(blob.data.equals(bytes.get(key) as Buffer), key).toBe(true);
    }
    expect(blobs.map((b) => b.name).sort()).toEqual(
      [
        "100% done?x=1&y=#2.json",
        "a b.md",
        "a+b.md",
        "annual report 2023.pdf",
        "résumé – final.docx",
        "メモ.txt",
      ].sort(),
    );
  });

  it("skips an object whose ETag was ingested before without downloading it, and fetches a changed one", async () => {
    await seed(emulator, "etags", [
      ["docs/memo.pdf", "fake-memo.pdf"],
      ["docs/handbook.docx", "handbook-1p.docx"],
      ["docs/guide.md", "fastify-getting-started.md"],
    ]);
    const first = await run("s3://etags/docs/");
    expect(first.blobs).toHaveLength(3);
    // What a pipeline would keep after ingesting each blob: its ETag, by source.
    const ledger = new Map(first.blobs.map((b) => [b.source, String(b.metadata?.etag)]));
    const asked: string[] = [];
    const known = async (source: string) => {
      asked.push(source);
      return ledger.get(source);
    };

    let since = emulator.requests.length;
    const second = await run("s3://etags/docs/", { known });
    expect(second.blobs).toEqual([]);
    expect(second.skipped.map((s) => [s.source, s.reason, s.etag])).toEqual(
      [...ledger].map(([source, etag]) => [source, "unchanged", etag]),
    );
    expect(asked.sort()).toEqual([...ledger.keys()].sort());
    expect(emulator.recorded("GetObject", since)).toEqual([]);
    expect(emulator.recorded("ListObjectsV2", since)).toHaveLength(1);

    const memo = await fixture("fake-memo.txt");
    emulator.putObject("etags", "docs/guide.md", memo);
    since = emulator.requests.length;
    const third = await run("s3://etags/docs/", { known });
    expect(third.blobs.map((b) => b.source)).toEqual(["s3://etags/docs/guide.md"]);
    expect(third.blobs[0].data.equals(memo)).toBe(true);
    expect(third.blobs[0].metadata?.etag).toBe(md5(memo));
    expect(third.blobs[0].metadata?.etag).not.toBe(ledger.get("s3://etags/docs/guide.md"));
    expect(third.skipped.map((s) => s.reason)).toEqual(["unchanged", "unchanged"]);
    expect(emulator.recorded("GetObject", since).map((r) => r.key)).toEqual(["docs/guide.md"]);
  });

  it("names a missing bucket in the error that ends the run", async () => {
    const failure = run("s3://no-such-bucket/docs/");
    await expect(failure).rejects.toThrow(NotFoundError);
    await expect(failure).rejects.toThrow(
      'S3 bucket "no-such-bucket" does not exist (listing s3://no-such-bucket/docs/)',
    );
  });

  it("lets the SDK retry throttling (503 SlowDown) and internal errors, then yields every object", async () => {
    const bytes = await seed(emulator, "busy", [
      ["memo.pdf", "fake-memo.pdf"],
      ["guide.md", "fastify-getting-started.md"],
      ["releases.csv", "debian-releases.csv"],
    ]);
    emulator.throttle(1, { operation: "ListObjectsV2" });
    emulator.throttle(1, { operation: "GetObject", key: "memo.pdf" });
    emulator.inject({ operation: "GetObject", key: "guide.md", error: INTERNAL_ERROR });
    const since = emulator.requests.length;

    const { blobs, skipped } = await run("s3://busy", { concurrency: 1 });

    expect(skipped).toEqual([]);
    expect(blobs.map((b) => b.name)).toEqual(["guide.md", "memo.pdf", "releases.csv"]);
    for (const blob of blobs) expect(blob.data.equals(bytes.get(blob.name) as Buffer)).toBe(true);
    expect(emulator.recorded("ListObjectsV2", since).map((r) => r.status)).toEqual([503, 200]);
    expect(emulator.recorded("GetObject", since).map((r) => [r.key, r.status])).toEqual([
      ["guide.md", 500],
      ["guide.md", 200],
      ["memo.pdf", 503],
      ["memo.pdf", 200],
      ["releases.csv", 200],
    ]);
  });

  it("reports an object over the size limit without downloading it", async () => {
    await seed(emulator, "big", [
      ["bitcoin.pdf", "bitcoin.pdf"],
      ["memo.pdf", "fake-memo.pdf"],
    ]);
    const since = emulator.requests.length;

    const { blobs, skipped } = await run("s3://big/", { maxBytes: 100_000 });

    expect(blobs.map((b) => b.name)).toEqual(["memo.pdf"]);
    expect(skipped).toEqual([
      {
        name: "bitcoin.pdf",
        source: "s3://big/bitcoin.pdf",
        etag: md5(await fixture("bitcoin.pdf")),
        size: 184_292,
        reason: "too_large",
        code: "too_large",
        error: "s3://big/bitcoin.pdf is 184292 bytes, more than the 100000 bytes an object may have",
      },
    ]);
    expect(emulator.recorded("GetObject", since).map((r) => r.key)).toEqual(["memo.pdf"]);
  });

  it("abandons the download of an object that grew past the limit after it was listed", async () => {
    await seed(emulator, "race", [["scan.pdf", "fake-memo.pdf"]]);
    const grown = await fixture("bitcoin.pdf");
    // The body trickles out, so the connection is still sending when the reader gives up.
    emulator.inject({ operation: "GetObject", key: "scan.pdf", chunkDelayMs: 20 });
    const since = emulator.requests.length;

    const { blobs, skipped } = await run("s3://race/", {
      maxBytes: 50_000,
      // Called between listing and downloading: the moment another writer replaces the object.
      known: async () => {
        emulator.putObject("race", "scan.pdf", grown);
        return undefined;
      },
    });

    expect(blobs).toEqual([]);
    expect(skipped).toMatchObject([{ source: "s3://race/scan.pdf", reason: "too_large", code: "too_large" }]);
    expect(skipped[0].error).toMatch(/184292 bytes, more than the 50000/);
    const [get] = emulator.recorded("GetObject", since);
    await vi.waitFor(() => expect(get.aborted).toBe(true));
    // Not past the cap, give or take the chunk in flight.
    expect(get.bytesSent).toBeLessThanOrEqual(50_000 + 16 * 1024);
  });

  it("turns a body cut mid-stream into a failure of that object alone", async () => {
    const bytes = await seed(emulator, "flaky", [
      ["bitcoin.pdf", "bitcoin.pdf"],
      ["memo.pdf", "fake-memo.pdf"],
    ]);
    emulator.inject({ operation: "GetObject", key: "bitcoin.pdf", cutAfterBytes: 40_000 });
    const started = Date.now();

    const { blobs, skipped } = await run("s3://flaky/");

    expect(Date.now() - started).toBeLessThan(5_000);
    expect(blobs.map((b) => b.name)).toEqual(["memo.pdf"]);
    expect(blobs[0].data.equals(bytes.get("memo.pdf") as Buffer)).toBe(true);
    expect(skipped).toMatchObject([
      { source: "s3://flaky/bitcoin.pdf", reason: "failed", code: "s3_read_failed" },
    ]);
    expect(skipped[0].error).toMatch(
      /^Cannot read s3:\/\/flaky\/bitcoin\.pdf: the download failed after \d+ of 184292/,
    );
  });

  it("gives up on a body that stalls, after the idle timeout", async () => {
    await seed(emulator, "stalled", [["bitcoin.pdf", "bitcoin.pdf"]]);
    emulator.inject({ operation: "GetObject", key: "bitcoin.pdf", stallAfterBytes: 16_384 });
    const started = Date.now();

    const { blobs, skipped } = await run("s3://stalled/", { idleTimeoutMs: 300 });

    expect(Date.now() - started).toBeLessThan(3_000);
    expect(blobs).toEqual([]);
    expect(skipped).toMatchObject([{ reason: "failed", code: "s3_read_failed" }]);
    expect(skipped[0].error).toMatch(/after 16384 of 184292 bytes: no data for 300 ms/);
  });

  it("downloads at most `concurrency` objects at once", async () => {
    await seed(
      emulator,
      "many",
      Array.from({ length: 8 }, (_, i): [string, string] => [`doc-${i}.csv`, "debian-releases.csv"]),
    );
    emulator.inject({ operation: "GetObject", delayMs: 50, times: 8 });
    emulator.maxInFlight = 0;

    const { blobs } = await run("s3://many/", { concurrency: 3 });

    expect(blobs.map((b) => b.name)).toEqual(Array.from({ length: 8 }, (_, i) => `doc-${i}.csv`));
    expect(emulator.maxInFlight).toBeGreaterThan(1);
    expect(emulator.maxInFlight).toBeLessThanOrEqual(3);
  });

  it("stops at once when aborted, hanging up on the download in flight", async () => {
    await seed(emulator, "slow", [["memo.pdf", "fake-memo.pdf"]]);
    emulator.inject({ operation: "GetObject", delayMs: 5_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const since = emulator.requests.length;
    const started = Date.now();

    await expect(run("s3://slow/", { signal: controller.signal })).rejects.toMatchObject({
      name: "AbortError",
    });

    expect(Date.now() - started).toBeLessThan(2_000);
    const [get] = emulator.recorded("GetObject", since);
    await vi.waitFor(() => expect(get.aborted).toBe(true));
  });
});

describe("uploadObject", () => {
  const emulator = useS3Emulator();

  it("stores bytes that GetObject returns identically, sent whole with a CRC32 header", async () => {
    emulator.createBucket("staging");
    const client = createS3Client({ forcePathStyle: true });
    const scan = await fixture("paystub.jpg");
    const since = emulator.requests.length;

    const { etag } = await uploadObject(client, "staging", "scans/paystub 1.jpg", scan, "image/jpeg");

    expect(etag).toBe(md5(scan));
    const [put] = emulator.recorded("PutObject", since);
    expect(put.headers["x-amz-checksum-crc32"]).toBeTruthy();
    expect(put.headers["content-encoding"]).toBeUndefined();
    const blob = await readS3Object(client, { bucket: "staging", key: "scans/paystub 1.jpg" });
    expect(blob?.data.equals(scan)).toBe(true);
    expect(blob?.mediaType).toBe("image/jpeg");
    expect(blob?.metadata?.etag).toBe(etag);
  });

  it("uploads a stream aws-chunked with a checksum trailer, however small its pieces", async () => {
    emulator.createBucket("chunked");
    const client = createS3Client({ forcePathStyle: true });
    const file = path.join(FIXTURES, "bitcoin.pdf");
    const pdf = await readFile(file);
    const since = emulator.requests.length;

    // 1 KiB pieces: sent as they come, S3 would refuse every chunk under 8 KiB but the last.
    const stream = createReadStream(file, { highWaterMark: 1024 });
    const { etag } = await uploadObject(client, "chunked", "b.pdf", stream, "application/pdf", {
      contentLength: pdf.length,
    });

    expect(etag).toBe(md5(pdf));
    const [put] = emulator.recorded("PutObject", since);
    expect(put).toMatchObject({
      status: 200,
      headers: {
        "content-encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-decoded-content-length": String(pdf.length),
      },
    });
    expect(emulator.getObject("chunked", "b.pdf")?.checksums["x-amz-checksum-crc32"]).toBeTruthy();
    const blob = await readS3Object(client, { bucket: "chunked", key: "b.pdf" });
    expect(blob?.data.equals(pdf)).toBe(true);
    expect(blob?.mediaType).toBe("application/pdf");
  });

  it("refuses a stream without its length, and names a missing bucket", async () => {
    const client = createS3Client({ forcePathStyle: true });
    await expect(
      uploadObject(client, "staging", "x.txt", Readable.from([Buffer.from("x")]), "text/plain"),
    ).rejects.toThrow(BadRequestError);
    await expect(uploadObject(client, "nowhere", "x.txt", Buffer.from("x"), "text/plain")).rejects.toThrow(
      'S3 bucket "nowhere" does not exist (uploading s3://nowhere/x.txt)',
    );
  });
});
