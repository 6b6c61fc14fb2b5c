// What the emulators of AWS's JSON protocols share (awsJson1_1 for Comprehend, KMS and Textract; REST JSON for
// Bedrock Agent Runtime): an error reply with its AWS type, reading a request's target and JSON body, and
// writing a reply or an error the way the SDK's deserializers expect them.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/** An error the emulator answers with: its HTTP status and the AWS error type the SDK turns into a class. */
export class ErrorReply extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A request's operation (from `X-Amz-Target` after `prefix`) and its JSON body (undefined when not JSON). */
export async function readJsonRequest(
  req: IncomingMessage,
  prefix = "",
): Promise<{ target: string; operation: string; body: unknown }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const target = String(req.headers["x-amz-target"] ?? "");
  const operation = prefix && target.startsWith(prefix) ? target.slice(prefix.length) : target;
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
  } catch {
    body = undefined;
  }
  return { target, operation, body };
}

export function replyJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = "application/x-amz-json-1.1",
): void {
  res.writeHead(status, { "content-type": contentType, "x-amzn-requestid": randomUUID() });
  res.end(JSON.stringify(body));
}

/**
 * Answers `caught` as AWS does: the type in `x-amzn-errortype` (and in the body `errorBody` makes), from which the
 * SDK builds its typed exception and decides whether to retry; anything else as a 500 of `internalType`.
 */
export function replyError(
  res: ServerResponse,
  caught: unknown,
  internalType: string,
  errorBody: (error: ErrorReply) => unknown = (error) => ({ __type: error.type, message: error.message }),
  contentType?: string,
): void {
  const error = caught instanceof ErrorReply ? caught : new ErrorReply(500, internalType, String(caught));
  res.setHeader("x-amzn-errortype", error.type);
  replyJson(res, error.status, errorBody(error), contentType);
}
