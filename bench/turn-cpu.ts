// The event-loop CPU one advisor turn costs, layer by layer: the chat model's own stream (AWS SDK + LangChain),
// LangChain's createAgent around it with no tools and no middleware, and Counsel's advisor turn (the agent with
// its tools and middleware, the model calling search_knowledge_base once, then answering). Turns run one after
// another against the Bedrock emulator in a child process with no pacing, so wall time is CPU time here and the
// figure is what `bench:sse`'s 50 concurrent turns share one event loop for.
//   npm run bench:turn -- [--turns 300]
import { fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { ChatBedrockConverse } from "@langchain/aws";
import { createAgent } from "langchain";
import { loadSettings } from "../src/config/settings.ts";
import { createBedrockRuntimeClient } from "../src/models/bedrock-client.ts";
import { createServices } from "../src/services/services.ts";
import { ask, type EmulatorReply } from "./sse/ipc.ts";

const { values } = parseArgs({ options: { turns: { type: "string", default: "300" } } });
const TURNS = Number(values.turns);
const MODEL_ID = "us.amazon.nova-micro-v1:0";

/** Main-thread CPU is not separable from GC helper threads in process.cpuUsage; report both it and wall time. */
async function measure(label: string, turn: (i: number) => Promise<unknown>) {
  for (let i = 0; i < 30; i++) await turn(i); // JIT warm-up
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < TURNS; i++) await turn(1000 + i);
  const used = process.cpuUsage(cpu);
  const wall = (performance.now() - start) / TURNS;
  console.log(
    `| ${label} | ${wall.toFixed(1)} ms | ${((used.user + used.system) / 1000 / TURNS).toFixed(1)} ms |`,
  );
}

async function main() {
  const emulator = fork(new URL("./sse/emulator.ts", import.meta.url).pathname, [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const { endpoint } = await new Promise<Extract<EmulatorReply, { type: "ready" }>>((resolve) =>
    emulator.on("message", (m: EmulatorReply) => m.type === "ready" && resolve(m)),
  );
  await ask(emulator, { type: "pace", frameDelayMs: 0 }, "paced");
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "bench",
    AWS_SECRET_ACCESS_KEY: "bench",
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: endpoint,
  });
  const dataDir = await mkdtemp(path.join(tmpdir(), "counsel-bench-turn-"));
  const settings = loadSettings({
    DATA_DIR: dataDir,
    LOAD_EXAMPLES: "false",
    LOG_LEVEL: "silent",
    MODEL_PROVIDER: "bedrock",
    MODEL_ID,
    AWS_REGION: "us-east-1",
  });
  const services = await createServices(settings, { info: () => {}, warn: () => {} });
  try {
    // The client Counsel's models use (kept-alive HTTP/1.1), so that the layers differ only by what they add.
    const client = createBedrockRuntimeClient();
    const model = new ChatBedrockConverse({ client, model: MODEL_ID, region: "us-east-1", streaming: true });
    const bareAgent = createAgent({ model, tools: [] });
    const advisor = services.advisor("advisor"); // throws if the chain cannot serve
    const tenant = await services.tenant("default");

    console.log(`${TURNS} turns in a row, model through the Bedrock emulator (no pacing)\n`);
    console.log("| layer | wall per turn | CPU per turn (incl. GC threads) |");
    console.log("|---|--:|--:|");
    await measure("chat model stream (one model call)", async (i) => {
      for await (const _ of await model.stream(`question ${i}`));
    });
    await measure("createAgent, no tools, no middleware (one model call)", (i) =>
      bareAgent.invoke({ messages: [{ role: "user", content: `question ${i}` }] }),
    );
    await measure("Counsel advisor turn (model, search_knowledge_base, model)", async (i) => {
      for await (const _ of advisor.chat({ message: `question ${i}`, sessionId: `bench-${i}` }, { tenant }));
    });
  } finally {
    await services.close();
    emulator.send({ type: "stop" });
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
