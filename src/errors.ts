// Typed errors with a stable code for failures that are the caller's fault (or a dependency's);
// the server's error plugin turns them into application/problem+json.

export class CounselError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "CounselError";
  }
}

/** The input cannot be used as given (400). */
export class BadRequestError extends CounselError {
  constructor(message: string, extra?: Record<string, unknown>) {
    super("bad_request", 400, message, extra);
  }
}

/** The content type is not one Counsel can read (415). */
export class UnsupportedTypeError extends CounselError {
  constructor(message: string, supported: readonly string[]) {
    super("unsupported_media_type", 415, message, { supported });
  }
}

/** A named thing (chain, session, report) does not exist (404). */
export class NotFoundError extends CounselError {
  constructor(message: string) {
    super("not_found", 404, message);
  }
}

/** The request does not fit the thing's state now (409): cancelling a job that has ended. */
export class ConflictError extends CounselError {
  constructor(message: string) {
    super("conflict", 409, message);
  }
}

/** A dependency (model, store) cannot serve now (503). */
export class UnavailableError extends CounselError {
  constructor(message: string) {
    super("unavailable", 503, message);
  }
}

// Which failures mean the store is away rather than the request being wrong: every layer that reports errors
// (the HTTP errors plugin, the ingestion report) answers them alike. Matched by name and message, so that this
// file imports no client library.

/** True for the errors node-redis raises while the server is unreachable: the caller should answer 503. */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    [
      "ClientClosedError",
      "ClientOfflineError",
      "ConnectionTimeoutError",
      "SocketClosedUnexpectedlyError",
      "ReconnectStrategyError",
      // The watchdog closed the client on a Redis that stopped answering (redis-watchdog.ts).
      "DisconnectsClientError",
      // No node of the cluster answered for its slot map.
      "RootNodesUnavailableError",
    ].includes(error.constructor.name) ||
    // A cluster between a master's failure and its replica's promotion, a master still loading its data.
    /^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING)\b/.test(error.message) ||
    // A command written just as the server went away can also fail on the socket itself (EPIPE, destroyed).
    /ECONNREFUSED|ECONNRESET|EPIPE|ERR_STREAM_DESTROYED|write after end|client is offline|client is closed|Connection timeout|Socket closed unexpectedly/i.test(
      error.message,
    ) ||
    ["EPIPE", "ECONNRESET", "ECONNREFUSED", "ERR_STREAM_DESTROYED"].includes(
      String((error as { code?: unknown }).code),
    )
  );
}

/**
 * The 503 to answer for an error that means Redis is unreachable or not answering, else undefined: one wording
 * for the errors plugin and for the ingestion report, whose documents all fail alike while Redis is away.
 */
export function storeUnavailable(error: unknown): CounselError | undefined {
  if (!isRedisUnavailable(error)) return undefined;
  return new CounselError("store_unavailable", 503, "The store (Redis) is unreachable; retry shortly.");
}
