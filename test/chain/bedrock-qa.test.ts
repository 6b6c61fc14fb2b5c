// A qa chain on Bedrock end to end: chains/*.yaml names the provider and model, the service retrieves from
// Redis, the prompt with numbered context goes to the Bedrock Runtime emulator through the real AWS SDK, and
// `cache.llm: true` answers the repeated question from the Redis LLM cache without calling the model again.
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

  const ask = async (question: string) => {
    const res = await fetch(`${service.url}/chain/qa-bedrock`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question }),
    });
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
});
