// Builds the console (web/ → web/dist) with Vite's JS API when the build is missing or older than its sources.
// `npm start` runs it first; `npm run build:web` forces it. Without Vite (an install without dev dependencies)
// it says so and leaves the service to serve its "not built" page.
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

export const WEB = path.resolve(import.meta.dirname, "../web");
const INDEX = path.join(WEB, "dist/index.html");

/** The newest modification time of web/'s sources (not dist/), in ms. */
async function newestSource(dir = WEB): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === "dist" || entry.name === "node_modules") continue;
    const full = path.join(dir, entry.name);
    const time = entry.isDirectory() ? await newestSource(full) : (await stat(full)).mtimeMs;
    newest = Math.max(newest, time);
  }
  return newest;
}

/** True when web/dist/index.html is missing or older than a source file. */
export async function isStale(): Promise<boolean> {
  const built = await stat(INDEX).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  return built < (await newestSource());
}

export type BuildOutcome = "built" | "fresh" | "no-vite";

/** Builds web/dist if stale (or always, with `force`). */
export async function buildWeb(options: { force?: boolean; log?: (line: string) => void } = {}) {
  const log = options.log ?? ((line: string) => console.log(line));
  if (!options.force && !(await isStale())) return "fresh" satisfies BuildOutcome;
  let vite: typeof import("vite");
  try {
    vite = await import("vite");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw error;
    log("console: Vite is not installed (a production install?), so web/dist is not rebuilt; serving as is.");
    return "no-vite" satisfies BuildOutcome;
  }
  const started = Date.now();
  await vite.build({ root: WEB, configFile: path.join(WEB, "vite.config.ts"), logLevel: "warn" });
  log(`console: built web/dist in ${Date.now() - started} ms`);
  return "built" satisfies BuildOutcome;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildWeb({ force: process.argv.includes("--force") }).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
