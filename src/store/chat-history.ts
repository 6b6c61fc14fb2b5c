// Conversation memory per session for the advisor, in this process's memory, bounded so that abandoned sessions
// cannot grow it without limit; and what it shares with the Redis one (redis-chat-history.ts, which only the Redis
// stores import, so that the offline start never loads a Redis package). Either way the sessions can be listed,
// most recently updated first.
import { type BaseChatMessageHistory, InMemoryChatMessageHistory } from "@langchain/core/chat_history";
import type { BaseMessage } from "@langchain/core/messages";
import { LruMap } from "./lru-map.ts";

export interface ChatHistoryOptions {
  /** Names the sessions (a Redis key is `<prefix>:<sessionId>`, e.g. `counsel:{default}:chat:<sessionId>`). */
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

/** Throws a RangeError unless `ttlSeconds` is a positive integer (both factories check it). */
export function assertChatTtl(ttlSeconds: number): void {
  if (!(Number.isInteger(ttlSeconds) && ttlSeconds > 0)) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  }
}

/** Sessions in this process's memory; redisChatHistoryFactory (redis-chat-history.ts) keeps them in Redis. */
export function chatHistoryFactory(options: ChatHistoryOptions): ChatHistoryFactory {
  const { ttlSeconds } = options;
  assertChatTtl(ttlSeconds);
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
