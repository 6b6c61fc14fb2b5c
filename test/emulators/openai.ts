// A local OpenAI-compatible server that speaks the wire protocol of OpenAI's API as the openai client reads it, so
// that LangChain's ChatOpenAICompletions and OpenAIEmbeddings run unchanged against it:
// - GET /v1/models: the served models, as a `list` of `model` objects (Ollama names them with a :latest tag).
// - POST /v1/chat/completions: a `chat.completion`, or with `stream: true` Server-Sent Events of
//   `chat.completion.chunk` ending in `data: [DONE]`: the role first, text in word-sized deltas, each tool call
//   opened with its id and name and its arguments in fragments (keyed by `index`), a finish chunk, and, when
//   `stream_options.include_usage` asks, `usage: null` on every chunk and a last chunk with no choices and the
//   usage. Replies are scripted by the test, one per call, as a model's turns would come.
// - POST /v1/embeddings: vectors of the local hashed embedder (so retrieval through it still means something),
//   as float arrays or, as the openai client asks by default, base64 of little-endian float32; `dimensions`
//   shortened and renormalised (OpenAI's text-embedding-3), refused with a 400 (ada-002, vLLM) or ignored (older
//   Ollama), per model.
// Errors have OpenAI's shape ({ error: { message, type, param, code } }). Faults: 429, 503 and 500, and an error
// event in the middle of a stream. Every request is recorded.

import { randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { closeNow, listenOnLoopback } from "./loopback.ts";

/** How an embedding model treats a `dimensions` it is sent. */
export type Shortening = "shorten" | "refuse" | "ignore";

export interface EmulatedModel {
  kind: "chat" | "embedding";
  /** Embedding models: the vector size they make. */
  dimensions?: number;
  shortening?: Shortening;
  /**
   * Vectors with every component non-zero, as a neural embedding model gives them (the hashed ones are mostly
   * zeros): the hashed vector plus a small constant spread, renormalised.
   */
  dense?: boolean;
}

/** The models served by default: two as Ollama names them, two of OpenAI's. */
export const DEFAULT_MODELS: Record<string, EmulatedModel> = {
  "llama3.2:latest": { kind: "chat" },
  "nomic-embed-text:latest": { kind: "embedding", dimensions: 768, shortening: "ignore" },
  "gpt-4o-mini": { kind: "chat" },
  "text-embedding-3-small": { kind: "embedding", dimensions: 1536, shortening: "shorten" },
  "text-embedding-ada-002": { kind: "embedding", dimensions: 1536, shortening: "refuse" },
  "mxbai-embed-large:latest": { kind: "embedding", dimensions: 1024, shortening: "ignore", dense: true },
};

/** One scripted assistant turn: text, tool calls, or both. */
export interface ScriptedReply {
  text?: string;
  toolCalls?: { name: string; arguments: Record<string, unknown> }[];
}

/**
 * What goes wrong with a request: a 429 (rate limit, or an exhausted quota), a 503 or a 500 before anything
 * is sent, which the openai client retries; an error event after the first text deltas of a stream, which it
 * cannot.
 */
export type OpenAIFault = "rate-limit" | "quota" | "overloaded" | "server-error" | "stream-error";

export interface RecordedOpenAIRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | null;
  status?: number;
  /** The usage the reply reported. */
  usage?: { prompt_tokens: number; completion_tokens?: number; total_tokens: number };
  /** Chunks of a stream written so far (data lines, [DONE] excluded). */
  chunksSent: number;
  /** Set when the client hung up before the reply was complete. */
  aborted: boolean;
}

export interface OpenAIEmulatorOptions {
  models?: Record<string, EmulatedModel>;
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Pause between the chunks of a stream, to make streaming observable. */
  chunkDelayMs?: number;
  /** Latency of every embeddings call, as a remote model would add. */
  embedDelayMs?: number;
  /**
   * retry-after-ms sent with every fault: the openai client waits as it says (before retry-after, in whole
   * seconds) rather than its own backoff of half a second and more, so that tests wait milliseconds. Default 10.
   */
  retryAfterMs?: number;
  /** The reply when no scripted one is left. */
  defaultReply?: ScriptedReply;
}

interface ChatRequest {
  model?: unknown;
  messages?: unknown;
  stream?: unknown;
  stream_options?: { include_usage?: boolean } | null;
  tools?: unknown;
}

interface EmbeddingsRequest {
  model?: unknown;
  input?: unknown;
  dimensions?: unknown;
  encoding_format?: unknown;
}

export class OpenAIEmulator {
  readonly requests: RecordedOpenAIRequest[] = [];
  /** Faults for the next chat completions, one per request, in order. */
  chatFaults: OpenAIFault[] = [];
  /** Faults for the next embeddings calls ("stream-error" does not apply). */
  embeddingFaults: Exclude<OpenAIFault, "stream-error">[] = [];
  /** Most embeddings calls in flight at once: what a client's concurrency limit must bound. */
  maxInFlight = 0;
  private inFlight = 0;
  private readonly replies: ScriptedReply[] = [];
  private readonly models: Record<string, EmulatedModel>;
  private server?: Server;

  constructor(private readonly options: OpenAIEmulatorOptions = {}) {
    this.models = options.models ?? DEFAULT_MODELS;
  }

  /** Queues the model's next turns, answered one per chat completion in order. */
  reply(...turns: ScriptedReply[]): this {
    this.replies.push(...turns);
    return this;
  }

  /** The chat completions asked so far (failed attempts included). */
  get chatRequests(): RecordedOpenAIRequest[] {
    return this.requests.filter((r) => r.path === "/v1/chat/completions");
  }

  get embeddingRequests(): RecordedOpenAIRequest[] {
    return this.requests.filter((r) => r.path === "/v1/embeddings");
  }

  /** Starts listening on a free loopback port; resolves with the base URL a client takes (…/v1). */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const record: RecordedOpenAIRequest = {
          method: req.method ?? "GET",
          path: (req.url ?? "/").split("?")[0],
          headers: req.headers,
          body: parseBody(Buffer.concat(chunks).toString("utf8")),
          chunksSent: 0,
          aborted: false,
        };
        this.requests.push(record);
        res.on("close", () => {
          if (!res.writableEnded) record.aborted = true;
        });
        void this.handle(record, res).catch((error: Error) => {
          if (!res.headersSent) sendError(res, record, 500, error.message, "server_error");
          else res.destroy(error);
        });
      });
    });
    return `${await listenOnLoopback(this.server)}/v1`;
  }

  async stop(): Promise<void> {
    await closeNow(this.server);
  }

  private async handle(record: RecordedOpenAIRequest, res: ServerResponse) {
    const route = `${record.method} ${record.path}`;
    const known = ["GET /v1/models", "POST /v1/chat/completions", "POST /v1/embeddings"];
    if (!known.includes(route)) {
      return sendError(res, record, 404, `Invalid URL (${route})`, "invalid_request_error");
    }
    if (this.options.apiKey && record.headers.authorization !== `Bearer ${this.options.apiKey}`) {
      const sent = (record.headers.authorization ?? "").replace(/^Bearer /, "");
      return sendError(
        res,
        record,
        401,
        `Incorrect API key provided: ${sent.slice(0, 3)}***. You can find your API key at https://platform.openai.com/account/api-keys.`,
        "invalid_request_error",
        "invalid_api_key",
      );
    }
    if (route === "GET /v1/models") return this.listModels(record, res);
    if (record.body === null) {
      return sendError(
        res,
        record,
        400,
        "We could not parse the JSON body of your request.",
        "invalid_request_error",
      );
    }
    if (route === "POST /v1/embeddings") {
      const fault = this.embeddingFaults.shift();
      return fault ? this.sendFault(fault, record, res) : this.embeddings(record, res);
    }
    const fault = this.chatFaults.shift();
    if (fault && fault !== "stream-error") return this.sendFault(fault, record, res);
    return this.chat(record, res, fault === "stream-error");
  }

  private listModels(record: RecordedOpenAIRequest, res: ServerResponse) {
    const created = 1_700_000_000;
    const data = Object.keys(this.models).map((id) => ({
      id,
      object: "model",
      created,
      owned_by: id.includes(":") ? "library" : "openai",
    }));
    sendJson(res, record, 200, { object: "list", data });
  }

  /** The fault's reply, as OpenAI words it. */
  private sendFault(
    fault: Exclude<OpenAIFault, "stream-error">,
    record: RecordedOpenAIRequest,
    res: ServerResponse,
  ) {
    const retryAfter = {
      "retry-after": "1",
      "retry-after-ms": String(this.options.retryAfterMs ?? 10),
    };
    const model = String(record.body?.model ?? "");
    if (fault === "rate-limit") {
      sendError(
        res,
        record,
        429,
        `Rate limit reached for ${model} on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.`,
        "requests",
        "rate_limit_exceeded",
        retryAfter,
      );
    } else if (fault === "quota") {
      sendError(
        res,
        record,
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        "insufficient_quota",
        retryAfter,
      );
    } else if (fault === "overloaded") {
      sendError(
        res,
        record,
        503,
        "The engine is currently overloaded, please try again later.",
        "server_error",
        null,
        retryAfter,
      );
    } else {
      sendError(
        res,
        record,
        500,
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        null,
        retryAfter,
      );
    }
  }

  private async chat(record: RecordedOpenAIRequest, res: ServerResponse, breakStream: boolean) {
    const body = record.body as ChatRequest;
    const model = this.resolve(body.model);
    if (typeof body.model !== "string" || !model || model.kind !== "chat") {
      return modelNotFound(res, record, body.model);
    }
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      return sendError(
        res,
        record,
        400,
        "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        "invalid_request_error",
        "empty_array",
        {},
        "messages",
      );
    }
    const turn = this.replies.shift() ?? this.options.defaultReply ?? { text: "No reply was scripted." };
    const toolCalls = (turn.toolCalls ?? []).map((call) => ({
      id: `call_${randomBytes(12).toString("hex")}`,
      type: "function" as const,
      function: { name: call.name, arguments: JSON.stringify(call.arguments) },
    }));
    const promptTokens = countTokens(JSON.stringify(body.messages));
    const completionTokens = Math.max(
      1,
      countTokens(turn.text ?? "") + toolCalls.reduce((n, c) => n + countTokens(c.function.arguments), 0),
    );
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    };
    record.usage = usage;
    const finish = toolCalls.length > 0 ? "tool_calls" : "stop";
    const head = {
      id: `chatcmpl-${randomBytes(15).toString("base64url")}`,
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      service_tier: "default",
      system_fingerprint: "fp_emulator",
    };

    if (body.stream !== true) {
      return sendJson(res, record, 200, {
        ...head,
        object: "chat.completion",
        choices: [
          {
            index: 0,
            message: {
              role: "assistant",
              content: turn.text ?? null,
              refusal: null,
              annotations: [],
              ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
            },
            logprobs: null,
            finish_reason: finish,
          },
        ],
        usage,
      });
    }

    const includeUsage = body.stream_options?.include_usage === true;
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
      ...head,
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
    });
    const chunks: unknown[] = [chunk({ role: "assistant", content: "", refusal: null })];
    for (const piece of words(turn.text ?? "")) chunks.push(chunk({ content: piece }));
    for (const [index, call] of toolCalls.entries()) {
      chunks.push(
        chunk({
          tool_calls: [
            { index, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } },
          ],
        }),
      );
      for (const fragment of fragments(call.function.arguments, 8))
        chunks.push(chunk({ tool_calls: [{ index, function: { arguments: fragment } }] }));
    }
    chunks.push(chunk({}, finish));
    if (includeUsage) chunks.push({ ...head, object: "chat.completion.chunk", choices: [], usage });

    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
    for (const [i, data] of chunks.entries()) {
      if (res.destroyed) return;
      if (breakStream && i === 3) {
        const error = {
          message: "The server had an error while processing your request. Sorry about that!",
          type: "server_error",
          param: null,
          code: null,
        };
        res.end(`data: ${JSON.stringify({ error })}\n\n`);
        return;
      }
      res.write(`data: ${JSON.stringify(data)}\n\n`);
      record.chunksSent += 1;
      if (this.options.chunkDelayMs) await new Promise((r) => setTimeout(r, this.options.chunkDelayMs));
    }
    res.end("data: [DONE]\n\n");
    record.status = 200;
  }

  private async embeddings(record: RecordedOpenAIRequest, res: ServerResponse) {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.options.embedDelayMs) await new Promise((r) => setTimeout(r, this.options.embedDelayMs));
      const body = record.body as EmbeddingsRequest;
      const model = this.resolve(body.model);
      if (typeof body.model !== "string" || !model || model.kind !== "embedding") {
        return modelNotFound(res, record, body.model);
      }
      const texts = typeof body.input === "string" ? [body.input] : body.input;
      if (
        !Array.isArray(texts) ||
        texts.length === 0 ||
        texts.some((t) => typeof t !== "string" || t === "")
      ) {
        return sendError(
          res,
          record,
          400,
          "'$.input' is invalid. Please check the API reference.",
          "invalid_request_error",
        );
      }
      if (texts.length > 2048) {
        return sendError(
          res,
          record,
          400,
          `'$.input' is too long: ${texts.length} items, at most 2048.`,
          "invalid_request_error",
        );
      }
      const native = model.dimensions ?? 768;
      let size = native;
      if (body.dimensions !== undefined) {
        const asked = body.dimensions;
        if (model.shortening === "refuse") {
          return sendError(
            res,
            record,
            400,
            "This model does not support specifying dimensions.",
            "invalid_request_error",
            null,
            {},
            "dimensions",
          );
        }
        const valid = typeof asked === "number" && Number.isInteger(asked) && asked >= 1 && asked <= native;
        if (model.shortening === "shorten" && !valid) {
          return sendError(
            res,
            record,
            400,
            `Invalid 'dimensions': expected an integer between 1 and ${native}.`,
            "invalid_request_error",
            null,
            {},
            "dimensions",
          );
        }
        if (model.shortening === "shorten") size = asked as number;
      }
      const base64 = body.encoding_format === "base64";
      const embedder = new LocalHashEmbeddings({ dimensions: native });
      const data = (texts as string[]).map((text, index) => {
        const hashed = embedder.embed(text);
        const vector = shorten(model.dense ? densified(hashed) : hashed, size);
        return { object: "embedding", index, embedding: base64 ? toBase64(vector) : vector };
      });
      const tokens = (texts as string[]).reduce((n, t) => n + countTokens(t), 0);
      const usage = { prompt_tokens: tokens, total_tokens: tokens };
      record.usage = usage;
      sendJson(res, record, 200, { object: "list", data, model: body.model, usage });
    } finally {
      this.inFlight -= 1;
    }
  }

  /** A model by the name a request gives: Ollama takes a bare name for its :latest tag. */
  private resolve(name: unknown): EmulatedModel | undefined {
    if (typeof name !== "string") return undefined;
    return this.models[name] ?? this.models[`${name}:latest`];
  }
}

/** Every component non-zero: a spread of ±0.01 added (the same for every text), then unit length again. */
function densified(vector: number[]): number[] {
  const spread = vector.map((x, i) => x + (i % 3 === 0 ? -0.01 : 0.01));
  const norm = Math.hypot(...spread);
  return spread.map((x) => x / norm);
}

function parseBody(text: string): Record<string, unknown> | null {
  if (text === "") return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function sendJson(
  res: ServerResponse,
  record: RecordedOpenAIRequest,
  status: number,
  body: unknown,
  headers = {},
) {
  record.status = status;
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function sendError(
  res: ServerResponse,
  record: RecordedOpenAIRequest,
  status: number,
  message: string,
  type: string,
  code: string | null = null,
  headers: Record<string, string> = {},
  param: string | null = null,
) {
  sendJson(res, record, status, { error: { message, type, param, code } }, headers);
}

function modelNotFound(res: ServerResponse, record: RecordedOpenAIRequest, model: unknown) {
  sendError(
    res,
    record,
    404,
    `The model \`${String(model)}\` does not exist or you do not have access to it.`,
    "invalid_request_error",
    "model_not_found",
  );
}

/** Text in the pieces a model streams: each word with the space before it. */
function words(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

function fragments(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function countTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** The first `size` values, renormalised to unit length, as OpenAI shortens text-embedding-3 vectors. */
function shorten(vector: number[], size: number): number[] {
  if (size >= vector.length) return vector;
  const head = vector.slice(0, size);
  const norm = Math.hypot(...head) || 1;
  return head.map((v) => v / norm);
}

/** Little-endian float32 bytes, base64: what `encoding_format: "base64"` returns. */
function toBase64(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString("base64");
}
