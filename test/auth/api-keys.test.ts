// API keys: stored hashed, verified whole, revoked and added without a restart; a broken keys file neither opens
// the service nor locks everyone out; a keys file that was named but is missing stops the service at start.
import { readFile, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  hashKey,
  KeyFileError,
  KeyRing,
  newKey,
  openKeyRing,
  readKeyFile,
  writeKeyFile,
} from "../../src/auth/api-keys.ts";
import { createServices } from "../../src/services/services.ts";
import { quiet, tempDataDir, testSettings } from "../helpers/services.ts";

describe("API keys", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let file: string;
  let ring: KeyRing | undefined;

  beforeEach(async () => {
    data = await tempDataDir();
    file = path.join(data.dir, "api-keys.json");
  });
  afterEach(async () => {
    ring?.close();
    ring = undefined;
    await data.remove();
  });

  /**
   * Rewrites the file and moves its modification time on, as a later edit would: five seconds past the last
   * edit's, so that two edits in the same millisecond still differ.
   */
  let lastEdit = 0;
  const rewrite = async (write: () => Promise<void>) => {
    await write();
    lastEdit = Math.max(Date.now(), lastEdit) + 5_000;
    const later = new Date(lastEdit);
    await utimes(file, later, later);
  };

  it("stores only a hash of the key, and verifies the whole key", async () => {
    const { key, record } = newKey({ tenant: "acme", scopes: ["query", "query", "chat"], name: "bot" });
    expect(key).toMatch(/^ck_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(record).toMatchObject({ tenant: "acme", scopes: ["query", "chat"], sha256: hashKey(key) });
    await writeKeyFile(file, [record]);
    // The secret is everything after `ck_<id>_` (it may itself hold `_`).
    expect(await readFile(file, "utf8")).not.toContain(key.slice("ck_".length + 12 + 1));

    ring = await KeyRing.open(file);
    const principal = ring.verify(key);
    expect(principal).toMatchObject({ tenant: "acme", keyId: record.id });
    expect([...(principal?.scopes ?? [])]).toEqual(["query", "chat"]);
    // The same id with another secret, a truncated key, and garbage are all refused.
    expect(ring.verify(`${key.slice(0, -1)}${key.endsWith("A") ? "B" : "A"}`)).toBeUndefined();
    expect(ring.verify(key.slice(0, -1))).toBeUndefined();
    expect(ring.verify("Bearer")).toBeUndefined();
  });

  it("picks up added and revoked keys while running, and keeps the last good keys through a broken edit", async () => {
    const first = newKey({ tenant: "acme", scopes: ["query"] });
    await writeKeyFile(file, [first.record]);
    ring = await KeyRing.open(file, { pollMs: 60_000 });

    const second = newKey({ tenant: "globex", scopes: ["ingest"] });
    await rewrite(() => writeKeyFile(file, [first.record, second.record]));
    await ring.reloadIfChanged();
    expect(ring.verify(second.key)?.tenant).toBe("globex");

    await rewrite(() =>
      writeKeyFile(file, [{ ...first.record, revokedAt: new Date().toISOString() }, second.record]),
    );
    await ring.reloadIfChanged();
    expect(ring.verify(first.key)).toBeUndefined();

    await rewrite(() => writeFile(file, "{ not json"));
    await expect(ring.reloadIfChanged()).rejects.toThrow(/not JSON/);
    expect(ring.verify(second.key)?.tenant).toBe("globex");
  });

  it("names what is wrong with a keys file", async () => {
    const { record } = newKey({ tenant: "acme", scopes: ["query"] });
    await writeFile(file, JSON.stringify({ keys: [{ ...record, scopes: ["root"] }] }));
    await expect(readKeyFile(file)).rejects.toThrow(/keys\.0\.scopes\.0/);
    await writeFile(file, JSON.stringify({ keys: [record, record] }));
    await expect(readKeyFile(file)).rejects.toThrow(KeyFileError);
    await writeFile(file, JSON.stringify({ keys: [{ ...record, tenant: "../etc" }] }));
    await expect(readKeyFile(file)).rejects.toThrow(/tenant/);
  });

  it("runs open only when no keys file was named and the default one does not exist", async () => {
    const warn = { warn: () => {} };
    expect(await openKeyRing({ keysFile: file, required: false }, warn)).toBeUndefined();
    await expect(openKeyRing({ keysFile: file, required: true }, warn)).rejects.toThrow(/Cannot read/);
    await expect(
      createServices(testSettings(data.dir, { API_KEYS_FILE: path.join(data.dir, "missing.json") }), quiet),
    ).rejects.toThrow(KeyFileError);

    await writeKeyFile(file, [newKey({ tenant: "acme", scopes: ["query"] }).record]);
    ring = await openKeyRing({ keysFile: file, required: false }, warn);
    expect(ring?.size).toBe(1);
  });
});
