// DATA_DIR's data key: the 32 bytes its files are sealed with, kept beside them only wrapped by a KMS key
// (envelope encryption: GenerateDataKey once, Decrypt at each start), so that reading DATA_DIR takes both its disk
// and a KMS Decrypt that the key's policy allows. Each failure says which key, which file and what to do.
import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, unlink } from "node:fs/promises";
import path from "node:path";
import type { KMSClient } from "@aws-sdk/client-kms";
import { z } from "zod/v4";
import { SettingsError } from "../../config/settings.ts";
import { syncDir, writeFileAtomic } from "../atomic-file.ts";

/** The wrapped key's file, in DATA_DIR itself. */
export const DATA_KEY_FILE = "data-key.json";

/** Bound to the wrapped key by KMS: a blob wrapped for another purpose does not unwrap as DATA_DIR's key. */
export const DATA_KEY_CONTEXT: Readonly<Record<string, string>> = { "counsel:purpose": "data-dir" };

/** AES-256. */
const KEY_BYTES = 32;

const dataKeyRecord = z.object({
  format: z.literal("counsel-data-key"),
  version: z.literal(1),
  /** The ARN KMS answered GenerateDataKey with: the key DATA_DIR is sealed under. */
  keyId: z.string().min(1),
  encryptionContext: z.record(z.string(), z.string()),
  ciphertextBlob: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, "expected base64"),
  createdAt: z.string(),
});
type DataKeyRecord = z.output<typeof dataKeyRecord>;

export interface DataKey {
  /** The unwrapped data key (32 bytes): kept in memory only. */
  key: Buffer;
  /** The ARN of the KMS key that wraps it. */
  keyId: string;
  /** True when this call made the key (DATA_DIR had none): nothing is sealed with it yet. */
  created: boolean;
}

export interface UnlockDataKeyOptions {
  dataDir: string;
  /** DATA_KMS_KEY_ID: id, ARN, alias name or alias ARN; unset: DATA_DIR is not encrypted. */
  keyId?: string;
  /** Made when absent: region, credentials and endpoint (AWS_ENDPOINT_URL_KMS) from the SDK's environment. */
  client?: KMSClient;
}

/**
 * The data key that seals DATA_DIR's files, unwrapped; undefined when DATA_DIR is not encrypted. The first call
 * with a key id makes the data key and writes it, wrapped, to `<dataDir>/data-key.json`; later calls unwrap it.
 *
 * @throws SettingsError naming what to fix: DATA_DIR is encrypted and no key id is set, the key is not the one
 * DATA_DIR was sealed under, KMS refuses or lacks the key, or data-key.json is damaged.
 * @example
 * const dataKey = await unlockDataKey({ dataDir: settings.dataDir, keyId: settings.dataKmsKeyId });
 * // dataKey?.key: the 32 bytes DATA_DIR's files are sealed with; undefined: they are plain
 */
export async function unlockDataKey(options: UnlockDataKeyOptions): Promise<DataKey | undefined> {
  const file = path.join(options.dataDir, DATA_KEY_FILE);
  const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  const { keyId } = options;
  if (text === undefined) return keyId ? createDataKey(file, { ...options, keyId }) : undefined;
  const read = readRecord(text);
  if (!keyId) {
    const recorded = "record" in read ? ` by KMS key ${read.record.keyId}` : "";
    throw new SettingsError([
      `DATA_KMS_KEY_ID: required: DATA_DIR (${options.dataDir}) is encrypted, its data key wrapped in ${file}` +
        `${recorded}; set DATA_KMS_KEY_ID to that key (its id, ARN or an alias) to read it`,
    ]);
  }
  if (!("record" in read))
    throw new SettingsError([
      `DATA_DIR: ${file} is damaged (${read.problem}); restore it from a backup of DATA_DIR: without it ` +
        "DATA_DIR's files cannot be read",
    ]);
  return unwrap(file, read.record, { ...options, keyId });
}

/** The options once a key id is known to be set. */
type Keyed = UnlockDataKeyOptions & { keyId: string };

async function createDataKey(file: string, options: Keyed): Promise<DataKey> {
  const made = await withKms(options.client, ({ GenerateDataKeyCommand }, kms) =>
    kms.send(
      new GenerateDataKeyCommand({
        KeyId: options.keyId,
        KeySpec: "AES_256",
        EncryptionContext: { ...DATA_KEY_CONTEXT },
      }),
    ),
  ).catch((error: unknown) => {
    throw kmsFailure(error, "kms:GenerateDataKey", file, options.keyId);
  });
  if (!made.CiphertextBlob || !made.KeyId || made.Plaintext?.length !== KEY_BYTES)
    throw new SettingsError([
      `DATA_KMS_KEY_ID: KMS answered GenerateDataKey on ${options.keyId} without a ${KEY_BYTES}-byte key, ` +
        "its blob and its key's ARN",
    ]);
  const record: DataKeyRecord = {
    format: "counsel-data-key",
    version: 1,
    keyId: made.KeyId,
    encryptionContext: { ...DATA_KEY_CONTEXT },
    ciphertextBlob: Buffer.from(made.CiphertextBlob).toString("base64"),
    createdAt: new Date().toISOString(),
  };
  await mkdir(options.dataDir, { recursive: true });
  if (await writeOnce(file, `${JSON.stringify(record, null, 2)}\n`))
    return { key: Buffer.from(made.Plaintext), keyId: made.KeyId, created: true };
  // Another process (a worker beside the server) made DATA_DIR's key first: its key is the one, not this one.
  return unlockDataKey(options) as Promise<DataKey>;
}

async function unwrap(file: string, record: DataKeyRecord, options: Keyed): Promise<DataKey> {
  const opened = await withKms(options.client, ({ DecryptCommand }, kms) =>
    kms.send(
      new DecryptCommand({
        CiphertextBlob: Buffer.from(record.ciphertextBlob, "base64"),
        KeyId: options.keyId,
        EncryptionContext: record.encryptionContext,
      }),
    ),
  ).catch((error: unknown) => {
    throw kmsFailure(error, "kms:Decrypt", file, options.keyId, record.keyId);
  });
  if (opened.Plaintext?.length !== KEY_BYTES)
    throw new SettingsError([
      `DATA_DIR: ${file} wraps ${opened.Plaintext?.length ?? 0} bytes, not a ${KEY_BYTES}-byte data key; ` +
        "restore it from a backup of DATA_DIR",
    ]);
  return { key: Buffer.from(opened.Plaintext), keyId: opened.KeyId ?? record.keyId, created: false };
}

/**
 * Runs one call with the given client, or with one made for it and destroyed after. The SDK is loaded here, so
 * that a service whose DATA_DIR is not encrypted does not carry it.
 */
async function withKms<T>(
  client: KMSClient | undefined,
  call: (sdk: typeof import("@aws-sdk/client-kms"), kms: KMSClient) => Promise<T>,
): Promise<T> {
  const sdk = await import("@aws-sdk/client-kms");
  // Five attempts, as the other AWS clients: a throttled start should wait a little, not stop.
  const kms = client ?? new sdk.KMSClient({ maxAttempts: 5 });
  try {
    return await call(sdk, kms);
  } finally {
    if (!client) kms.destroy();
  }
}

/** What KMS refused, as the thing to fix: which key, which file. */
function kmsFailure(
  error: unknown,
  action: "kms:GenerateDataKey" | "kms:Decrypt",
  file: string,
  keyId: string,
  recorded?: string,
): SettingsError {
  const { name, message } = error instanceof Error ? error : new Error(String(error));
  const said = `${name}: ${message}`;
  const doing =
    action === "kms:Decrypt" ? `unwrap DATA_DIR's data key (${file})` : "make DATA_DIR's data key";
  const problems: Record<string, string> = {
    IncorrectKeyException:
      `DATA_KMS_KEY_ID: DATA_DIR was sealed under KMS key ${recorded} (recorded in ${file}), not ${keyId}: ` +
      "set DATA_KMS_KEY_ID to that key (or an alias of it)",
    AccessDeniedException:
      `DATA_KMS_KEY_ID: this process is not allowed ${action} on KMS key ${keyId}, needed to ${doing}: ` +
      `grant it in the key's policy or the role's (${said})`,
    NotFoundException:
      `DATA_KMS_KEY_ID: KMS has no key ${keyId}${recorded ? ` (or ${recorded}, which wraps ${file})` : ""} ` +
      `in this account and region (AWS_REGION), needed to ${doing} (${said})`,
    DisabledException: `DATA_KMS_KEY_ID: KMS key ${keyId} is disabled: enable it to ${doing}`,
    KMSInvalidStateException:
      `DATA_KMS_KEY_ID: KMS key ${keyId} cannot be used now (pending deletion?), needed to ${doing} ` +
      `(${said})`,
    InvalidCiphertextException:
      `DATA_DIR: ${file} is damaged: KMS cannot unwrap its data key under the encryption context it ` +
      "records (InvalidCiphertextException); restore it from a backup of DATA_DIR",
  };
  const problem = Object.hasOwn(problems, name)
    ? problems[name]
    : `DATA_KMS_KEY_ID: cannot ${doing} with KMS key ${keyId} (${said})`;
  return new SettingsError([problem], { cause: error });
}

/** The file's record, or what is wrong with it. */
function readRecord(text: string): { record: DataKeyRecord } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON: ${(error as Error).message}` };
  }
  const parsed = dataKeyRecord.safeParse(json);
  if (parsed.success) return { record: parsed.data };
  const issue = parsed.error.issues[0];
  return { problem: `not a counsel-data-key file of version 1: ${issue.path.join(".")}: ${issue.message}` };
}

/**
 * Writes `file` only if it does not exist, whole or not at all: the contents go to a temporary file first
 * (durably), which is then hard-linked as `file`, which fails rather than replace a key another process wrote.
 * Returns false when one was there.
 */
async function writeOnce(file: string, text: string): Promise<boolean> {
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.new`,
  );
  // The key is wrapped, but no one but the service needs to read even that.
  await writeFileAtomic(temp, text, 0o600);
  try {
    await link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    await unlink(temp);
  }
  // The new name must outlive a crash as the files sealed with the key will.
  await syncDir(path.dirname(file));
  return true;
}
