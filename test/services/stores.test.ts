// Start-up with Redis settings that cannot work fails at once with a message that says what to do; a store of
// the earlier key layout (no hash tag) is moved to the tagged one on its first start.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "redis";
import { describe, expect, inject, it } from "vitest";
import { createServices } from "../../src/services/services.ts";
import { freePort, startRedis, stopRedis } from "../global-setup.ts";
import { quiet, startService, testSettings } from "../helpers/services.ts";

describe("opening the stores", () => {
  it("names the Redis it cannot reach, without hanging", async () => {
    const port = await freePort();
    const started = performance.now();
    await expect(
      createServices(
        testSettings("/tmp/unused", { REDIS_URL: `redis://user:secret@127.0.0.1:${port}` }),
        quiet,
      ),
    ).rejects.toThrow(new RegExp(`Cannot connect to Redis at redis://user:\\*\\*\\*@127.0.0.1:${port}`));
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("stops when VECTOR_STORE=redis-search names a Redis without the Query Engine, saying what would serve", async () => {
    await expect(
      createServices(
        testSettings("/tmp/unused", { REDIS_URL: inject("redisUrl"), VECTOR_STORE: "redis-search" }),
        quiet,
      ),
    ).rejects.toThrow(
      /VECTOR_STORE=redis-search needs the Redis Query Engine.*does not have.*MemoryDB.*VECTOR_STORE=redis-vectorset/,
    );
  });

  it("picks vector sets on a Redis 8 without the Query Engine", async () => {
    const services = await createServices(
      testSettings("/tmp/unused", { REDIS_URL: inject("redisUrl"), REDIS_PREFIX: "t-open" }),
      quiet,
    );
    try {
      expect(services.stores.backend).toBe("redis-vectorset");
      expect((await services.readiness()).redis).toMatchObject({
        ok: true,
        version: expect.stringMatching(/^8\./),
      });
    } finally {
      await services.close();
    }
  });

  it("stops when REDIS_CLUSTER=true names a single server, saying what to change", async () => {
    await expect(
      createServices(
        testSettings("/tmp/unused", { REDIS_URL: inject("redisUrl"), REDIS_CLUSTER: "true" }),
        quiet,
      ),
    ).rejects.toThrow(
      /cluster support disabled.*REDIS_CLUSTER=true needs a server in cluster mode.*unset REDIS_CLUSTER/,
    );
  });

  it("stops on a cluster node without REDIS_CLUSTER=true, saying to set it", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "counsel-cluster-node-"));
    const port = await freePort();
    // A free bus port of its own: the default (port + 10,000) may be taken.
    const bus = String(await freePort());
    const node = await startRedis(port, ["--cluster-enabled", "yes", "--cluster-port", bus, "--dir", dir]);
    try {
      await expect(
        createServices(testSettings("/tmp/unused", { REDIS_URL: `redis://127.0.0.1:${port}` }), quiet),
      ).rejects.toThrow(/is a node of a Redis Cluster: set REDIS_CLUSTER=true/);
    } finally {
      await stopRedis(node);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("a store of the untagged key layout", () => {
  it("is moved under the tenant's hash tag on the first start, and keeps every document", async () => {
    const env = { REDIS_URL: inject("redisUrl"), REDIS_PREFIX: "t-layout" };
    const client = createClient({ url: env.REDIS_URL });
    await client.connect();
    const dir = await mkdtemp(path.join(tmpdir(), "counsel-layout-"));
    try {
      const first = await startService(dir, env);
      const ingest = await fetch(`${first.url}/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ documents: [{ text: "Keep this memo.", metadata: { source: "memo" } }] }),
      });
      expect(ingest.status).toBe(200);
      const before = await (await fetch(`${first.url}/documents`)).json();
      await first.stop();
      // As an earlier version left it: every key of the tenant without the braces, and no marker.
      const keys = await client.keys("t-layout:{default}:*");
      expect(keys.length).toBeGreaterThan(3);
      for (const key of keys) {
        if (key.endsWith(":layout")) await client.del(key);
        else await client.rename(key, key.replace("{default}", "default"));
      }

      const second = await startService(dir, env);
      try {
        const after = (await (await fetch(`${second.url}/documents`)).json()) as {
          documents: { chunks: number }[];
        };
        expect(after.documents).toMatchObject([{ chunks: 1 }]);
        expect(after).toEqual(before);
        expect(await client.keys("t-layout:default:*")).toEqual([]);
        expect(await client.get("t-layout:{default}:layout")).toBe("tagged");
      } finally {
        await second.stop();
      }
    } finally {
      for (const key of await client.keys("t-layout:*")) await client.del(key);
      await client.quit();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
