// Limits that protect the service and its budget: requests per client per minute (shared through Redis by every
// process), open advisor streams per client, and a shutdown that ends open streams with an event and finishes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { useBedrockEmulator } from "../helpers/bedrock.ts";
import { writeKeys } from "../helpers/keys.ts";
import { startService, tempDataDir, useService } from "../helpers/services.ts";
import { readSse } from "../helpers/sse.ts";

// Keys of one tenant, so that the limits are seen to be per key, not per tenant or per address.
const keysDir = mkdtempSync(path.join(tmpdir(), "counsel-keys-"));
const { file: API_KEYS_FILE, keys } = await writeKeys(keysDir, {
  alpha: { tenant: "acme", scopes: ["query", "chat"] },
  beta: { tenant: "acme", scopes: ["query", "chat"] },
  gamma: { tenant: "acme", scopes: ["query", "chat"] },
  delta: { tenant: "acme", scopes: ["query", "chat"] },
});
afterAll(() => rmSync(keysDir, { recursive: true, force: true }));

const ask = (url: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/chain/qa`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ question: "How many laptops?" }),
  });

describe("rate limits", () => {
  const service = useService({ RATE_LIMIT_PER_MINUTE: "3", API_KEYS_FILE });

  it("answers 429 problem+json past the limit, per API key, and never limits health probes", async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await ask(service.url, { "x-api-key": keys.alpha })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await ask(service.url, { "x-api-key": keys.alpha });
    expect(limited.headers.get("content-type")).toContain("application/problem+json");
    expect(await limited.json()).toMatchObject({
      status: 429,
      code: "rate_limited",
      detail: /at most 3 a minute/,
    });
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    // Another key has its own count.
    expect((await ask(service.url, { authorization: `Bearer ${keys.beta}` })).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });
});

describe("rate limits on Redis", () => {
  const shared = {
    RATE_LIMIT_PER_MINUTE: "4",
    API_KEYS_FILE,
    REDIS_URL: inject("redisUrl"),
    REDIS_PREFIX: `t${Math.random().toString(36).slice(2, 10)}`,
  };
  const one = useService(shared);
  const two = useService(shared);

  it("counts a client's requests across processes", async () => {
    const headers = { "x-api-key": keys.gamma };
    const statuses = [
      (await ask(one.url, headers)).status,
      (await ask(two.url, headers)).status,
      (await ask(one.url, headers)).status,
      (await ask(two.url, headers)).status,
      (await ask(one.url, headers)).status,
    ];
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
  });
});

describe("advisor streams", () => {
  useBedrockEmulator({ frameDelayMs: 40 });
  const env = {
    MODEL_PROVIDER: "bedrock",
    MODEL_ID: "us.amazon.nova-micro-v1:0",
    MAX_STREAMS_PER_CLIENT: "2",
    API_KEYS_FILE,
  };
  const chat = (url: string, signal?: AbortSignal) =>
    fetch(`${url}/advisor/chat`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", "x-api-key": keys.delta },
      body: JSON.stringify({ message: "Tell me about the memo." }),
      signal,
    });

  it("caps the streams one client has open at once", async () => {
    const data = await tempDataDir();
    const service = await startService(data.dir, env);
    const leave = new AbortController();
    try {
      const open = [await chat(service.url, leave.signal), await chat(service.url, leave.signal)];
      expect(open.map((r) => r.status)).toEqual([200, 200]);
      const third = await chat(service.url);
      expect(third.status).toBe(429);
      expect(await third.json()).toMatchObject({ code: "too_many_streams" });
      leave.abort();
      await expect.poll(async () => (await chat(service.url)).status, { timeout: 5000 }).toBe(200);
    } finally {
      await service.stop();
      await data.remove();
    }
  });

  it("ends open streams with an error event when the service shuts down, and the shutdown completes", async () => {
    const data = await tempDataDir();
    const service = await startService(data.dir, env);
    const stream = readSse(await chat(service.url));
    expect((await stream.next())?.event).toBe("session");
    expect((await stream.next())?.event).toBe("token");
    const closing = service.stop();
    const rest = await stream.rest();
    expect(rest.at(-1)).toEqual({
      event: "error",
      data: expect.objectContaining({ status: 503, code: "shutting_down" }),
    });
    await closing; // finished, not hung on the stream
    await data.remove();
  });
});
