// A document's lock shared by every process on one Redis: a lease (SET NX PX with a random token) renewed while
// its holder works and released only by that holder (compare and delete in one script): the single-instance
// lock of the Redis documentation. A holder that dies stops renewing, and its lease lapses after `leaseMs`.
// Written by hand: the lock libraries (redlock) need an ioredis client, and the single-instance form is a few
// lines. Inside one process, waiters queue on the local lock first, so that only one of them polls Redis.
// Documents' write orders are fields of one hash per tenant (only documents that jobs wrote have one).
import { randomBytes } from "node:crypto";
import { type DocumentLock, LocalDocumentLock } from "../contracts/document-lock.ts";
import type { RedisClient } from "./redis-client.ts";
import { defineLuaScript } from "./redis-script.ts";

const release = defineLuaScript(
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
);
// Keeps the higher of the recorded order and the new one (a write is recorded under the lock, but a lease that
// lapsed under a stalled holder could let two through).
const raise = defineLuaScript(
  "local o = tonumber(redis.call('HGET', KEYS[1], ARGV[1])) if o == nil or o < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end return 1",
);
const renew = defineLuaScript(
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end",
);

export interface RedisDocumentLockOptions {
  client: RedisClient;
  /** The tenant's key prefix (its hash tag keeps its locks beside its other keys on a cluster). */
  prefix: string;
  /** How long a lease lasts without renewal; renewed at a third of it. */
  leaseMs?: number;
  /** Wait between two tries for a lease someone else holds. */
  pollMs?: number;
}

export class RedisDocumentLock implements DocumentLock {
  private readonly local = new LocalDocumentLock();
  private readonly leaseMs: number;
  private readonly pollMs: number;

  constructor(private readonly options: RedisDocumentLockOptions) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pollMs = options.pollMs ?? 50;
  }

  withLock<T>(docId: string, work: () => Promise<T>): Promise<T> {
    return this.local.withLock(docId, () => this.leased(docId, work));
  }

  /** A lease in Redis: its holder may be in another process; a dead holder's lapses within `leaseMs`. */
  async isHeld(docId: string): Promise<boolean> {
    return (await this.options.client.exists(this.lockKey(docId))) > 0;
  }

  async lastOrder(docId: string): Promise<number | undefined> {
    const order = await this.options.client.hGet(this.ordersKey, docId);
    return order === undefined || order === null ? undefined : Number(order);
  }

  async recordOrder(docId: string, order: number): Promise<void> {
    await raise.run(this.options.client, [this.ordersKey], [docId, String(order)]);
  }

  async forgetOrder(docId: string): Promise<void> {
    await this.options.client.hDel(this.ordersKey, docId);
  }

  private lockKey(docId: string): string {
    return `${this.options.prefix}:doclock:${docId}`;
  }

  private get ordersKey(): string {
    return `${this.options.prefix}:docorder`;
  }

  private async leased<T>(docId: string, work: () => Promise<T>): Promise<T> {
    const { client } = this.options;
    const key = this.lockKey(docId);
    const token = randomBytes(12).toString("hex");
    while ((await client.set(key, token, { NX: true, PX: this.leaseMs })) === null) {
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
    const timer = setInterval(
      () => void renew.run(client, [key], [token, String(this.leaseMs)]).catch(() => undefined),
      Math.max(100, Math.floor(this.leaseMs / 3)),
    ).unref();
    try {
      return await work();
    } finally {
      clearInterval(timer);
      await release.run(client, [key], [token]).catch(() => undefined);
    }
  }
}
