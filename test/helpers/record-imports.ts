// Records every module a Node process loads, for tests of what a command loads: run it with
// `node --import tsx --import test/helpers/record-imports.ts …` and RECORD_IMPORTS naming a file, which gets one
// URL or path a line. ES modules are seen by a loader hook as they load, CommonJS ones in require.cache at exit.
import { appendFileSync } from "node:fs";
import { createRequire, type LoadHook, register } from "node:module";
import { isMainThread } from "node:worker_threads";

const file = process.env.RECORD_IMPORTS;
if (!file) throw new Error("RECORD_IMPORTS: the file to record loaded modules in is not set");

export const load: LoadHook = (url, context, next) => {
  appendFileSync(file, `${url}\n`);
  return next(url, context);
};

// This file is also the hooks module, loaded again in the loader's own thread: register from the main one only.
if (isMainThread) {
  register(import.meta.url);
  const { cache } = createRequire(import.meta.url);
  process.on("exit", () => appendFileSync(file, `${Object.keys(cache).join("\n")}\n`));
}
