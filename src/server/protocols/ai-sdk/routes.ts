// The advisor for the Vercel AI SDK's `useChat`: POST /advisor/ui takes the SDK's chat request (the whole
// conversation as UI messages) and streams the turn as its UI message stream (ui-message-stream.ts).
// Stateless, as the request carries the conversation, unless it names a `sessionId`: then the turn continues
// and extends that stored session, as POST /advisor/chat's do. GET /advisor/ui/:id/stream (the SDK's resume) is
// a 204, since there is never a stream to resume. Limits, scopes and aborts are POST /advisor/chat's.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { TurnDone, TurnEvent } from "../../../contracts/turn-events.ts";
import { CounselError } from "../../../errors.ts";
import { requestOrigin } from "../../origin.ts";
import { toProblem } from "../../plugins/errors.ts";
import { ShuttingDownError } from "../../plugins/open-streams.ts";
import { ProblemReplies } from "../../schemas/problem.ts";
import { openTurnStream } from "../../turn-stream.ts";
import { UIChatBody } from "./schema.ts";
import { type CounselUIChunk, type TurnFailure, toUIMessageChunks } from "./ui-message-stream.ts";
import { turnFromUIMessages } from "./ui-messages.ts";

// The SDK (and its provider gateway and OpenTelemetry) is imported by the first turn streamed, not at start.
let ai: Promise<typeof import("ai")> | undefined;
function aiSdk(): Promise<typeof import("ai")> {
  ai ??= import("ai");
  return ai;
}

export const aiSdkRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    "/advisor/ui",
    {
      // Always a stream, whatever the request's Accept (useChat's transport does not ask for one).
      sse: "manual",
      config: { scopes: ["chat"], fairTurn: true },
      schema: {
        tags: ["advisor"],
        summary:
          "Chat with the advisor over the AI SDK's UI message stream (useChat with DefaultChatTransport)",
        description:
          "Takes the AI SDK's chat request ({id, messages, trigger}) and answers with its UI message stream " +
          "(x-vercel-ai-ui-message-stream: v1): text, a tool part per tool call, source-document and source-url " +
          "parts, data-report and data-code-check parts, usage as message metadata. With `sessionId`, the " +
          "conversation is kept in that session (as POST /advisor/chat keeps it). See docs/ai-sdk.md.",
        body: UIChatBody,
        response: ProblemReplies,
      },
    },
    async (request, reply) => {
      const { id: chatId, chain = "advisor", sessionId } = request.body;
      const conversation = turnFromUIMessages(request.body.messages); // 400 before anything is streamed
      // With a session, the stored history is the turn's: what the request sent before its message is not read.
      const input = sessionId ? { message: conversation.message, sessionId } : conversation;
      const advisor = app.services.advisor(chain); // 404, 400 or 503
      const { UI_MESSAGE_STREAM_HEADERS } = await aiSdk();
      const { tenant } = request;
      const baseUrl = requestOrigin(request);
      const stream = openTurnStream(app, request, reply); // 429 past the client's open streams
      const { signal } = stream;
      try {
        const turn = onDone(advisor.chat(input, { tenant, signal, baseUrl }), (done) =>
          // What operations need to follow a turn: never the message or the documents' text.
          request.log.info(
            { chain, chatId, sessionId, tokens: done.usage, ms: done.timings.totalMs },
            "advisor turn done",
          ),
        );
        const chunks = toUIMessageChunks(turn, {
          messageId: crypto.randomUUID(),
          baseUrl,
          failure(error): TurnFailure {
            // The client left or stopped reading: nobody reads what follows, but the stream still ends well.
            if (signal.aborted && !(signal.reason instanceof ShuttingDownError)) {
              return { type: "abort", reason: (signal.reason as Error | undefined)?.message };
            }
            // Stopped by a shutdown, however the abort surfaced: say so, so that the user sends it again.
            const cause = signal.reason instanceof ShuttingDownError ? signal.reason : (error as Error);
            const problem = toProblem(cause);
            if (cause instanceof CounselError) request.log.warn({ code: problem.code }, problem.detail);
            else request.log.error({ err: error }, "advisor turn failed");
            return { type: "error", errorText: problem.detail };
          },
        });
        // Framed and kept alive as POST /advisor/chat's stream is (@fastify/sse, comment heartbeats), with the
        // SDK's headers; a turn is pulled as the socket drains, so it never runs ahead of its reader. Not through
        // the SDK's createUIMessageStreamResponse: its four web streams per chunk cost the UI stream 50 ms more
        // from request to first token at 50 concurrent streams (`npm run bench:sse`, bench/README.md).
        reply.headers(UI_MESSAGE_STREAM_HEADERS);
        await reply.sse.send(uiMessageEvents(chunks));
      } finally {
        stream.close();
      }
    },
  );

  app.get(
    "/advisor/ui/:id/stream",
    {
      config: { scopes: ["chat"] },
      schema: {
        tags: ["advisor"],
        summary: "Resume a UI message stream: always 204, as no stream outlives its request",
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: ProblemReplies,
      },
    },
    async (_request, reply) => reply.code(204).send(),
  );
};

/** The UI message stream's events: each chunk as JSON, then `[DONE]`, as the SDK's JsonToSseTransformStream. */
async function* uiMessageEvents(chunks: AsyncIterable<CounselUIChunk>) {
  for await (const chunk of chunks) yield { data: chunk };
  yield "[DONE]";
}

/** The turn's events, unchanged; its `done` is also handed to `log`. */
async function* onDone(
  turn: AsyncGenerator<TurnEvent>,
  log: (done: TurnDone) => void,
): AsyncGenerator<TurnEvent> {
  for await (const event of turn) {
    if (event.event === "done") log(event.data);
    yield event;
  }
}
