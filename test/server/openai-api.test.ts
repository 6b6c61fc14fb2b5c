// Counsel's OpenAI-compatible chat API, driven by OpenAI's own clients over real HTTP: the official `openai`
// SDK (streaming and not) and LangChain's ChatOpenAI pointed at Counsel. Counsel itself answers with an
// OpenAI-compatible model (the wire-level emulator, as Ollama would), with API keys on, so that models, scopes and
// errors are those a deployment serves.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { ChatOpenAI } from "@langchain/openai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appOptions, buildApp } from "../../src/server/app.ts";
import { createServices, type Services } from "../../src/services/services.ts";
import { type KeySpecs, writeKeys } from "../helpers/keys.ts";
import { useOpenAIEmulator } from "../helpers/openai.ts";
import { FIXTURES, quiet, tempDataDir, testSettings } from "../helpers/services.ts";

const SPECS = {
  all: { tenant: "acme", scopes: ["query", "chat", "ingest"] },
  queryOnly: { tenant: "acme", scopes: ["query"] },
  other: { tenant: "globex", scopes: ["query", "chat"] },
} satisfies KeySpecs;

describe("the OpenAI-compatible chat API", () => {
  const model = useOpenAIEmulator({ chunkDelayMs: 1 });
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let services: Services;
  let close: () => Promise<void>;
  let url: string;
  let keys: Record<keyof typeof SPECS, string>;
  /** The official client, with Counsel as its base URL; no retries, so that each error is seen as sent. */
  const client = (key = keys.all) => new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });

  beforeAll(async () => {
    data = await tempDataDir();
    const written = await writeKeys(data.dir, SPECS);
    keys = written.keys;
    const settings = testSettings(path.join(data.dir, "state"), {
      API_KEYS_FILE: written.file,
      MODEL_PROVIDER: "openai",
      MODEL_ID: "llama3.2",
      OPENAI_BASE_URL: model.url,
      RATE_LIMIT_PER_MINUTE: "0",
    });
    services = await createServices(settings, quiet);
    const tenant = await services.tenant("acme");
    const memo = await readFile(path.join(FIXTURES, "fake-memo.txt"));
    await tenant.pipeline.ingest([{ name: "fake-memo.txt", source: "memo", data: memo }]);
    const app = await buildApp(services, appOptions(settings, services));
    await app.listen({ port: 0, host: "127.0.0.1" });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    close = async () => {
      await app.close();
      await services.close();
    };
  });
  afterAll(async () => {
    await close?.();
    await data?.remove();
  });

  it("lists the chains as models, each qa variant as chain:variant", async () => {
    const ids = [];
    for await (const m of client().models.list()) {
      expect(m).toMatchObject({ object: "model", owned_by: "counsel", created: expect.any(Number) });
      ids.push(m.id);
    }
    expect(ids).toEqual(expect.arrayContaining(["qa", "advisor"]));
    for (const variant of services.qaChain("qa").variants) expect(ids).toContain(`qa:${variant.name}`);
  });

  it("answers with a qa chain as one completion, its sources and runId in the counsel field", async () => {
    model.emulator.reply({ text: "The memo says 200 laptops were delivered [1]." });
    const completion = await client().chat.completions.create({
      model: "qa:baseline",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: "How many laptops were delivered?" }] },
      ],
    });
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe("qa:baseline");
    expect(completion.choices[0].message).toMatchObject({
      role: "assistant",
      content: "The memo says 200 laptops were delivered [1].",
    });
    expect(completion.choices[0].finish_reason).toBe("stop");
    const sent = model.emulator.chatRequests.at(-1);
    expect(completion.usage).toEqual({
      prompt_tokens: sent?.usage?.prompt_tokens,
      completion_tokens: sent?.usage?.completion_tokens,
      total_tokens: (sent?.usage?.prompt_tokens ?? 0) + (sent?.usage?.completion_tokens ?? 0),
    });
    // The chain's own prompt went to the model with the question; the client's system message did not.
    expect(JSON.stringify(sent?.body?.messages)).toContain("How many laptops were delivered?");
    expect(JSON.stringify(sent?.body?.messages)).not.toContain("Be brief.");

    const counsel = (completion as unknown as { counsel: Record<string, unknown> }).counsel;
    expect(counsel).toMatchObject({ chain: "qa", variant: "baseline", citations: [1] });
    // The answer's citation was checked against its source (docs/answers.md).
    expect(counsel.verification).toMatchObject({ citations: 1 });
    expect(counsel.sources).toEqual([expect.objectContaining({ n: 1, source: "memo" })]);
    // The runId is a real run: feedback on it is recorded.
    const feedback = await fetch(`${url}/feedback`, {
      method: "POST",
      headers: { authorization: `Bearer ${keys.all}`, "content-type": "application/json" },
      body: JSON.stringify({ runId: counsel.runId, score: 1 }),
    });
    expect(feedback.status).toBe(200);
  });

  it("streams a qa answer as chunks, with the usage chunk last when asked", async () => {
    model.emulator.reply({ text: "The memo says 200 laptops were delivered [1]." });
    const stream = await client().chat.completions.create({
      model: "qa:baseline",
      messages: [{ role: "user", content: "How many laptops were delivered?" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    expect(text).toBe("The memo says 200 laptops were delivered [1].");
    expect(chunks.filter((c) => c.choices[0]?.delta?.content).length).toBeGreaterThan(3);
    const finish = chunks.find((c) => c.choices[0]?.finish_reason === "stop");
    expect((finish as unknown as { counsel: { runId: string } }).counsel.runId).toMatch(/^[0-9a-f-]{36}$/);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBeGreaterThan(0);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it("runs the advisor with the earlier messages as its history, its tool calls in the counsel field", async () => {
    model.emulator.reply(
      { toolCalls: [{ name: "search_knowledge_base", arguments: { query: "laptops delivered" } }] },
      { text: "Yes: 200 laptops [1]." },
    );
    const before = model.emulator.chatRequests.length;
    const stream = await client().chat.completions.create({
      model: "advisor",
      messages: [
        { role: "user", content: "What arrived in January?" },
        { role: "assistant", content: "Laptops, water and blankets." },
        { role: "user", content: "Were there laptops?" },
      ],
      stream: true,
    });
    let text = "";
    let counsel:
      | { tools: { name: string; input: unknown; summary?: string }[]; sources: unknown[] }
      | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      counsel ??= (chunk as unknown as { counsel?: typeof counsel }).counsel;
    }
    expect(text).toBe("Yes: 200 laptops [1].");
    expect(counsel?.tools).toEqual([
      expect.objectContaining({
        name: "search_knowledge_base",
        input: { query: "laptops delivered" },
        summary: expect.stringContaining("200 laptops"),
      }),
    ]);
    expect(counsel?.sources).toEqual([expect.objectContaining({ n: 1, source: "memo" })]);
    // The model saw the conversation so far, then the question.
    const first = model.emulator.chatRequests[before].body?.messages as { role: string; content: string }[];
    expect(first.filter((m) => m.role !== "system").map((m) => m.content)).toEqual([
      "What arrived in January?",
      "Laptops, water and blankets.",
      "Were there laptops?",
    ]);
  });

  it("serves LangChain's ChatOpenAI pointed at Counsel, invoked and streamed", async () => {
    const chat = new ChatOpenAI({
      model: "qa:baseline",
      apiKey: keys.all,
      configuration: { baseURL: `${url}/v1` },
      maxRetries: 0,
    });
    model.emulator.reply({ text: "200 laptops [1]." }, { text: "200 laptops were delivered [1]." });
    const reply = await chat.invoke([new HumanMessage("How many laptops were delivered?")]);
    expect(reply.content).toBe("200 laptops [1].");
    let streamed = "";
    let pieces = 0;
    for await (const chunk of await chat.stream([
      new HumanMessage("What arrived?"),
      new AIMessage("Laptops."),
      new HumanMessage("How many laptops were delivered?"),
    ])) {
      streamed += chunk.content;
      if (chunk.content) pieces += 1;
    }
    expect(streamed).toBe("200 laptops were delivered [1].");
    expect(pieces).toBeGreaterThan(2);
  });

  it("answers bad requests in OpenAI's error shape, with a 4xx the client raises as its own error class", async () => {
    const ask = (body: Record<string, unknown>, key?: string) =>
      client(key)
        .chat.completions.create(body as never)
        .then(
          () => undefined,
          (error: unknown) => error,
        );
    const question = [{ role: "user", content: "How many laptops?" }];

    const unknown = await ask({ model: "nope", messages: question });
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown).toMatchObject({ status: 404, code: "model_not_found", param: "model" });
    expect(await ask({ model: "qa:nope", messages: question })).toMatchObject({
      status: 404,
      code: "model_not_found",
    });

    const lastIsAnswer = await ask({
      model: "qa",
      messages: [...question, { role: "assistant", content: "2" }],
    });
    expect(lastIsAnswer).toBeInstanceOf(OpenAI.BadRequestError);
    expect(lastIsAnswer).toMatchObject({ status: 400, param: "messages" });
    expect((lastIsAnswer as Error).message).toContain("last message must be the user's question");

    const image = await ask({
      model: "qa",
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }] }],
    });
    expect(image).toMatchObject({ status: 400, param: "messages.0.content.0" });

    const noMessages = await ask({ model: "qa", messages: [] });
    expect(noMessages).toBeInstanceOf(OpenAI.BadRequestError);
    expect(noMessages).toMatchObject({ status: 400, type: "invalid_request_error" });
    expect(await ask({ model: "qa", messages: [{ role: "robot", content: "hi" }] })).toMatchObject({
      status: 400,
    });
    expect(await ask({ model: "qa", messages: question, stream: "yes" })).toMatchObject({ status: 400 });

    // Keys: none, and one without the advisor's scope.
    expect(await ask({ model: "qa", messages: question }, "ck_000000000000_nope")).toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    const noChat = await ask({ model: "advisor", messages: question }, keys.queryOnly);
    expect(noChat).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(noChat).toMatchObject({ status: 403 });

    const raw = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${keys.all}`, "content-type": "application/json" },
      body: "{ not json",
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({
      error: { type: "invalid_request_error", message: expect.any(String) },
    });
  });

  it("sends a model failure mid-stream as an error the client raises, then ends", async () => {
    model.emulator.chatFaults.push("server-error", "server-error", "server-error", "server-error");
    const stream = await client().chat.completions.create({
      model: "qa:baseline",
      messages: [{ role: "user", content: "How many laptops were delivered?" }],
      stream: true,
    });
    const failure = await (async () => {
      for await (const _chunk of stream) {
        // read until the error
      }
    })().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as Error).message).toMatch(/model/i);
    model.emulator.chatFaults.length = 0;
  });

  it("keeps another tenant's runs apart: the answer searched only its own documents", async () => {
    model.emulator.reply({ text: "I could not find that." });
    const completion = await client(keys.other).chat.completions.create({
      model: "qa:baseline",
      messages: [{ role: "user", content: "How many laptops were delivered?" }],
    });
    // globex has no documents: nothing retrieved, so no model call and no sources.
    expect((completion as unknown as { counsel: { sources: unknown[] } }).counsel.sources).toEqual([]);
  });
});
