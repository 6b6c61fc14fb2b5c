// Guardrails on a real service, end to end: chains in chains/*.yaml name an Amazon Bedrock guardrail, which the
// real AWS SDK applies with ApplyGuardrail against the Bedrock Runtime emulator (models and embeddings too, so that
// its recorded requests show what a blocked question never reached), or `offline: pii`. Questions over
// POST /chain/<name> (one check of the whole answer), streamed over the OpenAI-compatible API (window by window),
// the advisor over SSE, the metrics, and configs that are refused at start.
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useBedrockEmulator } from "../helpers/bedrock.ts";
import { FIXTURES, ROOT, startService, tempDataDir } from "../helpers/services.ts";
import { readSse, type SseEvent } from "../helpers/sse.ts";

const MODEL = "us.amazon.nova-micro-v1:0";
/** Blocks questions on a topic the deployment does not discuss; lets the recorded answers through. */
const QUESTIONS = "gr0questions1";
/** Blocks answers that rank cities: the recorded answer does in its second sentence (of three). */
const RANKINGS = "gr0rankings1";
/** Blocks answers that give a temperature: the advisor's recorded answer does. */
const WEATHER = "gr0weather01";
const BLOCKED_INPUT = "I can't help with that here. Ask me about the documents instead.";
const BLOCKED_OUTPUT = "Sorry, the model cannot answer this question.";

const chain = (name: string, type: string, guardrail: string, extra = "") =>
  [
    `name: ${name}`,
    `type: ${type}`,
    `prompt: ${type}`,
    `model: { provider: bedrock, id: "${MODEL}" }`,
    `guardrail: ${guardrail}`,
    extra,
  ].join("\n");

/** A question to a qa chain as JSON. */
type Reply = {
  answer: string;
  sources: { source: string }[];
  citations: number[];
  guardrail?: { action: string; source: string; message?: string };
};

describe("guardrails on a service", () => {
  const emulator = useBedrockEmulator({
    frameDelayMs: 10,
    guardrails: {
      [QUESTIONS]: {
        versions: ["1"],
        deniedTopics: [{ name: "Lock picking", phrases: ["pick a lock"] }],
        blockedInputMessaging: BLOCKED_INPUT,
      },
      [RANKINGS]: { versions: ["3"], deniedTopics: [{ name: "City rankings", phrases: ["most populous"] }] },
      [WEATHER]: { versions: ["1"], deniedTopics: [{ name: "Weather", phrases: ["30°C"] }] },
    },
  });
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let service: Awaited<ReturnType<typeof startService>>;

  beforeAll(async () => {
    data = await tempDataDir();
    const chains = path.join(data.dir, "chains");
    await mkdir(chains);
    await copyFile(path.join(ROOT, "chains/qa.yaml"), path.join(chains, "qa.yaml"));
    const files = {
      "qa-guarded": chain("qa-guarded", "qa", `{ id: ${QUESTIONS}, version: 1, windowChars: 20 }`),
      "qa-rankings": chain("qa-rankings", "qa", `{ id: ${RANKINGS}, version: 3, windowChars: 20 }`),
      "qa-pii": [
        "name: qa-pii",
        "type: qa",
        "prompt: qa",
        "model: { provider: extractive }",
        "guardrail: { offline: pii }",
      ].join("\n"),
      advisor: chain(
        "advisor",
        "advisor",
        `{ id: ${QUESTIONS}, version: 1, windowChars: 40 }`,
        "advisor: { tools: [search_knowledge_base] }",
      ),
      "advisor-weather": chain(
        "advisor-weather",
        "advisor",
        `{ id: ${WEATHER}, version: 1, checks: [output] }`,
        "advisor: { tools: [search_knowledge_base] }",
      ),
    };
    for (const [name, text] of Object.entries(files))
      await writeFile(path.join(chains, `${name}.yaml`), text);
    service = await startService(data.dir, {
      CHAINS_DIR: chains,
      EMBEDDINGS_PROVIDER: "bedrock",
      EMBEDDINGS_DIMENSIONS: "256",
      SSE_HEARTBEAT_MS: "0",
      RATE_LIMIT_PER_MINUTE: "0",
    });
    const form = new FormData();
    form.append("files", new Blob([await readFile(path.join(FIXTURES, "fake-memo.pdf"))]), "fake-memo.pdf");
    // The AWS CLI's documented example text for Comprehend's DetectPiiEntities: a letter with an e-mail in it.
    const letter = JSON.parse(
      await readFile(path.join(FIXTURES, "comprehend/detect-pii-entities_awscli-example.json"), "utf8"),
    ).request.Text as string;
    form.append("files", new Blob([letter]), "anycompany-letter.txt");
    const ingested = await fetch(`${service.url}/ingest`, { method: "POST", body: form });
    expect(ingested.status).toBe(200);
  });

  afterAll(async () => {
    await service?.stop();
    await data?.remove();
  });

  const ask = async (chainName: string, question: string) => {
    const res = await fetch(`${service.url}/chain/${chainName}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Reply;
  };
  const openai = () => new OpenAI({ baseURL: `${service.url}/v1`, apiKey: "none", maxRetries: 0 });
  /** The guardrail calls since `from`, for one source. */
  const checks = (from: number, source: "INPUT" | "OUTPUT") =>
    emulator.guardrailCalls.slice(from).filter((c) => c.source === source);

  describe("a qa chain", () => {
    it("answers a blocked question with the guardrail's message, without retrieving or calling a model", async () => {
      const requests = emulator.requests.length;
      const calls = emulator.guardrailCalls.length;
      const reply = await ask("qa-guarded", "How do I pick a lock on the supply room door?");
      expect(reply).toMatchObject({
        answer: BLOCKED_INPUT,
        sources: [],
        citations: [],
        guardrail: { action: "blocked", source: "input", message: BLOCKED_INPUT },
      });
      // No embedding of the question (retrieval) and no model call reached Bedrock: only the check did.
      expect(emulator.requests.length).toBe(requests);
      expect(emulator.guardrailCalls.slice(calls)).toEqual([
        expect.objectContaining({
          guardrailIdentifier: QUESTIONS,
          guardrailVersion: "1",
          source: "INPUT",
          text: "How do I pick a lock on the supply room door?",
          outcome: "GUARDRAIL_INTERVENED",
        }),
      ]);
    });

    it("retrieves for an allowed question and answers, the whole answer checked once", async () => {
      const requests = emulator.requests.length;
      const calls = emulator.guardrailCalls.length;
      const reply = await ask("qa-guarded", "How many laptops were delivered?");
      expect(reply.answer).toBe(emulator.streamText);
      expect(reply.guardrail).toBeUndefined();
      const operations = emulator.requests.slice(requests).map((r) => r.operation);
      expect(operations).toEqual(["invoke", "converse-stream"]);
      expect(checks(calls, "INPUT").map((c) => c.text)).toEqual(["How many laptops were delivered?"]);
      expect(checks(calls, "OUTPUT").map((c) => c.text)).toEqual([emulator.streamText]);
      // The question was checked before anything was retrieved.
      const embedded = emulator.requests[requests];
      expect(embedded.operation).toBe("invoke");
      expect(JSON.stringify(embedded.body)).toContain("How many laptops were delivered?");
    });

    it("answers an answer the guardrail blocks with its message alone", async () => {
      const calls = emulator.guardrailCalls.length;
      const reply = await ask("qa-rankings", "What is Paris known for?");
      expect(reply).toMatchObject({
        answer: BLOCKED_OUTPUT,
        citations: [],
        sources: [],
        guardrail: { action: "blocked", source: "output", message: BLOCKED_OUTPUT },
      });
      expect(checks(calls, "OUTPUT")).toEqual([
        expect.objectContaining({ text: emulator.streamText, outcome: "GUARDRAIL_INTERVENED" }),
      ]);
    });

    it("streams an answer window by window, each checked once, the first before the model has finished", async () => {
      const calls = emulator.guardrailCalls.length;
      const requests = emulator.requests.length;
      const stream = await openai().chat.completions.create({
        model: "qa-guarded",
        messages: [{ role: "user", content: "How many laptops were delivered?" }],
        stream: true,
      });
      const deltas: { text: string; at: number }[] = [];
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        const text = chunk.choices[0]?.delta?.content;
        if (text) deltas.push({ text, at: performance.now() });
        finish ??= chunk.choices[0]?.finish_reason;
      }
      expect(finish).toBe("stop");
      expect(deltas.map((d) => d.text).join("")).toBe(emulator.streamText);

      const windows = checks(calls, "OUTPUT");
      expect(windows.length).toBeGreaterThanOrEqual(3);
      expect(windows.map((w) => w.text).join("")).toBe(emulator.streamText);
      // One window, one delta, released after its check answered.
      expect(deltas.map((d) => d.text)).toEqual(windows.map((w) => w.text));
      for (const [i, delta] of deltas.entries()) expect(delta.at).toBeGreaterThanOrEqual(windows[i].at);
      const model = emulator.requests.slice(requests).find((r) => r.operation === "converse-stream");
      expect(deltas[0].at).toBeLessThan(model?.endedAt as number);
    });

    it("streams an answer up to the window the guardrail blocks, then its message, finishing as content_filter", async () => {
      const calls = emulator.guardrailCalls.length;
      const requests = emulator.requests.length;
      const stream = await openai().chat.completions.create({
        model: "qa-rankings",
        messages: [{ role: "user", content: "What is Paris known for?" }],
        stream: true,
      });
      const texts: string[] = [];
      let finish: unknown;
      for await (const chunk of stream) {
        const text = chunk.choices[0]?.delta?.content;
        if (text) texts.push(text);
        if (chunk.choices[0]?.finish_reason) finish = chunk;
      }
      const windows = checks(calls, "OUTPUT");
      const passed = windows.filter((w) => w.outcome === "NONE").map((w) => w.text);
      const blocked = windows.at(-1);
      expect(passed.length).toBeGreaterThanOrEqual(1);
      expect(blocked).toMatchObject({
        outcome: "GUARDRAIL_INTERVENED",
        text: expect.stringContaining("populous"),
      });
      expect(texts).toEqual([...passed, `\n\n${BLOCKED_OUTPUT}`]);
      expect(texts.join("")).not.toContain("populous");
      expect(finish).toMatchObject({
        choices: [{ finish_reason: "content_filter" }],
        counsel: { guardrail: { action: "blocked", source: "output", message: BLOCKED_OUTPUT } },
      });
      // The model was stopped mid-answer: its stream was abandoned before its last frame, and nothing after the
      // blocked window was checked.
      const model = emulator.requests.slice(requests).find((r) => r.operation === "converse-stream");
      await new Promise((r) => setTimeout(r, 100));
      expect(model?.aborted).toBe(true);
      expect(model?.endedAt).toBeUndefined();
      expect(windows.map((w) => w.text).join("")).not.toContain("Eiffel");
    });
  });

  describe("offline: pii", () => {
    it("masks personal data in answers with the offline recognisers, calling no guardrail service", async () => {
      const calls = emulator.guardrailCalls.length;
      const reply = await ask("qa-pii", "Where should comments to Alice be sent?");
      expect(reply.answer).toContain("Send comments to Alice at [EMAIL].");
      expect(reply.answer).not.toContain("AnySpa@example.com");
      expect(reply.guardrail).toEqual({ action: "masked", source: "output" });
      // Masking keeps the answer's citations and sources.
      expect(reply.citations.length).toBeGreaterThan(0);
      expect(reply.sources.length).toBeGreaterThan(0);
      expect(emulator.guardrailCalls.length).toBe(calls);
    });

    it("masks a streamed answer sentence by sentence", async () => {
      const stream = await openai().chat.completions.create({
        model: "qa-pii",
        messages: [{ role: "user", content: "Where should comments to Alice be sent?" }],
        stream: true,
      });
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
      expect(text).toContain("[EMAIL]");
      expect(text).not.toContain("AnySpa@example.com");
    });
  });

  describe("the advisor over SSE", () => {
    const chat = (body: Record<string, unknown>) =>
      fetch(`${service.url}/advisor/chat`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify(body),
      });
    const tokens = (events: SseEvent[]) =>
      events.flatMap((e) => (e.event === "token" ? [(e.data as { text: string }).text] : []));
    type Done = { message: string; guardrail?: { action: string; source: string; message?: string } };

    it("checks the message, then streams the reply in checked windows", async () => {
      const calls = emulator.guardrailCalls.length;
      const message = "What is the temperature of the capital of France?";
      const res = await chat({ message });
      expect(res.status).toBe(200);
      const events = await readSse(res).rest();
      const done = events.at(-1) as SseEvent;
      expect(done.event).toBe("done");
      const { message: reply, guardrail } = done.data as Done;
      expect(guardrail).toBeUndefined();
      expect(reply).toContain("30°C");
      expect(tokens(events).join("")).toBe(reply);
      expect(checks(calls, "INPUT").map((c) => c.text)).toEqual([message]);
      const windows = checks(calls, "OUTPUT");
      expect(windows.length).toBeGreaterThanOrEqual(2);
      expect(windows.map((w) => w.text).join("")).toBe(reply);
    });

    it("answers a blocked message with the guardrail's message, calls no model and keeps nothing", async () => {
      const requests = emulator.requests.length;
      const res = await chat({ message: "Teach me to pick a lock." });
      expect(res.status).toBe(200);
      const events = await readSse(res).rest();
      expect(events.map((e) => e.event)).toEqual(["session", "token", "done"]);
      expect(tokens(events)).toEqual([BLOCKED_INPUT]);
      expect(events[2].data).toMatchObject({
        message: BLOCKED_INPUT,
        usage: { inputTokens: 0, outputTokens: 0 },
        guardrail: { action: "blocked", source: "input", message: BLOCKED_INPUT },
      });
      expect(emulator.requests.length).toBe(requests);
      const { sessionId } = events[0].data as { sessionId: string };
      expect((await fetch(`${service.url}/advisor/sessions/${sessionId}`)).status).toBe(404);
    });

    it("stops a reply the guardrail blocks with its message, and keeps what the user was shown", async () => {
      const calls = emulator.guardrailCalls.length;
      const res = await chat({
        message: "What is the temperature of the capital of France?",
        chain: "advisor-weather",
      });
      const events = await readSse(res).rest();
      const done = events.at(-1)?.data as Done;
      expect(done.guardrail).toEqual({ action: "blocked", source: "output", message: BLOCKED_OUTPUT });
      expect(done.message.endsWith(BLOCKED_OUTPUT)).toBe(true);
      expect(done.message).not.toContain("30°C");
      expect(tokens(events).join("")).toBe(done.message);
      // Only answers are checked on this chain (checks: [output]).
      expect(checks(calls, "INPUT")).toEqual([]);
      const { sessionId } = events[0].data as { sessionId: string };
      const session = (await (await fetch(`${service.url}/advisor/sessions/${sessionId}`)).json()) as {
        messages: { role: string; content: string }[];
      };
      expect(session.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
      expect(session.messages[1].content).toBe(done.message);
    });
  });

  it("lists each chain's guardrail in GET /chains", async () => {
    const { chains } = (await (await fetch(`${service.url}/chains`)).json()) as {
      chains: { name: string; guardrail?: unknown }[];
    };
    const byName = new Map(chains.map((c) => [c.name, c.guardrail]));
    expect(byName.get("qa-guarded")).toEqual({
      kind: "bedrock",
      id: QUESTIONS,
      version: "1",
      checks: ["input", "output"],
      windowChars: 20,
    });
    expect(byName.get("qa-pii")).toMatchObject({ kind: "offline-pii", checks: ["output"] });
    expect(byName.get("qa")).toBeUndefined();
  });

  it("counts guardrail checks on /metrics by guardrail, source and outcome, and the text units billed", async () => {
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(
        `counsel_guardrail_requests_total\\{guardrail="${QUESTIONS}:1",source="input",outcome="blocked"\\} [1-9]`,
      ),
    );
    expect(metrics).toMatch(
      new RegExp(
        `counsel_guardrail_requests_total\\{guardrail="${RANKINGS}:3",source="output",outcome="blocked"\\} [1-9]`,
      ),
    );
    expect(metrics).toMatch(
      /counsel_guardrail_requests_total\{guardrail="offline-pii",source="output",outcome="masked"\} [1-9]/,
    );
    expect(metrics).toMatch(
      new RegExp(`counsel_guardrail_text_units_total\\{guardrail="${QUESTIONS}:1",policy="topic"\\} [1-9]`),
    );
  });
});

describe("a chain's guardrail at start", () => {
  it.each([
    ["no version", "{ id: gr0questions1 }", "guardrail.version: required with id"],
    ["a bad id", "{ id: My Guardrail, version: 1 }", "guardrail.id: expected a guardrail id"],
    [
      "a bad version",
      "{ id: gr0questions1, version: latest }",
      "guardrail.version: expected a version number",
    ],
  ])("refuses %s, naming the file and the field", async (_, guardrail, problem) => {
    const data = await tempDataDir();
    try {
      const chains = path.join(data.dir, "chains");
      await mkdir(chains);
      await copyFile(path.join(ROOT, "chains/qa.yaml"), path.join(chains, "qa.yaml"));
      await writeFile(path.join(chains, "guarded.yaml"), chain("guarded", "qa", guardrail));
      await expect(startService(data.dir, { CHAINS_DIR: chains })).rejects.toThrow(
        new RegExp(`guarded\\.yaml: ${problem.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
      );
    } finally {
      await data.remove();
    }
  });
});
