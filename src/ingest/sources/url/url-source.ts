// The URL source: fetches http(s) URLs given by a caller or a recipe into SourceBlobs, through the pinned
// client, which treats every URL as hostile; a URL it refuses or cannot fetch is reported and the others go on.
import { pMapIterable, pMapSkip } from "p-map";
import { CounselError } from "../../../errors.ts";
import type { SourceBlob } from "../blob.ts";
import { describe, fetchFailed, masked, shorten } from "./fetch-errors.ts";
import { type PinnedFetchOptions, type PinnedResponse, pinnedFetch } from "./pinned-fetch.ts";

/** A URL that was not yielded, and why. */
export interface UrlSkipped {
  /** The URL as given (shortened past 200 characters), its password (if any) masked. */
  url: string;
  /** ssrf_blocked, bad_url (400), fetch_failed (502), too_large (413), timeout (504) or http_status (502). */
  code: string;
  error: string;
  /** The HTTP status the failure means on its own: 4xx the URL's fault, 5xx the remote server's. */
  status: number;
  /** For http_status: the status the server answered. */
  fetchedStatus?: number;
}

export interface UrlSourceOptions extends PinnedFetchOptions {
  /** URLs fetched at once, and so at most this many bodies held in memory before they are consumed. */
  concurrency?: number;
  /** Every URL that is not yielded is reported here; the others go on. */
  onSkip: (skipped: UrlSkipped) => void;
}

/**
 * Yields a SourceBlob for every URL that can be fetched, in the order given, up to `concurrency` at once. A URL
 * that cannot (refused, unreachable, not 200, too large, too slow) goes to `onSkip` and the others go on; only
 * the caller's abort ends the run.
 *
 * @example
 * for await (const blob of urlSource(urls, { maxBytes: 50e6, onSkip: (s) => failed.push(s) })) { ... }
 */
export async function* urlSource(urls: string[], options: UrlSourceOptions): AsyncGenerator<SourceBlob> {
  const { onSkip, signal } = options;
  yield* pMapIterable(
    urls,
    async (url) => {
      signal?.throwIfAborted();
      try {
        return toBlob(await pinnedFetch(url, options));
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        const failure =
          error instanceof CounselError ? error : fetchFailed(`Cannot fetch ${url}: ${describe(error)}`);
        const fetchedStatus = failure.extra.fetchedStatus;
        onSkip({
          url: maskedString(url),
          code: failure.code,
          error: failure.message,
          status: failure.status,
          ...(typeof fetchedStatus === "number" ? { fetchedStatus } : {}),
        });
        return pMapSkip;
      }
    },
    { concurrency: options.concurrency ?? 4 },
  );
}

/**
 * Identity: `source` is the final URL, where the bytes came from, for citations; the document id
 * (`metadata.doc_id`) is the URL as requested. That is the one the operator lists and controls: when /latest
 * starts redirecting to /v3.pdf, or a redirect carries a per-request token, a re-run must replace the same
 * document instead of adding another beside it, and a cleanup scoped to the requested URLs must find it.
 */
function toBlob({ requested, url, status, headers, body }: PinnedResponse): SourceBlob {
  const contentType = headers["content-type"];
  const { etag } = headers;
  const lastModified = headers["last-modified"];
  return {
    name: blobName(url),
    source: url.href,
    data: body,
    ...(contentType ? { mediaType: contentType } : {}),
    // Facts of this version of the page, the same on every run (no fetch time), so index() skips unchanged ones.
    metadata: {
      doc_id: requested,
      url: requested,
      final_url: url.href,
      fetched_status: status,
      ...(contentType ? { content_type: contentType } : {}),
      ...(etag ? { etag } : {}),
      ...(lastModified ? { last_modified: lastModified } : {}),
    },
  };
}

/** The last path segment, decoded (a display name and an extension hint), else the host. */
function blobName(url: URL): string {
  const last = url.pathname.split("/").filter(Boolean).at(-1);
  let name = last ?? "";
  try {
    name = decodeURIComponent(name);
  } catch {
    // A malformed escape: the segment as sent is still a fine display name.
  }
  name = name.replace(/\p{Cc}/gu, "").trim();
  return name === "" ? url.hostname : name;
}

/** The URL as given, so that callers can match it to their list, unless it holds a password. */
function maskedString(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password !== "") return masked(url);
  } catch {
    // Not a URL: nothing to mask.
  }
  return shorten(raw);
}
