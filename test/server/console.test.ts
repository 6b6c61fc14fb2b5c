// The console's serving (plugins/console.ts) with auth on: index.html uncached under a strict CSP, hashed assets
// cached for good, deep links answered with the page, while the API's 404s and 401s keep their problem+json,
// and a clear answer when web/dist has not been built. A stand-in build, so that no Vite run is needed here.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appOptions, buildApp } from "../../src/server/app.ts";
import { CONSOLE_CSP } from "../../src/server/plugins/console.ts";
import { createServices, type Services } from "../../src/services/services.ts";
import { bearer, writeKeys } from "../helpers/keys.ts";
import { quiet, tempDataDir, testSettings } from "../helpers/services.ts";

const HTML = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };
const INDEX = `<!doctype html><title>Counsel</title><script type="module" src="/assets/index-AbC123.js"></script>`;

describe("the console's serving", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let services: Services;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let bare: Awaited<ReturnType<typeof buildApp>>;
  let key: string;

  beforeAll(async () => {
    data = await tempDataDir();
    const dist = path.join(data.dir, "dist");
    await mkdir(path.join(dist, "assets"), { recursive: true });
    await writeFile(path.join(dist, "index.html"), INDEX);
    await writeFile(path.join(dist, "assets/index-AbC123.js"), "console.log('console');\n");
    const written = await writeKeys(data.dir, { reader: { tenant: "acme", scopes: ["query"] } });
    key = written.keys.reader;
    const settings = testSettings(path.join(data.dir, "state"), { API_KEYS_FILE: written.file });
    services = await createServices(settings, quiet);
    app = await buildApp(services, { ...appOptions(settings, services), consoleRoot: dist });
    bare = await buildApp(services, {
      ...appOptions(settings, services),
      consoleRoot: path.join(data.dir, "none"),
    });
  });
  afterAll(async () => {
    await app?.close();
    await bare?.close();
    await services?.close();
    await data?.remove();
  });

  it("serves index.html at / without a key, never cached, under a same-origin CSP with no inline script", async () => {
    const res = await app.inject({ url: "/", headers: HTML });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.headers["cache-control"]).toBe("no-cache");
    expect(res.headers["content-security-policy"]).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain("unsafe-inline");
    expect(res.body).toBe(INDEX);
  });

  it("serves hashed assets for a year, immutable, and a missing asset as a problem", async () => {
    const res = await app.inject({ url: "/assets/index-AbC123.js" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/javascript/);
    expect(res.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    const missing = await app.inject({ url: "/assets/index-gone.js", headers: HTML });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers["content-type"]).toMatch(/^application\/problem\+json/);
  });

  it("answers a browser's deep link with the page, but not a non-GET, a non-HTML request or an API path", async () => {
    const deep = await app.inject({ url: "/some/deep/link?x=1", headers: HTML });
    expect(deep.statusCode).toBe(200);
    expect(deep.body).toBe(INDEX);
    expect(deep.headers["content-security-policy"]).toBe(CONSOLE_CSP);

    // Without a key, what the API said before the console existed: 401 problems.
    for (const request of [
      { url: "/some/deep/link", headers: { accept: "application/json" } },
      { url: "/chains/qa/nothing-here", headers: HTML },
      { url: "/v1/no-such-thing", headers: HTML },
      { method: "POST" as const, url: "/some/deep/link", headers: HTML },
    ]) {
      const res = await app.inject(request);
      expect(res.statusCode, request.url).toBe(401);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    }
    const notFound = await app.inject({
      url: "/chains/qa/nothing-here",
      headers: { ...HTML, ...bearer(key) },
    });
    expect(notFound.statusCode).toBe(404);
    expect(notFound.json()).toMatchObject({ status: 404, code: "not_found" });
  });

  it("says how to build the console when web/dist is missing: a page for a browser, a problem for a client", async () => {
    const page = await bare.inject({ url: "/", headers: HTML });
    expect(page.statusCode).toBe(503);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toContain("npm run build:web");
    const problem = await bare.inject({ url: "/" });
    expect(problem.statusCode).toBe(503);
    expect(problem.json()).toMatchObject({
      status: 503,
      code: "console_not_built",
      detail: /npm run build:web/,
    });
  });
});
