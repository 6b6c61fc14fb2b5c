// Conversation memory per session for the advisor: in Redis (shared by every process, expiring when idle) when a
// client is given, else in this process's memory, bounded so that abandoned sessions cannot grow it without limit.
import { type BaseChatMessageHistory, InMemoryChatMessageHistory } from "@langchain/core/chat_history";
import { type BaseMessage, mapChatMessagesToStoredMessages } from "@langchain/core/messages";
import { RedisChatMessageHistory } from "@langchain/redis";
import { LruMap } from "./lru-map.ts";
import type { RedisClient } from "./redis-client.ts";

export interface ChatHistoryOptions {
  /** Keep sessions in Redis on this client; in this process's memory when absent. */
  client?: RedisClient;
  /** A session's Redis key is `<prefix>:<sessionId>`, e.g. `counsel:default:chat:<sessionId>`. */
  prefix: string;
  /** A session is forgotten this long after its last message (Redis) or its last use (in memory). */
  ttlSeconds: number;
  /** Sessions kept in memory at most, least recently used out first. Default 1000. */
  maxMemorySessions?: number;
}

/** Opens a session's history; also deletes a session outright. */
export interface ChatHistoryFactory {
  (sessionId: string): BaseChatMessageHistory;
  delete(sessionId: string): Promise<void>;
}

export const DEFAULT_MAX_MEMORY_SESSIONS = 1000;

export function chatHistoryFactory(options: ChatHistoryOptions): ChatHistoryFactory {
  const { client, prefix, ttlSeconds } = options;
  if (!(Number.isInteger(ttlSeconds) && ttlSeconds > 0)) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  }
  if (client) {
    const key = (sessionId: string) => `${prefix}:${sessionId}`;
    return Object.assign(
      (sessionId: string) => new SharedRedisChatMessageHistory(client, key(sessionId), ttlSeconds),
      {
        async delete(sessionId: string) {
          await client.del(key(sessionId));
        },
      },
    );
  }
  const sessions = new LruMap<string, InMemoryChatMessageHistory>({
    maxSize: options.maxMemorySessions ?? DEFAULT_MAX_MEMORY_SESSIONS,
    maxAgeMs: ttlSeconds * 1000,
  });
  return Object.assign(
    (sessionId: string) => {
      const history = sessions.get(sessionId) ?? new InMemoryChatMessageHistory();
      sessions.set(sessionId, history); // renews its age
      return history;
    },
    {
      async delete(sessionId: string) {
        sessions.delete(sessionId);
      },
    },
  );
}

/**
 * RedisChatMessageHistory on the process's shared client, with two changes. ensureReadiness() no longer calls
 * connect() on a client that is not ready: ours reconnects by itself, and connect() on it throws "Socket already
 * opened" (a 500) where a command fails fast with an error the server answers 503 for. And a message is pushed
 * and the TTL renewed in one transaction, so that a session key never lives without its expiry.
 */
class SharedRedisChatMessageHistory extends RedisChatMessageHistory {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly ttlSeconds: number,
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
    await this.redis.multi().lPush(this.key, stored).expire(this.key, this.ttlSeconds).exec();
  }
}
