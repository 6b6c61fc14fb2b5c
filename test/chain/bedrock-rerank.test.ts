// Reranking with Amazon Bedrock's Rerank API, through the real AWS SDK against the Agent Runtime emulator
// (test/emulators/bedrock-agent-runtime.ts): the request in the documented shape, the reply's order answered
// from, and the chain answering from the retrieval order (with a warning) when the reranker fails.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Document } from "@langchain/core/documents";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createBedrockAgentRuntimeClient } from "../../src/models/bedrock-agent-client.ts";
import { BedrockReranker } from "../../src/models/rerank/bedrock.ts";
import { BedrockAgentRuntimeEmulator, THROTTLING } from "../emulators/bedrock-agent-runtime.ts";
import { useAwsEmulator } from "../helpers/aws-emulator.ts";
import { FIXTURES, ROOT, startService, tempDataDir } from "../helpers/services.ts";

const emulator = useAwsEmulator(new BedrockAgentRuntimeEmulator(), "AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME");

describe("BedrockReranker", () => {
  afterEach(() => emulator.reset());
  const candidate = (id: string, text: string) => ({
    document: new Document({ id, pageContent: text }),
    score: 1,
  });

  it("sends the question and the candidates' texts, and answers in the model's order with its scores", async () => {
    const reranker = new BedrockReranker({
      client: createBedrockAgentRuntimeClient(),
      model: "amazon.rerank-v1:0",
    });
    const ranked = await reranker.rerank(
      "how many trucks were used",
      [candidate("a", "Bitcoin is a peer-to-peer cash."), candidate("b", "3 trucks were used for 15 hours.")],
      1,
    );
    expect(ranked.map((c) => [c.document.id, c.score])).toEqual([["b", 0.6]]);
    expect(emulator.requests).toEqual([
      {
        queries: [{ type: "TEXT", textQuery: { text: "how many trucks were used" } }],
        sources: [
          {
            type: "INLINE",
            inlineDocumentSource: { type: "TEXT", textDocument: { text: "Bitcoin is a peer-to-peer cash." } },
          },
          {
            type: "INLINE",
            inlineDocumentSource: {
              type: "TEXT",
              textDocument: { text: "3 trucks were used for 15 hours." },
            },
          },
        ],
        rerankingConfiguration: {
          type: "BEDROCK_RERANKING_MODEL",
          bedrockRerankingConfiguration: {
            numberOfResults: 1,
            modelConfiguration: {
              modelArn: "arn:aws:bedrock:us-east-1::foundation-model/amazon.rerank-v1:0",
            },
          },
        },
      },
    ]);
  });

  it("passes a model ARN as it is, and reports the service's refusal as an error", async () => {
    const arn = "arn:aws:bedrock:eu-central-1::foundation-model/cohere.rerank-v3-5:0";
    const reranker = new BedrockReranker({ client: createBedrockAgentRuntimeClient(), model: arn });
    await reranker.rerank("trucks", [candidate("a", "trucks")], 1);
    expect(
      emulator.requests[0].rerankingConfiguration?.bedrockRerankingConfiguration?.modelConfiguration
        ?.modelArn,
    ).toBe(arn);
    const wrong = new BedrockReranker({
      client: createBedrockAgentRuntimeClient(),
      model: "amazon.titan-text-express-v1:0",
    });
    await expect(wrong.rerank("trucks", [candidate("a", "trucks")], 1)).rejects.toThrow(
      /not a reranking model/,
    );
  });
});

describe("a qa chain reranking with Bedrock, in the service", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let service: Awaited<ReturnType<typeof startService>>;
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);

  beforeAll(async () => {
    data = await tempDataDir();
    const chains = path.join(data.dir, "chains");
    await mkdir(chains, { recursive: true });
    const chain = (name: string, model: string) =>
      writeFile(
        path.join(chains, `${name}.yaml`),
        [
          `name: ${name}`,
          "type: qa",
          "prompt: qa",
          "model: { provider: extractive }",
          `retrieval: { k: 3, search: hybrid, rerank: { provider: bedrock, candidates: 6, model: "${model}" } }`,
        ].join("\n"),
      );
    await chain("qa", "amazon.rerank-v1:0");
    await chain("qa-titan", "amazon.titan-text-express-v1:0");
    service = await startService(data.dir, { CHAINS_DIR: chains, PROMPTS_DIR: path.join(ROOT, "prompts") });
    const form = new FormData();
    form.append("files", new Blob([await readFile(path.join(FIXTURES, "fake-memo.pdf"))]), "fake-memo.pdf");
    form.append("files", new Blob([await readFile(path.join(FIXTURES, "bitcoin.pdf"))]), "bitcoin.pdf");
    expect((await fetch(`${service.url}/ingest`, { method: "POST", body: form })).status).toBe(200);
    process.on("warning", onWarning);
  });
  afterAll(async () => {
    process.off("warning", onWarning);
    await service?.stop();
    await data?.remove();
  });
  afterEach(() => {
    emulator.reset();
    warnings.length = 0;
  });

  const ask = async (chain: string, question: string) => {
    const res = await fetch(`${service.url}/chain/${chain}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { answer: string; sources: { id: string; score: number }[] };
  };

  it("retrieves its candidates, has Bedrock rank them, and answers from the 3 it keeps", async () => {
    const reply = await ask("qa", "How many trucks were used?");
    expect(reply.answer).toContain("3 trucks");
    expect(emulator.requests).toHaveLength(1);
    const [request] = emulator.requests;
    expect(request.queries?.[0].textQuery?.text).toBe("How many trucks were used?");
    expect(request.sources?.length).toBeGreaterThan(3);
    expect(request.sources?.length).toBeLessThanOrEqual(6);
    expect(request.rerankingConfiguration?.bedrockRerankingConfiguration?.numberOfResults).toBe(3);
    // The sources carry the model's scores, best first.
    const scores = reply.sources.map((s) => s.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(scores[0]).toBeLessThanOrEqual(1);
    expect(warnings).toEqual([]);
  });

  it("answers from the retrieval order, with a warning, when Bedrock keeps throttling or refuses the model", async () => {
    emulator.faults.push(THROTTLING, THROTTLING, THROTTLING);
    const throttled = await ask("qa", "How many trucks were used?");
    expect(throttled.answer).toContain("3 trucks");
    expect(emulator.requests).toHaveLength(3); // the SDK's attempts, then the retrieval order
    const refused = await ask("qa-titan", "How many trucks were used?");
    expect(refused.answer).toContain("3 trucks");
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((w) => (w as Error & { code?: string }).code)).toEqual([
      "COUNSEL_RERANK_FAILED",
      "COUNSEL_RERANK_FAILED",
    ]);
    expect(warnings[1].message).toMatch(
      /bedrock:amazon.titan-text-express-v1:0 failed \(.*not a reranking model/,
    );
  });
});
