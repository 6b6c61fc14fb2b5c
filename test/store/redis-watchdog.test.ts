// The Redis watchdog against a real Redis 8 process of its own, frozen (SIGSTOP) and thawed: commands in flight
// fail instead of hanging, new ones fail at once while it is down, it comes back by itself, and a busy event
// loop of our own is not mistaken for a frozen server.
import type { ChildProcess } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isRedisUnavailable } from "../../src/errors.ts";
import { connectRedis, createRedisClient, type RedisNode } from "../../src/store/redis-client.ts";
import { type RedisWatchdog, watchRedis } from "../../src/store/redis-watchdog.ts";
import { freePort, startRedis, stopRedis } from "../global-setup.ts";

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("the Redis watchdog", () => {
  let redis: ChildProcess;
  let url: string;
  let client: RedisNode;
  let watchdog: RedisWatchdog | undefined;
  const events: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    redis = await startRedis(port);
    url = `redis://127.0.0.1:${port}`;
    client = createRedisClient({ url });
    await connectRedis(client, url);
  });
  afterEach(() => {
    redis.kill("SIGCONT");
    watchdog?.stop();
  });
  afterAll(async () => {
    if (client.isOpen) await client.quit().catch(() => undefined);
    await stopRedis(redis);
  });

  it("fails the command in flight when Redis freezes, fails new ones at once, and recovers on its own", async () => {
    watchdog = watchRedis(client, {
      intervalMs: 100,
      timeoutMs: 300,
      onDown: (reason) => events.push(`down: ${reason}`),
      onUp: () => events.push("up"),
    });
    await client.set("watchdog:kept", "acknowledged");
    redis.kill("SIGSTOP");

    const started = performance.now();
    const inFlight = await client.get("watchdog:kept").then(
      () => "answered",
      (error: unknown) => error,
    );
    expect(isRedisUnavailable(inFlight), String(inFlight)).toBe(true);
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(watchdog.health()).toMatchObject({
      up: false,
      reason: "Redis did not answer a PING within 300 ms",
    });
    expect(events).toEqual(["down: Redis did not answer a PING within 300 ms"]);

    const again = performance.now();
    const next = await client.get("watchdog:kept").catch((error: unknown) => error);
    expect(isRedisUnavailable(next), String(next)).toBe(true);
    expect(performance.now() - again).toBeLessThan(50);

    // Still frozen through several reconnection attempts: still down, reported once.
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(watchdog.health().up).toBe(false);
    expect(events).toHaveLength(1);

    redis.kill("SIGCONT");
    await until(() => watchdog?.health().up === true, 5_000);
    expect(events).toEqual(["down: Redis did not answer a PING within 300 ms", "up"]);
    expect(await client.get("watchdog:kept")).toBe("acknowledged");
    expect(client.listenerCount("error")).toBe(1); // no listener left behind per reconnection
  });

  it("does not call Redis frozen when our own event loop was busy past the deadline", async () => {
    // Right after each PING is written, the process is busy for longer than the deadline, so that the deadline's
    // timer and the PING's reply are both due when the loop comes back: timers run first.
    const ping = client.ping.bind(client);
    client.ping = (() => {
      const reply = ping();
      setImmediate(() => {
        const until = Date.now() + 250;
        while (Date.now() < until) {
          // busy
        }
      });
      return reply;
    }) as typeof client.ping;
    try {
      const downs: string[] = [];
      watchdog = watchRedis(client, {
        intervalMs: 50,
        timeoutMs: 100,
        onDown: (reason) => downs.push(reason),
      });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(downs).toEqual([]);
      expect(watchdog.health().up).toBe(true);
    } finally {
      client.ping = ping;
    }
  });
});
