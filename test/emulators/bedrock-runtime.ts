// A local Bedrock Runtime that speaks the real wire protocol: it answers Converse with a recorded JSON body and
// ConverseStream with recorded application/vnd.amazon.eventstream bytes (test/fixtures/bedrock), so that the
// real AWS SDK and LangChain's ChatBedrockConverse run unchanged against it. A request with tools replays a
// recorded tool-use conversation, turn by turn. Production code reaches it only
// through the SDK's endpoint setting (AWS_ENDPOINT_URL_BEDROCK_RUNTIME). It records what it was asked, and can
// send the stream slowly (frame by frame) to test streaming and disconnects. It speaks HTTP/2 (cleartext, on
// loopback), as the SDK's own Bedrock Runtime handler does against AWS, and HTTP/1.1 on the same port, as Counsel's
// keep-alive handler does (src/models/bedrock-client.ts): Bedrock Runtime serves both. ApplyGuardrail answers in the
// service model's shapes, from guardrails a test configures (what they block or mask is the test's, not a
// classifier's), with the assessment details of a recorded guardrail trace (test/fixtures/bedrock/SOURCES.md).

import { readFile } from "node:fs/promises";
import { createServer as createHttp1Server, type IncomingHttpHeaders } from "node:http";
import { createServer as createHttp2Server } from "node:http2";
import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import path from "node:path";
import { Duplex } from "node:stream";
import { crc32 } from "node:zlib";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { listenOnLoopback } from "./loopback.ts";

/** What the handler uses of a request and a response, the same in node:http and node:http2's compatibility API. */
interface Request extends AsyncIterable<unknown> {
  url?: string;
  method?: string;
  headers: IncomingHttpHeaders;
  httpVersion: string;
}
interface Response {
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: Buffer | string): unknown;
  end(): unknown;
  end(chunk: Buffer | string): unknown;
  on(event: "close", listener: () => void): unknown;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
}

/**
 * The socket as a stream that first gives back the bytes already read from it. node:http takes a socket's unread
 * bytes back (unshift); node:http2 reads the TCP handle directly and would lose them, but it accepts any Duplex.
 */
function replaying(socket: Socket, first: Buffer): Duplex {
  const stream = new Duplex({
    read: () => void socket.resume(),
    write: (chunk, encoding, done) => void socket.write(chunk, encoding, done),
    final: (done) => void socket.end(done),
    destroy: (error, done) => {
      socket.destroy(error ?? undefined);
      done(error);
    },
  });
  stream.push(first);
  socket.on("data", (chunk) => {
    if (!stream.push(chunk)) socket.pause();
  });
  socket.on("end", () => stream.push(null));
  socket.on("close", () => stream.destroy());
  socket.on("error", (error) => stream.destroy(error));
  return stream;
}

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/bedrock");

export interface RecordedRequest {
  operation: "converse" | "converse-stream" | "invoke";
  modelId: string;
  body: unknown;
  headers: IncomingHttpHeaders;
  /** "2.0" or "1.1": which protocol the client spoke. */
  httpVersion: string;
  /** Set when the client hung up before the reply was complete. */
  aborted: boolean;
  /** performance.now() when the first text delta of a stream was written: the model's first token. */
  firstTextAt?: number;
  /** performance.now() when a stream's last frame was written; unset when the client abandoned it. */
  endedAt?: number;
}

/**
 * A guardrail ApplyGuardrail knows. Its policies are the test's stand-ins for Bedrock's: a denied topic blocks a
 * text that names one of its phrases, a custom word blocks wherever it appears, and e-mail addresses are masked.
 */
export interface EmulatedGuardrail {
  /** Published versions ("1", "2", …); DRAFT, the working draft, always exists. */
  versions?: string[];
  deniedTopics?: { name: string; phrases: string[] }[];
  blockedWords?: string[];
  /** Sensitive information: EMAIL with the action ANONYMIZE, masked as {EMAIL}. */
  anonymizeEmail?: boolean;
  blockedInputMessaging?: string;
  blockedOutputsMessaging?: string;
}

/** One ApplyGuardrail call as the emulator saw and answered it. */
export interface GuardrailCall {
  guardrailIdentifier: string;
  guardrailVersion: string;
  source: string;
  /** The text blocks' text, joined. */
  text: string;
  /** The response's action, or the error it was answered with. */
  outcome: "NONE" | "GUARDRAIL_INTERVENED" | string;
  /** performance.now() when it was answered. */
  at: number;
}

/**
 * What goes wrong with the next ConverseStream call: a 429 or 500 before the stream starts (the SDK retries
 * both), a frame whose checksum does not match after two good ones, or a throttlingException event mid-stream
 * (how Bedrock reports throttling once the stream has begun).
 */
export type StreamFault = "throttle" | "internal" | "malformed-frame" | "exception-event";

export interface BedrockEmulatorOptions {
  /** Pause between event-stream frames, to make streaming observable. */
  frameDelayMs?: number;
  /**
   * A long reply: after a stream's first text delta, this many more deltas of `bytes` characters each, encoded
   * like the recorded ones, to fill a slow reader's buffers.
   */
  longReply?: { frames: number; bytes: number };
  /** Frames sent between two pauses of frameDelayMs (default 1): a long stream at a model's pace. */
  framesPerDelay?: number;
  /** Latency of every InvokeModel call, as a remote model would add. */
  invokeDelayMs?: number;
  /** The guardrails ApplyGuardrail knows, by id (a request may name one by its ARN). */
  guardrails?: Record<string, EmulatedGuardrail>;
  /** Latency of every ApplyGuardrail call (AWS's recorded ones took 277 and 296 ms). */
  guardrailDelayMs?: number;
}

/** ApplyGuardrail's patterns in the service model. */
const GUARDRAIL_ID =
  /^(?:([a-z0-9]+)|arn:aws(?:-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail\/([a-z0-9]+))$/;
const GUARDRAIL_VERSION = /^(?:[1-9][0-9]{0,7}|DRAFT)$/;
/** The console's default blocked messaging. */
const BLOCKED_MESSAGING = "Sorry, the model cannot answer this question.";
const EMAIL = /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g;

export class BedrockRuntimeEmulator {
  readonly requests: RecordedRequest[] = [];
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  /** TCP connections accepted so far: a client that keeps its connections alive opens few. */
  connections = 0;
  private converseBody = "";
  private streamFrames: Buffer[] = [];
  /** Titan's response fields besides the vector, from the recording (token count, embeddingsByType). */
  private titanTemplate: Record<string, unknown> = {};
  private cohereV3Template: { id?: string } = {};
  private cohereV4Template: { id?: string } = {};
  /** Every Cohere embedding call: how many texts, and which side (search_document or search_query). */
  readonly cohereCalls: { modelId: string; texts: number; inputType: string }[] = [];
  /** InvokeModel calls answered with 429 ThrottlingException before the next succeeds. */
  throttleNext = 0;
  /** Tool-use conversations: a request with `toolConfig` is answered by its turn (assistant messages so far). */
  private toolConverseBodies: string[] = [];
  private toolStreamFrames: Buffer[][] = [];
  /** Faults for the next ConverseStream calls, one per call, in order. */
  streamFaults: StreamFault[] = [];
  /** Most InvokeModel calls in flight at once: what a client's concurrency limit must bound. */
  maxInFlight = 0;
  private inFlight = 0;
  /** Every ApplyGuardrail call, in order (apart from `requests`, which are the model calls). */
  readonly guardrailCalls: GuardrailCall[] = [];
  /** ApplyGuardrail calls answered with 429 ThrottlingException before the next succeeds. */
  throttleGuardrailNext = 0;
  /** A recorded guardrail assessment: its appliedGuardrailDetails and invocationMetrics are the shapes to answer. */
  private assessmentTemplate: {
    appliedGuardrailDetails: Record<string, unknown>;
    invocationMetrics: Record<string, unknown> & { usage: Record<string, number> };
  } = { appliedGuardrailDetails: {}, invocationMetrics: { usage: {} } };
  private noActionReason = "";

  constructor(private readonly options: BedrockEmulatorOptions = {}) {}

  /** The recorded Converse reply text, for assertions. */
  converseText = "";
  /** The text the recorded stream's deltas add up to. */
  streamText = "";

  async start(): Promise<string> {
    const converse = JSON.parse(await readFile(path.join(FIXTURES, "converse_text_nova-micro.json"), "utf8"));
    const reply = converse.interactions[0].response.body;
    this.converseBody = JSON.stringify(reply);
    this.converseText = reply.output.message.content.map((c: { text: string }) => c.text).join("");
    const stream = JSON.parse(
      await readFile(path.join(FIXTURES, "converse-stream_text_nova-micro.json"), "utf8"),
    );
    this.streamText = stream.interactions[0].response.eventStream
      .map((e: { payload: { delta?: { text?: string } } }) => e.payload?.delta?.text ?? "")
      .join("");
    const titan = JSON.parse(
      await readFile(path.join(FIXTURES, "invoke-model_titan-embed-text-v2_256d.json"), "utf8"),
    );
    this.titanTemplate = titan.interactions[0].response.body;
    const recorded = async (file: string) =>
      JSON.parse(await readFile(path.join(FIXTURES, file), "utf8")).interactions[0].response.body;
    this.cohereV3Template = await recorded("invoke-model_cohere-embed-english-v3_search-query.json");
    this.cohereV4Template = await recorded("invoke-model_cohere-embed-v4_search-document-batch.json");
    const toolUse = JSON.parse(
      await readFile(path.join(FIXTURES, "converse_tool-use-roundtrip_nova-micro.json"), "utf8"),
    );
    this.toolConverseBodies = toolUse.interactions.map((i: { response: { body: unknown } }) =>
      JSON.stringify(i.response.body),
    );
    for (const turn of [0, 1]) {
      const file = `converse-stream_tool-use-roundtrip_nova-micro.${turn}.eventstream.bin`;
      this.toolStreamFrames.push(splitFrames(await readFile(path.join(FIXTURES, file))));
    }
    this.streamFrames = splitFrames(
      await readFile(path.join(FIXTURES, "converse-stream_text_nova-micro.eventstream.bin")),
    );
    const trace = (await recorded("converse_guardrail-trace_nova-micro.json")).trace.guardrail;
    this.noActionReason = trace.actionReason;
    this.assessmentTemplate = (
      Object.values(trace.outputAssessments)[0] as (typeof this.assessmentTemplate)[]
    )[0];

    // One port, both protocols: a connection that opens with HTTP/2's preface goes to the HTTP/2 server.
    const handle = (req: Request, res: Response) => void this.handle(req, res);
    const h2 = createHttp2Server(handle);
    const h1 = createHttp1Server(handle);
    // noDelay as node:http and node:http2 servers set it on what they accept: frames go out as written.
    this.server = createTcpServer({ noDelay: true }, (socket) => {
      this.sockets.add(socket);
      this.connections += 1;
      socket.on("close", () => this.sockets.delete(socket));
      socket.once("data", (first) => {
        socket.pause();
        if (first.toString("latin1", 0, 3) === "PRI")
          return void h2.emit("connection", replaying(socket, first));
        socket.unshift(first);
        h1.emit("connection", socket);
        socket.resume();
      });
    });
    return listenOnLoopback(this.server);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private async handle(req: Request, res: Response) {
    const match = req.url?.match(/^\/model\/([^/]+)\/(converse-stream|converse|invoke)$/);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const guardrail = req.url?.match(/^\/guardrail\/([^/]+)\/version\/([^/]+)\/apply$/);
    if (req.method === "POST" && guardrail) {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "null");
      await this.applyGuardrail(
        decodeURIComponent(guardrail[1]),
        decodeURIComponent(guardrail[2]),
        body,
        res,
      );
      return;
    }
    if (req.method !== "POST" || !match) {
      res.writeHead(404, {
        "content-type": "application/json",
        "x-amzn-errortype": "UnknownOperationException",
      });
      res.end(JSON.stringify({ message: `no such operation: ${req.method} ${req.url}` }));
      return;
    }
    const record: RecordedRequest = {
      operation: match[2] as RecordedRequest["operation"],
      modelId: decodeURIComponent(match[1]),
      body: JSON.parse(Buffer.concat(chunks).toString("utf8") || "null"),
      headers: req.headers,
      httpVersion: req.httpVersion,
      aborted: false,
    };
    this.requests.push(record);
    res.on("close", () => {
      if (!res.writableEnded) record.aborted = true;
    });

    const turn = toolTurn(record.body);
    if (record.operation === "converse") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(turn === undefined ? this.converseBody : this.toolConverseBodies[turn]);
      return;
    }
    if (record.operation === "converse-stream") {
      const frames = turn === undefined ? this.streamFrames : this.toolStreamFrames[turn];
      await this.converseStream(res, frames, this.streamFaults.shift(), record);
      return;
    }
    await this.invoke(record, res);
  }

  private async converseStream(
    res: Response,
    frames: Buffer[],
    fault: StreamFault | undefined,
    record: RecordedRequest,
  ) {
    if (fault === "throttle") {
      return sendError(
        res,
        429,
        "ThrottlingException",
        "Too many requests, please wait before trying again.",
      );
    }
    if (fault === "internal") {
      return sendError(res, 500, "InternalServerException", "The server encountered an internal error.");
    }
    res.writeHead(200, { "content-type": "application/vnd.amazon.eventstream" });
    const sent = this.options.longReply ? lengthen(frames, this.options.longReply) : frames;
    for (const [i, recorded] of sent.entries()) {
      if (res.destroyed) return;
      let frame = recorded;
      if (i === 2 && fault === "malformed-frame") {
        frame = Buffer.from(recorded);
        frame[frame.length - 6] ^= 0xff; // a payload byte: the message checksum no longer matches
      }
      if (i === 2 && fault === "exception-event") {
        frame = encodeFrame(
          {
            ":message-type": "exception",
            ":exception-type": "throttlingException",
            ":content-type": "application/json",
          },
          JSON.stringify({ message: "Too many tokens, please wait before trying again." }),
        );
      }
      res.write(frame);
      if (record.firstTextAt === undefined && isTextDelta(frame)) record.firstTextAt = performance.now();
      if (frame !== recorded) return void res.end();
      const pause = this.options.frameDelayMs && i % (this.options.framesPerDelay ?? 1) === 0;
      if (pause) await new Promise((r) => setTimeout(r, this.options.frameDelayMs));
    }
    if (!record.aborted) record.endedAt = performance.now();
    res.end();
  }

  /**
   * ApplyGuardrail (POST /guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply, restJson1): a missing
   * guardrail is a 404 ResourceNotFoundException, a version it does not have or a malformed request a 400
   * ValidationException, and `throttleGuardrailNext` calls a 429 ThrottlingException (which the SDK retries).
   */
  private async applyGuardrail(identifier: string, version: string, request: unknown, res: Response) {
    const body = request as { source?: unknown; content?: { text?: { text?: unknown } }[] } | null;
    const texts = Array.isArray(body?.content) ? body.content.map((block) => block?.text?.text) : [];
    const call: GuardrailCall = {
      guardrailIdentifier: identifier,
      guardrailVersion: version,
      source: String(body?.source),
      text: texts.filter((t) => typeof t === "string").join(""),
      outcome: "",
      at: 0,
    };
    this.guardrailCalls.push(call);
    const fail = (status: number, type: string, message: string) => {
      Object.assign(call, { outcome: type, at: performance.now() });
      sendError(res, status, type, message);
    };
    const delay = this.options.guardrailDelayMs ?? 0;
    if (delay) await new Promise((r) => setTimeout(r, delay));
    if (this.throttleGuardrailNext > 0) {
      this.throttleGuardrailNext -= 1;
      return fail(429, "ThrottlingException", "Too many requests, please wait before trying again.");
    }
    const id = identifier.match(GUARDRAIL_ID);
    if (!id) {
      return fail(
        400,
        "ValidationException",
        `1 validation error detected: Value '${identifier}' at 'guardrailIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ${GUARDRAIL_ID.source}`,
      );
    }
    const guardrailId = id[1] ?? id[2];
    const guardrail = this.options.guardrails?.[guardrailId];
    if (!guardrail) return fail(404, "ResourceNotFoundException", `Guardrail ${identifier} was not found.`);
    if (!GUARDRAIL_VERSION.test(version) || (version !== "DRAFT" && !guardrail.versions?.includes(version))) {
      return fail(400, "ValidationException", `Guardrail ${identifier} has no version ${version}.`);
    }
    if (body?.source !== "INPUT" && body?.source !== "OUTPUT") {
      return fail(400, "ValidationException", "source: expected INPUT or OUTPUT");
    }
    if (texts.length === 0 || texts.some((t) => typeof t !== "string")) {
      return fail(400, "ValidationException", "content: expected a list of {text: {text}} blocks");
    }

    const text = call.text;
    const lower = text.toLowerCase();
    const topics = (guardrail.deniedTopics ?? [])
      .filter((topic) => topic.phrases.some((phrase) => lower.includes(phrase.toLowerCase())))
      .map((topic) => ({ name: topic.name, type: "DENY", action: "BLOCKED", detected: true }));
    const words = (guardrail.blockedWords ?? [])
      .filter((word) => lower.includes(word.toLowerCase()))
      .map((word) => ({ match: word, action: "BLOCKED", detected: true }));
    const emails = guardrail.anonymizeEmail
      ? [...text.matchAll(EMAIL)].map((m) => ({
          match: m[0],
          type: "EMAIL",
          action: "ANONYMIZED",
          detected: true,
        }))
      : [];
    const blocked = topics.length > 0 || words.length > 0;
    const intervened = blocked || emails.length > 0;
    // A text unit is up to 1,000 characters, counted for each policy the guardrail has.
    const units = Math.max(1, Math.ceil(text.length / 1000));
    const usage = {
      ...this.assessmentTemplate.invocationMetrics.usage,
      topicPolicyUnits: guardrail.deniedTopics ? units : 0,
      wordPolicyUnits: guardrail.blockedWords ? units : 0,
      sensitiveInformationPolicyUnits: guardrail.anonymizeEmail ? units : 0,
    };
    const coverage = { textCharacters: { guarded: text.length, total: text.length } };
    const messaging =
      body.source === "INPUT" ? guardrail.blockedInputMessaging : guardrail.blockedOutputsMessaging;
    const response = {
      usage,
      action: intervened ? "GUARDRAIL_INTERVENED" : "NONE",
      ...(intervened ? {} : { actionReason: this.noActionReason }),
      outputs: blocked
        ? [{ text: messaging ?? BLOCKED_MESSAGING }]
        : emails.length > 0
          ? texts.map((t) => ({ text: (t as string).replace(EMAIL, "{EMAIL}") }))
          : [],
      assessments: [
        {
          ...(topics.length ? { topicPolicy: { topics } } : {}),
          ...(words.length ? { wordPolicy: { customWords: words, managedWordLists: [] } } : {}),
          ...(emails.length ? { sensitiveInformationPolicy: { piiEntities: emails, regexes: [] } } : {}),
          invocationMetrics: {
            ...this.assessmentTemplate.invocationMetrics,
            guardrailProcessingLatency: delay,
            usage,
            guardrailCoverage: coverage,
          },
          appliedGuardrailDetails: {
            ...this.assessmentTemplate.appliedGuardrailDetails,
            guardrailId,
            guardrailArn: String(this.assessmentTemplate.appliedGuardrailDetails.guardrailArn).replace(
              /[a-z0-9]+$/,
              guardrailId,
            ),
            guardrailVersion: version,
          },
        },
      ],
      guardrailCoverage: coverage,
    };
    Object.assign(call, { outcome: response.action, at: performance.now() });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(response));
  }

  /**
   * Embeddings, in the recorded response shapes of Titan Text Embeddings v2 and Cohere Embed v3/v4, with vectors
   * made from the text by the local embedder, so that retrieval through the emulator still means something.
   * Requests are checked as Bedrock checks them: a bad one gets a 400 ValidationException.
   */
  private async invoke(record: RecordedRequest, res: Response) {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.options.invokeDelayMs) await new Promise((r) => setTimeout(r, this.options.invokeDelayMs));
      if (this.throttleNext > 0) {
        this.throttleNext -= 1;
        return sendError(
          res,
          429,
          "ThrottlingException",
          "Too many requests, please wait before trying again.",
        );
      }
      const reply = record.modelId.includes("cohere.embed")
        ? this.cohere(record.modelId, record.body)
        : record.modelId.includes("amazon.titan-embed-text-v2")
          ? this.titan(record.body)
          : `The emulator answers Titan v2 and Cohere embeddings only, not ${record.modelId}`;
      if (typeof reply === "string") return sendError(res, 400, "ValidationException", reply);
      res.writeHead(200, {
        "content-type": "application/json",
        "x-amzn-bedrock-input-token-count": String(reply.tokens),
      });
      res.end(JSON.stringify(reply.body));
    } finally {
      this.inFlight -= 1;
    }
  }

  private titan(request: unknown): Reply | string {
    const body = request as { inputText?: unknown; dimensions?: number };
    if (typeof body?.inputText !== "string")
      return "Malformed input request: #: required key [inputText] not found";
    const embedding = new LocalHashEmbeddings({ dimensions: body.dimensions ?? 1024 }).embed(body.inputText);
    const tokens = countTokens(body.inputText);
    return {
      tokens,
      body: {
        ...this.titanTemplate,
        embedding,
        embeddingsByType: { float: embedding },
        inputTextTokenCount: tokens,
      },
    };
  }

  private cohere(modelId: string, request: unknown): Reply | string {
    const body = request as {
      texts?: unknown;
      input_type?: unknown;
      embedding_types?: unknown;
      output_dimension?: number;
    };
    const texts = body?.texts;
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== "string" || t === "")) {
      return "Malformed input request: #/texts: expected an array of non-empty strings";
    }
    if (texts.length > 96)
      return `Malformed input request: #/texts: expected maximum item count: 96, found: ${texts.length}`;
    if (!COHERE_INPUT_TYPES.includes(body.input_type as string)) {
      return `Malformed input request: #/input_type: ${String(body.input_type)} is not a valid enum value`;
    }
    const v4 = modelId.includes("embed-v4");
    this.cohereCalls.push({ modelId, texts: texts.length, inputType: body.input_type as string });
    const embedder = new LocalHashEmbeddings({ dimensions: v4 ? (body.output_dimension ?? 1536) : 1024 });
    const vectors = texts.map((t: string) => embedder.embed(t));
    const template = v4 ? this.cohereV4Template : this.cohereV3Template;
    const byType = v4 || Array.isArray(body.embedding_types);
    return {
      tokens: texts.reduce((n: number, t: string) => n + countTokens(t), 0),
      body: {
        id: template.id,
        texts: texts.map((t: string) => t.toLowerCase()),
        embeddings: byType ? { float: vectors } : vectors,
        response_type: byType ? "embeddings_by_type" : "embeddings_floats",
      },
    };
  }
}

/**
 * Which turn of the recorded tool-use conversation a request is at: the number of assistant messages it
 * carries (0: the model asks for a tool; 1: it answers from the tool's result). Undefined without tools.
 */
function toolTurn(body: unknown): number | undefined {
  const request = body as { toolConfig?: unknown; messages?: { role: string }[] } | null;
  if (!request?.toolConfig) return undefined;
  const turns = (request.messages ?? []).filter((m) => m.role === "assistant").length;
  return Math.min(turns, 1);
}

interface Reply {
  tokens: number;
  body: Record<string, unknown>;
}

const COHERE_INPUT_TYPES = ["search_document", "search_query", "classification", "clustering"];

function countTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** The frames with `frames` more text deltas of `bytes` characters after the first one. */
function lengthen(frames: Buffer[], { frames: count, bytes }: { frames: number; bytes: number }): Buffer[] {
  const at = frames.findIndex(isTextDelta) + 1;
  const delta = encodeFrame(
    { ":event-type": "contentBlockDelta", ":content-type": "application/json", ":message-type": "event" },
    JSON.stringify({ contentBlockIndex: 0, delta: { text: "lorem ipsum ".repeat(bytes / 12) } }),
  );
  return [...frames.slice(0, at), ...Array<Buffer>(count).fill(delta), ...frames.slice(at)];
}

/** A contentBlockDelta event carrying text (its header and payload are plain bytes in the frame). */
function isTextDelta(frame: Buffer): boolean {
  return frame.includes("contentBlockDelta") && frame.includes('"text"');
}

function sendError(res: Response, status: number, type: string, message: string) {
  res.writeHead(status, { "content-type": "application/json", "x-amzn-errortype": type });
  res.end(JSON.stringify({ message }));
}

/**
 * One application/vnd.amazon.eventstream message: total and header lengths, the prelude's CRC32, string
 * headers (type 7), the payload, and the CRC32 of all that precedes it.
 */
function encodeFrame(headers: Record<string, string>, payload: string): Buffer {
  const headerBytes = Buffer.concat(
    Object.entries(headers).map(([name, value]) => {
      const n = Buffer.from(name, "utf8");
      const v = Buffer.from(value, "utf8");
      const out = Buffer.alloc(1 + n.length + 1 + 2 + v.length);
      out.writeUInt8(n.length, 0);
      n.copy(out, 1);
      out.writeUInt8(7, 1 + n.length);
      out.writeUInt16BE(v.length, 2 + n.length);
      v.copy(out, 4 + n.length);
      return out;
    }),
  );
  const body = Buffer.from(payload, "utf8");
  const total = 12 + headerBytes.length + body.length + 4;
  const frame = Buffer.alloc(total);
  frame.writeUInt32BE(total, 0);
  frame.writeUInt32BE(headerBytes.length, 4);
  frame.writeUInt32BE(crc32(frame.subarray(0, 8)), 8);
  headerBytes.copy(frame, 12);
  body.copy(frame, 12 + headerBytes.length);
  frame.writeUInt32BE(crc32(frame.subarray(0, total - 4)), total - 4);
  return frame;
}

/** Splits event-stream bytes into frames: each starts with its total length as a big-endian uint32. */
function splitFrames(bytes: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const length = bytes.readUInt32BE(offset);
    frames.push(bytes.subarray(offset, offset + length));
    offset += length;
  }
  return frames;
}
