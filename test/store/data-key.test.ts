// DATA_DIR's data key through the real KMS client, made from the environment as the service makes it
// (AWS_ENDPOINT_URL_KMS), against the KMS emulator: made once and kept wrapped, unwrapped at each start, and every
// way it can fail stopping the start with what to fix.
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SettingsError } from "../../src/config/settings.ts";
import { DATA_KEY_FILE, unlockDataKey } from "../../src/store/at-rest/data-key.ts";
import { THROTTLING } from "../emulators/kms.ts";
import { useKmsEmulator } from "../helpers/kms.ts";

describe("unlockDataKey", () => {
  const kms = useKmsEmulator();
  let root: string;
  let dataDir: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "counsel-data-key-"));
    dataDir = path.join(root, "data"); // not there yet: the first start makes it
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  const file = () => path.join(dataDir, DATA_KEY_FILE);
  /** DATA_DIR sealed under a new key: the key's ARN and the data key. */
  const sealed = async () => {
    const keyId = kms.createKey();
    const made = await unlockDataKey({ dataDir, keyId });
    kms.reset();
    return { keyId, key: made?.key as Buffer };
  };
  const changeFile = async (change: (record: Record<string, unknown>) => void) => {
    const record = JSON.parse(await readFile(file(), "utf8"));
    change(record);
    await writeFile(file(), JSON.stringify(record));
  };

  it("leaves DATA_DIR plain when no key is set and it holds no data-key.json", async () => {
    expect(await unlockDataKey({ dataDir })).toBeUndefined();
    expect(kms.requests).toEqual([]);
    await expect(stat(dataDir)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("makes the data key on first use and writes it wrapped, never the key itself, readable by the owner only", async () => {
    const keyId = kms.createKey();
    const made = await unlockDataKey({ dataDir, keyId });
    expect(made).toMatchObject({ keyId, created: true });
    expect(made?.key).toHaveLength(32);
    expect(kms.requests).toEqual([
      {
        operation: "GenerateDataKey",
        body: { KeyId: keyId, KeySpec: "AES_256", EncryptionContext: { "counsel:purpose": "data-dir" } },
      },
    ]);

    const bytes = await readFile(file());
    const key = made?.key as Buffer;
    for (const form of [key, Buffer.from(key.toString("base64")), Buffer.from(key.toString("hex"))])
      expect(bytes.includes(form)).toBe(false);
    expect(JSON.parse(bytes.toString("utf8"))).toEqual({
      format: "counsel-data-key",
      version: 1,
      keyId,
      encryptionContext: { "counsel:purpose": "data-dir" },
      ciphertextBlob: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/),
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect((await stat(file())).mode & 0o777).toBe(0o600);
    expect(await readdir(dataDir)).toEqual([DATA_KEY_FILE]);
  });

  it("unwraps the same key at every later start, the KMS key named by its ARN or an alias", async () => {
    const { keyId, key } = await sealed();
    const alias = `alias/counsel-${path.basename(root)}`;
    kms.createAlias(alias, keyId);
    for (const named of [keyId, alias]) {
      const again = await unlockDataKey({ dataDir, keyId: named });
      expect(again).toEqual({ key, keyId, created: false });
    }
    expect(kms.requests.map((r) => [r.operation, r.body.KeyId, r.body.EncryptionContext])).toEqual([
      ["Decrypt", keyId, { "counsel:purpose": "data-dir" }],
      ["Decrypt", alias, { "counsel:purpose": "data-dir" }],
    ]);
  });

  it("agrees on one key when two processes start on an empty DATA_DIR at once", async () => {
    const keyId = kms.createKey();
    const [a, b] = await Promise.all([unlockDataKey({ dataDir, keyId }), unlockDataKey({ dataDir, keyId })]);
    expect(a?.key).toEqual(b?.key);
    expect([a?.created, b?.created].sort()).toEqual([false, true]);
    expect((await unlockDataKey({ dataDir, keyId }))?.key).toEqual(a?.key);
    expect(await readdir(dataDir)).toEqual([DATA_KEY_FILE]);
  });

  it("waits out KMS throttling at start rather than stopping", async () => {
    const { keyId, key } = await sealed();
    kms.faults.push(THROTTLING, THROTTLING);
    expect((await unlockDataKey({ dataDir, keyId }))?.key).toEqual(key);
  });

  it("stops the start when DATA_DIR holds a data key but DATA_KMS_KEY_ID is unset, naming the key to set", async () => {
    const { keyId } = await sealed();
    const unlocking = unlockDataKey({ dataDir });
    await expect(unlocking).rejects.toBeInstanceOf(SettingsError);
    await expect(unlocking).rejects.toThrow(
      `DATA_KMS_KEY_ID: required: DATA_DIR (${dataDir}) is encrypted, its data key wrapped in ${file()} by KMS key ${keyId}`,
    );
    expect(kms.requests).toEqual([]);
  });

  it.each([
    {
      when: "another key than the one DATA_DIR was sealed under",
      setUp: (_: string) => kms.createKey(),
      message: (keyId: string, other: string) =>
        `DATA_KMS_KEY_ID: DATA_DIR was sealed under KMS key ${keyId} (recorded in ${file()}), not ${other}`,
      cause: "IncorrectKeyException",
    },
    {
      when: "a disabled key",
      setUp: (keyId: string) => {
        kms.setEnabled(keyId, false);
        return keyId;
      },
      message: (keyId: string) => `DATA_KMS_KEY_ID: KMS key ${keyId} is disabled: enable it to unwrap`,
      cause: "DisabledException",
    },
    {
      when: "a key whose policy leaves the process out",
      setUp: (keyId: string) => {
        kms.deny(keyId);
        return keyId;
      },
      message: (keyId: string) => `this process is not allowed kms:Decrypt on KMS key ${keyId}`,
      cause: "AccessDeniedException",
    },
    {
      when: "a key KMS does not have",
      setUp: (_: string) => "alias/gone",
      message: () => "DATA_KMS_KEY_ID: KMS has no key alias/gone",
      cause: "NotFoundException",
    },
  ])("stops the start on $when, naming the key and the file", async ({ setUp, message, cause }) => {
    const { keyId } = await sealed();
    const asked = setUp(keyId);
    const unlocking = unlockDataKey({ dataDir, keyId: asked });
    await expect(unlocking).rejects.toBeInstanceOf(SettingsError);
    await expect(unlocking).rejects.toThrow(message(keyId, asked));
    await expect(unlocking).rejects.toMatchObject({ cause: { name: cause } });
  });

  it("stops the first start on a disabled key, writing nothing", async () => {
    const keyId = kms.createKey();
    kms.setEnabled(keyId, false);
    const unlocking = unlockDataKey({ dataDir, keyId });
    await expect(unlocking).rejects.toThrow(
      `KMS key ${keyId} is disabled: enable it to make DATA_DIR's data key`,
    );
    await expect(stat(file())).rejects.toMatchObject({ code: "ENOENT" });
  });

  it.each([
    {
      damage: "a blob changed by one bit",
      change: (r: Record<string, unknown>) => {
        const blob = Buffer.from(String(r.ciphertextBlob), "base64");
        blob[blob.length - 1] ^= 1;
        r.ciphertextBlob = blob.toString("base64");
      },
      message: /data-key\.json is damaged: KMS cannot unwrap its data key .*\(InvalidCiphertextException\)/,
    },
    {
      damage: "a changed encryption context",
      change: (r: Record<string, unknown>) => {
        r.encryptionContext = { "counsel:purpose": "other" };
      },
      message: /data-key\.json is damaged: KMS cannot unwrap/,
    },
    {
      damage: "no blob",
      change: (r: Record<string, unknown>) => {
        delete r.ciphertextBlob;
      },
      message: /data-key\.json is damaged \(not a counsel-data-key file of version 1: ciphertextBlob:/,
    },
  ])("says data-key.json is damaged when it has $damage", async ({ change, message }) => {
    const { keyId } = await sealed();
    await changeFile(change);
    await expect(unlockDataKey({ dataDir, keyId })).rejects.toThrow(message);
  });

  it("says data-key.json is damaged when it is not JSON", async () => {
    const { keyId } = await sealed();
    await writeFile(file(), '{"format": "counsel-data-key", "vers');
    await expect(unlockDataKey({ dataDir, keyId })).rejects.toThrow(
      new RegExp(`DATA_DIR: ${file().replaceAll(/[.\\]/g, "\\$&")} is damaged \\(not JSON: `),
    );
    expect(kms.requests).toEqual([]);
  });
});
