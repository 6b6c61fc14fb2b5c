// The container's start command, run by a real POSIX shell with a stand-in `node` that reports what Counsel would
// have been started with: the keys file written from its secret, REDIS_URL built, the boot variables gone.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { START_SCRIPT } from "../lib/service.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "counsel-start-"));
  // Prints its arguments and environment as JSON, as Counsel's process would see them.
  const node = path.join(dir, "node");
  writeFileSync(node, `#!/bin/sh\nprintf '%s\\n' "$*"\nenv\n`);
  chmodSync(node, 0o755);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function start(env: Record<string, string>) {
  const result = spawnSync("sh", ["-c", START_SCRIPT], {
    env: { PATH: `${dir}:/usr/bin:/bin`, ...env },
    encoding: "utf8",
  });
  const [args, ...lines] = result.stdout.trim().split("\n");
  const seen = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  return { status: result.status, stderr: result.stderr, args, env: seen };
}

const keys = JSON.stringify({
  keys: [
    {
      id: "0123456789ab",
      tenant: "acme",
      scopes: ["query"],
      sha256: "f".repeat(64),
      createdAt: "2026-12-07T00:00:00Z",
    },
  ],
});

describe("the container's start command", () => {
  it("writes the keys file from its secret, builds a TLS REDIS_URL and starts Counsel without the boot secrets", () => {
    const keysFile = path.join(dir, "api-keys.json");
    const run = start({
      API_KEYS_FILE: keysFile,
      BOOT_API_KEYS: keys,
      BOOT_REDIS_USER: "counsel-abc12345-counsel",
      BOOT_REDIS_PASSWORD: "Secret0123456789",
      BOOT_REDIS_ADDRESS: "clustercfg.counsel.abc123.memorydb.us-east-1.amazonaws.com:6379",
      MODEL_ID: "us.amazon.nova-micro-v1:0",
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.args).toBe("dist/main.js");
    expect(run.env.REDIS_URL).toBe(
      "rediss://counsel-abc12345-counsel:Secret0123456789@clustercfg.counsel.abc123.memorydb.us-east-1.amazonaws.com:6379",
    );
    expect(run.env.MODEL_ID).toBe("us.amazon.nova-micro-v1:0");
    expect(run.env.BOOT_API_KEYS).toBeUndefined();
    expect(run.env.BOOT_REDIS_PASSWORD).toBeUndefined();
    expect(readFileSync(keysFile, "utf8")).toBe(keys);
    expect(statSync(keysFile).mode & 0o777).toBe(0o600);
  });

  it("does not start Counsel when a boot variable is missing", () => {
    const run = start({ API_KEYS_FILE: path.join(dir, "api-keys.json"), BOOT_API_KEYS: keys });
    expect(run.status).not.toBe(0);
    expect(run.args).toBe("");
    expect(run.stderr).toMatch(/BOOT_REDIS_USER/);
  });
});

describe("the API keys secret's first value", () => {
  const apiKeys = path.join(ROOT, "src/auth/api-keys.ts");

  it.skipIf(!existsSync(path.join(ROOT, "node_modules/zod")))(
    "is a keys file Counsel reads as holding no keys (root node_modules installed)",
    async () => {
      const { readKeyFile } = await import(apiKeys);
      const file = path.join(dir, "api-keys.json");
      // What Secrets Manager makes of the stack's template: the template plus a generated field.
      writeFileSync(file, JSON.stringify({ keys: [], generated: "Zq8w!pL0…" }));
      expect(await readKeyFile(file)).toEqual([]);
    },
  );
});
