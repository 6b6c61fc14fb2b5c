// The console (web/, built to web/dist by scripts/build-web.ts) served at `/`: index.html never cached and under
// a strict Content-Security-Policy, hashed assets under /assets cached for a year. A browser navigating to any
// other path that no route owns gets index.html too; API paths keep their problem+json 404s and 401s.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { sendProblem } from "./errors.ts";

/** web/dist, from src/server/plugins (and from dist/server/plugins once compiled, the same depth). */
export const WEB_DIST = fileURLToPath(new URL("../../../web/dist", import.meta.url));

export interface ConsoleOptions {
  /** The built console; default web/dist. */
  root?: string;
}

/**
 * Same origin only, and no inline script or style: an answer's text (which quotes ingested documents) can never
 * run as code in the page, even if a rendering bug let markup through.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const NOT_BUILT = `The console has not been built: run \`npm run build:web\` (or \`npm start\`, which builds it), then reload.`;

/** The first segment of a route's path ("/chain/:name" → "chain"); none for parameters and wildcards. */
function firstSegment(url: string): string | undefined {
  const segment = url.split("/")[1];
  return segment && !/^[:*]/.test(segment) ? segment : undefined;
}

function acceptsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? "").includes("text/html");
}

export const consolePlugin = fp(
  async (app: FastifyInstance, options: ConsoleOptions) => {
    const root = options.root ?? WEB_DIST;
    const index = path.join(root, "index.html");

    // Every route's first segment is an API path, known as routes are added (this plugin is registered before
    // them), so that a route added later needs no list kept here.
    const apiSegments = new Set<string>();
    app.addHook("onRoute", (route) => {
      const segment = firstSegment(route.url);
      if (segment && segment !== "assets") apiSegments.add(segment);
    });

    const sendIndex = async (request: FastifyRequest, reply: FastifyReply) => {
      let html: string;
      try {
        // Read per request (it is a few hundred bytes): a rebuild is served without a restart.
        html = await readFile(index, "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        if (!acceptsHtml(request)) {
          return sendProblem(reply, { status: 503, code: "console_not_built", detail: NOT_BUILT });
        }
        return sendPage(reply.code(503), notBuiltPage());
      }
      return sendPage(
        reply.header("x-content-type-options", "nosniff").header("referrer-policy", "no-referrer"),
        html,
      );
    };

    // Before the auth plugin's hook (app.ts registers this plugin first): a browser opening a deep link gets the
    // page, which then asks for a key itself. Only GETs that no route owns, that want HTML, outside the API.
    app.addHook("onRequest", async (request, reply) => {
      if (!request.is404 || request.method !== "GET" || !acceptsHtml(request)) return;
      const segment = firstSegment(request.url.split("?")[0] ?? "");
      if (segment === "assets" || (segment && apiSegments.has(segment))) return;
      return sendIndex(request, reply);
    });

    await app.register(async (scope) => {
      // The console itself holds no data: every route of this scope is public, the API it calls is not.
      scope.addHook("onRoute", (route) => {
        route.config = { ...route.config, scopes: "public" };
      });
      scope.get("/", { schema: { hide: true } }, sendIndex);
      await scope.register(fastifyStatic, {
        root: path.join(root, "assets"),
        prefix: "/assets/",
        decorateReply: false,
        // Vite names each asset by its content's hash: a changed file is a new URL, so a year is safe.
        maxAge: "365d",
        immutable: true,
        index: false,
      });
    });
  },
  { name: "console", dependencies: ["errors"] },
);

/** An HTML page of the console's: never cached, under its CSP. */
function sendPage(reply: FastifyReply, html: string): FastifyReply {
  return reply
    .header("cache-control", "no-cache")
    .header("content-security-policy", CONSOLE_CSP)
    .type("text/html; charset=utf-8")
    .send(html);
}

/** A page (no script, no style: the CSP allows neither inline) saying how to build the console. */
function notBuiltPage(): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Counsel: console not built</title></head>
<body>
<h1>The console has not been built</h1>
<p>Run <code>npm run build:web</code> (or <code>npm start</code>, which builds it first), then reload this page.</p>
<p>The API is unaffected: see <a href="/docs">/docs</a>.</p>
</body>
</html>
`;
}
