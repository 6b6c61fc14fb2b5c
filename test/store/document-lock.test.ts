// The document lock both ways: in one process (a promise chain per id), and on the test run's real Redis 8
// shared by two clients as two processes would share it: one holder at a time, waiters served after it, a
// holder's failure releasing the lock, a dead holder's lease lapsing; write orders kept at their highest.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { type DocumentLock, LocalDocumentLock } from "../../src/contracts/document-lock.ts";
import type { RedisNode } from "../../src/store/redis-client.ts";
import { RedisDocumentLock } from "../../src/store/redis-document-lock.ts";
import { useRedisClients } from "../helpers/redis.ts";

const redis = useRedisClients();
let client: RedisNode;
let other: RedisNode;
beforeAll(() => {
  ({ client, other } = redis);
});

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

const kinds: { name: string; pair: () => [DocumentLock, DocumentLock] }[] = [
  {
    name: "LocalDocumentLock",
    pair: () => {
      const lock = new LocalDocumentLock();
      return [lock, lock];
    },
  },
  {
    name: "RedisDocumentLock (two clients)",
    pair: () => {
      const prefix = `test:{lock-${randomUUID().slice(0, 8)}}`;
      return [
        new RedisDocumentLock({ client, prefix, pollMs: 5 }),
        new RedisDocumentLock({ client: other, prefix, pollMs: 5 }),
      ];
    },
  },
];

describe.each(kinds)("$name", ({ pair }) => {
  it("lets one holder write a document at a time, and the other in once it is done", async () => {
    const [a, b] = pair();
    const events: string[] = [];
    const work = (who: string) => async () => {
      events.push(`${who} in`);
      await tick(30);
      events.push(`${who} out`);
      return who;
    };
    const first = a.withLock("doc", work("a"));
    await tick();
    const second = b.withLock("doc", work("b"));
    const third = b.withLock("other-doc", work("c"));
    expect(await Promise.all([first, second, third])).toEqual(["a", "b", "c"]);
    const docEvents = events.filter((e) => !e.startsWith("c"));
    expect(docEvents).toEqual(["a in", "a out", "b in", "b out"]);
    // Another document is not held up by the first: c started while a held "doc".
    expect(events.indexOf("c in")).toBeLessThan(events.indexOf("a out"));
  });

  it("releases the lock when its holder's work fails", async () => {
    const [a, b] = pair();
    await expect(
      a.withLock("doc", async () => Promise.reject(new Error("embedding refused"))),
    ).rejects.toThrow("embedding refused");
    expect(await b.withLock("doc", async () => "next")).toBe("next");
  });

  it("keeps the highest write order of each document until it is forgotten", async () => {
    const [a, b] = pair();
    expect(await a.lastOrder("doc")).toBeUndefined();
    await a.recordOrder("doc", 7);
    await b.recordOrder("doc", 3);
    expect(await b.lastOrder("doc")).toBe(7);
    expect(await a.lastOrder("another")).toBeUndefined();
    await b.forgetOrder("doc");
    expect(await a.lastOrder("doc")).toBeUndefined();
  });
});

describe("RedisDocumentLock specifics", () => {
  it("renews its lease while its holder works past it, and lets a waiter in once a dead holder's lease lapses", async () => {
    const prefix = `test:{lock-${randomUUID().slice(0, 8)}}`;
    const a = new RedisDocumentLock({ client, prefix, leaseMs: 150, pollMs: 5 });
    const b = new RedisDocumentLock({ client: other, prefix, leaseMs: 150, pollMs: 5 });
    let bIn = false;
    let aOut = false;
    const slow = a.withLock("doc", async () => {
      await tick(400); // well past one lease: renewed at a third of it
      aOut = true;
    });
    await tick(20);
    const waiting = b.withLock("doc", async () => {
      bIn = true;
      expect(aOut).toBe(true);
    });
    await Promise.all([slow, waiting]);
    expect(bIn).toBe(true);

    // A holder that died: its key stays, nobody renews it, and it lapses after its PX.
    await client.set(`${prefix}:doclock:dead`, "someone-gone", { PX: 150 });
    const started = Date.now();
    await b.withLock("dead", async () => undefined);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });
});
