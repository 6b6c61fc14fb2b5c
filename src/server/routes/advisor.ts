// The advisor over HTTP. POST /advisor/chat streams a turn as Server-Sent Events when the client accepts
// text/event-stream (named events, JSON data, comment heartbeats), or answers with the whole turn as JSON.
// GET and DELETE /advisor/sessions/:id read and forget a conversation; GET /reports/:id serves a written report.
// Sessions and reports belong to the caller's tenant: another tenant's ids are simply not found.
import type { FastifyInstance, FastifyReply } from "fastify";
import type { AdvisorEvent } from "../../agent/turn.ts";
import { CounselError, NotFoundError } from "../../errors.ts";
import { clientAbortSignal } from "../abort.ts";
import { toProblem } from "../plugins/errors.ts";
import { clientKey } from "../plugins/rate-limit.ts";

const SESSION_ID = "^[A-Za-z0-9_-]{8,128}$";

const chatBody = {
  type: "object",
  required: ["message"],
  additionalProperties: false,
  properties: {
    message: { type: "string", minLength: 1, maxLength: 8000, pattern: "\\S" },
    sessionId: {
      type: "string",
      pattern: SESSION_ID,
      description: "Continue this conversation; omitted: a new one (its id comes back in `session`).",
    },
    chain: {
      type: "string",
      pattern: "^[a-z0-9][a-z0-9_-]{0,63}$",
      description: "An advisor chain; default advisor.",
    },
  },
} as const;

const sessionParams = {
  type: "object",
  properties: { id: { type: "string", pattern: SESSION_ID } },
} as const;

interface ChatBody {
  message: string;
  sessionId?: string;
  chain?: string;
}

export interface AdvisorRouteOptions {
  /** A reader that takes nothing for this long while the server waits to write is dropped, its turn aborted. */
  stallTimeoutMs?: number;
  /** Open streams one client (API key, else address) may hold at once; more get 429. */
  maxStreamsPerClient?: number;
}

/** Why a stream ended early when the service stops: the client is told to retry elsewhere. */
class ShuttingDown extends CounselError {
  constructor() {
    super("shutting_down", 503, "The service is restarting; send the message again.");
  }
}

export async function advisorRoutes(app: FastifyInstance, options: AdvisorRouteOptions = {}) {
  const stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
  const maxStreams = options.maxStreamsPerClient ?? 5;
  // Every open turn, so that a shutdown can end them with an event instead of waiting for them or cutting them.
  const open = new Set<AbortController>();
  const streamsByClient = new Map<string, number>();
  app.addHook("preClose", async () => {
    for (const turn of open) turn.abort(new ShuttingDown());
  });

  app.post<{ Body: ChatBody }>(
    "/advisor/chat",
    {
      sse: "dual",
      config: { scopes: ["chat"], fairTurn: true },
      schema: {
        tags: ["advisor"],
        summary: "Chat with the advisor: Server-Sent Events with Accept: text/event-stream, else JSON",
        description:
          "Events: `session` {sessionId}, `token` {text}, `tool_start` {name, input}, `tool_end` {name, summary, " +
          "url?}, `sources` {sources}, `done` {message, usage, timings}, `error` (a problem object).",
        body: chatBody,
        response: { "4xx": { $ref: "problem#" }, "5xx": { $ref: "problem#" } },
      },
    },
    async (request, reply) => {
      const { message, chain = "advisor" } = request.body;
      const advisor = app.services.advisor(chain); // 404, 400 or 503 before anything is streamed
      const { tenant } = request;
      const sessionId = request.body.sessionId ?? crypto.randomUUID();
      const client = clientKey(request);
      const streams = streamsByClient.get(client) ?? 0;
      if (streams >= maxStreams) {
        throw new CounselError(
          "too_many_streams",
          429,
          `At most ${maxStreams} conversations may stream at once.`,
        );
      }
      streamsByClient.set(client, streams + 1);
      const controller = watchClient(reply, stallTimeoutMs);
      open.add(controller);
      app.metrics?.openStreams.inc();
      try {
        const turn = logDone(
          advisor.chat({ message, sessionId }, { tenant, signal: controller.signal }),
          (done) =>
            // What operations need to follow a turn: never the message or the documents' text.
            request.log.info(
              { chain, sessionId, tokens: done.usage, ms: done.timings.totalMs },
              "advisor turn done",
            ),
        );
        if (reply.sse) {
          await reply.sse.send(
            asSse(sessionId, turn, controller.signal, (error) =>
              request.log.error({ err: error }, "advisor turn failed"),
            ),
          );
          return;
        }
        return await gather(sessionId, turn, controller.signal);
      } finally {
        open.delete(controller);
        app.metrics?.openStreams.dec();
        const left = (streamsByClient.get(client) ?? 1) - 1;
        if (left > 0) streamsByClient.set(client, left);
        else streamsByClient.delete(client);
      }
    },
  );

  app.get<{ Params: { id: string } }>(
    "/advisor/sessions/:id",
    {
      config: { scopes: ["chat"] },
      schema: { tags: ["advisor"], summary: "A conversation, oldest message first", params: sessionParams },
    },
    async (request) => {
      const { sessions } = request.tenant;
      const messages = await sessions.get(request.params.id);
      if (messages.length === 0) throw new NotFoundError(`No conversation ${request.params.id}.`);
      return { sessionId: request.params.id, messages };
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/advisor/sessions/:id",
    {
      config: { scopes: ["chat"] },
      schema: { tags: ["advisor"], summary: "Forget a conversation", params: sessionParams },
    },
    async (request, reply) => {
      const { sessions } = request.tenant;
      await sessions.delete(request.params.id);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: string } }>(
    "/reports/:id",
    {
      config: { scopes: ["chat"] },
      schema: {
        tags: ["advisor"],
        summary: "A report the advisor wrote, as Markdown",
        params: { type: "object", properties: { id: { type: "string", maxLength: 64 } } },
      },
    },
    async (request, reply) => {
      const { reports } = request.tenant;
      const report = await reports.get(request.params.id);
      if (!report) throw new NotFoundError(`No report ${request.params.id}.`);
      return reply.type("text/markdown; charset=utf-8").send(report.markdown);
    },
  );
}

/**
 * Aborts the turn when the client leaves, or when it stops reading: a reply the socket cannot take waits in
 * memory, so a reader that takes nothing for `stallTimeoutMs` is dropped rather than buffered for.
 */
function watchClient(reply: FastifyReply, stallTimeoutMs: number): AbortController {
  const left = clientAbortSignal(reply);
  const controller = new AbortController();
  left.addEventListener("abort", () => controller.abort(left.reason), { once: true });
  let stalledSince = 0;
  const timer = setInterval(
    () => {
      if (!reply.raw.writableNeedDrain) {
        stalledSince = 0;
        return;
      }
      stalledSince ||= Date.now();
      if (Date.now() - stalledSince >= stallTimeoutMs) {
        controller.abort(new Error("client stopped reading"));
        reply.raw.destroy();
      }
    },
    Math.min(1000, stallTimeoutMs),
  );
  timer.unref();
  reply.raw.once("close", () => clearInterval(timer));
  return controller;
}

/** The turn's events, unchanged; its `done` is also handed to `log`. */
async function* logDone(
  turn: AsyncGenerator<AdvisorEvent>,
  log: (done: Extract<AdvisorEvent, { event: "done" }>["data"]) => void,
): AsyncGenerator<AdvisorEvent> {
  for await (const event of turn) {
    if (event.event === "done") log(event.data);
    yield event;
  }
}

/** The turn as SSE messages: `session` first, then the turn's events; a failure mid-stream is an `error` event. */
async function* asSse(
  sessionId: string,
  turn: AsyncGenerator<AdvisorEvent>,
  signal: AbortSignal,
  log: (error: unknown) => void,
) {
  yield { event: "session", data: { sessionId } };
  try {
    for await (const { event, data } of turn) yield { event, data };
  } catch (error) {
    // Stopped by a shutdown: however the abort surfaced, say so.
    const problem = toProblem(signal.reason instanceof ShuttingDown ? signal.reason : (error as Error));
    if (problem.status >= 500) log(error);
    yield { event: "error", data: { type: `https://counsel.dev/problems/${problem.code}`, ...problem } };
  }
}

/** Without SSE: the whole turn as one reply. A failure is the usual problem+json. */
async function gather(sessionId: string, turn: AsyncGenerator<AdvisorEvent>, signal: AbortSignal) {
  const tools: { name: string; input: unknown; summary?: string; url?: string }[] = [];
  const sources = new Map<number, unknown>();
  try {
    for await (const e of turn) {
      if (e.event === "tool_start") tools.push({ name: e.data.name, input: e.data.input });
      if (e.event === "tool_end") Object.assign(tools.findLast((t) => t.name === e.data.name) ?? {}, e.data);
      if (e.event === "sources") for (const s of e.data.sources) sources.set(s.n, s);
      if (e.event === "done") return { sessionId, ...e.data, tools, sources: [...sources.values()] };
    }
  } catch (error) {
    throw signal.reason instanceof ShuttingDown ? signal.reason : error;
  }
  throw new CounselError("internal", 500, "The advisor's turn ended without a reply.");
}
