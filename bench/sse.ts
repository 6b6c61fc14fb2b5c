// The time the service adds to the first token of a streamed answer, per protocol: Counsel's SSE, the
// OpenAI-compatible stream and the AI SDK's UI message stream, each measured from the moment the Bedrock
// emulator writes the model's first text delta to the moment a client reads the first token, with `--streams`
// streams at once; and the service's memory per open stream.
//
// Three processes, so that the figure is the service's and not its harness's: the service (real services, real
// Fastify, real AWS SDK) runs here; the emulator and the clients each run in a child process. Every round also
// measures the noise floor: the same clients reading the model's stream straight from the emulator, no service
// in between. Rounds alternate the kinds, and each figure is the median of the rounds' p50s with its spread. A
// second table gives what a user waits (request to first token) and how long a round of streams takes.
//   npm run bench:sse -- [--streams 50] [--rounds 5] [--delay 10] [--pin]
import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { loadSettings } from "../src/config/settings.ts";
import { appOptions, buildApp } from "../src/server/app.ts";
import { createServices } from "../src/services/services.ts";
import { ask, type ClientsReply, type EmulatorReply, reply, requestId, type StreamKind } from "./sse/ipc.ts";

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "50" },
    rounds: { type: "string", default: "5" },
    // The model's pace: ms between two frames of its stream.
    delay: { type: "string", default: "10" },
    // Linux: the service (all its threads) on the first core, the emulator and the clients on the others, as
    // in production, where the model and the users are elsewhere (taskset, util-linux).
    pin: { type: "boolean", default: false },
  },
});
const STREAMS = Number(values.streams);
const ROUNDS = Number(values.rounds);
const DELAY_MS = Number(values.delay);
const gc = (globalThis as { gc?: () => void }).gc;
const KINDS: StreamKind[] = ["floor", "sse", "openai", "ui"];
const LABELS: Record<StreamKind, string> = {
  floor: "noise floor (emulator → clients, no service)",
  sse: "Counsel SSE (`POST /advisor/chat`)",
  openai: "OpenAI-compatible (`POST /v1/chat/completions`)",
  ui: "AI SDK UI message stream (`POST /advisor/ui`)",
};

const PIN = values.pin ?? false;
const CORES = availableParallelism();
if (PIN && CORES < 2) throw new Error("--pin needs two cores or more");
/** Pins every thread of a process to the given cores. */
const pin = (pid: number | undefined, cores: string) =>
  execFileSync("taskset", ["-a", "-p", "-c", cores, String(pid)]);

function child(file: string): ChildProcess {
  const forked = fork(new URL(file, import.meta.url).pathname, [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  if (PIN) pin(forked.pid, `1-${CORES - 1}`);
  return forked;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

interface Round {
  /** ms added to each stream's first token. */
  added: number[];
  /** ms from each request sent to its first token: what a user waits, the model's own time included. */
  firstToken: number[];
  /** ms from the first request sent to the last stream ended. */
  length: number;
  failed: number;
  /** The service's event loop: the share of the round it was busy. */
  busy: number;
  /** The service's event loop: how late a 1 ms timer ran, p99 over the round (ms): its longest blocks. */
  lag: number;
}

async function main() {
  if (PIN) pin(process.pid, "0");
  const emulator = child("./sse/emulator.ts");
  const clients = child("./sse/clients.ts");
  const dataDir = await mkdtemp(path.join(tmpdir(), "counsel-bench-sse-"));
  const { endpoint } = await new Promise<Extract<EmulatorReply, { type: "ready" }>>((resolve) =>
    emulator.on("message", (m: EmulatorReply) => m.type === "ready" && resolve(m)),
  );
  const settings = loadSettings({
    DATA_DIR: dataDir,
    LOAD_EXAMPLES: "false",
    LOG_LEVEL: "silent",
    MODEL_PROVIDER: "bedrock",
    MODEL_ID: "us.amazon.nova-micro-v1:0",
    // One client opens every stream here: no per-client caps.
    MAX_STREAMS_PER_CLIENT: "1000",
    RATE_LIMIT_PER_MINUTE: "0",
    AWS_REGION: "us-east-1",
  });
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "bench",
    AWS_SECRET_ACCESS_KEY: "bench",
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: endpoint,
  });
  const services = await createServices(settings, { info: () => {}, warn: () => {} });
  const app = await buildApp(services, appOptions(settings, services));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const pace = (frameDelayMs: number) => ask(emulator, { type: "pace", frameDelayMs }, "paced");

  /** Opens `count` streams of a kind; resolves once each has its first token, then again once all end. */
  function open(kind: StreamKind, count: number, prefix: string) {
    const id = requestId();
    const firstTokens = reply<Extract<ClientsReply, { type: "first-tokens" }>>(clients, id, "first-tokens");
    const done = reply<Extract<ClientsReply, { type: "done" }>>(clients, id, "done");
    clients.send({ type: "open", id, kind, url: kind === "floor" ? endpoint : url, count, prefix });
    return { firstTokens, done };
  }

  async function round(kind: StreamKind, prefix: string): Promise<Round> {
    const loop = performance.eventLoopUtilization();
    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    const streams = open(kind, STREAMS, prefix);
    const { firstTokens, failed } = await streams.firstTokens;
    const { ms: length } = await streams.done;
    const busy = performance.eventLoopUtilization(loop).utilization;
    lag.disable();
    const { at } = await ask<Extract<EmulatorReply, { type: "first-text" }>>(
      emulator,
      { type: "first-text", messages: firstTokens.map((t) => t.message) },
      "first-text",
    );
    const added = firstTokens.flatMap((t) => (at[t.message] === undefined ? [] : [t.at - at[t.message]]));
    const firstToken = firstTokens.map((t) => t.at - t.sent);
    return { added, firstToken, length, failed, busy, lag: lag.percentile(99) / 1e6 };
  }

  try {
    await pace(DELAY_MS);
    for (const kind of KINDS) await open(kind, 5, `warm-up ${kind}`).done;

    const rounds = new Map<StreamKind, Round[]>(KINDS.map((kind) => [kind, []]));
    for (let r = 0; r < ROUNDS; r++) {
      // Each round starts with a different kind, so that no kind always follows the same one.
      const order = KINDS.map((_, i) => KINDS[(i + r) % KINDS.length]);
      for (const kind of order) rounds.get(kind)?.push(await round(kind, `${kind} round ${r}`));
    }

    // Memory per open stream: streams held open (the model slowed to 5 frames a second) once each has its
    // first token, against the same process before they opened.
    await pace(200);
    gc?.();
    const before = process.memoryUsage();
    const held = open("sse", STREAMS, "held");
    await held.firstTokens;
    await sleep(200);
    gc?.();
    const opened = process.memoryUsage();
    clients.send({ type: "close" });
    await held.done;

    const ms = (n: number) => n.toFixed(1);
    const p50s = (kind: StreamKind) => (rounds.get(kind) ?? []).map((r) => percentile(sorted(r.added), 50));
    console.log(
      `${STREAMS} concurrent streams × ${ROUNDS} rounds per kind, model through the Bedrock emulator (a frame ` +
        `every ${DELAY_MS} ms); service, emulator and clients in three processes` +
        `${PIN ? ` (the service on core 0, the others on ${CORES > 2 ? `cores 1-${CORES - 1}` : "core 1"})` : ""}\n`,
    );
    console.log(
      "| stream | first token added, p50 (median of rounds) | p50 spread | p99 | max | over SSE, p50 | streams (failed) | service loop busy | loop delay, p99 |",
    );
    console.log("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (const kind of KINDS) {
      const all = sorted((rounds.get(kind) ?? []).flatMap((r) => r.added));
      const own = p50s(kind);
      // Paired by round: each round's p50 less the SSE round's p50 of the same round.
      const over =
        kind === "floor" || kind === "sse" ? "" : `${ms(median(own.map((p, i) => p - p50s("sse")[i])))} ms`;
      const failed = (rounds.get(kind) ?? []).reduce((n, r) => n + r.failed, 0);
      const busy = median((rounds.get(kind) ?? []).map((r) => r.busy));
      const lag = median((rounds.get(kind) ?? []).map((r) => r.lag));
      console.log(
        `| ${LABELS[kind]} | ${ms(median(own))} ms | ${ms(Math.min(...own))}–${ms(Math.max(...own))} | ` +
          `${ms(percentile(all, 99))} ms | ${ms(all.at(-1) ?? Number.NaN)} ms | ${over} | ${all.length} (${failed}) | ` +
          `${kind === "floor" ? "" : `${(busy * 100).toFixed(0)}%`} | ${kind === "floor" ? "" : `${ms(lag)} ms`} |`,
      );
    }
    // What a user waits: from the request to its first token (two model calls around a search, at the model's
    // pace, included), and how long a round of streams takes from the first request to the last end.
    console.log(
      "\n| stream | request to first token, p50 | p99 | round, first request to last end (median) |",
    );
    console.log("|---|--:|--:|--:|");
    for (const kind of KINDS) {
      const own = rounds.get(kind) ?? [];
      const all = sorted(own.flatMap((r) => r.firstToken));
      console.log(
        `| ${LABELS[kind]} | ${ms(percentile(all, 50))} ms | ${ms(percentile(all, 99))} ms | ` +
          `${ms(median(own.map((r) => r.length)))} ms |`,
      );
    }
    const kb = (bytes: number) => (bytes / 1024).toFixed(1);
    console.log(`\nheap per open SSE stream: ${kb((opened.heapUsed - before.heapUsed) / STREAMS)} KiB`);
    if (!gc)
      console.log("(run through npm run bench:sse, which passes --expose-gc, for steadier memory figures)");
  } finally {
    await app.close();
    await services.close();
    emulator.send({ type: "stop" });
    clients.disconnect();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function sorted(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

await main();
