// A local Bedrock Runtime that speaks the real wire protocol: it answers Converse with a recorded JSON body and
// ConverseStream with recorded application/vnd.amazon.eventstream bytes (test/fixtures/bedrock), so that the
// real AWS SDK and LangChain's ChatBedrockConverse run unchanged against it. Production code reaches it only
// through the SDK's endpoint setting (AWS_ENDPOINT_URL_BEDROCK_RUNTIME). It records what it was asked, and can
// send the stream slowly (frame by frame) to test streaming and disconnects. It speaks HTTP/2 (cleartext, on
// loopback) because the SDK's Bedrock Runtime client uses its HTTP/2 handler, as it does against AWS.
import { readFile } from "node:fs/promises";
import {
  createServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from "node:http2";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/bedrock");

export interface RecordedRequest {
  operation: "converse" | "converse-stream" | "invoke";
  modelId: string;
  body: unknown;
  headers: Http2ServerRequest["headers"];
  /** Set when the client hung up before the reply was complete. */
  aborted: boolean;
}

export interface BedrockEmulatorOptions {
  /** Pause between event-stream frames, to make streaming observable. */
  frameDelayMs?: number;
  /** Latency of every InvokeModel call, as a remote model would add. */
  invokeDelayMs?: number;
}

export class BedrockRuntimeEmulator {
  readonly requests: RecordedRequest[] = [];
  private server?: Http2Server;
  private readonly sessions = new Set<Http2Session>();
  private converseBody = "";
  private streamFrames: Buffer[] = [];
  /** Titan's response fields besides the vector, from the recording (token count, embeddingsByType). */
  private titanTemplate: Record<string, unknown> = {};
  /** InvokeModel calls answered with 429 ThrottlingException before the next succeeds. */
  throttleNext = 0;
  /** Most InvokeModel calls in flight at once: what a client's concurrency limit must bound. */
  maxInFlight = 0;
  private inFlight = 0;

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
    this.streamFrames = splitFrames(
      await readFile(path.join(FIXTURES, "converse-stream_text_nova-micro.eventstream.bin")),
    );

    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on("session", (session) => {
      this.sessions.add(session);
      session.on("close", () => this.sessions.delete(session));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const session of this.sessions) session.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private async handle(req: Http2ServerRequest, res: Http2ServerResponse) {
    const match = req.url?.match(/^\/model\/([^/]+)\/(converse-stream|converse|invoke)$/);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
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
      aborted: false,
    };
    this.requests.push(record);
    res.on("close", () => {
      if (!res.writableEnded) record.aborted = true;
    });

    if (record.operation === "converse") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(this.converseBody);
      return;
    }
    if (record.operation === "converse-stream") {
      res.writeHead(200, { "content-type": "application/vnd.amazon.eventstream" });
      for (const frame of this.streamFrames) {
        if (res.destroyed) return;
        res.write(frame);
        if (this.options.frameDelayMs) await new Promise((r) => setTimeout(r, this.options.frameDelayMs));
      }
      res.end();
      return;
    }
    await this.invoke(record, res);
  }

  /** Titan Text Embeddings v2: the recorded response shape, with a vector made from the text by the local
   *  embedder, so that retrieval through the emulator still means something. */
  private async invoke(record: RecordedRequest, res: Http2ServerResponse) {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.options.invokeDelayMs) await new Promise((r) => setTimeout(r, this.options.invokeDelayMs));
      if (this.throttleNext > 0) {
        this.throttleNext -= 1;
        res.writeHead(429, { "content-type": "application/json", "x-amzn-errortype": "ThrottlingException" });
        res.end(JSON.stringify({ message: "Too many requests, please wait before trying again." }));
        return;
      }
      const body = record.body as { inputText?: string; dimensions?: number; normalize?: boolean };
      if (!record.modelId.startsWith("amazon.titan-embed-text-v2") || typeof body?.inputText !== "string") {
        res.writeHead(400, { "content-type": "application/json", "x-amzn-errortype": "ValidationException" });
        res.end(
          JSON.stringify({ message: `The emulator answers Titan v2 embeddings only, not ${record.modelId}` }),
        );
        return;
      }
      const dimensions = body.dimensions ?? 1024;
      const embedding = new LocalHashEmbeddings({ dimensions }).embed(body.inputText);
      const tokens = body.inputText.split(/\s+/).filter(Boolean).length;
      res.writeHead(200, {
        "content-type": "application/json",
        "x-amzn-bedrock-input-token-count": String(tokens),
      });
      res.end(
        JSON.stringify({
          ...this.titanTemplate,
          embedding,
          embeddingsByType: { float: embedding },
          inputTextTokenCount: tokens,
        }),
      );
    } finally {
      this.inFlight -= 1;
    }
  }
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
