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

/** A dependency (model, store) cannot serve now (503). */
export class UnavailableError extends CounselError {
  constructor(message: string) {
    super("unavailable", 503, message);
  }
}
