// PII redaction at ingest through the real service, on both stores: a document full of planted values, indexed
// first without redaction, is re-processed once a recipe redacts (its chunks replaced), then skipped as
// unchanged; afterwards no planted value is anywhere the service keeps text (chunks over HTTP, the lexical index,
// the vector store, the data folder's files, every Redis key under the prefix, embedding cache included), and
// the masks are.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { DocumentDetail } from "../../src/contracts/documents.ts";
import { defaultTenant, startService, tempDataDir } from "../helpers/services.ts";

const PLANTED = {
  email: "jane.doe@example.com",
  phone: "+44 20 7946 0958",
  card: "4111 1111 1111 1111",
  iban: "DE89 3704 0044 0532 0130 00",
  ssn: "078-05-1120",
  ip: "192.168.14.27",
  accessKey: "AKIAIOSFODNN7EXAMPLE",
  secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const MASKS = [
  "[EMAIL]",
  "[PHONE]",
  "[CREDIT_CARD]",
  "[IBAN]",
  "[US_SSN]",
  "[IP_ADDRESS]",
  "[AWS_ACCESS_KEY]",
];

const HTML = `<html><head><title>Contact ${PLANTED.email}</title></head><body>
<p>The refund policy: customers are refunded within 30 days. Write to ${PLANTED.email} or call ${PLANTED.phone}.</p>
<p>Card on file ${PLANTED.card}; pay to ${PLANTED.iban}; SSN ${PLANTED.ssn}; office server ${PLANTED.ip}.</p>
<p>Deploy with access key ${PLANTED.accessKey} and aws_secret_access_key = ${PLANTED.secret} please.</p>
</body></html>`;

const SOURCE = "upload:contacts.html";

async function upload(url: string) {
  const form = new FormData();
  form.append("files", new Blob([HTML]), "contacts.html");
  const res = await fetch(`${url}/ingest`, { method: "POST", body: form });
  expect(res.status).toBe(200);
  return (await res.json()) as { added: number; updated: number; skipped: number };
}

async function chunksOf(url: string): Promise<string> {
  const res = await fetch(`${url}/documents/${encodeURIComponent(SOURCE)}`);
  expect(res.status).toBe(200);
  const detail = (await res.json()) as DocumentDetail;
  return JSON.stringify(detail);
}

/** Every file's bytes under `dir`, as text. */
async function filesText(dir: string): Promise<string> {
  let text = "";
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) text += (await readFile(path.join(entry.parentPath, entry.name))).toString("latin1");
  }
  return text;
}

/** Every value under `prefix:` in Redis, whatever its type, as text. */
async function redisText(url: string, prefix: string): Promise<string> {
  const client = createClient({ url });
  await client.connect();
  try {
    let text = "";
    for await (const key of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) {
      const type = await client.type(key);
      const value =
        type === "string"
          ? await client.get(key)
          : type === "hash"
            ? await client.hGetAll(key)
            : type === "ReJSON-RL"
              ? await client.json.get(key)
              : type === "set"
                ? await client.sMembers(key)
                : type === "zset"
                  ? await client.zRange(key, 0, -1)
                  : type === "list"
                    ? await client.lRange(key, 0, -1)
                    : `(${type})`;
      text += `${key} ${JSON.stringify(value)}\n`;
    }
    return text;
  } finally {
    await client.quit();
  }
}

describe.each([
  { backend: "in-process stores", redis: false },
  { backend: "Redis", redis: true },
])("PII redaction at ingest on $backend", ({ redis }) => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let loaders: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    data = await tempDataDir();
    loaders = await mkdtemp(path.join(tmpdir(), "counsel-loaders-"));
    await writeFile(path.join(loaders, "plain.yaml"), "redact:\n  pii: false\n");
    await writeFile(path.join(loaders, "redacting.yaml"), "redact:\n  pii: true\n");
    env = {
      LOADERS_DIR: loaders,
      ...(redis
        ? { REDIS_URL: inject("redisUrl"), REDIS_PREFIX: `pii${Math.random().toString(36).slice(2, 10)}` }
        : {}),
    };
  });
  afterAll(async () => {
    await data?.remove();
    await rm(loaders, { recursive: true, force: true });
  });

  it("re-processes a document indexed before redaction, then skips it, and keeps no planted value", async () => {
    // Indexed without redaction: the planted values are there (so the checks below can see them).
    const plain = await startService(data.dir, { ...env, RECIPE: "plain" });
    try {
      expect(await upload(plain.url)).toMatchObject({ added: 1 });
      expect(await chunksOf(plain.url)).toContain(PLANTED.email);
    } finally {
      await plain.stop();
    }

    const service = await startService(data.dir, { ...env, RECIPE: "redacting" });
    try {
      expect(await upload(service.url)).toMatchObject({ added: 0, updated: 1, skipped: 0 });
      expect(await upload(service.url)).toMatchObject({ added: 0, updated: 0, skipped: 1 });

      const chunks = await chunksOf(service.url);
      for (const mask of MASKS) expect(chunks).toContain(mask);
      expect(chunks).toContain("[AWS_SECRET_KEY]");
      expect(chunks).toContain("refund policy");

      const store = (await defaultTenant(service.services)).index;
      expect(await store.lexicalSearch(PLANTED.email, { k: 10 })).toEqual([]);
      const found = await store.similaritySearch(`${PLANTED.email} ${PLANTED.phone}`, 10);
      expect(found.length).toBeGreaterThan(0);
      const stored = JSON.stringify([found, await store.lexicalSearch("refund policy customers", { k: 10 })]);
      expect(stored).toContain("[EMAIL]");
      for (const value of Object.values(PLANTED)) {
        expect(chunks).not.toContain(value);
        expect(stored).not.toContain(value);
      }
    } finally {
      await service.stop();
    }

    const kept = redis ? await redisText(env.REDIS_URL, env.REDIS_PREFIX) : await filesText(data.dir);
    expect(kept).toContain("[EMAIL]");
    // The embedding cache was scanned too (its keys are hashes of the texts embedded).
    if (redis) expect(kept).toContain(`${env.REDIS_PREFIX}:embeddings:`);
    for (const value of Object.values(PLANTED)) expect(kept).not.toContain(value);
  });
});

describe("PII hashing at ingest", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let loaders: string;
  beforeAll(async () => {
    data = await tempDataDir();
    loaders = await mkdtemp(path.join(tmpdir(), "counsel-loaders-"));
    await writeFile(path.join(loaders, "hashing.yaml"), "redact:\n  pii:\n    strategy: hash\n");
  });
  afterAll(async () => {
    await data?.remove();
    await rm(loaders, { recursive: true, force: true });
  });

  it("refuses to start without PII_HASH_KEY, naming the field and the setting", async () => {
    const error = await startService(data.dir, { LOADERS_DIR: loaders, RECIPE: "hashing" }).catch((e) => e);
    expect(String(error)).toContain("hashing.yaml: redact.pii.strategy: hash needs a key: set PII_HASH_KEY");
  });

  it("stores equal values under equal hashes with the key", async () => {
    const service = await startService(data.dir, {
      LOADERS_DIR: loaders,
      RECIPE: "hashing",
      PII_HASH_KEY: "a-key-of-sixteen-chars",
    });
    try {
      await upload(service.url);
      const chunks = await chunksOf(service.url);
      const emails = chunks.match(/\[EMAIL:[0-9a-f]{8}\]/g) ?? [];
      expect(emails.length).toBeGreaterThanOrEqual(2);
      expect(new Set(emails).size).toBe(1);
      expect(chunks).not.toContain(PLANTED.email);
    } finally {
      await service.stop();
    }
  });
});
