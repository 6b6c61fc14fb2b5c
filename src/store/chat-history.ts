// Conversation memory per session for the advisor: in Redis (shared by every process, expiring when idle) when a
// client is given, else in this process's memory, bounded so that abandoned sessions cannot grow it without limit.
// Either way the sessions can be listed, most recently updated first.
import { type BaseChatMessageHistory, InMemoryChatMessageHistory } from "@langchain/core/chat_history";
import {
  type BaseMessage,
  mapChatMessagesToStoredMessages,
  type StoredMessage,
} from "@langchain/core/messages";
import { RedisChatMessageHistory } from "@langchain/redis";
import { LruMap } from "./lru-map.ts";
import type { RedisClient } from "./redis-client.ts";

export interface ChatHistoryOptions {
  /** Keep sessions in Redis on this client; in this process's memory when absent. */
  client?: RedisClient;
  /** A session's Redis key is `<prefix>:<sessionId>`, e.g. `counsel:{default}:chat:<sessionId>`. */
  prefix: string;
  /** A session is forgotten this long after its last message (Redis) or its last use (in memory). */
  ttlSeconds: number;
  /** Sessions kept in memory at most, least recently used out first. Default 1000. */
  maxMemorySessions?: number;
}

/** A stored conversation, as a list shows it. */
export interface SessionSummary {
  id: string;
  /** The first user message, on one line and cut at TITLE_CHARS. */
  title: string;
  /** Messages stored (a turn stores two: the user's and the answer). */
  messages: number;
  /** When a message was last added, in ms since the epoch. */
  updatedAt: number;
}

/** Opens a session's history; also deletes a session outright, and lists sessions. */
export interface ChatHistoryFactory {
  (sessionId: string): BaseChatMessageHistory;
  delete(sessionId: string): Promise<void>;
  /** The `limit` most recently updated sessions that hold messages, newest first. */
  list(limit: number): Promise<SessionSummary[]>;
}

export const DEFAULT_MAX_MEMORY_SESSIONS = 1000;
export const TITLE_CHARS = 80;

/** A conversation's title: its first message on one line, cut at a word near TITLE_CHARS. */
export function sessionTitle(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat.length <= TITLE_CHARS) return flat;
  const cut = flat.slice(0, TITLE_CHARS - 1);
  const space = cut.lastIndexOf(" ");
  return `${space > TITLE_CHARS / 2 ? cut.slice(0, space) : cut}…`;
}

export function chatHistoryFactory(options: ChatHistoryOptions): ChatHistoryFactory {
  const { client, prefix, ttlSeconds } = options;
  if (!(Number.isInteger(ttlSeconds) && ttlSeconds > 0)) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  }
  if (client) return redisHistories(client, prefix, ttlSeconds);
  const sessions = new LruMap<string, DatedChatMessageHistory>({
    maxSize: options.maxMemorySessions ?? DEFAULT_MAX_MEMORY_SESSIONS,
    maxAgeMs: ttlSeconds * 1000,
  });
  return Object.assign(
    (sessionId: string) => {
      const history = sessions.get(sessionId) ?? new DatedChatMessageHistory();
      sessions.set(sessionId, history); // renews its age
      return history;
    },
    {
      async delete(sessionId: string) {
        sessions.delete(sessionId);
      },
      async list(limit: number) {
        const found: SessionSummary[] = [];
        // Map's own iteration, which renews nothing; has() drops what has aged out. At most maxMemorySessions.
        for (const [id, history] of [...sessions]) {
          if (!sessions.has(id)) continue;
          const messages = await history.getMessages();
          // Opening a session (a GET of an unknown id) makes an empty one: not a conversation.
          if (messages.length === 0) continue;
          found.push({
            id,
            title: sessionTitle(messages[0].text),
            messages: messages.length,
            updatedAt: history.updatedAt,
          });
        }
        return found.sort((a, b) => b.updatedAt - a.updatedAt).slice(0, limit);
      },
    },
  );
}

/** The in-process history, with when a message was last added (for the list's order). */
class DatedChatMessageHistory extends InMemoryChatMessageHistory {
  updatedAt = Date.now();

  override async addMessage(message: BaseMessage): Promise<void> {
    await super.addMessage(message);
    this.updatedAt = Date.now();
  }
}

/**
 * Sessions in Redis: a list per session (`<prefix>:<id>`), and one sorted set per tenant (`<prefix>:@sessions`,
 * `@` being outside a session id's characters) of session ids scored by their last update. A sorted set rather
 * than SCAN: listing reads one page of ids newest first in O(log n + page), where SCAN would walk every key of
 * the database (vectors, caches, all tenants) and then sort. Each write updates both in one transaction; ids
 * whose list has expired are dropped from the set as lists are read, and the set itself expires with its newest
 * session.
 */
function redisHistories(client: RedisClient, prefix: string, ttlSeconds: number): ChatHistoryFactory {
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
