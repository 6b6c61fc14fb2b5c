// The load of bench/sse.ts, in a process of its own so that its work and memory are not the service's: opens
// the asked number of streams of one kind at once and reports, for each, the wall-clock time it read its first
// token; then reports when all have ended (or, told to close, aborts them).
import { createParser } from "eventsource-parser";
import type { ClientsReply, ClientsRequest, FirstToken, StreamKind } from "./ipc.ts";

const now = () => performance.timeOrigin + performance.now();
const ADVISOR = "advisor";
const MODEL = "us.amazon.nova-micro-v1:0";

/** Whether one parsed SSE message is the first token of its protocol. */
const isToken: Record<Exclude<StreamKind, "floor">, (event: string | undefined, data: string) => boolean> = {
  sse: (event) => event === "token",
  openai: (_event, data) => data !== "[DONE]" && Boolean(JSON.parse(data).choices?.[0]?.delta?.content),
  ui: (_event, data) => data !== "[DONE]" && JSON.parse(data).type === "text-delta",
};

function requestOf(kind: Exclude<StreamKind, "floor">, url: string, message: string): [string, unknown] {
  if (kind === "sse") return [`${url}/advisor/chat`, { message }];
  if (kind === "openai")
    return [
      `${url}/v1/chat/completions`,
      { model: ADVISOR, stream: true, messages: [{ role: "user", content: message }] },
    ];
  return [
    `${url}/advisor/ui`,
    { id: message, messages: [{ id: "m1", role: "user", parts: [{ type: "text", text: message }] }] },
  ];
}

async function serviceStream(
  kind: Exclude<StreamKind, "floor">,
  url: string,
  message: string,
  onFirstToken: (at: number) => void,
  signal: AbortSignal,
) {
  const [endpoint, body] = requestOf(kind, url, message);
  const res = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify(body),
    signal,
  });
  if (!res.ok || !res.body) throw new Error(`${endpoint}: ${res.status}`);
  let seen = false;
  const parser = createParser({
    onEvent: (event) => {
      if (!seen && isToken[kind](event.event, event.data)) {
        seen = true;
        onFirstToken(now());
      }
    },
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    parser.feed(value);
  }
}

/**
 * The model's stream read straight from the emulator, over kept-alive HTTP/1.1 as the service's Bedrock client
 * reads it (src/models/bedrock-client.ts): no service in between.
 */
async function floorStream(endpoint: string, message: string, onFirstToken: (at: number) => void) {
  const res = await fetch(`${endpoint}/model/${MODEL}/converse-stream`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: [{ text: message }] }] }),
  });
  if (!res.body) throw new Error(`the emulator answered ${res.status} without a body`);
  let seen = false;
  for await (const chunk of res.body) {
    const frame = Buffer.from(chunk);
    if (!seen && frame.includes("contentBlockDelta") && frame.includes('"text"')) {
      seen = true;
      onFirstToken(now());
    }
  }
}

let stop = new AbortController();
const send = (reply: ClientsReply) => process.send?.(reply);

async function open(request: Extract<ClientsRequest, { type: "open" }>) {
  stop = new AbortController();
  const firstTokens: FirstToken[] = [];
  let failed = 0;
  const started = now();
  const report = () => {
    if (firstTokens.length + failed === request.count)
      send({ type: "first-tokens", id: request.id, firstTokens, failed });
  };
  const streams = Array.from({ length: request.count }, async (_, i) => {
    const message = `${request.prefix} question ${i}`;
    let seen = false;
    const sent = now();
    const onFirstToken = (at: number) => {
      seen = true;
      firstTokens.push({ message, at, sent });
      report();
    };
    try {
      if (request.kind === "floor") await floorStream(request.url, message, onFirstToken);
      else await serviceStream(request.kind, request.url, message, onFirstToken, stop.signal);
      if (!seen) throw new Error("the stream ended without a token");
    } catch (error) {
      if (seen) return; // closed by the bench after its first token
      if (!stop.signal.aborted) console.error(`${request.kind} ${message}: ${(error as Error).message}`);
      failed += 1;
      report();
    }
  });
  await Promise.all(streams);
  send({ type: "done", id: request.id, ms: now() - started });
}

process.on("message", (request: ClientsRequest) => {
  if (request.type === "open") void open(request);
  else if (request.type === "close") stop.abort();
});
process.on("disconnect", () => process.exit(0));
