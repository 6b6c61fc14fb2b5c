// The emulator read by the official openai client, the one LangChain uses: its stream helper assembles the chunks
// as it does OpenAI's (and refuses malformed ones), its embeddings decode the base64 it asks for by default, and
// its errors come back as the client's typed errors, so that what the emulator says is what OpenAI says.
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { useOpenAIEmulator } from "../helpers/openai.ts";

describe("the OpenAI emulator, read by the openai client", () => {
  const server = useOpenAIEmulator({ apiKey: "sk-test" });
  const client = () => new OpenAI({ baseURL: server.url, apiKey: "sk-test", maxRetries: 2 });

  it("lists the served models", async () => {
    const ids: string[] = [];
    for await (const model of client().models.list()) ids.push(model.id);
    expect(ids).toContain("llama3.2:latest");
    expect(ids).toContain("text-embedding-3-small");
  });

  it("answers a chat completion with text, tool calls and usage", async () => {
    server.emulator.reply({ toolCalls: [{ name: "get_capital", arguments: { country: "France" } }] });
    const completion = await client().chat.completions.create({
      model: "llama3.2",
      messages: [{ role: "user", content: "What is the capital of France?" }],
      tools: [{ type: "function", function: { name: "get_capital", parameters: { type: "object" } } }],
    });
    expect(completion.object).toBe("chat.completion");
    expect(completion.choices[0]).toMatchObject({
      finish_reason: "tool_calls",
      message: {
        role: "assistant",
        content: null,
        tool_calls: [
          { type: "function", function: { name: "get_capital", arguments: '{"country":"France"}' } },
        ],
      },
    });
    expect(completion.choices[0].message.tool_calls?.[0].id).toMatch(/^call_/);
    expect(completion.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: 1 });
  });

  it("streams chunks that the client's stream helper assembles into the whole reply, usage last", async () => {
    server.emulator.reply({
      text: "Let me look that up.",
      toolCalls: [{ name: "get_capital", arguments: { country: "France", detail: "full" } }],
    });
    const stream = client().chat.completions.stream({
      model: "llama3.2",
      messages: [{ role: "user", content: "What is the capital of France?" }],
      tools: [{ type: "function", function: { name: "get_capital", parameters: { type: "object" } } }],
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    stream.on("chunk", (chunk) => chunks.push(chunk));
    const final = await stream.finalChatCompletion();
    expect(final.choices[0].message.content).toBe("Let me look that up.");
    expect(final.choices[0].message.tool_calls?.[0]).toMatchObject({
      function: { name: "get_capital", arguments: '{"country":"France","detail":"full"}' },
    });
    expect(final.choices[0].finish_reason).toBe("tool_calls");
    // Arguments in fragments, all of one call's keyed by its index; usage on the last chunk alone.
    const argumentChunks = chunks.filter((c) => c.choices[0]?.delta.tool_calls?.[0].function?.arguments);
    expect(argumentChunks.length).toBeGreaterThan(2);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: expect.any(Number) } });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it("embeds as base64 by default, and as floats when asked, shortened to `dimensions`", async () => {
    const api = client();
    const packed = await api.embeddings.create({
      model: "text-embedding-3-small",
      input: ["a memo", "a report"],
    });
    expect(server.emulator.requests.at(-1)?.body).toMatchObject({ encoding_format: "base64" });
    expect(packed.data.map((d) => d.embedding.length)).toEqual([1536, 1536]);
    const floats = await api.embeddings.create({
      model: "text-embedding-3-small",
      input: "a memo",
      encoding_format: "float",
      dimensions: 256,
    });
    expect(floats.data[0].embedding).toHaveLength(256);
    expect(Math.hypot(...floats.data[0].embedding)).toBeCloseTo(1, 5);
    expect(packed.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
  });

  it("answers with OpenAI's error shapes, which the client raises as its typed errors", async () => {
    await expect(
      client().chat.completions.create({ model: "gpt-5", messages: [{ role: "user", content: "hi" }] }),
    ).rejects.toMatchObject({ status: 404, code: "model_not_found" });
    await expect(
      new OpenAI({ baseURL: server.url, apiKey: "sk-wrong" }).models.list(),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(
      client().embeddings.create({ model: "text-embedding-ada-002", input: "x", dimensions: 256 }),
    ).rejects.toMatchObject({ status: 400, param: "dimensions" });
  });

  it("throttles with retry-after, which the client waits out and retries", async () => {
    server.emulator.chatFaults.push("rate-limit", "server-error");
    const before = server.emulator.requests.length;
    const reply = await client().chat.completions.create({
      model: "llama3.2",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(reply.choices[0].message.content).toBe("No reply was scripted.");
    expect(server.emulator.requests.slice(before).map((r) => r.status)).toEqual([429, 500, 200]);
  });

  it("breaks a stream with an error event, which the client raises", async () => {
    server.emulator.chatFaults.push("stream-error");
    server.emulator.reply({ text: "one two three four five" });
    const stream = await client().chat.completions.create({
      model: "llama3.2",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    const texts: string[] = [];
    await expect(async () => {
      for await (const chunk of stream) texts.push(chunk.choices[0]?.delta.content ?? "");
    }).rejects.toBeInstanceOf(OpenAI.APIError);
    expect(texts.join("")).toBe("one two");
  });
});
