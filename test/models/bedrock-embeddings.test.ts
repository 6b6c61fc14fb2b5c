// Bedrock embeddings (Titan Text Embeddings v2 through LangChain's BedrockEmbeddings, Cohere Embed v3/v4 through
// ours) and the real AWS SDK, against the emulator.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createBedrockEmbeddings } from "../../src/models/embeddings/bedrock.ts";
import { UsageMeter } from "../../src/models/usage.ts";
import { useBedrockEmulator } from "../helpers/bedrock.ts";
import { FIXTURES, startService, tempDataDir } from "../helpers/services.ts";

const TITAN = "amazon.titan-embed-text-v2:0";

describe("Bedrock embeddings through the emulator", () => {
  const emulator = useBedrockEmulator({ invokeDelayMs: 20 });

  it("asks Titan v2 for normalised vectors of the chosen dimension, several calls at once but within the limit", async () => {
    const embeddings = await createBedrockEmbeddings({ model: TITAN, dimensions: 256, maxConcurrency: 4 });
    expect(embeddings.modelId).toBe("amazon.titan-embed-text-v2_0-256");
    emulator.maxInFlight = 0;
    const before = emulator.requests.length;
    const texts = Array.from({ length: 20 }, (_, i) => `Shipment ${i}: 200 laptops and 10,000 blankets.`);
    const vectors = await embeddings.embedDocuments(texts);
    expect(vectors).toHaveLength(20);
    for (const v of vectors) {
      expect(v).toHaveLength(256);
      expect(Math.hypot(...v)).toBeCloseTo(1, 3);
    }
    const sent = emulator.requests.slice(before);
    expect(sent).toHaveLength(20);
    expect(sent[0]).toMatchObject({
      operation: "invoke",
      modelId: TITAN,
      body: { dimensions: 256, normalize: true },
    });
    expect(sent.map((r) => (r.body as { inputText: string }).inputText).sort()).toEqual([...texts].sort());
    expect(emulator.maxInFlight).toBeGreaterThan(1);
    expect(emulator.maxInFlight).toBeLessThanOrEqual(4);
  });

  it("retries throttling (HTTP 429) and then succeeds", async () => {
    const embeddings = await createBedrockEmbeddings({ model: TITAN, dimensions: 512, maxConcurrency: 1 });
    const before = emulator.requests.length;
    emulator.throttleNext = 2;
    const vector = await embeddings.embedQuery("How many laptops were shipped?");
    expect(vector).toHaveLength(512);
    expect(emulator.requests.length - before).toBe(3);
  });

  it("embeds more questions at once than its concurrency limit without deadlocking", async () => {
    // @langchain/aws's embedQuery holds one slot while waiting for another: at the limit it never returns.
    const embeddings = await createBedrockEmbeddings({ model: TITAN, dimensions: 256, maxConcurrency: 2 });
    const questions = ["laptops?", "blankets?", "trucks?", "water?", "hours?"];
    const vectors = await Promise.all(questions.map((q) => embeddings.embedQuery(q)));
    expect(vectors.map((v) => v.length)).toEqual([256, 256, 256, 256, 256]);
  });

  it("refuses a model or dimension it cannot serve, saying what it can", async () => {
    await expect(
      createBedrockEmbeddings({ model: "amazon.titan-embed-text-v1", dimensions: 1024, maxConcurrency: 1 }),
    ).rejects.toThrow(/supported are Titan Text Embeddings v2 .* and Cohere Embed/);
    await expect(
      createBedrockEmbeddings({ model: TITAN, dimensions: 300, maxConcurrency: 1 }),
    ).rejects.toThrow(/makes 256, 512 or 1024 dimensions/);
    await expect(
      createBedrockEmbeddings({ model: "cohere.embed-english-v3", dimensions: 512, maxConcurrency: 1 }),
    ).rejects.toThrow(/makes 1024 dimensions/);
  });

  it("embeds chunks with Cohere v3 in batches of at most 96 as search_document, questions as search_query", async () => {
    const embeddings = await createBedrockEmbeddings({
      model: "cohere.embed-english-v3",
      dimensions: 1024,
      maxConcurrency: 2,
    });
    emulator.cohereCalls.length = 0;
    emulator.maxInFlight = 0;
    const texts = Array.from({ length: 200 }, (_, i) => `Chunk ${i} about shipments of laptops.`);
    const vectors = await embeddings.embedDocuments(texts);
    expect(vectors).toHaveLength(200);
    expect(vectors.every((v) => v.length === 1024)).toBe(true);
    // In order: chunk i's vector is the emulator's vector for chunk i's text.
    expect(vectors[150]).toEqual(await embeddings.embedDocuments([texts[150]]).then((v) => v[0]));
    expect(vectors[150]).not.toEqual(vectors[151]);
    const documentCalls = emulator.cohereCalls.filter((c) => c.inputType === "search_document");
    expect(documentCalls.slice(0, 3).map((c) => c.texts)).toEqual([96, 96, 8]);
    expect(emulator.maxInFlight).toBe(2);

    const question = await embeddings.embedQuery("How many laptops?");
    expect(question).toHaveLength(1024);
    expect(emulator.cohereCalls.at(-1)).toEqual({
      modelId: "cohere.embed-english-v3",
      texts: 1,
      inputType: "search_query",
    });
  });

  it("gathers the chunks of documents embedded at the same moment into shared Cohere calls", async () => {
    const embeddings = await createBedrockEmbeddings({
      model: "cohere.embed-english-v3",
      dimensions: 1024,
      maxConcurrency: 4,
    });
    emulator.cohereCalls.length = 0;
    const documents = Array.from({ length: 10 }, (_, d) => [
      `doc ${d} part a`,
      `doc ${d} part b`,
      `doc ${d} part c`,
    ]);
    const vectors = await Promise.all(documents.map((chunks) => embeddings.embedDocuments(chunks)));
    expect(emulator.cohereCalls.map((c) => c.texts)).toEqual([30]);
    // Each document still gets its own chunks' vectors, in order.
    const alone = await embeddings.embedDocuments(documents[7]);
    expect(vectors[7]).toEqual(alone);
  });

  it("asks Cohere v4 for the configured dimension (output_dimension)", async () => {
    const embeddings = await createBedrockEmbeddings({
      model: "cohere.embed-v4:0",
      dimensions: 512,
      maxConcurrency: 4,
    });
    expect(embeddings.modelId).toBe("cohere.embed-v4_0-512");
    const before = emulator.requests.length;
    const [vector] = await embeddings.embedDocuments(["hello"]);
    expect(vector).toHaveLength(512);
    expect(emulator.requests[before].body).toMatchObject({
      texts: ["hello"],
      input_type: "search_document",
      output_dimension: 512,
    });
  });

  it("meters the tokens of every call, per model", async () => {
    const meter = new UsageMeter();
    const calls: unknown[] = [];
    meter.onRecord((record) => calls.push(record));
    const titan = await createBedrockEmbeddings(
      { model: TITAN, dimensions: 256, maxConcurrency: 2 },
      { meter },
    );
    await titan.embedDocuments(["two words", "three more words"]);
    const cohere = await createBedrockEmbeddings(
      { model: "cohere.embed-english-v3", dimensions: 1024, maxConcurrency: 2 },
      { meter },
    );
    await cohere.embedDocuments(["one", "two words"]);
    expect(meter.totals()).toEqual({
      [TITAN]: { requests: 2, inputTokens: 5, outputTokens: 0 },
      "cohere.embed-english-v3": { requests: 1, inputTokens: 3, outputTokens: 0 },
    });
    expect(calls).toContainEqual({
      model: TITAN,
      operation: "InvokeModelCommand",
      inputTokens: 2,
      outputTokens: 0,
    });
  });

  it("serves the whole service: ingest and answer with Bedrock embeddings", async () => {
    const data = await tempDataDir();
    const service = await startService(data.dir, {
      EMBEDDINGS_PROVIDER: "bedrock",
      EMBEDDINGS_DIMENSIONS: "1024",
    });
    try {
      const form = new FormData();
      form.append("files", new Blob([await readFile(path.join(FIXTURES, "fake-memo.pdf"))]), "fake-memo.pdf");
      const report = await (await fetch(`${service.url}/ingest`, { method: "POST", body: form })).json();
      expect(report).toMatchObject({ added: 1, failed: [] });
      const res = await fetch(`${service.url}/chain/qa`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ question: "How many laptops were shipped?" }),
      });
      expect(((await res.json()) as { answer: string }).answer).toContain("200");
      // The local index for Bedrock vectors is its own folder, keyed by model and dimension.
      expect(service.services.stores.backend).toBe("local");
    } finally {
      await service.stop();
      await data.remove();
    }
  });
});
