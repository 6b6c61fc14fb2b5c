// POST /advisor/chat end to end: the service's advisor on Bedrock (the emulator replays the real ConverseStream
// tool-use recordings through the real AWS SDK), read by a real SSE parser; the JSON form; sessions that carry
// the conversation; a disconnect that aborts the model call upstream; a model failure as an `error` event; and
// the 503 of a deployment with no model that can call tools.
import { connect } from "node:net";
import { describe, expect, inject, it } from "vitest";
import { useBedrockEmulator } from "../helpers/bedrock.ts";
import { useService } from "../helpers/services.ts";
import { readSse, type SseEvent } from "../helpers/sse.ts";

const MODEL = "us.amazon.nova-micro-v1:0";
const BEDROCK = { MODEL_PROVIDER: "bedrock", MODEL_ID: MODEL, SSE_HEARTBEAT_MS: "20" };

function chat(
  url: string,
  body: Record<string, unknown>,
  options: { sse?: boolean; signal?: AbortSignal } = {},
) {
  return fetch(`${url}/advisor/chat`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(options.sse === false ? {} : { accept: "text/event-stream" }),
    },
    body: JSON.stringify(body),
    signal: options.signal,
  });
}

type Turn = { sessionId: string; message: string };
type Conversation = { messages: { role: string; content: string }[] };

const text = (events: SseEvent[]) =>
  events
    .filter((e) => e.event === "token")
    .map((e) => (e.data as { text: string }).text)
    .join("");

describe("the advisor on Bedrock", () => {
  const emulator = useBedrockEmulator({ frameDelayMs: 5 });
  const service = useService(BEDROCK);

  it("streams session, tokens and done as Server-Sent Events; the tokens add up to the message", async () => {
    const res = await chat(service.url, { message: "What is the temperature of the capital of France?" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const stream = readSse(res);
    const events = await stream.rest();

    expect(events[0]).toEqual({
      event: "session",
      data: { sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/) },
    });
    const done = events.at(-1) as SseEvent;
    expect(done.event).toBe("done");
    const { message, usage, timings } = done.data as {
      message: string;
      usage: { inputTokens: number; outputTokens: number };
      timings: { firstTokenMs: number; totalMs: number };
    };
    expect(text(events)).toBe(message);
    expect(message).toContain("The current temperature in Paris, the capital of France, is 30°C.");
    // Both recorded turns: 471 + 577 tokens in, 91 + 18 out.
    expect(usage).toEqual({ inputTokens: 1048, outputTokens: 109 });
    expect(timings.firstTokenMs).toBeLessThan(timings.totalMs);
    expect(stream.comments.length).toBeGreaterThan(0); // heartbeats while the model streamed

    // The model asked for a tool this advisor does not have; the agent told it so, and it answered.
    const [first, second] = emulator.requests.slice(-2);
    expect(first).toMatchObject({ operation: "converse-stream", modelId: MODEL });
    expect(JSON.stringify(second.body)).toMatch(
      /"toolResult":\{[^}]*"toolUseId":"tooluse_lAG_zP8QRHmSYOwZzzaCqA"/,
    );
  });

  it("answers with the whole turn as JSON without Accept: text/event-stream", async () => {
    const res = await chat(
      service.url,
      { message: "What is the temperature of the capital of France?" },
      { sse: false },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      sessionId: expect.any(String),
      message: expect.stringContaining("30°C"),
      usage: { inputTokens: 1048, outputTokens: 109 },
      tools: [],
      sources: [],
    });
  });

  it("carries a session's conversation into its next turn, serves it, and forgets it", async () => {
    const firstTurn = (await (
      await chat(service.url, { message: "First question?" }, { sse: false })
    ).json()) as Turn;
    const sessionId = firstTurn.sessionId;
    const before = emulator.requests.length;
    const second = await chat(service.url, { message: "Second question?", sessionId }, { sse: false });
    const secondTurn = (await second.json()) as Turn;
    expect(secondTurn.sessionId).toBe(sessionId);
    const sent = emulator.requests[before].body as {
      messages: { role: string; content: { text?: string }[] }[];
    };
    expect(sent.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(sent.messages[0].content[0].text).toBe("First question?");
    expect(sent.messages[2].content[0].text).toBe("Second question?");

    const conversation = (await (
      await fetch(`${service.url}/advisor/sessions/${sessionId}`)
    ).json()) as Conversation;
    expect(conversation.messages.map((m: { role: string }) => m.role)).toEqual([
      "user",
      "assistant",
      "user",
      "assistant",
    ]);
    expect(conversation.messages[3].content).toBe(secondTurn.message);

    expect((await fetch(`${service.url}/advisor/sessions/${sessionId}`, { method: "DELETE" })).status).toBe(
      204,
    );
    expect((await fetch(`${service.url}/advisor/sessions/${sessionId}`)).status).toBe(404);
  });

  it("sends a model failure mid-stream as an error event, and keeps nothing of the failed turn", async () => {
    // A stream that breaks midway is not retried: the client already has its first tokens.
    emulator.streamFaults.push("malformed-frame");
    const calls = emulator.requests.length;
    const res = await chat(service.url, { message: "Anything?", sessionId: "failed-turn-1" });
    const events = await readSse(res).rest();
    expect(events[0].event).toBe("session");
    expect(events.at(-1)).toEqual({
      event: "error",
      data: expect.objectContaining({
        status: 502,
        code: "model_error",
        detail: expect.stringMatching(/checksum/),
      }),
    });
    expect(emulator.requests.length - calls).toBe(1);
    expect(text(events)).toBe("<thinking");
    expect((await fetch(`${service.url}/advisor/sessions/failed-turn-1`)).status).toBe(404);
  });

  it("refuses bad input with 4xx before streaming", async () => {
    expect((await chat(service.url, { message: "" })).status).toBe(400);
    expect((await chat(service.url, { message: "x", sessionId: "../../etc" })).status).toBe(400);
    expect((await chat(service.url, { message: "x", chain: "nope" })).status).toBe(404);
    const notAdvisor = await chat(service.url, { message: "x", chain: "qa" });
    expect(notAdvisor.status).toBe(400);
    expect(notAdvisor.headers.get("content-type")).toContain("application/problem+json");
  });
});

describe("the advisor on Redis", () => {
  const emulator = useBedrockEmulator();
  const shared = {
    ...BEDROCK,
    REDIS_URL: inject("redisUrl"),
    REDIS_PREFIX: `t${Math.random().toString(36).slice(2, 10)}`,
  };
  const one = useService(shared);
  const two = useService(shared);

  it("continues a conversation on another process: the session lives in Redis", async () => {
    const first = (await (
      await chat(one.url, { message: "First question?" }, { sse: false })
    ).json()) as Turn;
    const before = emulator.requests.length;
    const res = await chat(
      two.url,
      { message: "Second question?", sessionId: first.sessionId },
      { sse: false },
    );
    expect(res.status).toBe(200);
    const sent = emulator.requests[before].body as {
      messages: { role: string; content: { text?: string }[] }[];
    };
    expect(sent.messages.map((m) => m.content[0].text ?? "")).toEqual([
      "First question?",
      expect.any(String),
      "Second question?",
    ]);
    const conversation = (await (
      await fetch(`${one.url}/advisor/sessions/${first.sessionId}`)
    ).json()) as Conversation;
    expect(conversation.messages).toHaveLength(4);
  });
});

describe("a client that leaves mid-stream", () => {
  const emulator = useBedrockEmulator({ frameDelayMs: 100 });
  const service = useService(BEDROCK);

  it("aborts the model call upstream: no tokens are paid for after the user has left", async () => {
    const leave = new AbortController();
    const stream = readSse(
      await chat(service.url, { message: "Tell me everything." }, { signal: leave.signal }),
    );
    expect((await stream.next())?.event).toBe("session");
    expect((await stream.next())?.event).toBe("token");
    leave.abort();
    await expect.poll(() => emulator.requests.at(-1)?.aborted, { timeout: 5000 }).toBe(true);
    // The turn stopped: the recorded stream had dozens of frames left, and no second model call followed.
    await new Promise((r) => setTimeout(r, 300));
    expect(emulator.requests.filter((r) => r.operation === "converse-stream")).toHaveLength(1);
  });

  it("keeps the stopped turn in its session: the question and the partial answer, marked stopped", async () => {
    const leave = new AbortController();
    const sessionId = "stopped-turn-1";
    const stream = readSse(
      await chat(service.url, { message: "Tell me everything.", sessionId }, { signal: leave.signal }),
    );
    expect((await stream.next())?.event).toBe("session");
    const first = (await stream.next()) as SseEvent;
    expect(first.event).toBe("token");
    leave.abort();

    const read = async () => {
      const res = await fetch(`${service.url}/advisor/sessions/${sessionId}`);
      return res.status === 200 ? ((await res.json()) as Conversation) : undefined;
    };
    await expect.poll(read, { timeout: 5000 }).toBeDefined();
    const conversation = (await read()) as Conversation & {
      messages: { role: string; content: string; stopped?: boolean }[];
    };
    expect(conversation.messages).toEqual([
      { role: "user", content: "Tell me everything." },
      { role: "assistant", content: expect.any(String), stopped: true },
    ]);
    // What was said before the client left: at least what it read, and less than the whole recorded reply.
    const partial = conversation.messages[1].content;
    expect(partial.startsWith((first.data as { text: string }).text)).toBe(true);
    expect(partial).not.toContain("30°C");

    // The next turn sends the stopped answer as the assistant's: roles still alternate.
    const before = emulator.requests.length;
    await chat(service.url, { message: "Go on.", sessionId }, { sse: false });
    const sent = emulator.requests[before].body as {
      messages: { role: string; content: { text?: string }[] }[];
    };
    expect(sent.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(sent.messages[1].content[0].text).toMatch(/\[The user stopped this answer here\.\]$/);
  });
});

describe("the advisor without a model that can call tools", () => {
  const service = useService();

  it("answers 503 problem+json saying how to configure one", async () => {
    const res = await chat(service.url, { message: "Hello?" });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      code: "unavailable",
      detail: expect.stringMatching(/MODEL_PROVIDER=bedrock/),
    });
  });
});

describe("a client that stops reading", () => {
  // A reply of 2,000 deltas of 12 KB (24 MB) at a model's pace: it goes on long after the reader's buffers fill.
  const emulator = useBedrockEmulator({ longReply: { frames: 2000, bytes: 12_000 }, frameDelayMs: 5 });
  const service = useService({ ...BEDROCK, SSE_STALL_TIMEOUT_MS: "300" });

  it("is dropped and its turn aborted once the socket stays full, instead of being buffered for", async () => {
    const { port } = new URL(service.url);
    const socket = connect(Number(port), "127.0.0.1");
    const body = JSON.stringify({ message: "Tell me everything, at length." });
    socket.write(
      `POST /advisor/chat HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    socket.pause(); // reads nothing: the kernel's buffers fill, then the server's
    const closed = new Promise((resolve) => socket.once("close", resolve));
    await expect.poll(() => emulator.requests.at(-1)?.aborted, { timeout: 20_000 }).toBe(true);
    socket.resume(); // drain what the kernel holds, so the server's close reaches us
    await closed;
  }, 30_000);
});
