// Conversation memory per session in Redis: shared by every process, expiring when idle, listed most recently
// updated first. Apart from chat-history.ts so that only the Redis stores load @langchain/redis.
import {
  type BaseMessage,
  mapChatMessagesToStoredMessages,
  type StoredMessage,
} from "@langchain/core/messages";
import { RedisChatMessageHistory } from "@langchain/redis";
import {
  assertChatTtl,
  type ChatHistoryFactory,
  type ChatHistoryOptions,
  type SessionSummary,
  sessionTitle,
} from "./chat-history.ts";
import type { RedisClient } from "./redis-client.ts";

export interface RedisChatHistoryOptions extends Omit<ChatHistoryOptions, "maxMemorySessions"> {
  /** Keep sessions in Redis on this client. */
  client: RedisClient;
}

/**
 * Sessions in Redis: a list per session (`<prefix>:<id>`), and one sorted set per tenant (`<prefix>:@sessions`,
 * `@` being outside a session id's characters) of session ids scored by their last update. A sorted set rather
 * than SCAN: listing reads one page of ids newest first in O(log n + page), where SCAN would walk every key of
 * the database (vectors, caches, all tenants) and then sort. Each write updates both in one transaction; ids
 * whose list has expired are dropped from the set as lists are read, and the set itself expires with its newest
 * session.
 */
export function redisChatHistoryFactory(options: RedisChatHistoryOptions): ChatHistoryFactory {
  const { client, prefix, ttlSeconds } = options;
  assertChatTtl(ttlSeconds);
  const key = (sessionId: string) => `${prefix}:${sessionId}`;
  const index = `${prefix}:@sessions`;
  const oldest = () => Date.now() - ttlSeconds * 1000;
  return Object.assign(
    (sessionId: string) =>
      new SharedRedisChatMessageHistory(client, key(sessionId), ttlSeconds, { index, sessionId }),
    {
      async delete(sessionId: string) {
        await client.multi().del(key(sessionId)).zRem(index, sessionId).exec();
      },
      async list(limit: number) {
        await client.zRemRangeByScore(index, "-inf", oldest());
        const ids = await client.zRangeWithScores(index, "+inf", oldest(), {
          BY: "SCORE",
          REV: true,
          LIMIT: { offset: 0, count: limit },
        });
        if (ids.length === 0) return [];
        const batch = client.multi();
        // The list holds the newest message at its head: the first message is at its tail.
        for (const { value } of ids) batch.lLen(key(value)).lIndex(key(value), -1);
        const replies = (await batch.exec()) as unknown[];
        const found: SessionSummary[] = [];
        const gone: string[] = [];
        for (const [i, { value: id, score }] of ids.entries()) {
          const count = Number(replies[2 * i]);
          const first = replies[2 * i + 1];
          if (count === 0 || typeof first !== "string") {
            gone.push(id);
            continue;
          }
          const content = (JSON.parse(first) as StoredMessage).data?.content;
          const text = typeof content === "string" ? content : JSON.stringify(content ?? "");
          found.push({ id, title: sessionTitle(text), messages: count, updatedAt: score });
        }
        if (gone.length > 0) await client.zRem(index, gone);
        return found;
      },
    },
  );
}

/**
 * RedisChatMessageHistory on the process's shared client, with two changes. ensureReadiness() no longer calls
 * connect() on a client that is not ready: ours reconnects by itself, and connect() on it throws "Socket already
 * opened" (a 500) where a command fails fast with an error the server answers 503 for. And a message is pushed
 * and the TTL renewed in one transaction (with the session's place in the tenant's list), so that a session key
 * never lives without its expiry.
 */
class SharedRedisChatMessageHistory extends RedisChatMessageHistory {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly ttlSeconds: number,
    /** The tenant's sorted set of sessions, which each write updates. */
    private readonly listed: { index: string; sessionId: string },
  ) {
    super({ client: redis, sessionId: key, sessionTTL: ttlSeconds });
  }

  override async ensureReadiness(): Promise<boolean> {
    return true;
  }

  override async addMessage(message: BaseMessage): Promise<void> {
    await this.addMessages([message]);
  }

  override async addMessages(messages: BaseMessage[]): Promise<void> {
    if (messages.length === 0) return;
    // LPUSH, newest at the head, as RedisChatMessageHistory reads it (it reverses the list).
    const stored = mapChatMessagesToStoredMessages(messages).map((message) => JSON.stringify(message));
    const { index, sessionId } = this.listed;
    await this.redis
      .multi()
      .lPush(this.key, stored)
      .expire(this.key, this.ttlSeconds)
      .zAdd(index, { score: Date.now(), value: sessionId })
      .expire(index, this.ttlSeconds)
      .exec();
  }
}
