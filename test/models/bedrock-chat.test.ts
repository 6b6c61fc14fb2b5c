// ChatBedrockConverse through the real AWS SDK against the local Bedrock Runtime emulator, which replays a
// real recording: the SDK finds the emulator through AWS_ENDPOINT_URL_BEDROCK_RUNTIME, as it would a private endpoint.
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { describe, expect, it } from "vitest";
import { createBedrockChatModel } from "../../src/models/chat/bedrock.ts";
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

  it("says how to configure a region when there is none", async () => {
    const { AWS_REGION: _region, ...rest } = process.env;
    process.env = { ...rest, AWS_CONFIG_FILE: "/nonexistent", AWS_SHARED_CREDENTIALS_FILE: "/nonexistent" };
    await expect(createBedrockChatModel({ id: MODEL })).rejects.toThrow(/AWS_REGION/);
    process.env.AWS_REGION = "us-east-1";
  });
});
