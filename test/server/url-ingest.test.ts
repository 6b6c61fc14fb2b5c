// POST /ingest {"urls"} end to end: a page on a private address is refused (SSRF) with nothing fetched, unless
// URL_ALLOW_ADDRESSES opens that address; then it is fetched, indexed and answered from.
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES, useService } from "../helpers/services.ts";

let site: Server;
let origin: string;
const requested: string[] = [];

beforeAll(async () => {
  const memo = await readFile(path.join(FIXTURES, "fake-memo.pdf"));
  site = createServer((req, res) => {
    requested.push(req.url ?? "");
    res.writeHead(200, { "content-type": "application/pdf" }).end(memo);
  });
  await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => site.close(resolve)));

const ingest = (url: string, urls: string[]) =>
  fetch(`${url}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ urls }),
  });

describe("URL ingestion by default", () => {
  const service = useService();

  it("refuses private and metadata addresses without fetching them", async () => {
    const res = await ingest(service.url, [`${origin}/memo.pdf`, "http://169.254.169.254/latest/meta-data/"]);
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { failed: { code: string }[] };
    expect(problem.failed.map((f) => f.code)).toEqual(["ssrf_blocked", "ssrf_blocked"]);
    expect(requested).toEqual([]);
  });
});

describe("URL ingestion with URL_ALLOW_ADDRESSES", () => {
  const service = useService({ URL_ALLOW_ADDRESSES: "127.0.0.1" });

  it("fetches an opened address, indexes the document and answers from it", async () => {
    const res = await ingest(service.url, [`${origin}/memo.pdf`]);
    expect(await res.json()).toMatchObject({ added: 1, failed: [] });
    const answer = await fetch(`${service.url}/chain/qa`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question: "How many laptops were delivered?" }),
    });
    const body = (await answer.json()) as { answer: string; sources: { source: string }[] };
    expect(body.answer).toContain("200 laptops");
    expect(body.sources[0].source).toBe(`${origin}/memo.pdf`);
  });
});
