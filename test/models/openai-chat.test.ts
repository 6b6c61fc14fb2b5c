// ChatOpenAICompletions through the real openai client against the OpenAI-compatible emulator, found at its base
// URL as an Ollama or vLLM server would be: answers, streams, tool calls, usage metering, the client's own retries,
// and its failures as the 502 and 503 the service answers.

import { type AIMessageChunk, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { OpenAIClient } from "@langchain/openai";
import { describe, expect, it } from "vitest";
import { z } from "zod/v4";
import { createOpenAIChatModel } from "../../src/models/chat/openai.ts";
import { modelFailure } from "../../src/models/errors.ts";
import { OPENAI_MAX_RETRIES } from "../../src/models/openai-server.ts";
import { UsageMeter } from "../../src/models/usage.ts";
import { useOpenAIEmulator } from "../helpers/openai.ts";

const MODEL = "llama3.2";
const ANSWER = "The capital of France is Paris, a city on the Seine with more than two million people.";

const getCapital = tool(async ({ country }) => `The capital of ${country}`, {
  name: "get_capital",
  description: "Get the capital of a country.",
  schema: z.object({ country: z.string().describe("The country name.") }),
});

describe("OpenAI-compatible chat through the emulator", () => {
  const server = useOpenAIEmulator({ chunkDelayMs: 10 });
  const model = (meter?: UsageMeter, spec: { temperature?: number; maxTokens?: number } = {}) =>
    createOpenAIChatModel({ id: MODEL, ...spec }, { baseURL: server.url }, { meter });
  const last = () => server.emulator.chatRequests.at(-1);

  it("answers, sending the model, messages and settings, with a placeholder key for a server that needs none", async () => {
    server.emulator.reply({ text: ANSWER });
    const reply = await model(undefined, { temperature: 0.2, maxTokens: 300 }).invoke([
      new SystemMessage("You are a chatbot."),
      new HumanMessage("What is the capital of France?"),
    ]);
    expect(reply.content).toBe(ANSWER);
    expect(last()?.body).toMatchObject({
      model: MODEL,
      messages: [
        { role: "system", content: "You are a chatbot." },
        { role: "user", content: "What is the capital of France?" },
      ],
      temperature: 0.2,
      max_tokens: 300,
    });
    expect(last()?.body).not.toHaveProperty("stream", true);
    expect(last()?.headers.authorization).toBe("Bearer unused");
  });

  it("streams tokens as the server sends them, and they add up to the answer", async () => {
    server.emulator.reply({ text: ANSWER });
    let text = "";
    let pieces = 0;
    let sentAtFirstToken: number | undefined;
    for await (const chunk of await model().stream([new HumanMessage("What is the capital of France?")])) {
      if (!chunk.text) continue;
      sentAtFirstToken ??= last()?.chunksSent;
      text += chunk.text;
      pieces += 1;
    }
    expect(text).toBe(ANSWER);
    expect(pieces).toBe(ANSWER.split(" ").length);
    // The first token was in hand while most of the stream was still to be sent.
    const sent = last()?.chunksSent as number;
    expect(sentAtFirstToken).toBeLessThan(sent / 2);
    expect(last()?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("meters the tokens of answered and streamed replies, from the usage the server reports", async () => {
    const meter = new UsageMeter();
    server.emulator.reply({ text: ANSWER }, { text: ANSWER });
    await model(meter).invoke([new HumanMessage("Hello!")]);
    const first = last()?.usage;
    for await (const _chunk of await model(meter).stream([
      new HumanMessage("What is the capital of France?"),
    ])) {
      // consumed to the end, where the usage chunk is
    }
    const second = last()?.usage;
    expect(meter.totals()[MODEL]).toEqual({
      requests: 2,
      inputTokens: (first?.prompt_tokens ?? 0) + (second?.prompt_tokens ?? 0),
      outputTokens: (first?.completion_tokens ?? 0) + (second?.completion_tokens ?? 0),
    });
    expect(second?.completion_tokens).toBe(ANSWER.split(" ").length);
  });

  it("calls tools: sends their specs, returns the model's call, then answers from the tool's result", async () => {
    server.emulator.reply(
      { toolCalls: [{ name: "get_capital", arguments: { country: "France" } }] },
      { text: "The capital of France is Paris." },
    );
    const withTools = model().bindTools([getCapital]);
    const question = new HumanMessage("What is the capital of France?");
    const call = await withTools.invoke([question]);
    expect(call.tool_calls).toEqual([
      expect.objectContaining({
        name: "get_capital",
        args: { country: "France" },
        id: expect.stringMatching(/^call_/),
      }),
    ]);
    expect(last()?.body).toMatchObject({
      tools: [
        {
          type: "function",
          function: {
            name: "get_capital",
            parameters: { properties: { country: { type: "string" } }, required: ["country"] },
          },
        },
      ],
    });

    const id = call.tool_calls?.[0].id as string;
    const answer = await withTools.invoke([
      question,
      call,
      new ToolMessage({ content: "Paris", tool_call_id: id }),
    ]);
    expect(answer.content).toBe("The capital of France is Paris.");
    // The call and its result went back on the wire, tied by the call's id.
    expect(last()?.body?.messages).toEqual([
      { role: "user", content: "What is the capital of France?" },
      expect.objectContaining({
        role: "assistant",
        tool_calls: [
          expect.objectContaining({
            id,
            function: { name: "get_capital", arguments: '{"country":"France"}' },
          }),
        ],
      }),
      { role: "tool", content: "Paris", tool_call_id: id },
    ]);
  });

  it("streams a tool call in fragments that add up to the whole call", async () => {
    server.emulator.reply({
      text: "Let me look that up.",
      toolCalls: [{ name: "get_capital", arguments: { country: "Federal Republic of Germany" } }],
    });
    let whole: AIMessageChunk | undefined;
    for await (const chunk of await model()
      .bindTools([getCapital])
      .stream([new HumanMessage("Germany?")]))
      whole = whole ? whole.concat(chunk) : chunk;
    expect(whole?.text).toBe("Let me look that up.");
    expect(whole?.tool_calls).toEqual([
      expect.objectContaining({ name: "get_capital", args: { country: "Federal Republic of Germany" } }),
    ]);
  });

  it("aborts the request upstream when the caller's signal fires mid-stream", async () => {
    server.emulator.reply({ text: ANSWER });
    const controller = new AbortController();
    const failure = await (async () => {
      for await (const chunk of await model().stream([new HumanMessage("Hello!")], {
        signal: controller.signal,
      }))
        if (chunk.text) controller.abort();
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    await expect.poll(() => last()?.aborted).toBe(true);
    expect(last()?.chunksSent).toBeLessThan(ANSWER.split(" ").length);
  });

  it("gives structured output through the response format, as write_report asks for its plan", async () => {
    const plan = z.object({ queries: z.array(z.string()) });
    server.emulator.reply({ text: JSON.stringify({ queries: ["laptops delivered", "blankets"] }) });
    const { parsed } = await model()
      .withStructuredOutput(plan, { name: "plan_queries", includeRaw: true })
      .invoke([new HumanMessage("Plan the report.")]);
    expect(parsed).toEqual({ queries: ["laptops delivered", "blankets"] });
    expect(last()?.body).toMatchObject({
      response_format: { type: "json_schema", json_schema: { name: "plan_queries" } },
    });
  });

  it("retries a 429 as its retry-after says, then answers", async () => {
    server.emulator.chatFaults.push("rate-limit", "overloaded");
    server.emulator.reply({ text: ANSWER });
    const before = server.emulator.chatRequests.length;
    const reply = await model().invoke([new HumanMessage("Hello!")]);
    expect(reply.content).toBe(ANSWER);
    expect(server.emulator.chatRequests.slice(before).map((r) => r.status)).toEqual([429, 503, 200]);
  });

  it("gives up on a 500 after its retries, with an error the service answers as 502", async () => {
    server.emulator.chatFaults.push(...Array(OPENAI_MAX_RETRIES + 1).fill("server-error"));
    const before = server.emulator.chatRequests.length;
    const failure = await model()
      .invoke([new HumanMessage("Hello!")])
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAIClient.InternalServerError);
    expect(server.emulator.chatRequests.length - before).toBe(OPENAI_MAX_RETRIES + 1);
    expect(modelFailure(failure)).toMatchObject({
      status: 502,
      code: "model_error",
      message: expect.stringMatching(/^The model service failed: 500 The server had an error/),
    });
  });

  it("does not retry a stream that breaks midway, whose tokens are already out", async () => {
    server.emulator.chatFaults.push("stream-error");
    server.emulator.reply({ text: ANSWER });
    const before = server.emulator.chatRequests.length;
    let text = "";
    const failure = await (async () => {
      for await (const chunk of await model().stream([new HumanMessage("Hello!")])) text += chunk.text;
    })().catch((error: unknown) => error);
    expect(text).toBe("The capital");
    expect(server.emulator.chatRequests.length - before).toBe(1);
    expect(modelFailure(failure)).toMatchObject({ status: 502, code: "model_error" });
  });
});

describe("openai client errors as the service's problems", () => {
  const headers = new Headers();
  const apiError = (status: number, code: string | null, message: string) =>
    OpenAIClient.APIError.generate(
      status,
      { error: { message, type: "x", param: null, code } },
      undefined,
      headers,
    );

  it.each([
    {
      when: "a 429 after the retries",
      error: apiError(429, "rate_limit_exceeded", "Rate limit reached"),
      status: 503,
      code: "model_busy",
    },
    {
      when: "a 503",
      error: apiError(503, null, "The engine is currently overloaded"),
      status: 503,
      code: "model_busy",
    },
    {
      when: "no connection",
      error: new OpenAIClient.APIConnectionError({ message: "Connection error." }),
      status: 503,
      code: "model_busy",
    },
    {
      when: "an exhausted quota",
      error: apiError(429, "insufficient_quota", "You exceeded your current quota"),
      status: 502,
      code: "model_error",
    },
    {
      when: "an unknown model",
      error: apiError(404, "model_not_found", "The model `x` does not exist"),
      status: 502,
      code: "model_error",
    },
    {
      when: "a 500",
      error: apiError(500, null, "The server had an error"),
      status: 502,
      code: "model_error",
    },
  ])("answers $when with $status $code", ({ error, status, code }) => {
    expect(modelFailure(error)).toMatchObject({ status, code });
  });

  it("finds the client's error under a LangChain error that wraps it, and leaves a user's abort alone", () => {
    const wrapped = new Error("context overflow", {
      cause: apiError(400, "context_length_exceeded", "too long"),
    });
    expect(modelFailure(wrapped)).toMatchObject({ status: 502, message: /400 too long/ });
    expect(modelFailure(new OpenAIClient.APIUserAbortError())).toBeUndefined();
    expect(modelFailure(new Error("not a model's"))).toBeUndefined();
  });
});
