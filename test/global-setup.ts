// Builds the console when stale, and starts one real Redis 8 server (scripts/redis-server.sh) on a free loopback port for the whole test run,
// hands its URL to the tests (inject("redisUrl")), and stops it at the end.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { buildWeb } from "../scripts/build-web.ts";

const ROOT = path.resolve(import.meta.dirname, "..");

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (!address || typeof address === "string") throw new Error("no free port");
  return address.port;
}

/** A Redis 8 server process on loopback; resolves once it accepts connections. */
export async function startRedis(port: number, extraArgs: string[] = []): Promise<ChildProcess> {
  const child = spawn(
    path.join(ROOT, "scripts/redis-server.sh"),
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...extraArgs],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const deadline = Date.now() + 120_000; // the first run downloads the Debian packages
  while (!output.includes("Ready to accept connections")) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child;
}

export async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  await once(child, "exit");
}

export default async function setup(project: TestProject) {
  // The console's browser tests (test/web/) serve web/dist: built here once, when web/ changed since the last
  // build, rather than by each test file at the same time.
  await buildWeb({ log: () => undefined });
  const port = await freePort();
  const redis = await startRedis(port);
  project.provide("redisUrl", `redis://127.0.0.1:${port}`);
  return async () => stopRedis(redis);
}

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
