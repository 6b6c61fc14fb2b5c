// DATA_DIR encrypted at rest (DATA_KMS_KEY_ID) through the real service: its data key made by KMS (the emulator,
// through the real AWS SDK) and wrapped beside the data, every store's file sealed, a restart unwrapping the key
// with Decrypt, and a DATA_DIR written before the key was set sealed at its first start with one.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { useKmsEmulator } from "../helpers/kms.ts";
import { startService, tempDataDir } from "../helpers/services.ts";

const SECRET = "The vault combination is kept by Marguerite Okonkwo in the north annex.";
const DOC = "vault-procedure";

/** Every file under `dir` but the wrapped key and the marker, with its bytes. */
async function filesUnder(dir: string): Promise<{ name: string; bytes: Buffer }[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile() && !["data-key.json", "sealed.json"].includes(e.name));
  return Promise.all(
    files.map(async (e) => ({
      name: path.relative(dir, path.join(e.parentPath, e.name)),
      bytes: await readFile(path.join(e.parentPath, e.name)),
    })),
  );
}

async function ingest(url: string): Promise<void> {
  const response = await fetch(`${url}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ documents: [{ text: SECRET, metadata: { doc_id: DOC } }] }),
  });
  expect(response.status).toBe(200);
  // A question: its retrieval reads the sealed texts (and its run is kept, sealed, when the run store saves).
  const asked = await fetch(`${url}/chain/qa`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ question: "Who keeps the vault combination?" }),
  });
  expect(asked.status).toBe(200);
}

async function chunkTexts(url: string): Promise<string[]> {
  const response = await fetch(`${url}/documents/${encodeURIComponent(DOC)}/chunks`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { chunks: { text: string }[] };
  return body.chunks.map((chunk) => chunk.text);
}

describe("DATA_DIR encrypted at rest with a KMS-wrapped data key", () => {
  const kms = useKmsEmulator();
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  beforeEach(async () => {
    data = await tempDataDir();
  });
  afterEach(async () => data.remove());

  it("seals every file the stores write, and a restart reads them back after one KMS Decrypt", async () => {
    const key = kms.createKey();
    const first = await startService(data.dir, { DATA_KMS_KEY_ID: key });
    await ingest(first.url);
    await first.stop();

    const files = await filesUnder(data.dir);
    expect(files.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/vectors\.bin$/),
        expect.stringMatching(/vectors\.bin\.log$/),
        expect.stringMatching(/records\.json$/),
        expect.stringMatching(/statuses\.json$/),
      ]),
    );
    for (const { name, bytes } of files) {
      expect(bytes.includes("Okonkwo"), name).toBe(false);
      expect(bytes.subarray(0, 8).toString("latin1"), name).toBe("CNSLSEA1");
    }
    const wrapped = JSON.parse(await readFile(path.join(data.dir, "data-key.json"), "utf8"));
    expect(wrapped).toMatchObject({ format: "counsel-data-key", keyId: key });
    expect(kms.requests.map((r) => r.operation)).toEqual(["GenerateDataKey"]);

    const second = await startService(data.dir, { DATA_KMS_KEY_ID: key });
    try {
      expect(await chunkTexts(second.url)).toEqual([SECRET]);
    } finally {
      await second.stop();
    }
    expect(kms.requests.map((r) => r.operation)).toEqual(["GenerateDataKey", "Decrypt"]);
  });

  it("seals a DATA_DIR written before the key was set, then will not start without the key", async () => {
    const plain = await startService(data.dir);
    await ingest(plain.url);
    await plain.stop();
    const before = await filesUnder(data.dir);
    expect(before.some(({ bytes }) => bytes.includes("Okonkwo"))).toBe(true);

    const key = kms.createKey({ alias: "alias/counsel-data" });
    const sealed = await startService(data.dir, { DATA_KMS_KEY_ID: "alias/counsel-data" });
    try {
      expect(await chunkTexts(sealed.url)).toEqual([SECRET]);
      // Written since, sealed too: a second document and a run.
      await ingest(sealed.url);
    } finally {
      await sealed.stop();
    }
    for (const { name, bytes } of await filesUnder(data.dir))
      expect(bytes.includes("Okonkwo"), name).toBe(false);
    expect(JSON.parse(await readFile(path.join(data.dir, "data-key.json"), "utf8")).keyId).toBe(key);

    await expect(startService(data.dir)).rejects.toThrow(
      /DATA_KMS_KEY_ID: required: DATA_DIR .* is encrypted/,
    );
    const other = kms.createKey();
    await expect(startService(data.dir, { DATA_KMS_KEY_ID: other })).rejects.toThrow(
      new RegExp(`sealed under KMS key ${key}`),
    );
  });
});
