// The service with MODEL_PROVIDER=openai and EMBEDDINGS_PROVIDER=openai end to end, as on a laptop running Ollama
// (the OpenAI-compatible emulator standing in for it): documents embedded by the server's embedding model, a qa
// answer streamed from its chat model, an advisor turn that calls a tool over Server-Sent Events, token usage,
// the model's failures as 502 and 503 problems, and a start that stops on a wrong server or model.
import { readFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SettingsError } from "../../src/config/settings.ts";
import { OPENAI_MAX_RETRIES } from "../../src/models/openai-server.ts";
import { createServices } from "../../src/services/services.ts";
import { useOpenAIEmulator } from "../helpers/openai.ts";
import { FIXTURES, quiet, startService, tempDataDir, testSettings } from "../helpers/services.ts";
import { readSse, type SseEvent } from "../helpers/sse.ts";

const MODEL = "llama3.2";
const EMBEDDER = "nomic-embed-text";
const ollama = (url: string) => ({
  MODEL_PROVIDER: "openai",
  MODEL_ID: MODEL,
  OPENAI_BASE_URL: url,
  EMBEDDINGS_PROVIDER: "openai",
  EMBEDDINGS_MODEL: EMBEDDER,
  SSE_HEARTBEAT_MS: "0",
});

describe("the service on an OpenAI-compatible server", () => {
  const server = useOpenAIEmulator({ chunkDelayMs: 2 });
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let service: Awaited<ReturnType<typeof startService>>;

  beforeAll(async () => {
    data = await tempDataDir();
    service = await startService(data.dir, ollama(server.url));
    const form = new FormData();
    form.append("files", new Blob([await readFile(path.join(FIXTURES, "fake-memo.pdf"))]), "fake-memo.pdf");
    const ingested = await fetch(`${service.url}/ingest`, { method: "POST", body: form });
    expect(ingested.status).toBe(200);
  });
  afterAll(async () => {
    await service?.stop();
    await data?.remove();
  });

  const ask = (question: string) =>
    fetch(`${service.url}/chain/qa`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question }),
    });

  it("embeds the documents with the server's embedding model, at its own dimension", () => {
    const embedded = server.emulator.embeddingRequests.flatMap((r) => r.body?.input);
    expect(embedded.some((text) => String(text).includes("200 laptops"))).toBe(true);
    expect(server.emulator.embeddingRequests.every((r) => r.body?.model === EMBEDDER)).toBe(true);
    expect(server.emulator.embeddingRequests.some((r) => r.body && "dimensions" in r.body)).toBe(false);
  });

  it("answers a question with the chat model, from the retrieved chunks, citing them", async () => {
    server.emulator.reply({ text: "200 laptops were shipped [1]." });
    const res = await ask("How many laptops were shipped?");
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      answer: string;
      model: string;
      sources: { source: string; cited: boolean }[];
      usage: { inputTokens: number; outputTokens: number };
    };
    expect(body.answer).toBe("200 laptops were shipped [1].");
    expect(body.model).toBe(`openai:${MODEL}`);
    expect(body.sources[0]).toMatchObject({ source: "upload:fake-memo.pdf", cited: true });
    const request = server.emulator.chatRequests.at(-1);
    expect(request?.body).toMatchObject({
      model: MODEL,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(JSON.stringify(request?.body?.messages)).toContain("How many laptops were shipped?");
    expect(JSON.stringify(request?.body?.messages)).toContain("200 laptops");
    expect(body.usage).toEqual({
      inputTokens: request?.usage?.prompt_tokens,
      outputTokens: request?.usage?.completion_tokens,
    });
  });

  it("runs an advisor turn that calls a tool, streamed as Server-Sent Events", async () => {
    server.emulator.reply(
      { toolCalls: [{ name: "search_knowledge_base", arguments: { query: "laptops shipped" } }] },
      { text: "The memo says 200 laptops were delivered [1]." },
    );
    const before = server.emulator.chatRequests.length;
    const res = await fetch(`${service.url}/advisor/chat`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ message: "How many laptops were delivered?" }),
    });
    expect(res.status).toBe(200);
    const events = await readSse(res).rest();
    const named = (e: SseEvent) =>
      `${e.event}${(e.data as { name?: string }).name ? `:${(e.data as { name: string }).name}` : ""}`;
    expect(events.map(named).filter((n) => n !== "token")).toEqual([
      "session",
      "tool_start:search_knowledge_base",
      "tool_end:search_knowledge_base",
      "sources",
      "done",
    ]);
    const tokens = events.filter((e) => e.event === "token").map((e) => (e.data as { text: string }).text);
    expect(tokens.length).toBeGreaterThan(3);
    expect(tokens.join("")).toBe("The memo says 200 laptops were delivered [1].");

    const [call, answer] = server.emulator.chatRequests.slice(before);
    expect(call.body?.tools).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ function: expect.objectContaining({ name: "search_knowledge_base" }) }),
      ]),
    );
    // The tool's result went back tied to the model's call, with the memo's chunk in it.
    const messages = answer.body?.messages as { role: string; content: string; tool_call_id?: string }[];
    const result = messages.find((m) => m.role === "tool");
    expect(result?.tool_call_id).toMatch(/^call_/);
    expect(result?.content).toContain("200 laptops");
    const done = events.at(-1)?.data as { usage: { inputTokens: number; outputTokens: number } };
    expect(done.usage).toEqual({
      inputTokens: (call.usage?.prompt_tokens ?? 0) + (answer.usage?.prompt_tokens ?? 0),
      outputTokens: (call.usage?.completion_tokens ?? 0) + (answer.usage?.completion_tokens ?? 0),
    });
  });

  it("counts every model's tokens in GET /usage", async () => {
    const usage = (await (await fetch(`${service.url}/usage`)).json()) as {
      models: Record<string, { requests: number; inputTokens: number }>;
    };
    expect(usage.models[MODEL].requests).toBeGreaterThanOrEqual(3);
    expect(usage.models[EMBEDDER].inputTokens).toBeGreaterThan(0);
  });

  it("retries a throttled (429) answer and answers", async () => {
    server.emulator.chatFaults.push("rate-limit");
    server.emulator.reply({ text: "200 laptops were shipped [1]." });
    const before = server.emulator.chatRequests.length;
    const res = await ask("How many laptops were shipped?");
    expect(res.status).toBe(200);
    expect(server.emulator.chatRequests.slice(before).map((r) => r.status)).toEqual([429, 200]);
  });

  it("answers 502 problem+json when the server keeps failing, and 503 when it keeps throttling", async () => {
    server.emulator.chatFaults.push(...Array(OPENAI_MAX_RETRIES + 1).fill("server-error"));
    const failed = await ask("How many laptops were shipped?");
    expect(failed.status).toBe(502);
    expect(failed.headers.get("content-type")).toContain("application/problem+json");
    expect(await failed.json()).toMatchObject({
      code: "model_error",
      detail: /^The model service failed: 500 /,
    });

    server.emulator.chatFaults.push(...Array(OPENAI_MAX_RETRIES + 1).fill("rate-limit"));
    const busy = await ask("How many laptops were shipped?");
    expect(busy.status).toBe(503);
    expect(busy.headers.get("retry-after")).toBe("2");
    expect(await busy.json()).toMatchObject({ code: "model_busy", detail: /Rate limit reached/ });
  });
});

describe("a start against a wrong server or model", () => {
  const server = useOpenAIEmulator();
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  /** A loopback port nothing listens on: one just closed. */
  let closedPort = 0;
  beforeAll(async () => {
    data = await tempDataDir();
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
  });
  afterAll(() => data?.remove());

  const start = (env: Record<string, string>) => createServices(testSettings(data.dir, env), quiet);

  it.each([
    {
      when: "a server that is not running",
      env: () => ({ OPENAI_BASE_URL: `http://127.0.0.1:${closedPort}/v1` }),
      message:
        /OPENAI_BASE_URL=http:\/\/127\.0\.0\.1:\d+\/v1: cannot be reached \(.*ECONNREFUSED.*\); is the server/,
    },
    {
      when: "a base URL without /v1",
      env: (url: string) => ({ OPENAI_BASE_URL: url.replace(/\/v1$/, "") }),
      message: /GET \/models answered 404 .*ends in \/v1, e\.g\. http:\/\/localhost:11434\/v1/,
    },
    {
      when: "a model the server does not serve",
      env: () => ({ MODEL_ID: "llama3.3" }),
      message: /MODEL_ID=llama3\.3: not served by .*llama3\.2:latest.*ollama pull llama3\.3/,
    },
  ])("stops on $when, saying what to fix", async ({ env, message }) => {
    const settings = { ...ollama(server.url), EMBEDDINGS_PROVIDER: "local", ...env(server.url) };
    const failure = start(settings);
    await expect(failure).rejects.toBeInstanceOf(SettingsError);
    await expect(failure).rejects.toThrow(message);
  });
});
