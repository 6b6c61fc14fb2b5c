// Counsel on Redis as it runs in production: two real service processes share one real Redis 8; Redis is
// killed and restarted under them, and frozen and thawed; a service restarts and finds its data.
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startRedis, stopRedis } from "../global-setup.ts";
import { type CounselProcess, startCounsel, stopCounsel } from "../helpers/counsel-process.ts";
import { FIXTURES, tempDataDir } from "../helpers/services.ts";

type Service = CounselProcess;

function ask(service: Service, question: string) {
  return fetch(`${service.url}/chain/qa`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ question }),
  });
}

async function answerOf(service: Service, question: string): Promise<string> {
  const res = await ask(service, question);
  expect(res.status).toBe(200);
  return ((await res.json()) as { answer: string }).answer;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("two Counsel processes on one Redis", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let redisPort: number;
  let redis: ChildProcess;
  let env: Record<string, string>;
  let a: Service | undefined;
  let b: Service | undefined;
  // Append-only with fsync on every write, so a SIGKILLed Redis comes back with its data.
  const redisArgs = () => ["--appendonly", "yes", "--appendfsync", "always", "--dir", data.dir];

  beforeAll(async () => {
    data = await tempDataDir();
    redisPort = await freePort();
    redis = await startRedis(redisPort, redisArgs());
    env = { REDIS_URL: `redis://127.0.0.1:${redisPort}`, DATA_DIR: path.join(data.dir, "unused") };
    [a, b] = await Promise.all([startCounsel(env), startCounsel(env)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([stopCounsel(a), stopCounsel(b)]);
    if (redis) await stopRedis(redis);
    await data?.remove();
  });

  it("reports Redis in readiness", async () => {
    const ready = await fetch(`${a?.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: Record<string, { ok: boolean; backend?: string }> };
    expect(body.checks.redis.ok).toBe(true);
    expect(body.checks.store.backend).toBe("redis-vectorset");
  });

  it("lets one process answer from what the other ingested", async () => {
    const form = new FormData();
    form.append("files", new Blob([await readFile(path.join(FIXTURES, "fake-memo.pdf"))]), "fake-memo.pdf");
    const res = await fetch(`${a?.url}/ingest`, { method: "POST", body: form });
    expect(await res.json()).toMatchObject({ added: 1, failed: [] });
    expect(await answerOf(b as Service, "How many laptops were shipped?")).toContain("200");
  });

  it("skips the document when the other process ingests it again", async () => {
    const form = new FormData();
    form.append("files", new Blob([await readFile(path.join(FIXTURES, "fake-memo.pdf"))]), "fake-memo.pdf");
    const res = await fetch(`${b?.url}/ingest`, { method: "POST", body: form });
    expect(await res.json()).toMatchObject({ added: 0, skipped: 1, chunks: { added: 0 } });
  });

  it("answers 503 at once while Redis is down, stays up, and recovers when it returns", async () => {
    const service = a as Service;
    redis.kill("SIGKILL");
    await once(redis, "exit");

    await waitFor(async () => (await ask(service, "How many laptops were shipped?")).status === 503, 10_000);
    const started = performance.now();
    const res = await ask(service, "How many laptops were shipped?");
    const elapsed = performance.now() - started;
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(elapsed).toBeLessThan(1_000); // fails fast, no hang
    expect((await fetch(`${service.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);

    redis = await startRedis(redisPort, redisArgs());
    // Each process reconnects on its own backoff schedule.
    for (const each of [service, b as Service]) {
      await waitFor(async () => (await fetch(`${each.url}/readyz`)).status === 200, 20_000);
    }
    expect(await answerOf(service, "How many laptops were shipped?")).toContain("200");
    expect(await answerOf(b as Service, "How many laptops were shipped?")).toContain("200");
    expect(service.child.exitCode).toBeNull();
  });

  it("answers 503 within about a second while Redis is frozen, and recovers when it thaws", async () => {
    const service = a as Service;
    // A stopped process keeps its connections open and reads nothing: a partition or a stalled server, where a
    // killed one would refuse at once.
    redis.kill("SIGSTOP");
    try {
      const started = performance.now();
      const res = await ask(service, "How many laptops were shipped?");
      expect(res.status).toBe(503);
      expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
      // REDIS_TIMEOUT_MS is 750 by default: a PING every 250 ms, failed after 750 ms.
      expect(performance.now() - started).toBeLessThan(2_000);

      // Known to be down now: the next request, a write, and readiness fail at once rather than after a deadline.
      const then = performance.now();
      const write = await fetch(`${service.url}/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          documents: [{ text: "Written while Redis was frozen.", metadata: { doc_id: "frozen" } }],
        }),
      });
      expect(write.status).toBe(503);
      const ready = await fetch(`${service.url}/readyz`);
      expect(performance.now() - then).toBeLessThan(1_000);
      expect(ready.status).toBe(503);
      const checks = ((await ready.json()) as { checks: Record<string, { ok: boolean; detail?: string }> })
        .checks;
      expect(checks.redis).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/did not answer a PING within 750 ms/),
      });
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    } finally {
      redis.kill("SIGCONT");
    }

    for (const each of [service, b as Service]) {
      await waitFor(async () => (await fetch(`${each.url}/readyz`)).status === 200, 20_000);
    }
    // What was acknowledged before the freeze is all there.
    expect(await answerOf(service, "How many laptops were shipped?")).toContain("200");
    expect(await answerOf(b as Service, "How many laptops were shipped?")).toContain("200");
    expect(service.output()).toMatch(/did not answer a PING/);
  });

  it("finds its data after the service restarts", async () => {
    await stopCounsel(a);
    a = await startCounsel(env);
    expect(await answerOf(a, "How many bottles of water were shipped?")).toContain("20,000");
  });
});
