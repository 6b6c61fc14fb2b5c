// Where a tenant's keys live in Redis: under `<prefix>:{<tenant>}:`, the braces a hash tag, so that on a Redis
// Cluster all of a tenant's keys hash to one slot and the transactions and scripts that touch several of them
// (the record manager's, a vector and its chunk, a chat message and the session list) are allowed. Tenants
// spread over the shards; the embedding cache, which no tenant owns, spreads key by key.
// Earlier versions wrote `<prefix>:<tenant>:…` without the tag: moveToTaggedLayout renames such keys once.
import { escapeGlob, isCluster, type RedisClient, scanKeys } from "./redis-client.ts";

/** `<prefix>:{<tenant>}`: what every key of the tenant starts with. */
export function tenantKeyPrefix(prefix: string, tenant: string): string {
  return `${prefix}:{${tenant}}`;
}

const SHARED = ["embeddings", "ratelimit"];

/**
 * Renames a tenant's keys of the untagged layout to the tagged one, once (a marker key says it is done). Only on
 * a single server: a cluster never held the old layout. Each RENAME is atomic and keeps the key's expiry; a key
 * renamed already by another process starting at the same time is skipped.
 * @returns how many keys were moved.
 */
export async function moveToTaggedLayout(
  client: RedisClient,
  prefix: string,
  tenant: string,
): Promise<number> {
  // Tenants named as the shared keys (`<prefix>:embeddings:`, `<prefix>:ratelimit:`) are left: their old keys
  // cannot be told apart from the shared ones.
  if (isCluster(client) || SHARED.includes(tenant)) return 0;
  const tagged = tenantKeyPrefix(prefix, tenant);
  const marker = `${tagged}:layout`;
  if ((await client.get(marker)) === "tagged") return 0;
  const old = `${prefix}:${tenant}:`;
  let moved = 0;
  for await (const key of scanKeys(client, `${escapeGlob(old)}*`)) {
    const renamed = await client.rename(key, `${tagged}:${key.slice(old.length)}`).then(
      () => true,
      (error: Error) => {
        if (/no such key/i.test(error.message)) return false;
        throw error;
      },
    );
    if (renamed) moved++;
  }
  await client.set(marker, "tagged");
  return moved;
}
