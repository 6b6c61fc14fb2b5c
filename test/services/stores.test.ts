// Start-up with Redis settings that cannot work fails at once with a message that says what to do.
import { describe, expect, inject, it } from "vitest";
import { createServices } from "../../src/services/services.ts";
import { freePort } from "../global-setup.ts";
import { quiet, testSettings } from "../helpers/services.ts";

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

  it("says plainly that the Query Engine store is not available yet", async () => {
    await expect(
      createServices(
        testSettings("/tmp/unused", { REDIS_URL: inject("redisUrl"), VECTOR_STORE: "redis-search" }),
        quiet,
      ),
    ).rejects.toThrow(/VECTOR_STORE=redis-search is not available.*redis-vectorset/);
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
});
