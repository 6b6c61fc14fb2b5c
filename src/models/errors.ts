// Failures of a remote model (Bedrock, or an OpenAI-compatible server) as the HTTP errors a caller can act on:
// throttling, capacity and an unreachable server are 503 with retry-after (try again shortly), anything else the
// model service did is 502 (the upstream failed, not the request). The SDK has already retried what is retryable
// by the time an error gets here. Errors are recognised by their class names, so that this file imports no client
// library: every layer that reports errors imports it, including an offline service's.
import type { OpenAIClient } from "@langchain/openai";
import { CounselError } from "../errors.ts";

/** AWS names for "not now": its quota, its capacity, or a model still loading. */
const BUSY = new Set([
  "ThrottlingException",
  "ServiceQuotaExceededException",
  "ServiceUnavailableException",
  "ModelNotReadyException",
  "TooManyRequestsException",
  "ProvisionedThroughputExceededException",
  "LimitExceededException",
]);

/** The event-stream decoder's own errors: the bytes on the wire were not a valid stream. */
const CORRUPT_STREAM = /message checksum|prelude checksum|truncated event message|not enough bytes/i;

/** A Bedrock or openai client error as the caller's 502 or 503. */
export function modelFailure(error: unknown): CounselError | undefined {
  return awsServiceFailure(error, { service: "The model service", code: "model" }) ?? openAIFailure(error);
}

/**
 * An openai client error (the API's own, or a server's that could not be reached), here or as the cause of a
 * LangChain error, as `model_busy` (503) for 429, 503 and no connection, and `model_error` (502) for the rest; a
 * 429 for an exhausted quota is `model_error`, since retrying will not help. Undefined for anything else.
 */
export function openAIFailure(error: unknown): CounselError | undefined {
  let api: unknown = error;
  while (api instanceof Error && !openAIClasses(api) && api.cause) api = api.cause;
  const classes = openAIClasses(api);
  if (!classes || classes.has("APIUserAbortError")) return undefined;
  const service = "The model service";
  const said = withoutTroubleshooting(api as OpenAIApiError);
  if (classes.has("APIConnectionError")) {
    return new CounselError("model_busy", 503, `${service} cannot be reached (${said}); retry shortly.`);
  }
  const { code, status } = api as OpenAIApiError;
  const quota = code === "insufficient_quota";
  if ((status === 429 && !quota) || status === 503) {
    return new CounselError("model_busy", 503, `${service} is throttling or busy (${said}); retry shortly.`);
  }
  return new CounselError("model_error", 502, `${service} failed: ${said}`);
}

type OpenAIApiError = InstanceType<typeof OpenAIClient.APIError>;

/**
 * The openai client's error classes `error` is an instance of (APIError, APIConnectionError…), by name along its
 * prototype chain; undefined unless it is an APIError under openai's root class, OpenAIError.
 */
function openAIClasses(error: unknown): Set<string> | undefined {
  if (!(error instanceof Error)) return undefined;
  const names = new Set<string>();
  for (
    let proto = Object.getPrototypeOf(error);
    proto && proto !== Error.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    names.add(proto.constructor.name);
  }
  return names.has("APIError") && names.has("OpenAIError") ? names : undefined;
}

/** The error's message without the troubleshooting link LangChain appends to some. */
export function withoutTroubleshooting(error: Error): string {
  return error.message.replace(/\s*Troubleshooting URL:[\s\S]*$/, "");
}

/**
 * An AWS SDK error (or a corrupt event stream) as a CounselError: `<code>_busy` (503) for throttling and
 * capacity, `<code>_error` (502) for anything else the service did; undefined for errors that are not the
 * service's.
 */
export function awsServiceFailure(
  error: unknown,
  { service, code }: { service: string; code: string },
): CounselError | undefined {
  if (!(error instanceof Error)) return undefined;
  const aws = error as Error & { $fault?: string; $metadata?: unknown };
  const fromAws = aws.$fault !== undefined || aws.$metadata !== undefined;
  if (BUSY.has(error.name)) {
    return new CounselError(
      `${code}_busy`,
      503,
      `${service} is throttling or busy (${error.name}: ${error.message}); retry shortly.`,
    );
  }
  if (CORRUPT_STREAM.test(error.message)) {
    return new CounselError(
      `${code}_error`,
      502,
      `${service}'s response stream was corrupt (${error.message}); the reply was abandoned.`,
    );
  }
  if (fromAws) {
    return new CounselError(`${code}_error`, 502, `${service} failed: ${error.name}: ${error.message}`);
  }
  return undefined;
}
