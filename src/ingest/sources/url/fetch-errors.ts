// The typed errors of a URL fetch, and how their messages show a URL: shortened, its password masked, and a
// Node error with its code.
import { CounselError } from "../../../errors.ts";

export function badUrl(message: string): CounselError {
  return new CounselError("bad_url", 400, message);
}

export function ssrfBlocked(message: string): CounselError {
  return new CounselError("ssrf_blocked", 400, message);
}

export function fetchFailed(message: string): CounselError {
  return new CounselError("fetch_failed", 502, message);
}

/** The URL with its password (if any) replaced by `***`. */
export function masked(url: URL): string {
  if (url.password === "") return url.href;
  const copy = new URL(url.href);
  copy.password = "***";
  return copy.href;
}

/** At most 200 characters of a URL or a string given as one, for messages. */
export function shorten(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** A Node error's code and message (`ECONNREFUSED: connect ECONNREFUSED …`), else the message. */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    const { code } = error as NodeJS.ErrnoException;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
