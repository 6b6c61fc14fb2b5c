// ChatBedrockConverse through the real AWS SDK against the local Bedrock Runtime emulator, which replays a
// real recording: the SDK finds the emulator through AWS_ENDPOINT_URL_BEDROCK_RUNTIME, as it would a private endpoint.
import { type AIMessageChunk, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { describe, expect, it } from "vitest";
import { z } from "zod/v4";
import { createBedrockChatModel, toolChoicesOf } from "../../src/models/chat/bedrock.ts";
import { UsageMeter } from "../../src/models/usage.ts";
import { useBedrockEmulator } from "../helpers/bedrock.ts";

const MODEL = "us.amazon.nova-micro-v1:0";

describe("Bedrock chat through the emulator", () => {
  const emulator = useBedrockEmulator({ frameDelayMs: 15 });

  it("answers with Converse, sending the model id, system prompt and message on the wire", async () => {
    const model = await createBedrockChatModel({ id: MODEL, temperature: 0.2, maxTokens: 300 });
    const reply = await model.invoke([new SystemMessage("You are a chatbot."), new HumanMessage("Hello!")]);
    expect(reply.content).toBe(emulator.converseText);
    expect(reply.usage_metadata).toMatchObject({ input_tokens: 7, output_tokens: 30 });
    const request = emulator.requests.at(-1);
    expect(request).toMatchObject({ operation: "converse", modelId: MODEL });
    expect(request?.body).toMatchObject({
      system: [{ text: "You are a chatbot." }],
      messages: [{ role: "user", content: [{ text: "Hello!" }] }],
      inferenceConfig: { temperature: 0.2, maxTokens: 300 },
    });
    expect(String(request?.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=test\//);
  });

  it("streams ConverseStream tokens as they arrive, adding up to the recorded answer", async () => {
    const model = await createBedrockChatModel({ id: MODEL });
    const started = performance.now();
    let firstAt = 0;
    let text = "";
    let chunks = 0;
    for await (const chunk of await model.stream([new HumanMessage("What is the capital of France?")])) {
      if (typeof chunk.content === "string" && chunk.content) {
        if (!firstAt) firstAt = performance.now() - started;
        text += chunk.content;
        chunks += 1;
      }
    }
    const total = performance.now() - started;
    expect(text).toBe(emulator.streamText);
    expect(chunks).toBeGreaterThan(10);
    // The emulator sends a frame every 15 ms: the first token must come long before the last.
    expect(firstAt).toBeLessThan(total / 2);
    expect(emulator.requests.at(-1)).toMatchObject({ operation: "converse-stream", modelId: MODEL });
  });

  it("streams one call after another over one kept-alive HTTP/1.1 connection, not a connection per stream", async () => {
    const model = await createBedrockChatModel({ id: MODEL });
    const before = emulator.connections;
    for (let i = 0; i < 3; i += 1) {
      for await (const _chunk of await model.stream([new HumanMessage(`Question ${i}?`)])) {
        // read to the end, so that the connection is free for the next call
      }
    }
    expect(emulator.requests.slice(-3).map((r) => [r.operation, r.httpVersion])).toEqual([
      ["converse-stream", "1.1"],
      ["converse-stream", "1.1"],
      ["converse-stream", "1.1"],
    ]);
    // The SDK's own HTTP/2 handler opens a session per event stream: three here.
    expect(emulator.connections - before).toBeLessThanOrEqual(1);
  });

  it("meters the tokens of answered and streamed replies, from the usage Bedrock reports", async () => {
    const meter = new UsageMeter();
    const model = await createBedrockChatModel({ id: MODEL }, { meter });
    await model.invoke([new HumanMessage("Hello!")]);
    expect(meter.totals()[MODEL]).toEqual({ requests: 1, inputTokens: 7, outputTokens: 30 });
    for await (const _chunk of await model.stream([new HumanMessage("What is the capital of France?")])) {
      // consumed to the end, where the usage event is
    }
    // The recorded stream's metadata event: 13 tokens in, 82 out.
    expect(meter.totals()[MODEL]).toEqual({ requests: 2, inputTokens: 20, outputTokens: 112 });
  });

  const getCapital = tool(async ({ country }) => `The capital of ${country}`, {
    name: "get_capital",
    description: "Get the capital of a country.",
    schema: z.object({ country: z.string().describe("The country name.") }),
  });
  const getTemperature = tool(async ({ city }) => `30°C in ${city}`, {
    name: "get_temperature",
    description: "Get the temperature in a city.",
    schema: z.object({ city: z.string().describe("The city name.") }),
  });

  it("calls tools: sends their specs, returns the model's tool call, then answers from the tool's result", async () => {
    const model = (await createBedrockChatModel({ id: MODEL })).bindTools([getCapital]);
    const question = new HumanMessage("What is the capital of France?");
    const call = await model.invoke([question]);
    expect(call.tool_calls).toEqual([
      expect.objectContaining({ name: "get_capital", args: { country: "France" }, id: expect.any(String) }),
    ]);
    expect(emulator.requests.at(-1)?.body).toMatchObject({
      toolConfig: {
        tools: [
          {
            toolSpec: {
              name: "get_capital",
              inputSchema: { json: { properties: { country: { type: "string" } }, required: ["country"] } },
            },
          },
        ],
      },
    });

    const result = new ToolMessage({ content: "Paris", tool_call_id: call.tool_calls?.[0].id as string });
    const answer = await model.invoke([question, call, result]);
    expect(answer.tool_calls).toEqual([]);
    expect(answer.content).toContain("The capital of France is Paris");
    // The tool result went back on the wire, tied to the model's toolUseId.
    expect(JSON.stringify(emulator.requests.at(-1)?.body)).toContain(
      `"toolUseId":"${call.tool_calls?.[0].id}"`,
    );
  });

  it("forces the structured-output tool for Nova models, which take a named tool choice", async () => {
    const model = await createBedrockChatModel({ id: MODEL });
    const capital = z.object({ country: z.string().describe("The country name.") });
    const structured = model.withStructuredOutput(capital, { name: "get_capital", includeRaw: true });
    const { parsed } = await structured.invoke([new HumanMessage("What is the capital of France?")]);
    expect(parsed).toEqual({ country: "France" });
    // Without the tool choice a model may answer in prose; @langchain/aws alone sends none for Nova.
    expect(emulator.requests.at(-1)?.body).toMatchObject({
      toolConfig: {
        tools: [{ toolSpec: { name: "get_capital" } }],
        toolChoice: { tool: { name: "get_capital" } },
      },
    });
    expect(
      toolChoicesOf("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0"),
    ).toEqual(["auto", "any", "tool"]);
    expect(toolChoicesOf("meta.llama3-70b-instruct-v1:0")).toBeUndefined();
  });

  it("streams a tool call: text tokens first, then the call's arguments, which add up to the whole call", async () => {
    const model = (await createBedrockChatModel({ id: MODEL })).bindTools([getCapital, getTemperature]);
    let whole: AIMessageChunk | undefined;
    let textChunks = 0;
    for await (const chunk of await model.stream([
      new HumanMessage("What is the temperature of the capital of France?"),
    ])) {
      if (typeof chunk.content === "string" ? chunk.content : chunk.content.length) textChunks += 1;
      whole = whole ? whole.concat(chunk) : chunk;
    }
    expect(textChunks).toBeGreaterThan(5);
    expect(whole?.tool_calls).toEqual([
      expect.objectContaining({ name: "get_temperature", args: { city: "Paris" } }),
    ]);
    expect(emulator.requests.at(-1)).toMatchObject({ operation: "converse-stream" });
  });

  it("says how to configure a region when there is none", async () => {
    const { AWS_REGION: _region, ...rest } = process.env;
    process.env = { ...rest, AWS_CONFIG_FILE: "/nonexistent", AWS_SHARED_CREDENTIALS_FILE: "/nonexistent" };
    await expect(createBedrockChatModel({ id: MODEL })).rejects.toThrow(/AWS_REGION/);
    process.env.AWS_REGION = "us-east-1";
  });
});
