// The advisor over HTTP. POST /advisor/chat streams a turn as Server-Sent Events when the client accepts
// text/event-stream (named events, JSON data, comment heartbeats), or answers with the whole turn as JSON.
// GET /advisor/sessions lists the conversations, GET and DELETE /advisor/sessions/:id read and forget one;
// GET /reports/:id serves a written report.
// Sessions and reports belong to the caller's tenant: another tenant's ids are simply not found.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { TurnEvent } from "../../contracts/turn-events.ts";
import { CounselError, NotFoundError } from "../../errors.ts";
import { requestOrigin } from "../origin.ts";
import { toProblem } from "../plugins/errors.ts";
import { ShuttingDownError } from "../plugins/open-streams.ts";
import { MAX_MESSAGE_CHARS } from "../schemas/message.ts";
import { NAME, SESSION_ID } from "../schemas/names.ts";
import { ProblemReplies } from "../schemas/problem.ts";
import { limitAsNumber } from "../schemas/query.ts";
import { openTurnStream } from "../turn-stream.ts";

const ChatBody = Type.Object(
  {
    message: Type.String({ minLength: 1, maxLength: MAX_MESSAGE_CHARS, pattern: "\\S" }),
    sessionId: Type.Optional(
      Type.String({
        pattern: SESSION_ID,
        description: "Continue this conversation; omitted: a new one (its id comes back in `session`).",
      }),
    ),
    chain: Type.Optional(Type.String({ pattern: NAME, description: "An advisor chain; default advisor." })),
  },
  { additionalProperties: false },
);

const SessionParams = Type.Object({ id: Type.String({ pattern: SESSION_ID }) });

export const DEFAULT_SESSIONS_LIMIT = 50;
export const MAX_SESSIONS_LIMIT = 100;

const ListSessionsQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_SESSIONS_LIMIT,
        default: DEFAULT_SESSIONS_LIMIT,
        description: "How many conversations, the most recently updated first.",
      }),
    ),
  },
  { additionalProperties: false },
);

const SessionListReply = Type.Object({
  sessions: Type.Array(
    Type.Object({
      id: Type.String(),
      title: Type.String({ description: "The first user message, on one line, cut at about 80 characters." }),
      messages: Type.Integer({ description: "Messages kept: the user's and the advisor's, two a turn." }),
      updatedAt: Type.String({ format: "date-time", description: "When the last message was added." }),
    }),
  ),
});

export const advisorRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    "/advisor/chat",
    {
      sse: "dual",
      config: { scopes: ["chat"], fairTurn: true },
      schema: {
        tags: ["advisor"],
        summary: "Chat with the advisor: Server-Sent Events with Accept: text/event-stream, else JSON",
        description:
          "Events: `session` {sessionId}, `token` {text}, `tool_start` {id, name, input}, `tool_end` {id, name, " +
          "summary, url? (absolute), check? {language, checked, repaired, problems, code, diagnostics}}, " +
          "`sources` {sources}, `done` {message, usage, timings}, `error` (a problem object). See docs/advisor.md.",
        body: ChatBody,
        response: ProblemReplies,
      },
    },
    async (request, reply) => {
      const { message, chain = "advisor" } = request.body;
      const advisor = app.services.advisor(chain); // 404, 400 or 503 before anything is streamed
      const { tenant } = request;
      const sessionId = request.body.sessionId ?? crypto.randomUUID();
      const stream = openTurnStream(app, request, reply); // 429 past the client's open streams
      const { signal } = stream;
      try {
        const turn = logDone(
          advisor.chat({ message, sessionId }, { tenant, signal, baseUrl: requestOrigin(request) }),
          (done) =>
            // What operations need to follow a turn: never the message or the documents' text.
            request.log.info(
              {
                chain,
                sessionId,
                tokens: done.usage,
                ms: done.timings.totalMs,
                ...(done.guardrail ? { guardrail: `${done.guardrail.action} ${done.guardrail.source}` } : {}),
              },
              "advisor turn done",
            ),
        );
        if (reply.sse) {
          await reply.sse.send(
            asSse(sessionId, turn, signal, (error) =>
              request.log.error({ err: error }, "advisor turn failed"),
            ),
          );
          return;
        }
        return await gather(sessionId, turn, signal);
      } finally {
        stream.close();
      }
    },
  );

  app.get(
    "/advisor/sessions",
    {
      config: { scopes: ["chat"] },
      preValidation: async (request) => limitAsNumber(request),
      schema: {
        tags: ["advisor"],
        summary: "The conversations kept, the most recently updated first",
        description:
          `The caller's tenant's conversations (POST /advisor/chat, or POST /advisor/ui with a sessionId), at ` +
          `most \`limit\` (default ${DEFAULT_SESSIONS_LIMIT}, at most ${MAX_SESSIONS_LIMIT}). A conversation is ` +
          "forgotten CHAT_HISTORY_TTL_SECONDS after its last message.",
        querystring: ListSessionsQuery,
        response: { 200: SessionListReply, ...ProblemReplies },
      },
    },
    async (request) => {
      const sessions = await request.tenant.sessions.list(request.query.limit ?? DEFAULT_SESSIONS_LIMIT);
      return { sessions: sessions.map((s) => ({ ...s, updatedAt: new Date(s.updatedAt).toISOString() })) };
    },
  );

  app.get(
    "/advisor/sessions/:id",
    {
      config: { scopes: ["chat"] },
      schema: { tags: ["advisor"], summary: "A conversation, oldest message first", params: SessionParams },
    },
    async (request) => {
      const { sessions } = request.tenant;
      const messages = await sessions.get(request.params.id);
      if (messages.length === 0) throw new NotFoundError(`No conversation ${request.params.id}.`);
      return { sessionId: request.params.id, messages };
    },
  );

  app.delete(
    "/advisor/sessions/:id",
    {
      config: { scopes: ["chat"] },
      schema: { tags: ["advisor"], summary: "Forget a conversation", params: SessionParams },
    },
    async (request, reply) => {
      const { sessions } = request.tenant;
      await sessions.delete(request.params.id);
      return reply.code(204).send();
    },
  );

  app.get(
    "/reports/:id",
    {
      config: { scopes: ["chat"] },
      schema: {
        tags: ["advisor"],
        summary: "A report the advisor wrote, as Markdown",
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      },
    },
    async (request, reply) => {
      const { reports } = request.tenant;
      const report = await reports.get(request.params.id);
      if (!report) throw new NotFoundError(`No report ${request.params.id}.`);
      return reply.type("text/markdown; charset=utf-8").send(report.markdown);
    },
  );
};

/** The turn's events, unchanged; its `done` is also handed to `log`. */
async function* logDone(
  turn: AsyncGenerator<TurnEvent>,
  log: (done: Extract<TurnEvent, { event: "done" }>["data"]) => void,
): AsyncGenerator<TurnEvent> {
  for await (const event of turn) {
    if (event.event === "done") log(event.data);
    yield event;
  }
}

/** The turn as SSE messages: `session` first, then the turn's events; a failure mid-stream is an `error` event. */
async function* asSse(
  sessionId: string,
  turn: AsyncGenerator<TurnEvent>,
  signal: AbortSignal,
  log: (error: unknown) => void,
) {
  yield { event: "session", data: { sessionId } };
  try {
    for await (const { event, data } of turn) yield { event, data };
  } catch (error) {
    // Stopped by a shutdown: however the abort surfaced, say so.
    const problem = toProblem(signal.reason instanceof ShuttingDownError ? signal.reason : (error as Error));
    if (problem.status >= 500) log(error);
    yield { event: "error", data: { type: `https://counsel.dev/problems/${problem.code}`, ...problem } };
  }
}

/** Without SSE: the whole turn as one reply. A failure is the usual problem+json. */
async function gather(sessionId: string, turn: AsyncGenerator<TurnEvent>, signal: AbortSignal) {
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
    throw signal.reason instanceof ShuttingDownError ? signal.reason : error;
  }
  throw new CounselError("internal", 500, "The advisor's turn ended without a reply.");
}
