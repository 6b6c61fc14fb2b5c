// A local Amazon Comprehend for DetectPiiEntities, speaking the real wire protocol (awsJson1_1: POST /,
// X-Amz-Target Comprehend_20171127.DetectPiiEntities), so that the real AWS SDK runs unchanged against it;
// production code reaches it only through the SDK's endpoint setting (AWS_ENDPOINT_URL_COMPREHEND).
// It replays a recorded response (test/fixtures/comprehend): each recorded entity's type and score, wherever its
// value occurs in the text it is sent, with offsets in code points as Comprehend gives them. It refuses what
// Comprehend refuses (text over 100 KB of UTF-8, empty text, other languages), records every request, and can
// answer with Comprehend's errors (throttling, 500s).
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { ErrorReply, readJsonRequest, replyError, replyJson } from "./aws-json.ts";
import { HttpEmulator } from "./loopback.ts";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/comprehend");
const TARGET = "Comprehend_20171127.";
const MAX_BYTES = 100_000;

interface Recording {
  request: { LanguageCode: string; Text: string };
  response: { Entities: { Score: number; Type: string; BeginOffset: number; EndOffset: number }[] };
  /** The text each entity names, in the response's order. */
  values: string[];
}

export interface ComprehendRequest {
  operation: string;
  body: { Text?: string; LanguageCode?: string };
}

export interface ComprehendFault {
  status: number;
  type: string;
  message: string;
}

export const THROTTLING: ComprehendFault = {
  status: 400,
  type: "TooManyRequestsException",
  message: "Rate exceeded",
};
export const INTERNAL_SERVER: ComprehendFault = {
  status: 500,
  type: "InternalServerException",
  message: "An internal server error occurred. Retry your request.",
};

export async function loadComprehendRecording(name: string): Promise<Recording> {
  return JSON.parse(await readFile(path.join(FIXTURES, name), "utf8"));
}

export class ComprehendEmulator extends HttpEmulator {
  readonly requests: ComprehendRequest[] = [];
  /** Errors to answer with, one request each, before answering normally again. */
  readonly faults: ComprehendFault[] = [];
  private recording?: Recording;

  override async start(): Promise<string> {
    this.recording = await loadComprehendRecording("detect-pii-entities_awscli-example.json");
    return super.start();
  }

  reset(): void {
    this.requests.length = 0;
    this.faults.length = 0;
  }

  /** The recorded entities' values, for tests that plant them. */
  get values(): { type: string; value: string; score: number }[] {
    const recording = this.recording as Recording;
    return recording.response.Entities.map((e, i) => ({
      type: e.Type,
      value: recording.values[i],
      score: e.Score,
    }));
  }

  protected async handle(req: IncomingMessage, res: ServerResponse) {
    const { target, operation, body } = await readJsonRequest(req, TARGET);
    try {
      if (body === undefined) throw new ErrorReply(400, "SerializationException", "expected a JSON body");
      this.requests.push({ operation, body: body as ComprehendRequest["body"] });
      if (req.method !== "POST" || req.url !== "/" || operation !== "DetectPiiEntities")
        throw new ErrorReply(400, "UnknownOperationException", `no such operation: ${req.method} ${target}`);
      const fault = this.faults.shift();
      if (fault) throw new ErrorReply(fault.status, fault.type, fault.message);
      replyJson(res, 200, this.detect(body as ComprehendRequest["body"]));
    } catch (caught) {
      replyError(res, caught, "InternalServerException", (error) => ({
        __type: error.type,
        Message: error.message,
      }));
    }
  }

  private detect({ Text, LanguageCode }: ComprehendRequest["body"]) {
    if (typeof Text !== "string" || Text.length === 0)
      throw new ErrorReply(
        400,
        "ValidationException",
        "1 validation error detected: Value at 'text' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    if (LanguageCode !== "en" && LanguageCode !== "es")
      throw new ErrorReply(400, "UnsupportedLanguageException", `Unsupported language: ${LanguageCode}`);
    if (Buffer.byteLength(Text, "utf8") > MAX_BYTES)
      throw new ErrorReply(
        400,
        "TextSizeLimitExceededException",
        `Input text size exceeds limit. Max length of request text allowed is ${MAX_BYTES} bytes while in this request the text size is ${Buffer.byteLength(Text, "utf8")} bytes`,
      );
    const entities: { Score: number; Type: string; BeginOffset: number; EndOffset: number }[] = [];
    for (const { type, value, score } of this.values) {
      for (let at = Text.indexOf(value); at >= 0; at = Text.indexOf(value, at + value.length)) {
        const begin = [...Text.slice(0, at)].length; // code points, as Comprehend counts
        entities.push({ Score: score, Type: type, BeginOffset: begin, EndOffset: begin + [...value].length });
      }
    }
    return { Entities: entities.sort((a, b) => a.BeginOffset - b.BeginOffset) };
  }
}
