// When a failed job is tried again: a failure that may pass (a service's 5xx or throttling, a store away, an
// error we did not foresee) after an exponential backoff, up to the policy's attempts; a failure that is the
// input's (a 4xx: a bad file, a bad S3 URL) never, since it would fail the same way.
import { CounselError, storeUnavailable } from "../errors.ts";

export interface RetryPolicy {
  /** Runs at most, the first included. */
  attempts: number;
  /** The first retry's wait; each next one waits twice as long. */
  backoffMs: number;
}

/** Milliseconds to wait before attempt `attempt + 1`, or undefined when the job should not be tried again. */
export function retryDelay(policy: RetryPolicy, attempt: number, error: unknown): number | undefined {
  if (attempt >= policy.attempts || !isRetryable(error)) return undefined;
  return policy.backoffMs * 2 ** (attempt - 1);
}

export function isRetryable(error: unknown): boolean {
  if (storeUnavailable(error)) return true;
  if (error instanceof CounselError) return error.status >= 500 || error.status === 429;
  return true;
}
