// A qa chain on Bedrock end to end: chains/*.yaml names the provider and model, the service retrieves from
// Redis, the prompt with numbered context goes to the Bedrock Runtime emulator through the real AWS SDK, and
// `cache.llm: true` answers the repeated question from the Redis LLM cache without calling the model again.
// Without the cache the answer streams (ConverseStream); the model service's failures reach the caller as 502
// or 503 problem+json, never a hang or a 500.
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { useBedrockEmulator } from "../helpers/bedrock.ts";
import { FIXTURES, ROOT, startService, tempDataDir } from "../helpers/services.ts";

const MODEL = "us.amazon.nova-micro-v1:0";

describe("a qa chain on Bedrock", () => {
  const emulator = useBedrockEmulator();
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let service: Awaited<ReturnType<typeof startService>>;

  beforeAll(async () => {
    data = await tempDataDir();
    const chains = path.join(data.dir, "chains");
    await mkdir(chains);
    await copyFile(path.join(ROOT, "chains/qa.yaml"), path.join(chains, "qa.yaml"));
    await writeFile(
      path.join(chains, "qa-bedrock.yaml"),
      [
        "name: qa-bedrock",
        "type: qa",
        "prompt: qa",
        `model: { provider: bedrock, id: "${MODEL}", temperature: 0, maxTokens: 400 }`,
        "retrieval: { k: 3 }",
        "cache: { llm: true }",
      ].join("\n"),
    );
    await writeFile(
      path.join(chains, "qa-stream.yaml"),
      ["name: qa-stream", "type: qa", "prompt: qa", `model: { provider: bedrock, id: "${MODEL}" }`].join(
        "\n",
      ),
    );
    service = await startService(data.dir, {
      CHAINS_DIR: chains,
      REDIS_URL: inject("redisUrl"),
      REDIS_PREFIX: `t${Math.random().toString(36).slice(2, 10)}`,
    });
    const form = new FormData();
    form.append("files", new Blob([await readFile(path.join(FIXTURES, "fake-memo.pdf"))]), "fake-memo.pdf");
    await fetch(`${service.url}/ingest`, { method: "POST", body: form });
  });

  afterAll(async () => {
    await service?.stop();
    await data?.remove();
  });

  const post = (chain: string, question: string) =>
    fetch(`${service.url}/chain/${chain}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question }),
    });
  const ask = async (question: string, chain = "qa-bedrock") => {
    const res = await post(chain, question);
    expect(res.status).toBe(200);
    return (await res.json()) as { answer: string; model: string; sources: { source: string }[] };
  };

  it("sends the question with the retrieved chunks, numbered and fenced as untrusted, and returns the model's answer", async () => {
    const result = await ask("How many laptops were shipped?");
    // The recorded reply is replayed whatever the question; it cites nothing, so the chain lists no sources.
    expect(result.answer).toBe(emulator.converseText);
    expect(result.sources).toEqual([]);
    const request = emulator.requests.at(-1);
    // With cache.llm the chain asks for the whole answer (Converse): LangChain's cache does not serve streams.
    expect(request).toMatchObject({ operation: "converse", modelId: MODEL });
    const sent = JSON.stringify(request?.body);
    expect(sent).toContain("How many laptops were shipped?");
    expect(sent).toContain("[1]");
    expect(sent).toContain("200 laptops");
    expect(sent).toMatch(/<context>/);
  });

  it("answers the same question from the Redis LLM cache, without calling the model", async () => {
    const calls = emulator.requests.length;
    const result = await ask("How many laptops were shipped?");
    expect(result.answer).toBe(emulator.converseText);
    expect(emulator.requests.length).toBe(calls);
  });

  it("streams the answer from ConverseStream when the chain has no LLM cache", async () => {
    const result = await ask("How many laptops were shipped?", "qa-stream");
    expect(result.answer).toBe(emulator.streamText);
    expect(emulator.requests.at(-1)).toMatchObject({ operation: "converse-stream", modelId: MODEL });
  });

  it("retries a throttled (429) or failed (500) stream before it starts, and answers", async () => {
    for (const fault of ["throttle", "internal"] as const) {
      const calls = emulator.requests.length;
      emulator.streamFaults.push(fault);
      const result = await ask("How many laptops were shipped?", "qa-stream");
      expect(result.answer).toBe(emulator.streamText);
      expect(emulator.requests.length - calls).toBe(2);
    }
  });

  it("answers 502 for a corrupt stream frame and 503 for throttling mid-stream, without hanging", async () => {
    emulator.streamFaults.push("malformed-frame");
    const corrupt = await post("qa-stream", "How many laptops were shipped?");
    expect(corrupt.status).toBe(502);
    expect(corrupt.headers.get("content-type")).toContain("application/problem+json");
    expect(await corrupt.json()).toMatchObject({
      code: "model_error",
      detail: /stream was corrupt.*checksum/,
    });

    emulator.streamFaults.push("exception-event");
    const busy = await post("qa-stream", "How many laptops were shipped?");
    expect(busy.status).toBe(503);
    expect(busy.headers.get("retry-after")).toBe("2");
    expect(await busy.json()).toMatchObject({ code: "model_busy", detail: /ThrottlingException/ });

    // The service is unharmed: the next question is answered.
    expect((await ask("How many laptops were shipped?", "qa-stream")).answer).toBe(emulator.streamText);
  });
});

describe("MODEL_PROVIDER=bedrock", () => {
  const emulator = useBedrockEmulator();

  it("moves the default qa chain to Bedrock, and GET /usage counts the tokens of answers and embeddings", async () => {
    const data = await tempDataDir();
    const service = await startService(data.dir, {
      MODEL_PROVIDER: "bedrock",
      MODEL_ID: MODEL,
      EMBEDDINGS_PROVIDER: "bedrock",
      EMBEDDINGS_DIMENSIONS: "256",
    });
    try {
      const form = new FormData();
      form.append("files", new Blob([await readFile(path.join(FIXTURES, "fake-memo.pdf"))]), "fake-memo.pdf");
      await fetch(`${service.url}/ingest`, { method: "POST", body: form });
      const res = await fetch(`${service.url}/chain/qa`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ question: "How many laptops were shipped?" }),
      });
      expect(await res.json()).toMatchObject({ answer: emulator.streamText, model: `bedrock:${MODEL}` });
      expect(emulator.requests.at(-1)).toMatchObject({ operation: "converse-stream", modelId: MODEL });

      const { models } = (await (await fetch(`${service.url}/usage`)).json()) as {
        models: Record<string, { requests: number; inputTokens: number; outputTokens: number }>;
      };
      // The recorded stream reports 13 tokens in and 82 out.
      expect(models[MODEL]).toEqual({ requests: 1, inputTokens: 13, outputTokens: 82 });
      const titan = models["amazon.titan-embed-text-v2:0"];
      const invokes = emulator.requests.filter((r) => r.operation === "invoke").length;
      expect(titan.requests).toBe(invokes);
      expect(titan.inputTokens).toBeGreaterThan(invokes);
    } finally {
      await service.stop();
      await data.remove();
    }
  });
});
