// Redaction at ingest, checked where an original value could end up: Counsel as a real process on a real
// Redis 8 (every vector, chunk text, lexical entry, record, ledger entry, cached embedding and cached model
// answer lives there), Amazon Comprehend as the PII engine (its emulator, through the real AWS SDK), a
// Bedrock model answering with the LLM cache on. Values Comprehend finds are planted in a document's text, its
// title and the caller's metadata; after ingesting and answering, no key or value in Redis, no line of the
// service's log at debug level, and nothing the API returns holds one of them.
import type { ChildProcess } from "node:child_process";
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startRedis, stopRedis } from "../global-setup.ts";
import { useBedrockEmulator } from "../helpers/bedrock.ts";
import { useComprehendEmulator } from "../helpers/comprehend.ts";
import { type CounselProcess, startCounsel, stopCounsel } from "../helpers/counsel-process.ts";
import { ROOT, tempDataDir } from "../helpers/services.ts";

const PLANTED = [
  "Zhang Wei",
  "AnySpa@example.com",
  "1111-XXXX-1111-XXXX",
  "XXXXXX1111",
  "XXXXX0000",
  "123 Main St",
];

/** Every key and every value in the Redis, as text, whatever its type. */
async function everything(url: string): Promise<string[]> {
  const client = createClient({ url });
  await client.connect();
  const out: string[] = [];
  try {
    for await (const found of client.scanIterator({ COUNT: 1000 })) {
      for (const key of ([] as string[]).concat(found)) {
        out.push(key);
        const type = await client.type(key);
        if (type === "string") out.push(String(await client.get(key)));
        else if (type === "hash") out.push(JSON.stringify(await client.hGetAll(key)));
        else if (type === "set") out.push(...(await client.sMembers(key)));
        else if (type === "zset") out.push(...(await client.zRange(key, 0, -1)));
        else if (type === "list") out.push(...(await client.lRange(key, 0, -1)));
        else if (type === "vectorset") {
          const count = Number(await client.sendCommand(["VCARD", key]));
          const members = (await client.sendCommand(["VRANDMEMBER", key, String(count)])) as string[];
          for (const member of members) {
            out.push(member, String(await client.sendCommand(["VGETATTR", key, member])));
          }
        } else throw new Error(`${key}: a ${type} this test cannot read`);
      }
    }
  } finally {
    await client.quit();
  }
  return out;
}

describe("PII planted in a document is nowhere after ingestion and answering", () => {
  const comprehend = useComprehendEmulator();
  const bedrock = useBedrockEmulator();
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let redis: ChildProcess;
  let redisUrl: string;
  let counsel: CounselProcess | undefined;

  beforeAll(async () => {
    data = await tempDataDir();
    // A recipe that redacts through Comprehend, and the qa chain with the LLM response cache on.
    const loaders = path.join(data.dir, "loaders");
    const chains = path.join(data.dir, "chains");
    await cp(path.join(ROOT, "loaders"), loaders, { recursive: true });
    await cp(path.join(ROOT, "chains"), chains, { recursive: true });
    await writeFile(path.join(loaders, "pii.yaml"), "redact:\n  pii:\n    engine: comprehend\n");
    const qa = await readFile(path.join(chains, "qa.yaml"), "utf8");
    await writeFile(path.join(chains, "qa.yaml"), qa.replace(/^ {2}llm: false$/m, "  llm: true"));
    const port = await freePort();
    redis = await startRedis(port);
    redisUrl = `redis://127.0.0.1:${port}`;
    counsel = await startCounsel({
      REDIS_URL: redisUrl,
      DATA_DIR: path.join(data.dir, "state"),
      LOADERS_DIR: loaders,
      CHAINS_DIR: chains,
      RECIPE: "pii",
      MODEL_PROVIDER: "bedrock",
      MODEL_ID: "us.amazon.nova-micro-v1:0",
      LOG_LEVEL: "debug",
    });
  }, 120_000);

  afterAll(async () => {
    await stopCounsel(counsel);
    if (redis) await stopRedis(redis);
    await data?.remove();
  });

  it("leaves no planted value in Redis, the log or the replies, and counts what it redacted", async () => {
    const service = counsel as CounselProcess;
    const text =
      "Customer feedback for Sunshine Spa, 123 Main St, Anywhere. Send comments to Zhang Wei at " +
      "AnySpa@example.com. Refunds go to bank account number XXXXXX1111 with the routing number XXXXX0000, " +
      "never to the card 1111-XXXX-1111-XXXX.";
    const ingest = await fetch(`${service.url}/ingest`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        documents: [
          {
            text,
            metadata: { doc_id: "spa-feedback", title: "Letters for Zhang Wei", owner: "AnySpa@example.com" },
          },
        ],
      }),
    });
    expect(await ingest.json()).toMatchObject({ added: 1, failed: [] });
    expect(comprehend.requests.map((r) => r.operation)).toContain("DetectPiiEntities");

    const replies: string[] = [];
    for (let i = 0; i < 2; i++) {
      // Twice: the second answer comes from the LLM cache.
      const res = await fetch(`${service.url}/chain/qa`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ question: "Where do customers send comments about the spa?" }),
      });
      expect(res.status).toBe(200);
      replies.push(await res.text());
    }
    expect(bedrock.requests.filter((r) => r.operation === "converse")).toHaveLength(1);
    const document = await fetch(`${service.url}/documents/spa-feedback`);
    expect(document.status).toBe(200);
    replies.push(await document.text());
    // What was stored is the redacted text, with its metadata.
    expect(replies.at(-1)).toContain("Send comments to [NAME] at [EMAIL]");
    expect(replies.at(-1)).toContain('"title":"Letters for [NAME]"');

    const stored = await everything(redisUrl);
    expect(stored.length).toBeGreaterThan(10);
    // The caller's metadata is stored redacted beside the chunk.
    expect(stored.some((value) => /"owner":\s*"\[EMAIL\]"/.test(value))).toBe(true);
    const log = service.output();
    expect(log).toContain('"msg":"incoming request"'); // the log was captured
    for (const value of PLANTED) {
      expect(stored.filter((s) => s.includes(value))).toEqual([]);
      expect(log).not.toContain(value);
      for (const reply of replies) expect(reply).not.toContain(value);
    }

    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/^counsel_pii_requests_total\{engine="comprehend"\} [1-9]/m);
    expect(metrics).toMatch(/^counsel_pii_redacted_total\{engine="comprehend",type="EMAIL"\} 2$/m);
    expect(metrics).toMatch(/^counsel_pii_redacted_total\{engine="comprehend",type="NAME"\} 2$/m);
  });
});
