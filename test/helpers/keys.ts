// API keys for a test service: written hashed to a keys file, as `counsel keys create` does, and returned in
// the clear for the test's requests.
import path from "node:path";
import { newKey, type Scope, writeKeyFile } from "../../src/auth/api-keys.ts";

export type KeySpecs = Record<string, { tenant: string; scopes: Scope[] }>;

/** Writes `dir/api-keys.json` with one key per spec; returns the file and the keys by spec name. */
export async function writeKeys<T extends KeySpecs>(
  dir: string,
  specs: T,
): Promise<{ file: string; keys: Record<keyof T, string> }> {
  const file = path.join(dir, "api-keys.json");
  const keys = {} as Record<keyof T, string>;
  const records = [];
  for (const [name, spec] of Object.entries(specs)) {
    const { key, record } = newKey({ ...spec, name });
    keys[name as keyof T] = key;
    records.push(record);
  }
  await writeKeyFile(file, records);
  return { file, keys };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
