// OpenTelemetry traces: a span for every request, and under it the retrieval, the model calls (GenAI conventions:
// operation, provider, model, tokens), the embedding batches, the agent's turn and its tool calls; exported in
// memory here, and over OTLP/HTTP to a receiver on loopback.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { tool } from "@langchain/core/tools";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { createAgent } from "langchain";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { startTracing, type Tracing } from "../../src/telemetry/tracing.ts";
import { useBedrockEmulator } from "../helpers/bedrock.ts";
import { startService, tempDataDir } from "../helpers/services.ts";

const MODEL = "us.amazon.nova-micro-v1:0";

function named(spans: ReadableSpan[], name: string): ReadableSpan {
  const span = spans.find((s) => s.name === name);
  if (!span) throw new Error(`no span "${name}" among ${spans.map((s) => s.name).join(", ")}`);
  return span;
}

/** Whether `span` descends from `ancestor` (same trace, through its parents). */
function under(spans: ReadableSpan[], span: ReadableSpan, ancestor: ReadableSpan): boolean {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  for (let parent = span.parentSpanContext?.spanId; parent; ) {
    if (parent === ancestor.spanContext().spanId) return true;
    parent = byId.get(parent)?.parentSpanContext?.spanId;
  }
  return false;
}

/** The service as serve.ts starts it with tracing on, over a temporary data folder. */
async function tracedService(tracing: Tracing, env: Record<string, string>) {
  const data = await tempDataDir();
  // The endpoint only says "tracing is on" to the settings; the spans go to the test's exporter.
  const service = await startService(
    data.dir,
    { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9", ...env },
    { tracing: tracing.fastifyPlugin },
  );
  return {
    url: service.url,
    async stop() {
      await service.stop();
      await data.remove();
    },
  };
}

describe("traces", () => {
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  describe("of a question through the Bedrock emulator", () => {
    useBedrockEmulator();

    it("nest the retrieval, the embedding batches and the model call, with GenAI attributes, under the request", async () => {
      const exporter = new InMemorySpanExporter();
      tracing = await startTracing({ serviceName: "counsel-test", exporter, immediate: true });
      const service = await tracedService(tracing, { MODEL_PROVIDER: "bedrock", MODEL_ID: MODEL });
      try {
        const ingested = await fetch(`${service.url}/ingest`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            documents: [{ text: "The cafeteria opens at 9am.", metadata: { doc_id: "h" } }],
          }),
        });
        expect(ingested.status).toBe(200);
        exporter.reset();
        const answered = await fetch(`${service.url}/chain/qa`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ question: "When does the cafeteria open?", variant: "baseline" }),
        });
        expect(answered.status).toBe(200);
        await fetch(`${service.url}/healthz`);
      } finally {
        await service.stop();
      }
      const spans = exporter.getFinishedSpans();
      const request = spans.find((s) => s.attributes["http.route"] === "/chain/qa");
      expect(request, spans.map((s) => s.name).join(", ")).toBeDefined();
      if (!request) return;
      expect(request.resource.attributes["service.name"]).toBe("counsel-test");
      // Health checks are not traced.
      expect(spans.some((s) => s.attributes["http.route"] === "/healthz")).toBe(false);

      const chat = named(spans, `chat ${MODEL}`);
      expect(chat.attributes).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "aws.bedrock",
        "gen_ai.request.model": MODEL,
        // The recorded stream: 13 tokens in, 82 out.
        "gen_ai.usage.input_tokens": 13,
        "gen_ai.usage.output_tokens": 82,
      });
      expect(under(spans, chat, request)).toBe(true);
      const embedding = spans.find((s) => s.attributes["gen_ai.operation.name"] === "embeddings");
      expect(embedding?.attributes["counsel.embeddings.texts"]).toBe(1); // the question
      if (embedding) expect(under(spans, embedding, request)).toBe(true);
      const retrieval = spans.find((s) => s.attributes["gen_ai.operation.name"] === "retrieval");
      expect(retrieval?.attributes["counsel.retrieval.documents"]).toBeGreaterThan(0);
      if (retrieval) expect(under(spans, retrieval, request)).toBe(true);
      expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    });
  });

  it("show an agent's turn, its model calls and its tool calls, nested", async () => {
    const exporter = new InMemorySpanExporter();
    tracing = await startTracing({ serviceName: "counsel-test", exporter, immediate: true });
    const lookup = tool(async ({ city }) => `It is sunny in ${city}.`, {
      name: "weather",
      description: "The weather in a city",
      schema: z.object({ city: z.string() }),
    });
    const model = fakeModel()
      .respondWithTools([{ name: "weather", args: { city: "Lyon" }, id: "call-1" }])
      .respond(new AIMessage("Sunny."));
    const agent = createAgent({ name: "advisor", model, tools: [lookup] });
    await agent.invoke({ messages: [{ role: "user", content: "Weather in Lyon?" }] });

    const spans = exporter.getFinishedSpans();
    const turn = named(spans, "invoke_agent advisor");
    expect(turn.attributes).toMatchObject({
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.agent.name": "advisor",
    });
    const call = named(spans, "execute_tool weather");
    expect(call.attributes).toMatchObject({
      "gen_ai.operation.name": "execute_tool",
      "gen_ai.tool.name": "weather",
      "gen_ai.tool.call.id": "call-1",
    });
    const chats = spans.filter((s) => s.attributes["gen_ai.operation.name"] === "chat");
    expect(chats).toHaveLength(2);
    for (const span of [call, ...chats]) expect(under(spans, span, turn)).toBe(true);
  });

  it("go over OTLP/HTTP to a receiver, batched, sent when the service stops", async () => {
    const received: unknown[] = [];
    const receiver: Server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        received.push({
          path: request.url,
          type: request.headers["content-type"],
          body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
        });
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const previous = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint;
    try {
      tracing = await startTracing({ serviceName: "counsel-otlp" });
      const service = await tracedService(tracing, {});
      await fetch(`${service.url}/chains`);
      await service.stop();
      await tracing.shutdown();
      tracing = undefined;
    } finally {
      if (previous === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = previous;
      receiver.close();
    }
    expect(received).toEqual([
      expect.objectContaining({ path: "/v1/traces", type: expect.stringContaining("application/json") }),
    ]);
    const [{ body }] = received as { body: { resourceSpans: ResourceSpans[] } }[];
    const [resourceSpans] = body.resourceSpans;
    expect(resourceSpans.resource.attributes).toContainEqual({
      key: "service.name",
      value: { stringValue: "counsel-otlp" },
    });
    const spans = resourceSpans.scopeSpans.flatMap((scope) => scope.spans);
    expect(
      spans.some((span) =>
        span.attributes.some((a) => a.key === "http.route" && a.value.stringValue === "/chains"),
      ),
    ).toBe(true);
  });
});

interface ResourceSpans {
  resource: { attributes: { key: string; value: { stringValue?: string } }[] };
  scopeSpans: { spans: { name: string; attributes: { key: string; value: { stringValue?: string } }[] }[] }[];
}
