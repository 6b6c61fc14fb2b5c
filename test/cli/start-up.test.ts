// What a `counsel` command loads: only what it uses. Each command is a child process whose loaded modules are
// recorded (test/helpers/record-imports.ts); a provider's SDK, BullMQ, the MCP SDK or the TypeScript compiler
// loaded by the offline configuration would cost every start seconds and the service its memory.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ROOT, tempDataDir } from "../helpers/services.ts";

const run = promisify(execFile);

vi.setConfig({ testTimeout: 180_000 });

/** Loaded only when settings or a request ask for them. */
const ON_DEMAND = [
  "@langchain/aws",
  "@langchain/openai",
  "@aws-sdk/client-bedrock-runtime",
  "@aws-sdk/client-s3",
  "@aws-sdk/client-textract",
  "@aws-sdk/client-comprehend",
  "bullmq",
  "ioredis",
  "redis",
  "@redis/client",
  "@langchain/redis",
  "@modelcontextprotocol/sdk",
  "typescript",
  "langchain",
  "pdf-parse",
  "mammoth",
  "cheerio",
];

/** The npm packages among recorded modules: `@scope/name` or `name`, each once. */
function packagesIn(recorded: string): Set<string> {
  const names = recorded.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g);
  return new Set([...names].map((match) => match[1]));
}

describe("counsel's start", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let recorded = 0;

  /** The packages `counsel <args>` loads, run with the offline defaults whatever the environment says. */
  const packagesOf = async (...args: string[]) => {
    const record = path.join(data.dir, `imports-${++recorded}.txt`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: path.join(data.dir, "state"),
      LOG_LEVEL: "silent",
      MODEL_PROVIDER: "extractive",
      EMBEDDINGS_PROVIDER: "local",
      TEXTRACT_ENABLED: "false",
      RECORD_IMPORTS: record,
    };
    for (const name of ["MODEL_ID", "REDIS_URL", "VECTOR_STORE", "REDIS_CLUSTER", "REDIS_CLUSTER_NODES"])
      delete env[name];
    await run(
      process.execPath,
      [
        "--import",
        "tsx",
        "--import",
        path.join(ROOT, "test/helpers/record-imports.ts"),
        "bin/counsel.mjs",
        ...args,
      ],
      { env, cwd: ROOT },
    );
    return packagesIn(await readFile(record, "utf8"));
  };

  beforeAll(async () => {
    data = await tempDataDir();
  });
  afterAll(async () => data?.remove());

  it("prints its help without loading the service", async () => {
    const packages = await packagesOf("--help");
    expect(packages).toContain("commander");
    for (const name of ["@langchain/core", "fastify", "zod", ...ON_DEMAND])
      expect(packages).not.toContain(name);
  });

  it("answers a question offline without loading a provider's SDK, Redis, a queue, MCP or a compiler", async () => {
    const packages = await packagesOf("ask", "How many laptops were shipped?");
    expect(packages).toContain("@langchain/core"); // the services were built: the recording saw them load
    for (const name of ON_DEMAND) expect(packages).not.toContain(name);
  });
});
