// Failures of a remote model (Bedrock, or an OpenAI-compatible server) as the HTTP errors a caller can act on:
// throttling, capacity and an unreachable server are 503 with retry-after (try again shortly), anything else the
// model service did is 502 (the upstream failed, not the request). The SDK has already retried what is retryable
// by the time an error gets here.
import { OpenAIClient } from "@langchain/openai";
import { CounselError } from "../errors.ts";
import { withoutTroubleshooting } from "./openai-server.ts";

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
  while (api instanceof Error && !(api instanceof OpenAIClient.APIError) && api.cause) api = api.cause;
  if (!(api instanceof OpenAIClient.APIError) || api instanceof OpenAIClient.APIUserAbortError)
    return undefined;
  const service = "The model service";
  const said = withoutTroubleshooting(api);
  if (api instanceof OpenAIClient.APIConnectionError) {
    return new CounselError("model_busy", 503, `${service} cannot be reached (${said}); retry shortly.`);
  }
  const quota = api.code === "insufficient_quota";
  if ((api.status === 429 && !quota) || api.status === 503) {
    return new CounselError("model_busy", 503, `${service} is throttling or busy (${said}); retry shortly.`);
  }
  return new CounselError("model_error", 502, `${service} failed: ${said}`);
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
