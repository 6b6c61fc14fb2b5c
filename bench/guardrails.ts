// What a guardrail adds to a streamed qa answer: time to the first text and to the whole answer, with no
// guardrail, output checks in windows of `windowChars`, and question and answer both checked, each with the
// guardrail answering at once and after a delay standing in for Bedrock's processing (AWS's recorded guardrail
// traces took 277-296 ms, test/fixtures/bedrock). The model and the guardrail are the Bedrock Runtime emulator
// (a recorded 375-character answer in 33 frames, 10 ms apart) in this process; the chain is the service's own
// (createServices, a real qa chain, the fake memo ingested), reached through QaChainHandle.stream.
//   npm run bench:guardrails -- [--answers 10] [--delay 280]
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadSettings } from "../src/config/settings.ts";
import { createServices } from "../src/services/services.ts";
import { BedrockRuntimeEmulator } from "../test/emulators/bedrock-runtime.ts";

const { values } = parseArgs({
  options: { answers: { type: "string", default: "10" }, delay: { type: "string", default: "280" } },
});
const ANSWERS = Number(values.answers);
const DELAY = Number(values.delay);
const MODEL = "us.amazon.nova-micro-v1:0";
const GUARDRAIL = "gr0bench0001";
const ROOT = path.resolve(import.meta.dirname, "..");

const CASES = [
  { name: "none", label: "none", guardrail: undefined },
  {
    name: "out-20",
    label: "output, `windowChars: 20`",
    guardrail: "{ id: G, version: 1, checks: [output], windowChars: 20 }",
  },
  {
    name: "out-300",
    label: "output, `windowChars: 300`",
    guardrail: "{ id: G, version: 1, checks: [output], windowChars: 300 }",
  },
  {
    name: "both-20",
    label: "input and output, `windowChars: 20`",
    guardrail: "{ id: G, version: 1, windowChars: 20 }",
  },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const options = { frameDelayMs: 10, guardrailDelayMs: 0, guardrails: { [GUARDRAIL]: { versions: ["1"] } } };
  const emulator = new BedrockRuntimeEmulator(options);
  const endpoint = await emulator.start();
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "bench",
    AWS_SECRET_ACCESS_KEY: "bench",
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: endpoint,
  });
  const dir = await mkdtemp(path.join(tmpdir(), "counsel-bench-guardrails-"));
  const chains = path.join(dir, "chains");
  await mkdir(chains);
  await copyFile(path.join(ROOT, "chains/qa.yaml"), path.join(chains, "qa.yaml"));
  for (const c of CASES) {
    const lines = [
      `name: ${c.name}`,
      "type: qa",
      "prompt: qa",
      `model: { provider: bedrock, id: "${MODEL}" }`,
    ];
    if (c.guardrail) lines.push(`guardrail: ${c.guardrail.replace("G", GUARDRAIL)}`);
    await writeFile(path.join(chains, `${c.name}.yaml`), `${lines.join("\n")}\n`);
  }
  const settings = loadSettings({
    DATA_DIR: path.join(dir, "state"),
    LOAD_EXAMPLES: "false",
    LOG_LEVEL: "silent",
    CHAINS_DIR: chains,
    MODEL_PROVIDER: "bedrock",
    MODEL_ID: MODEL,
    AWS_REGION: "us-east-1",
  });
  const services = await createServices(settings, { info: () => {}, warn: () => {} });
  try {
    const tenant = await services.tenant("default");
    const memo = path.join(ROOT, "test/fixtures/fake-memo.txt");
    await tenant.pipeline.ingest([{ name: "fake-memo.txt", source: memo, data: await readFile(memo) }]);
    console.log(
      `${ANSWERS} answers per row (median), qa chain on the Bedrock emulator (33 frames, 10 ms apart); ` +
        `ApplyGuardrail answering at once and after ${DELAY} ms\n`,
    );
    console.log("| guardrail | check takes | first text | whole answer | output checks per answer |");
    console.log("|---|--:|--:|--:|--:|");
    for (const delay of [0, DELAY]) {
      options.guardrailDelayMs = delay;
      for (const c of CASES) {
        if (!c.guardrail && delay > 0) continue;
        const handle = services.qaChain(c.name);
        const first: number[] = [];
        const whole: number[] = [];
        const checks: number[] = [];
        for (let i = 0; i <= ANSWERS; i++) {
          const before = emulator.guardrailCalls.filter((call) => call.source === "OUTPUT").length;
          const started = performance.now();
          let firstAt: number | undefined;
          for await (const chunk of handle.stream(
            { question: "How many laptops were delivered?" },
            { tenant },
          )) {
            if (chunk.answer && firstAt === undefined) firstAt = performance.now() - started;
          }
          if (i === 0) continue; // warm-up
          first.push(firstAt ?? Number.NaN);
          whole.push(performance.now() - started);
          checks.push(emulator.guardrailCalls.filter((call) => call.source === "OUTPUT").length - before);
        }
        console.log(
          `| ${c.label} | ${c.guardrail ? `${delay} ms` : ""} | ${median(first).toFixed(0)} ms | ` +
            `${median(whole).toFixed(0)} ms | ${median(checks)} |`,
        );
      }
    }
  } finally {
    await services.close();
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
