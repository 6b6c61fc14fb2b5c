// Chat histories: RedisChatMessageHistory on the real Redis 8 (with its TTL, shared between processes), and the
// bounded in-process stand-in.
import { randomUUID } from "node:crypto";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { beforeAll, describe, expect, it } from "vitest";
import { isRedisUnavailable } from "../../src/errors.ts";
import { chatHistoryFactory } from "../../src/store/chat-history.ts";
import { redisChatHistoryFactory } from "../../src/store/redis-chat-history.ts";
import { createRedisClient, type RedisNode } from "../../src/store/redis-client.ts";
import { freePort, startRedis, stopRedis } from "../global-setup.ts";
import { useRedisClients } from "../helpers/redis.ts";

const redis = useRedisClients();
let client: RedisNode;
let other: RedisNode;
beforeAll(() => {
  ({ client, other } = redis);
});

const uniquePrefix = () => `test:chat:${randomUUID().slice(0, 8)}`;

describe("redisChatHistoryFactory", () => {
  it("round-trips a conversation in order, under <prefix>:<sessionId> with the TTL set", async () => {
    const prefix = uniquePrefix();
    const histories = redisChatHistoryFactory({ client, prefix, ttlSeconds: 3600 });
    const history = histories("session-1");
    await history.addMessage(new HumanMessage("How many laptops were shipped?"));
    await history.addMessages([
      new AIMessage("200 laptops [1]"),
      new HumanMessage("And how many trucks were used?"),
    ]);
    const messages = await histories("session-1").getMessages();
    expect(messages.map((m) => [m.type, m.content])).toEqual([
      ["human", "How many laptops were shipped?"],
      ["ai", "200 laptops [1]"],
      ["human", "And how many trucks were used?"],
    ]);
    const ttl = await client.ttl(`${prefix}:session-1`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3600);
    expect(await histories("session-2").getMessages()).toEqual([]);
    await client.del(`${prefix}:session-1`);
  });

  it("shares sessions between two factories on two clients, and deletes them for both", async () => {
    const prefix = uniquePrefix();
    const a = redisChatHistoryFactory({ client, prefix, ttlSeconds: 60 });
    const b = redisChatHistoryFactory({ client: other, prefix, ttlSeconds: 60 });
    await a("s").addUserMessage("Hello from process A");
    await b("s").addAIMessage("Hello from process B");
    expect((await a("s").getMessages()).map((m) => m.content)).toEqual([
      "Hello from process A",
      "Hello from process B",
    ]);
    await b.delete("s");
    expect(await a("s").getMessages()).toEqual([]);
    expect(await client.exists(`${prefix}:s`)).toBe(0);
    await a("t").addUserMessage("cleared by the history itself");
    await a("t").clear();
    expect(await b("t").getMessages()).toEqual([]);
  });

  it("fails fast with an error that means 'Redis unavailable' while the server is down", async () => {
    const port = await freePort();
    const server = await startRedis(port);
    const url = `redis://127.0.0.1:${port}`;
    const reconnecting = createRedisClient({ url });
    await reconnecting.connect();
    try {
      const history = redisChatHistoryFactory({
        client: reconnecting,
        prefix: "test:chat:down",
        ttlSeconds: 60,
      })("s");
      await history.addUserMessage("before");
      await stopRedis(server);
      const error = await history.getMessages().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect(
        isRedisUnavailable(error),
        `${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`,
      ).toBe(true);
    } finally {
      await reconnecting.disconnect().catch(() => undefined);
      await stopRedis(server);
    }
  });
});

describe("chatHistoryFactory in memory", () => {
  it("keeps a session's messages between calls, and deletes it", async () => {
    const histories = chatHistoryFactory({ prefix: "chat", ttlSeconds: 60 });
    await histories("s").addUserMessage("How many laptops were shipped?");
    await histories("s").addAIMessage("200 laptops [1]");
    expect((await histories("s").getMessages()).map((m) => m.content)).toEqual([
      "How many laptops were shipped?",
      "200 laptops [1]",
    ]);
    await histories.delete("s");
    expect(await histories("s").getMessages()).toEqual([]);
  });

  it("forgets the least recently used session beyond its bound", async () => {
    const histories = chatHistoryFactory({ prefix: "chat", ttlSeconds: 60, maxMemorySessions: 2 });
    await histories("a").addUserMessage("first");
    await histories("b").addUserMessage("second");
    await histories("a").getMessages(); // "a" is now more recent than "b"
    await histories("c").addUserMessage("third");
    expect((await histories("a").getMessages()).map((m) => m.content)).toEqual(["first"]);
    // Opening "b" again starts it afresh (and in turn drops "c", now the least recent).
    expect(await histories("b").getMessages()).toEqual([]);
  });
});
