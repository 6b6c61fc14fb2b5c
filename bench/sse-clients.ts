// The load for bench/sse.ts, in a worker thread so that its memory is not counted as the service's: opens the
// given number of advisor chats at once and reports, for each, the wall-clock time (epoch ms) of its first
// `token` event. With `hold`, it keeps the streams open until told to close them.
import { parentPort, workerData } from "node:worker_threads";
import { createParser } from "eventsource-parser";

interface Job {
  url: string;
  count: number;
  prefix: string;
}

const now = () => performance.timeOrigin + performance.now();

async function chat(url: string, message: string, onFirstToken: (at: number) => void, signal: AbortSignal) {
  const res = await fetch(`${url}/advisor/chat`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ message }),
    signal,
  });
  let seen = false;
  const parser = createParser({
    onEvent: (event) => {
      if (event.event === "token" && !seen) {
        seen = true;
        onFirstToken(now());
      }
    },
  });
  const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
    if (done) return;
    parser.feed(value as string);
  }
}

const job = workerData as Job;
const stop = new AbortController();
parentPort?.on("message", (m) => {
  if (m === "close") stop.abort();
});
const firstTokens: { message: string; at: number }[] = [];
const streams = Array.from({ length: job.count }, (_, i) => {
  const message = `${job.prefix} question ${i}`;
  return chat(
    job.url,
    message,
    (at) => {
      firstTokens.push({ message, at });
      if (firstTokens.length === job.count) parentPort?.postMessage({ type: "first-tokens", firstTokens });
    },
    stop.signal,
  ).catch(() => undefined);
});
await Promise.all(streams);
parentPort?.postMessage({ type: "done" });
