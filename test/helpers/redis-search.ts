// The Redis with the Query Engine (FT.* with vector fields) that the Query Engine store's tests run on:
// REDIS_SEARCH_URL, e.g. Redis 8 with its search module or redis-stack-server. Without it those tests are
// skipped, and a skipped test says why (docs/development.md, "The Query Engine store's tests").
import { describe, it } from "vitest";

export const redisSearchUrl = process.env.REDIS_SEARCH_URL || undefined;

/** Where REDIS_SEARCH_URL is not set: a skipped test under `what` that names what it needs. */
export function sayWhySearchIsSkipped(what: string): void {
  if (redisSearchUrl) return;
  describe(`${what} on the Redis Query Engine`, () => {
    it.skip("needs REDIS_SEARCH_URL, a Redis with the Query Engine's vector search (docs/development.md)", () => {});
  });
}
