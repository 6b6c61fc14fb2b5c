// Counsel as a real process (src/main.ts through tsx, or compiled), as production runs it: its own event loop, its own log
// on stdout, started with the given environment and stopped with SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { freePort } from "../global-setup.ts";
import { ROOT } from "./services.ts";

export interface CounselProcess {
  url: string;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output: () => string;
}

/**
 * Resolves once /healthz answers; LOG_LEVEL is warn and LOAD_EXAMPLES false unless `env` says otherwise. With
 * `compiled`, the service runs from that compiled main.js (as `npm start` runs dist/main.js) instead of its
 * sources through tsx.
 */
export async function startCounsel(
  env: Record<string, string>,
  options: { compiled?: string } = {},
): Promise<CounselProcess> {
  const port = await freePort();
  const args = options.compiled ? [options.compiled] : ["--import", "tsx", path.join(ROOT, "src/main.ts")];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", LOAD_EXAMPLES: "false", ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`counsel exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`counsel did not start:\n${output}`);
    const up = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return { url, child, output: () => output };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function stopCounsel(service: CounselProcess | undefined): Promise<void> {
  if (!service || service.child.exitCode !== null) return;
  service.child.kill("SIGTERM");
  await once(service.child, "exit");
}
