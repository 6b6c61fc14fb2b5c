// Builds the real services and app on a temporary data folder, as main.ts would from settings.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { loadSettings } from "../../src/config/settings.ts";
import { type AppOptions, appOptions, buildApp } from "../../src/server/app.ts";
import { createServices, type Services } from "../../src/services/services.ts";
import { DEFAULT_TENANT } from "../../src/tenants/tenant-id.ts";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const FIXTURES = path.join(ROOT, "test/fixtures");

/** The tenant every request of a service without API keys belongs to. */
export function defaultTenant(services: Services) {
  return services.tenant(DEFAULT_TENANT);
}

/** A logger for services under test: silent. */
export const quiet = { info: () => undefined, warn: () => undefined };

export async function tempDataDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "counsel-test-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function testSettings(dataDir: string, env: Record<string, string> = {}) {
  return loadSettings({
    DATA_DIR: dataDir,
    LOAD_EXAMPLES: "false",
    CHAINS_DIR: path.join(ROOT, "chains"),
    PROMPTS_DIR: path.join(ROOT, "prompts"),
    LOADERS_DIR: path.join(ROOT, "loaders"),
    EXAMPLES_DIR: path.join(ROOT, "examples/docs"),
    ...env,
  });
}

/** The app listening on a free loopback port, with its base URL; `options` add to those settings give it. */
export async function startService(
  dataDir: string,
  env: Record<string, string> = {},
  options: Partial<AppOptions> = {},
) {
  const settings = testSettings(dataDir, env);
  const services: Services = await createServices(settings, quiet);
  const app = await buildApp(services, { ...appOptions(settings, services), ...options });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return {
    services,
    app,
    url: `http://127.0.0.1:${address.port}`,
    async stop() {
      await app.close();
      await services.close();
    },
  };
}

/**
 * A service on its own temporary data folder for the tests of a describe block: started before them, stopped
 * and removed after. `url` is set once it listens.
 */
export function useService(env: Record<string, string> = {}): { url: string } {
  const handle = { url: "" };
  let data: Awaited<ReturnType<typeof tempDataDir>> | undefined;
  let service: Awaited<ReturnType<typeof startService>> | undefined;
  beforeAll(async () => {
    data = await tempDataDir();
    service = await startService(data.dir, env);
    handle.url = service.url;
  });
  afterAll(async () => {
    await service?.stop();
    await data?.remove();
  });
  return handle;
}

/**
 * The real services (no HTTP) for the tests of a describe block, ingesting with one recipe written for them:
 * `recipe` is its YAML, used as RECIPE from a loaders folder of its own; `env` adds settings. On a temporary data
 * folder, closed and removed after the tests. `services` is set once they are created.
 */
export function useRecipeServices(recipe: string, env: Record<string, string> = {}): { services: Services } {
  const handle = {} as { services: Services };
  let data: Awaited<ReturnType<typeof tempDataDir>> | undefined;
  beforeAll(async () => {
    data = await tempDataDir();
    const loaders = path.join(data.dir, "loaders");
    await mkdir(loaders);
    await writeFile(path.join(loaders, "test-recipe.yaml"), recipe);
    handle.services = await createServices(
      testSettings(path.join(data.dir, "state"), { LOADERS_DIR: loaders, RECIPE: "test-recipe", ...env }),
      quiet,
    );
  });
  afterAll(async () => {
    await handle.services?.close();
    await data?.remove();
  });
  return handle;
}
