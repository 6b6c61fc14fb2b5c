// Failures of a remote model (Bedrock) as the HTTP errors a caller can act on: throttling and capacity are 503
// with retry-after (try again shortly), anything else the model service did is 502 (the upstream failed, not
// the request). The SDK has already retried what is retryable by the time an error gets here.
import { CounselError } from "../errors.ts";

/** Bedrock's names for "not now": its quota, its capacity, or a model still loading. */
const BUSY = new Set([
  "ThrottlingException",
  "ServiceQuotaExceededException",
  "ServiceUnavailableException",
  "ModelNotReadyException",
  "TooManyRequestsException",
]);

/** The event-stream decoder's own errors: the bytes on the wire were not a valid stream. */
const CORRUPT_STREAM = /message checksum|prelude checksum|truncated event message|not enough bytes/i;

export function modelFailure(error: unknown): CounselError | undefined {
  if (!(error instanceof Error)) return undefined;
  const aws = error as Error & { $fault?: string; $metadata?: unknown };
  const fromAws = aws.$fault !== undefined || aws.$metadata !== undefined;
  if (BUSY.has(error.name)) {
    return new CounselError(
      "model_busy",
      503,
      `The model service is throttling or busy (${error.name}: ${error.message}); retry shortly.`,
    );
  }
  if (CORRUPT_STREAM.test(error.message)) {
    return new CounselError(
      "model_error",
      502,
      `The model's response stream was corrupt (${error.message}); the answer was abandoned.`,
    );
  }
  if (fromAws) {
    return new CounselError("model_error", 502, `The model service failed: ${error.name}: ${error.message}`);
  }
  return undefined;
}
