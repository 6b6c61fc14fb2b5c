// An OpenAI-compatible chat API over Counsel's chains, for clients that speak it (the openai SDK, LangChain's
// ChatOpenAI, Open WebUI, LibreChat): GET /v1/models lists the chains (qa chains also as chain:variant), and
// POST /v1/chat/completions answers the last user message with the chain the `model` names, as one completion
// or as a stream of chunks. A qa chain answers that message alone; the advisor also reads the earlier
// messages as its history (nothing is stored: the client sends the conversation each time).
// The answer comes from the chain's own turn event stream; this module only reshapes it.
import { Readable } from "node:stream";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { AIMessage, type BaseMessage, HumanMessage } from "@langchain/core/messages";
import Type, { type Static } from "typebox";
import type { Scope } from "../../../auth/api-keys.ts";
import { qaTurn } from "../../../chains/qa-turn.ts";
import { DEFAULT_VARIANT, UnknownVariantError } from "../../../chains/variants.ts";
import type { TurnEvent } from "../../../contracts/turn-events.ts";
import { BadRequestError, CounselError } from "../../../errors.ts";
import { clientAbortSignal } from "../../abort.ts";
import { requestOrigin } from "../../origin.ts";
import { toProblem } from "../../plugins/errors.ts";
import { ShuttingDownError } from "../../plugins/open-streams.ts";
import { MAX_MESSAGE_CHARS } from "../../schemas/message.ts";
import { openTurnStream } from "../../turn-stream.ts";
import { type CompletionMeta, completion, completionChunks } from "./completion.ts";
import { openAIError, sendOpenAIError } from "./errors.ts";

const ContentPart = Type.Object({ type: Type.String(), text: Type.Optional(Type.String()) });
const Message = Type.Object({
  role: Type.Union([
    Type.Literal("system"),
    Type.Literal("developer"),
    Type.Literal("user"),
    Type.Literal("assistant"),
    Type.Literal("tool"),
  ]),
  content: Type.Union([Type.String(), Type.Array(ContentPart, { maxItems: 100 }), Type.Null()]),
});

// Sampling settings OpenAI clients send (temperature, top_p, max_tokens, …) are accepted and not used: a chain's
// model settings are its config's, so that every answer of a variant is comparable.
const ChatBody = Type.Object({
  model: Type.String({ minLength: 1, maxLength: 200 }),
  messages: Type.Array(Message, { minItems: 1, maxItems: 500 }),
  stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  stream_options: Type.Optional(
    Type.Union([Type.Object({ include_usage: Type.Optional(Type.Boolean()) }), Type.Null()]),
  ),
});
type ChatBody = Static<typeof ChatBody>;

/** The models one chain offers: its name, and for a qa chain with variants, each as chain:variant. */
function modelIds(name: string, variants: { name: string }[]): string[] {
  return [name, ...(variants.length > 1 ? variants.map((v) => `${name}:${v.name}`) : [])];
}

export const openAIRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.setErrorHandler((error, request, reply) => sendOpenAIError(error as Error, request, reply));
  const started = Math.floor(Date.now() / 1000);
  const scopes: Scope[] = ["query", "chat"];

  app.get(
    "/v1/models",
    { config: { scopes }, schema: { tags: ["openai"], summary: "The chains, as OpenAI-compatible models" } },
    async () => {
      const { chains } = app.services;
      const qa = new Map(chains.qaChains().map((h) => [h.name, h]));
      const ids = [...chains.configs.values()].flatMap((config) =>
        modelIds(config.name, qa.get(config.name)?.variants ?? []),
      );
      return {
        object: "list",
        data: ids.map((id) => ({ id, object: "model", created: started, owned_by: "counsel" })),
      };
    },
  );

  app.post(
    "/v1/chat/completions",
    {
      config: { scopes, fairTurn: true },
      schema: {
        tags: ["openai"],
        summary: "OpenAI-compatible chat completions: `model` names a chain (or chain:variant)",
        description:
          "The last message (role user) is the question. Streams `chat.completion.chunk`s with `stream: true`. " +
          "Sources, citations and the runId ride in a `counsel` field. Errors in OpenAI's error shape.",
        body: ChatBody,
      },
    },
    async (request, reply) => {
      const body = request.body;
      const { message, history } = readConversation(body.messages);
      const [chain, variant] = splitModel(body.model);
      const config = app.services.chains.configs.get(chain);
      if (!config) throw modelNotFound(body.model);
      const need: Scope = config.type === "advisor" ? "chat" : "query";
      if (!request.principal?.scopes.has(need))
        throw new CounselError(
          "forbidden",
          403,
          `This key may not use model ${body.model}: it needs the scope ${need}.`,
        );

      const meta: CompletionMeta = {
        id: `chatcmpl-${crypto.randomUUID()}`,
        created: now(),
        model: body.model,
      };
      const stream = body.stream ? openTurnStream(app, request, reply) : undefined;
      const signal = stream?.signal ?? clientAbortSignal(reply);
      let turn: AsyncGenerator<TurnEvent>;
      if (config.type === "advisor") {
        if (variant) throw modelNotFound(body.model);
        const advisor = app.services.advisor(chain); // 503 without a model that can call tools
        turn = advisor.chat(
          { message, history },
          { tenant: request.tenant, signal, baseUrl: requestOrigin(request) },
        );
      } else {
        const handle = app.services.qaChain(chain);
        // Checked before anything is sent: a stream's status cannot change once it has begun.
        if (variant && variant !== DEFAULT_VARIANT && !handle.variants.some((v) => v.name === variant))
          throw modelNotFound(body.model);
        turn = qaTurn(handle, { question: message }, { tenant: request.tenant, signal, variant });
      }

      if (!stream) {
        try {
          return await completion(turn, meta);
        } catch (error) {
          throw asRequestError(error);
        }
      }
      const chunks = completionChunks(turn, meta, {
        includeUsage: body.stream_options?.include_usage === true,
      });
      reply.raw.once("close", () => stream.close());
      reply
        .type("text/event-stream; charset=utf-8")
        .header("cache-control", "no-cache")
        .header("x-accel-buffering", "no");
      return reply.send(
        Readable.from(
          asEventStream(chunks, signal, (error) =>
            request.log.error({ err: error }, "completion stream failed"),
          ),
        ),
      );
    },
  );
};

/** The question (the last message, a user's) and the conversation before it. */
function readConversation(messages: ChatBody["messages"]): { message: string; history: BaseMessage[] } {
  const last = messages.at(-1) as ChatBody["messages"][number];
  if (last.role !== "user")
    throw paramError("messages", `The last message must be the user's question, not a ${last.role} message.`);
  const message = textOf(last.content, messages.length - 1).trim();
  if (!message) throw paramError("messages", "The last user message has no text.");
  if (message.length > MAX_MESSAGE_CHARS)
    throw paramError("messages", `The question is over ${MAX_MESSAGE_CHARS} characters.`);
  // System and developer messages are not passed on: a chain's instructions are its prompt. Tool messages
  // belong to tools the client ran, which Counsel's chains never ask for.
  const history = messages.slice(0, -1).flatMap((m, i): BaseMessage[] => {
    if (m.role === "user") return [new HumanMessage(textOf(m.content, i))];
    if (m.role === "assistant") return [new AIMessage(textOf(m.content, i))];
    return [];
  });
  return { message, history };
}

function textOf(content: ChatBody["messages"][number]["content"], index: number): string {
  if (content === null) return "";
  if (typeof content === "string") return content;
  return content
    .map((part, p) => {
      if (part.type !== "text" || typeof part.text !== "string")
        throw paramError(
          `messages.${index}.content.${p}`,
          `Only text content is read; a "${part.type}" part is not supported.`,
        );
      return part.text;
    })
    .join("");
}

function splitModel(model: string): [string, string | undefined] {
  const at = model.indexOf(":");
  return at < 0 ? [model, undefined] : [model.slice(0, at), model.slice(at + 1)];
}

function modelNotFound(model: string) {
  return new CounselError(
    "model_not_found",
    404,
    `The model ${model} does not exist: GET /v1/models lists the chains.`,
    { param: "model" },
  );
}

function paramError(param: string, message: string) {
  return new BadRequestError(message, { param });
}

/** A failure after the turn began: an unknown variant is the client's, a shutdown is a shutdown. */
function asRequestError(error: unknown): unknown {
  if (error instanceof UnknownVariantError) return new BadRequestError(error.message, { param: "model" });
  return error;
}

/**
 * Chunks as Server-Sent Events, ending with `data: [DONE]`; a failure mid-stream is sent as an OpenAI error
 * object (which the openai SDK raises as an APIError) and the stream ends.
 */
async function* asEventStream(
  chunks: AsyncIterable<unknown>,
  signal: AbortSignal,
  log: (error: unknown) => void,
): AsyncGenerator<string> {
  try {
    for await (const chunk of chunks) yield `data: ${JSON.stringify(chunk)}\n\n`;
    yield "data: [DONE]\n\n";
  } catch (error) {
    if (signal.aborted && !(signal.reason instanceof ShuttingDownError)) return; // the client left
    const cause =
      signal.reason instanceof ShuttingDownError ? signal.reason : (asRequestError(error) as Error);
    const problem = toProblem(cause);
    if (problem.status >= 500 && !(cause instanceof CounselError)) log(error);
    yield `data: ${JSON.stringify(openAIError(problem))}\n\n`;
  }
}

const now = () => Math.floor(Date.now() / 1000);
