// POST /ingest {"s3": "s3://bucket/prefix"} end to end: the service lists and reads the S3 emulator through the
// real AWS SDK (found through AWS_ENDPOINT_URL_S3), indexes the objects, answers from them, skips unchanged
// objects on the next run without downloading them, and removes deleted ones with cleanup.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { useS3Emulator } from "../helpers/s3.ts";
import { FIXTURES, startService, tempDataDir } from "../helpers/services.ts";

type Report = { added: number; updated: number; skipped: number; deleted: number; failed: unknown[] };

describe("ingesting from S3", () => {
  const s3 = useS3Emulator();
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let service: Awaited<ReturnType<typeof startService>>;

  const post = (body: unknown, url = service.url) =>
    fetch(`${url}/ingest`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const ingest = async (body: unknown, url = service.url) => {
    const res = await post(body, url);
    expect(res.status).toBe(200);
    return (await res.json()) as Report;
  };
  const gets = (since: number) => s3.recorded("GetObject", since).length;

  beforeAll(async () => {
    s3.createBucket("docs");
    s3.putObject("docs", "handbook/fake-memo.pdf", await readFile(path.join(FIXTURES, "fake-memo.pdf")));
    s3.putObject("docs", "handbook/hours.txt", "The cafeteria opens at 9am and closes at 3pm.", {
      contentType: "text/plain",
    });
    s3.putObject("docs", "handbook-old/stale.txt", "Not under the handbook/ prefix.");
    data = await tempDataDir();
    service = await startService(data.dir, { S3_FORCE_PATH_STYLE: "true" });
  });

  afterAll(async () => {
    await service?.stop();
    await data?.remove();
  });

  it("indexes every object under the prefix and answers from it, citing the s3:// source", async () => {
    expect(await ingest({ s3: "s3://docs/handbook/" })).toMatchObject({ added: 2, skipped: 0, failed: [] });
    const res = await fetch(`${service.url}/chain/qa`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question: "How many laptops were delivered?" }),
    });
    const answer = (await res.json()) as { answer: string; sources: { source: string }[] };
    expect(answer.answer).toContain("200 laptops");
    expect(answer.sources[0].source).toBe("s3://docs/handbook/fake-memo.pdf");
  });

  it("skips unchanged objects without downloading them, and reads a changed one again", async () => {
    let since = s3.requests.length;
    expect(await ingest({ s3: "s3://docs/handbook/" })).toMatchObject({ added: 0, updated: 0, skipped: 2 });
    expect(gets(since)).toBe(0);

    s3.putObject("docs", "handbook/hours.txt", "The cafeteria now opens at 8am.", {
      contentType: "text/plain",
    });
    since = s3.requests.length;
    expect(await ingest({ s3: "s3://docs/handbook/" })).toMatchObject({ updated: 1, skipped: 1, failed: [] });
    expect(s3.recorded("GetObject", since).map((r) => r.key)).toEqual(["handbook/hours.txt"]);
  });

  it("removes the documents of deleted objects with cleanup, and only under the prefix", async () => {
    s3.deleteObject("docs", "handbook/hours.txt");
    expect(await ingest({ s3: "s3://docs/handbook/", cleanup: true })).toMatchObject({
      deleted: 1,
      skipped: 1,
    });
    // The memo (unchanged, never downloaded) is still there.
    expect(await ingest({ s3: "s3://docs/handbook/" })).toMatchObject({ skipped: 1, deleted: 0 });
  });

  it("answers 4xx for a bad URL, a missing bucket, or a body with both documents and s3", async () => {
    const bad = await post({ s3: "s3://Not_A_Bucket/x" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: "bad_request", detail: /not an S3 bucket name/ });

    const missing = await post({ s3: "s3://no-such-bucket/" });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ detail: /no-such-bucket/ });

    const both = await post({ s3: "s3://docs/", documents: [{ text: "x" }] });
    expect(both.status).toBe(400);
    expect(await both.json()).toMatchObject({ detail: /one of "documents", "s3" or "urls"/ });

    const notS3 = await post({ s3: "https://docs.example/x" });
    expect(notS3.status).toBe(400);
  });

  it("shares what it has read between processes through Redis", async () => {
    const prefix = `t${Math.random().toString(36).slice(2, 10)}`;
    const env = { S3_FORCE_PATH_STYLE: "true", REDIS_URL: inject("redisUrl"), REDIS_PREFIX: prefix };
    const dirs = [await tempDataDir(), await tempDataDir()];
    const [one, two] = await Promise.all(dirs.map((d) => startService(d.dir, env)));
    try {
      expect(await ingest({ s3: "s3://docs/handbook/" }, one.url)).toMatchObject({ added: 1 });
      const since = s3.requests.length;
      expect(await ingest({ s3: "s3://docs/handbook/" }, two.url)).toMatchObject({ added: 0, skipped: 1 });
      expect(gets(since)).toBe(0);
    } finally {
      await Promise.all([one.stop(), two.stop()]);
      await Promise.all(dirs.map((d) => d.remove()));
    }
  });
});
