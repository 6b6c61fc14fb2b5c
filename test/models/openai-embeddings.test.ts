// OpenAIEmbeddings through the real openai client against the OpenAI-compatible emulator: the dimension read at
// start or asked for, batches, the concurrency limit, metering, retries, and the start stopped with a message
// when the model, the dimension or the server is wrong.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SettingsError } from "../../src/config/settings.ts";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { createOpenAIEmbeddings } from "../../src/models/embeddings/openai.ts";
import { UsageMeter } from "../../src/models/usage.ts";
import { useOpenAIEmulator } from "../helpers/openai.ts";

const TEXTS = [
  "There were 20,000 bottles of water delivered.",
  "10,000 blankets arrived on January 23, 2023.",
  "200 laptops were shipped.",
  "The memo is signed by the logistics lead.",
  "Deliveries continue next month.",
];

describe("OpenAI-compatible embeddings through the emulator", () => {
  const server = useOpenAIEmulator({ embedDelayMs: 20 });
  const endpoint = () => ({ baseURL: server.url });

  it("reads the model's own dimension from one embedding at start, and embeds many texts a call, as floats", async () => {
    const before = server.emulator.embeddingRequests.length;
    const embeddings = await createOpenAIEmbeddings(
      { model: "nomic-embed-text", maxConcurrency: 4 },
      endpoint(),
    );
    expect(embeddings.dimensions).toBe(768);
    expect(embeddings.modelId).toBe("nomic-embed-text-768");
    const vectors = await embeddings.embedDocuments(TEXTS);
    const calls = server.emulator.embeddingRequests.slice(before);
    expect(calls).toHaveLength(2); // the check at start, then one call for all five texts
    expect(calls[1].body).toEqual({ model: "nomic-embed-text", input: TEXTS, encoding_format: "float" });
    const local = new LocalHashEmbeddings({ dimensions: 768 });
    expect(vectors.map((v) => v.length)).toEqual([768, 768, 768, 768, 768]);
    expect(vectors[2]).toEqual(local.embed(TEXTS[2]));
  });

  it("asks for the dimension it is given, for a model that shortens its vectors, and keys its index by it", async () => {
    const embeddings = await createOpenAIEmbeddings(
      { model: "text-embedding-3-small", dimensions: 256, maxConcurrency: 4 },
      endpoint(),
    );
    expect(embeddings.modelId).toBe("text-embedding-3-small-256");
    expect(await embeddings.embedQuery("laptops")).toHaveLength(256);
    expect(server.emulator.embeddingRequests.at(-1)?.body).toMatchObject({ dimensions: 256 });
  });

  it("keeps at most maxConcurrency calls in flight", async () => {
    const embeddings = await createOpenAIEmbeddings(
      { model: "nomic-embed-text", maxConcurrency: 3, batchSize: 2 },
      endpoint(),
    );
    server.emulator.maxInFlight = 0;
    const before = server.emulator.embeddingRequests.length;
    const many = Array.from({ length: 20 }, (_, i) => `chunk number ${i} of the handbook`);
    expect(await embeddings.embedDocuments(many)).toHaveLength(20);
    expect(server.emulator.embeddingRequests.length - before).toBe(10);
    expect(server.emulator.maxInFlight).toBe(3);
  });

  it("meters every call's tokens, the check at start included", async () => {
    const meter = new UsageMeter();
    const before = server.emulator.embeddingRequests.length;
    const embeddings = await createOpenAIEmbeddings(
      { model: "nomic-embed-text", maxConcurrency: 4 },
      endpoint(),
      { meter },
    );
    await embeddings.embedDocuments(TEXTS);
    const tokens = server.emulator.embeddingRequests
      .slice(before)
      .reduce((n, r) => n + (r.usage?.prompt_tokens ?? 0), 0);
    expect(meter.totals()["nomic-embed-text"]).toEqual({ requests: 2, inputTokens: tokens, outputTokens: 0 });
  });

  it("retries a 429 and a 500 as the client's retry-after says, and embeds", async () => {
    const embeddings = await createOpenAIEmbeddings(
      { model: "nomic-embed-text", maxConcurrency: 4 },
      endpoint(),
    );
    server.emulator.embeddingFaults.push("rate-limit", "server-error");
    const before = server.emulator.embeddingRequests.length;
    expect(await embeddings.embedQuery("laptops")).toHaveLength(768);
    expect(server.emulator.embeddingRequests.slice(before).map((r) => r.status)).toEqual([429, 500, 200]);
  });

  it.each([
    {
      when: "a model the server does not have",
      spec: { model: "nomic-embed-txt" },
      message:
        /EMBEDDINGS_MODEL=nomic-embed-txt: OPENAI_BASE_URL=.* answered 404 .*ollama pull nomic-embed-txt/,
    },
    {
      when: "a dimension the model ignores",
      spec: { model: "nomic-embed-text", dimensions: 1024 },
      message: /EMBEDDINGS_DIMENSIONS=1024: nomic-embed-text .* makes 768-dimensional vectors .* unset/,
    },
    {
      when: "a dimension the model refuses",
      spec: { model: "text-embedding-ada-002", dimensions: 256 },
      message: /EMBEDDINGS_DIMENSIONS=256: .* refused it .*does not support specifying dimensions.* unset/,
    },
  ])("stops the start on $when, saying what to change", async ({ spec, message }) => {
    const failure = createOpenAIEmbeddings({ maxConcurrency: 4, ...spec }, endpoint());
    await expect(failure).rejects.toBeInstanceOf(SettingsError);
    await expect(failure).rejects.toThrow(message);
  });
});

describe("OpenAI embeddings from the OpenAI API itself", () => {
  // The openai client's own default endpoint, pointed at the emulator the way the client reads it.
  const server = useOpenAIEmulator({ apiKey: "sk-test" });
  const saved = process.env.OPENAI_BASE_URL;
  beforeAll(() => {
    process.env.OPENAI_BASE_URL = server.url;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.OPENAI_BASE_URL;
    else process.env.OPENAI_BASE_URL = saved;
  });

  it("asks for base64, the client's compact default, and decodes it to the same vectors", async () => {
    const embeddings = await createOpenAIEmbeddings(
      { model: "text-embedding-3-small", maxConcurrency: 2 },
      { apiKey: "sk-test" },
    );
    const [vector] = await embeddings.embedDocuments(["200 laptops were shipped."]);
    const request = server.emulator.embeddingRequests.at(-1);
    expect(request?.body).not.toHaveProperty("encoding_format", "float");
    expect(request?.body).toMatchObject({ encoding_format: "base64" });
    expect(request?.headers.authorization).toBe("Bearer sk-test");
    const expected = new LocalHashEmbeddings({ dimensions: 1536 }).embed("200 laptops were shipped.");
    expect(vector).toHaveLength(1536);
    for (const i of [0, 17, 1535]) expect(vector[i]).toBeCloseTo(expected[i], 6);
  });

  it("stops the start when the key is refused, naming OPENAI_API_KEY", async () => {
    await expect(
      createOpenAIEmbeddings({ model: "text-embedding-3-small", maxConcurrency: 2 }, { apiKey: "sk-wrong" }),
    ).rejects.toThrow(/OPENAI_API_KEY: refused by the OpenAI API \(401 Incorrect API key/);
  });
});
