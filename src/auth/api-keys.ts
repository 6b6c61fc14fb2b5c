// API keys: who is calling (a tenant) and what it may do (scopes). A key is shown once, when it is made; the
// keys file keeps only its SHA-256. A slow password hash (bcrypt, scrypt) would add nothing here: a key is 256
// random bits, so its hash cannot be guessed backwards, and a fast hash keeps every request's check cheap.
//
// Key format: `ck_<id>_<secret>`. The id (public, 12 hex) finds the record without comparing against every hash;
// the whole key's hash is then compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rename, stat, writeFile } from "node:fs/promises";
import { z } from "zod/v4";
import { TENANT_ID, TENANT_ID_RULE } from "../tenants/tenant-id.ts";
import { SCOPES, type Scope } from "./scopes.ts";

export { SCOPES, type Scope } from "./scopes.ts";

/** Who made a request: its tenant, its key (none when the service runs without keys) and what it may do. */
export interface Principal {
  tenant: string;
  keyId?: string;
  scopes: ReadonlySet<Scope>;
}

const KEY = /^ck_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

const keyRecord = z.object({
  id: z.string().regex(/^[0-9a-f]{12}$/),
  /** Who the key is for, for people reading the file ("reporting bot"). */
  name: z.string().max(200).optional(),
  tenant: z.string().regex(TENANT_ID, TENANT_ID_RULE),
  scopes: z.array(z.enum(SCOPES)).min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
  /** A revoked key is kept, so that the file still says what it was. */
  revokedAt: z.string().optional(),
});
export type KeyRecord = z.output<typeof keyRecord>;

const keyFile = z.object({ keys: z.array(keyRecord) });

export class KeyFileError extends Error {
  override name = "KeyFileError";
}

export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** A new key and the record that stores it (hashed). The key itself is returned once and kept nowhere. */
export function newKey(spec: { tenant: string; scopes: Scope[]; name?: string }): {
  key: string;
  record: KeyRecord;
} {
  const id = randomBytes(6).toString("hex");
  const key = `ck_${id}_${randomBytes(32).toString("base64url")}`;
  const record = keyRecord.parse({
    id,
    ...(spec.name ? { name: spec.name } : {}),
    tenant: spec.tenant,
    scopes: [...new Set(spec.scopes)],
    sha256: hashKey(key),
    createdAt: new Date().toISOString(),
  });
  return { key, record };
}

/** Reads a keys file; a file that does not parse names its problem, since it would lock everyone out. */
export async function readKeyFile(file: string): Promise<KeyRecord[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new KeyFileError(`Cannot read the API keys file ${file}: ${(error as Error).message}`);
  }
  let parsed: z.ZodSafeParseResult<z.output<typeof keyFile>>;
  try {
    parsed = keyFile.safeParse(JSON.parse(text));
  } catch (error) {
    throw new KeyFileError(`The API keys file ${file} is not JSON: ${(error as Error).message}`);
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KeyFileError(`The API keys file ${file}: ${issue.path.join(".")}: ${issue.message}`);
  }
  const ids = new Set<string>();
  for (const record of parsed.data.keys) {
    if (ids.has(record.id)) throw new KeyFileError(`The API keys file ${file}: key id ${record.id} twice`);
    ids.add(record.id);
  }
  return parsed.data.keys;
}

/** Writes the file whole through a temporary file, so that a reader never sees half of it. */
export async function writeKeyFile(file: string, keys: KeyRecord[]): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ keys }, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, file);
}

/** The principal a key stands for, or undefined for a malformed, unknown or revoked key. */
export function verifyKey(keys: ReadonlyMap<string, KeyRecord>, key: string): Principal | undefined {
  const match = KEY.exec(key);
  if (!match) return undefined;
  const record = keys.get(match[1]);
  if (!record || record.revokedAt) return undefined;
  const expected = Buffer.from(record.sha256, "hex");
  if (!timingSafeEqual(expected, Buffer.from(hashKey(key), "hex"))) return undefined;
  return { tenant: record.tenant, keyId: record.id, scopes: new Set(record.scopes) };
}

/**
 * The keys of a keys file, re-read when the file changes (checked every `pollMs`), so that a new or revoked key
 * takes effect without a restart. A change that does not parse is reported and the last good keys stay: a
 * broken edit must neither open the service nor lock everyone out.
 */
export class KeyRing {
  private keys = new Map<string, KeyRecord>();
  private modified = 0;
  /** The last problem reported, so that a file that stays broken is reported once, not every poll. */
  private problem = "";
  private timer?: NodeJS.Timeout;

  private constructor(
    readonly file: string,
    private readonly onError: (error: Error) => void,
  ) {}

  static async open(
    file: string,
    options: { pollMs?: number; onError?: (error: Error) => void } = {},
  ): Promise<KeyRing> {
    const ring = new KeyRing(file, options.onError ?? (() => {}));
    await ring.reload(); // at start a bad file stops the service: there is no last good one
    const pollMs = options.pollMs ?? 2000;
    ring.timer = setInterval(() => {
      ring.reloadIfChanged().then(
        () => {
          ring.problem = "";
        },
        (error: Error) => {
          if (error.message !== ring.problem) ring.onError(error);
          ring.problem = error.message;
        },
      );
    }, pollMs);
    ring.timer.unref();
    return ring;
  }

  get size(): number {
    return this.keys.size;
  }

  verify(key: string): Principal | undefined {
    return verifyKey(this.keys, key);
  }

  async reloadIfChanged(): Promise<void> {
    const { mtimeMs } = await stat(this.file).catch((error: Error) => {
      throw new KeyFileError(
        `The API keys file ${this.file} is gone (${error.message}); keeping its last keys`,
      );
    });
    if (mtimeMs !== this.modified) await this.reload();
  }

  private async reload(): Promise<void> {
    const { mtimeMs } = await stat(this.file).catch(() => ({ mtimeMs: 0 }));
    this.modified = mtimeMs; // a broken version is read once, not at every poll
    const records = await readKeyFile(this.file);
    this.keys = new Map(records.map((r) => [r.id, r]));
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/**
 * The keys the settings name, or undefined to run open: only when no keys file was named and the default one
 * (DATA_DIR/api-keys.json) does not exist. A named file that is missing stops the service instead.
 */
export async function openKeyRing(
  auth: { keysFile: string; required: boolean },
  log: { warn(message: string): void },
): Promise<KeyRing | undefined> {
  if (!auth.required && !existsSync(auth.keysFile)) return undefined;
  return KeyRing.open(auth.keysFile, { onError: (error) => log.warn(error.message) });
}
