// The advisor's streaming overhead: the time the service adds between the model's first token (the moment the
// Bedrock emulator writes its first text delta) and the client's first `token` event, p50/p99 with 50 streams
// at once; and the service's memory per open stream. The service (real services, real Fastify, real AWS SDK)
// and the emulator run here; the clients run in a worker thread, so their memory is not counted.
//   npm run bench:sse -- [--streams 50] [--rounds 3]

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { loadSettings } from "../src/config/settings.ts";
import { appOptions, buildApp } from "../src/server/app.ts";
import { createServices } from "../src/services/services.ts";
import { type BedrockEmulatorOptions, BedrockRuntimeEmulator } from "../test/emulators/bedrock-runtime.ts";

const { values } = parseArgs({
  options: { streams: { type: "string", default: "50" }, rounds: { type: "string", default: "3" } },
});
const STREAMS = Number(values.streams);
const ROUNDS = Number(values.rounds);
const gc = (globalThis as { gc?: () => void }).gc;

interface FirstToken {
  message: string;
  at: number;
}

function runClients(url: string, count: number, prefix: string) {
  // tsx's loader is registered per thread: the worker registers it before loading the TypeScript module.
  const clients = new URL("./sse-clients.ts", import.meta.url).href;
  const worker = new Worker(
    `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(clients)}); })`,
    { eval: true, workerData: { url, count, prefix } },
  );
  const firstTokens = new Promise<FirstToken[]>((resolve, reject) => {
    worker.on("message", (m) => m.type === "first-tokens" && resolve(m.firstTokens));
    worker.on("error", reject);
  });
  const done = new Promise<void>((resolve) => worker.on("message", (m) => m.type === "done" && resolve()));
  return { firstTokens, done, close: () => worker.postMessage("close"), exit: () => worker.terminate() };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const emulatorOptions: BedrockEmulatorOptions = { frameDelayMs: 10 };
  const emulator = new BedrockRuntimeEmulator(emulatorOptions);
  const endpoint = await emulator.start();
  const dataDir = await mkdtemp(path.join(tmpdir(), "counsel-bench-sse-"));
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

  try {
    // Time to first token, added by the service: its first `token` event minus the model's first text delta.
    const modelFirst = (message: string) => {
      const request = emulator.requests.find(
        (r) =>
          (r.body as { messages?: { content: { text?: string }[] }[] }).messages?.[0]?.content[0]?.text ===
          message,
      );
      return request?.firstTextAt === undefined ? undefined : performance.timeOrigin + request.firstTextAt;
    };
    const warm = runClients(url, 5, "warm-up");
    await warm.done;
    await warm.exit();

    const added: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const clients = runClients(url, STREAMS, `round ${round}`);
      for (const { message, at } of await clients.firstTokens) {
        const model = modelFirst(message);
        if (model !== undefined) added.push(at - model);
      }
      await clients.done;
      await clients.exit();
    }
    added.sort((a, b) => a - b);

    // Memory per open stream: streams held open (the model slowed to 5 tokens a second) once each has its
    // first token, against the same process before they opened.
    emulatorOptions.frameDelayMs = 200;
    gc?.();
    const before = process.memoryUsage();
    const held = runClients(url, STREAMS, "held");
    await held.firstTokens;
    await sleep(200);
    gc?.();
    const open = process.memoryUsage();
    held.close();
    await held.done;
    await held.exit();

    const kb = (bytes: number) => (bytes / 1024).toFixed(1);
    console.log(
      `${STREAMS} concurrent advisor streams × ${ROUNDS} rounds, model through the Bedrock emulator\n`,
    );
    console.log("| measure | value |");
    console.log("|---|--:|");
    console.log(`| first token added by the service, p50 | ${percentile(added, 50).toFixed(2)} ms |`);
    console.log(`| first token added by the service, p99 | ${percentile(added, 99).toFixed(2)} ms |`);
    console.log(`| first token added, max | ${added.at(-1)?.toFixed(2)} ms |`);
    console.log(`| streams measured | ${added.length} |`);
    console.log(`| heap per open stream | ${kb((open.heapUsed - before.heapUsed) / STREAMS)} KiB |`);
    console.log(
      `| heap + external per open stream | ${kb((open.heapUsed + open.external - before.heapUsed - before.external) / STREAMS)} KiB |`,
    );
    if (!gc)
      console.log("\n(run through npm run bench:sse, which passes --expose-gc, for steadier memory figures)");
  } finally {
    await app.close();
    await services.close();
    await emulator.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
