#!/usr/bin/env node
// The `counsel` command. Runs the compiled CLI when the package has been built (dist/), and the TypeScript
// sources through tsx otherwise, so `npx counsel` works straight after `npm install`.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const compiled = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const sources = fileURLToPath(new URL("../src/cli.ts", import.meta.url));

if (existsSync(sources) && process.env.NODE_ENV !== "production") {
  const { register } = await import("tsx/esm/api");
  register();
  await import(sources);
} else {
  await import(compiled);
}
