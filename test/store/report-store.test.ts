// One report-store contract over both implementations (in process, and Redis on the real Redis 8), then what
// each adds: least-recently-used eviction and age in memory; the key layout, TTL and sharing in Redis.
import { randomUUID } from "node:crypto";
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from "vitest";
import type { RedisNode } from "../../src/store/redis-client.ts";
import {
  createReportStore,
  isReportId,
  MemoryReportStore,
  newReportId,
  RedisReportStore,
  type Report,
  type ReportStore,
} from "../../src/store/report-store.ts";

let client: RedisNode;
beforeAll(async () => {
  client = createClient({ url: inject("redisUrl") });
  await client.connect();
});
afterAll(async () => client?.quit());

const uniquePrefix = () => `test:report:${randomUUID().slice(0, 8)}`;

async function dropPrefix(prefix: string) {
  for await (const key of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) await client.del(key);
}

/** A report as write_report saves one; the text and source are the fake memo's (test/fixtures/fake-memo.txt). */
function report(overrides: Partial<Report> = {}): Report {
  return {
    id: newReportId(),
    title: "Relief supplies delivered in January 2023",
    topic: "What relief supplies were delivered?",
    audience: "a general business reader",
    markdown:
      "# Relief supplies delivered in January 2023\n\n## Executive summary\n\nThere were 20,000 bottles of " +
      "water, 10,000 blankets, and 200 laptops delivered on January 23, 2023 [1].\n\n## Findings\n\n- " +
      "200 laptops were delivered [1].\n\n## Recommendations\n\n- Confirm receipt [1].\n\n## Sources\n\n" +
      "- [1] fake-memo.pdf, page 1\n",
    sources: [
      {
        n: 1,
        id: "memo-1",
        source: "fake-memo.pdf",
        page: 1,
        snippet:
          "There were 20,000 bottles of water, 10,000 blankets, and 200 laptops delivered on January 23, 2023.",
      },
    ],
    createdAt: new Date().toISOString(),
    ...overrides,
  };
}

// Not ids: patterns and paths that must never reach Redis as anything but a literal miss.
const MALFORMED = [
  "",
  "*",
  "?",
  "[a-z]*",
  "../secrets",
  "not-a-uuid",
  "00000000-0000-0000-0000-000000000000", // a UUID, but not one randomUUID makes
  newReportId().toUpperCase(),
  `${newReportId()}*`,
  `${newReportId()}\nDEL x`,
];

const backends: [string, () => { store: ReportStore; destroy(): Promise<void> }][] = [
  ["MemoryReportStore", () => ({ store: new MemoryReportStore(), destroy: async () => undefined })],
  [
    "RedisReportStore",
    () => {
      const prefix = uniquePrefix();
      return {
        store: createReportStore({ client, prefix, ttlSeconds: 60 }),
        destroy: () => dropPrefix(prefix),
      };
    },
  ],
];

describe.each(backends)("%s (report store contract)", (_name, open) => {
  let store: ReportStore;
  let destroy: () => Promise<void>;
  beforeEach(() => {
    ({ store, destroy } = open());
  });
  afterEach(async () => destroy());

  it("returns a saved report unchanged, and undefined for an id never saved", async () => {
    const saved = report();
    const withoutPage = report({
      sources: [{ n: 1, id: "handbook-0", source: "handbook-1p.docx", snippet: "A." }],
    });
    await store.save(saved);
    await store.save(withoutPage);
    expect(await store.get(saved.id)).toEqual(saved);
    expect(await store.get(withoutPage.id)).toEqual(withoutPage);
    expect(await store.get(newReportId())).toBeUndefined();
  });

  it("answers undefined for a malformed id, even one that would match a stored key as a pattern", async () => {
    await store.save(report());
    for (const id of MALFORMED) expect(await store.get(id), JSON.stringify(id)).toBeUndefined();
  });

  it("refuses to save under an id that get() would refuse", async () => {
    for (const id of ["", "*", "report-1"])
      await expect(store.save(report({ id }))).rejects.toThrow(/report id/);
  });

  it("replaces a report saved again under the same id", async () => {
    const first = report();
    await store.save(first);
    const second = { ...first, title: "Second draft" };
    await store.save(second);
    expect(await store.get(first.id)).toEqual(second);
  });

  it("keeps what was saved, not the caller's object changed afterwards", async () => {
    const saved = report();
    await store.save(saved);
    const copy = structuredClone(saved);
    saved.title = "changed";
    saved.sources[0].snippet = "changed";
    const got = (await store.get(copy.id)) as Report;
    expect(got).toEqual(copy);
    got.title = "changed again";
    expect(await store.get(copy.id)).toEqual(copy);
  });
});

describe("MemoryReportStore", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("drops the least recently used report past maxReports", async () => {
    const store = createReportStore({ prefix: "unused", maxReports: 2 });
    const [a, b, c] = [report(), report(), report()];
    await store.save(a);
    await store.save(b);
    expect(await store.get(a.id)).toEqual(a); // a is now more recent than b
    await store.save(c);
    expect(await store.get(b.id)).toBeUndefined();
    expect(await store.get(a.id)).toEqual(a);
    expect(await store.get(c.id)).toEqual(c);
  });

  it("keeps 500 reports by default", async () => {
    const store = new MemoryReportStore();
    const saved = Array.from({ length: 501 }, () => report());
    for (const r of saved) await store.save(r);
    expect(await store.get(saved[0].id)).toBeUndefined();
    expect(await store.get(saved[1].id)).toEqual(saved[1]);
    expect(await store.get(saved[500].id)).toEqual(saved[500]);
  });

  it("forgets a report ttlSeconds after it was saved", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const store = createReportStore({ prefix: "unused", ttlSeconds: 60 });
    const saved = report();
    await store.save(saved);
    vi.advanceTimersByTime(59_000);
    expect(await store.get(saved.id)).toEqual(saved);
    vi.advanceTimersByTime(1_000);
    expect(await store.get(saved.id)).toBeUndefined();
  });
});

describe("RedisReportStore", () => {
  let prefix: string;
  beforeEach(() => {
    prefix = uniquePrefix();
  });
  afterEach(async () => dropPrefix(prefix));

  it("stores each report as JSON under <prefix>:<id>, with the TTL set", async () => {
    const store = createReportStore({ client, prefix, ttlSeconds: 3600 });
    expect(store).toBeInstanceOf(RedisReportStore);
    const saved = report();
    await store.save(saved);
    expect(JSON.parse((await client.get(`${prefix}:${saved.id}`)) as string)).toEqual(saved);
    const ttl = await client.ttl(`${prefix}:${saved.id}`);
    expect(ttl).toBeGreaterThan(3590);
    expect(ttl).toBeLessThanOrEqual(3600);
  });

  it("keeps a report without expiry when no TTL is given", async () => {
    const store = createReportStore({ client, prefix });
    const saved = report();
    await store.save(saved);
    expect(await client.ttl(`${prefix}:${saved.id}`)).toBe(-1);
  });

  it("shares reports between processes: a store on another client reads what this one saved", async () => {
    const other: RedisNode = createClient({ url: inject("redisUrl") });
    await other.connect();
    try {
      const saved = report();
      await createReportStore({ client, prefix, ttlSeconds: 60 }).save(saved);
      expect(await createReportStore({ client: other, prefix }).get(saved.id)).toEqual(saved);
      // Another tenant's prefix does not see it.
      expect(
        await createReportStore({ client: other, prefix: `${prefix}-other` }).get(saved.id),
      ).toBeUndefined();
    } finally {
      await other.quit();
    }
  });

  it("sends no command for a malformed id: it answers undefined even with Redis unreachable", async () => {
    const offline: RedisNode = createClient({ url: inject("redisUrl") }); // never connected
    const store = createReportStore({ client: offline, prefix });
    for (const id of MALFORMED) expect(await store.get(id), JSON.stringify(id)).toBeUndefined();
    // A well-formed id does go to Redis, which fails here: the check above proves no command was sent.
    await expect(store.get(newReportId())).rejects.toThrow();
  });
});

describe("createReportStore", () => {
  it("keeps reports in memory without a client", () => {
    expect(createReportStore({ prefix: "unused" })).toBeInstanceOf(MemoryReportStore);
  });

  it("refuses a TTL or a size that is not a positive integer", () => {
    for (const ttlSeconds of [0, -1, 1.5, Number.NaN])
      expect(() => createReportStore({ prefix: "p", ttlSeconds }), String(ttlSeconds)).toThrow(RangeError);
    expect(() => createReportStore({ prefix: "p", maxReports: 0 })).toThrow(RangeError);
  });

  it("makes ids that are random v4 UUIDs, and only those pass as ids", () => {
    const ids = new Set(Array.from({ length: 100 }, newReportId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(isReportId(id)).toBe(true);
    for (const id of MALFORMED) expect(isReportId(id)).toBe(false);
    expect(isReportId(42)).toBe(false);
  });
});
