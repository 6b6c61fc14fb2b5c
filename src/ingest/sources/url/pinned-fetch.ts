// The pinned HTTP client: one GET per hop, whose host is resolved here and every answer vetted; the socket is
// pinned to the vetted addresses, so DNS rebinding cannot move it; redirects are followed one checked hop at a
// time; the body is capped after decompression.
import { promises as dns, type LookupAddress } from "node:dns";
import http, { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { pipeline, type Readable } from "node:stream";
import { createBrotliDecompress, createGunzip } from "node:zlib";
import { CounselError } from "../../../errors.ts";
import type { AddressPolicy } from "./address-policy.ts";
import { describe, fetchFailed, shorten } from "./fetch-errors.ts";
import { bareHost, checkUrl, vetAddress } from "./url-policy.ts";

/** Resolves a host name to all its addresses, as `dns.promises.lookup(host, { all: true })` does. */
export type Lookup = (hostname: string) => Promise<LookupAddress[]>;

export interface PinnedFetchOptions {
  /** Largest body kept, in bytes (after decompression); a body that grows past it is abandoned. */
  maxBytes: number;
  /** The whole fetch (DNS, every redirect, the body) must finish within this; 30 s by default. */
  timeoutMs?: number;
  /** Redirects followed, each one checked like the first URL; 5 by default. */
  maxRedirects?: number;
  signal?: AbortSignal;
  /** Public addresses only by default. */
  policy?: AddressPolicy;
  /** The resolver; `dns.promises.lookup` by default. Tests inject one to play DNS tricks. */
  lookup?: Lookup;
}

/** A 200 response read whole, and where it came from. */
export interface PinnedResponse {
  /** The URL as requested, parsed and without its fragment. */
  requested: string;
  /** Where the bytes came from, after redirects. */
  url: URL;
  status: number;
  headers: IncomingHttpHeaders;
  /** Decompressed. */
  body: Buffer;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = "Counsel/0.1 (document ingestion)";

/**
 * GETs one URL, following redirects, each hop checked and pinned as the first. Throws a CounselError
 * (ssrf_blocked, bad_url, fetch_failed, too_large, timeout, http_status with `fetchedStatus`); the caller's
 * abort rethrows its reason.
 *
 * @example
 * const { url, headers, body } = await pinnedFetch("https://example.com/report.pdf", { maxBytes: 50e6 });
 */
export async function pinnedFetch(raw: string, options: PinnedFetchOptions): Promise<PinnedResponse> {
  const { signal, policy = {}, lookup = defaultLookup } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  signal?.throwIfAborted();
  let url = checkUrl(raw, policy);
  const requested = url.href;
  let connecting = "";
  // One deadline for the whole fetch: a slow trickle across redirects must not outlive it either.
  const deadline = AbortSignal.timeout(timeoutMs);
  const stop = signal ? AbortSignal.any([signal, deadline]) : deadline;
  try {
    for (let redirects = 0; ; redirects++) {
      connecting = "";
      const addresses = await resolve(url, { policy, lookup, signal: stop });
      connecting = addresses.map((a) => a.address).join(", ");
      const { request, response } = await send(url, addresses, stop);
      try {
        const status = response.statusCode ?? 0;
        if (REDIRECTS.has(status) && response.headers.location !== undefined) {
          if (redirects >= maxRedirects) {
            throw fetchFailed(
              `${requested} redirected more than ${maxRedirects} times (stopped at ${url.href})`,
            );
          }
          url = checkRedirect(url, response.headers.location, policy);
          continue;
        }
        if (status !== 200) {
          throw new CounselError(
            "http_status",
            502,
            `${url.href} answered ${status} ${response.statusMessage ?? ""}`.trimEnd() +
              (url.href === requested ? "" : ` (redirected from ${requested})`),
            { fetchedStatus: status },
          );
        }
        const body = await readBody(response, url, options.maxBytes);
        return { requested, url, status, headers: response.headers, body };
      } finally {
        // Closes the connection: nothing more is read from a body that was refused or is complete.
        request.destroy();
      }
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const at = connecting === "" ? "" : ` (connecting to ${connecting})`;
    if (deadline.aborted) {
      throw new CounselError("timeout", 504, `${url.href}${at} did not finish within ${timeoutMs} ms`);
    }
    if (error instanceof CounselError) throw error;
    throw fetchFailed(`Cannot fetch ${url.href}${at}: ${describe(error)}`);
  }
}

const defaultLookup: Lookup = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/** The addresses of the URL's host, every one of them allowed by the policy, or a refusal. */
async function resolve(
  url: URL,
  options: { policy: AddressPolicy; lookup: Lookup; signal: AbortSignal },
): Promise<LookupAddress[]> {
  const literal = bareHost(url);
  const family = isIP(literal);
  if (family !== 0) return [{ address: literal, family }]; // vetted by checkUrl
  let answers: LookupAddress[];
  try {
    answers = await abortable(options.lookup(url.hostname), options.signal);
  } catch (error) {
    if (options.signal.aborted) throw error;
    throw fetchFailed(`Cannot resolve ${url.hostname} (${url.href}): ${describe(error)}`);
  }
  if (answers.length === 0) throw fetchFailed(`${url.hostname} has no address (${url.href})`);
  // Every answer, not only the first: the connection may use any of them (happy eyeballs, retries).
  return answers.map(({ address }) => {
    const answerFamily = isIP(address);
    if (answerFamily === 0) throw fetchFailed(`${url.hostname} resolved to "${address}", not an IP address`);
    vetAddress(address, answerFamily as 4 | 6, options.policy, `${url.hostname} (${url.href}) resolves to`);
    return { address, family: answerFamily };
  });
}

function checkRedirect(from: URL, location: string, policy: AddressPolicy): URL {
  let target: URL;
  try {
    target = new URL(location, from);
  } catch {
    throw fetchFailed(`${from.href} redirected to "${shorten(location)}", which is not a URL`);
  }
  try {
    return checkUrl(target, policy);
  } catch (error) {
    if (!(error instanceof CounselError)) throw error;
    throw new CounselError(error.code, error.status, `${from.href} redirected to ${error.message}`);
  }
}

/** One GET, connected only to `addresses`; resolves once the response headers are in. */
function send(
  url: URL,
  addresses: LookupAddress[],
  signal: AbortSignal,
): Promise<{ request: ClientRequest; response: IncomingMessage }> {
  const host = bareHost(url);
  return new Promise((resolve, reject) => {
    const request = (url.protocol === "https:" ? https : http).request({
      // The host name stays in the request (Host header, TLS SNI and certificate check); only the address
      // lookup is replaced, by one that can answer nothing but the vetted addresses.
      hostname: host,
      port: url.port === "" ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: "GET",
      headers: { "user-agent": USER_AGENT, accept: "*/*", "accept-encoding": "gzip, br" },
      lookup: pinnedLookup(host, addresses),
      // A fresh connection, closed afterwards: a pooled socket must not carry one fetch's checks into another.
      agent: false,
      signal,
    });
    request.once("response", (response) => resolve({ request, response }));
    // Kept for the request's life: a late error (after destroy) must not go unhandled.
    request.on("error", reject);
    request.end();
  });
}

/** A lookup that never asks DNS again: a second answer (rebinding) cannot change where the socket goes. */
function pinnedLookup(host: string, addresses: LookupAddress[]): LookupFunction {
  return (hostname, options, callback) => {
    const wanted =
      options.family === 4 || options.family === "IPv4"
        ? 4
        : options.family === 6 || options.family === "IPv6"
          ? 6
          : 0;
    const usable = addresses.filter((a) => hostname === host && (wanted === 0 || a.family === wanted));
    if (usable.length === 0) {
      const error: NodeJS.ErrnoException = new Error(`No vetted address for ${hostname}`);
      error.code = "ENOTFOUND";
      callback(error, "");
    } else if (options.all) callback(null, usable);
    else callback(null, usable[0].address, usable[0].family);
  };
}

/** The body, decompressed, as one Buffer; past `maxBytes` the stream is left, which closes the connection. */
async function readBody(response: IncomingMessage, url: URL, maxBytes: number): Promise<Buffer> {
  const encoding = (response.headers["content-encoding"] ?? "identity").trim().toLowerCase();
  let body: Readable = response;
  // The cap applies to what is decoded: a few kilobytes of gzip can inflate to gigabytes.
  if (encoding === "gzip" || encoding === "x-gzip") body = pipeline(response, createGunzip(), () => {});
  else if (encoding === "br") body = pipeline(response, createBrotliDecompress(), () => {});
  else if (encoding !== "identity" && encoding !== "") {
    throw fetchFailed(
      `${url.href} was sent with content-encoding "${encoding}", which Counsel cannot decode`,
    );
  } else {
    const length = Number(response.headers["content-length"]);
    if (Number.isFinite(length) && length > maxBytes) throw tooLarge(url, `${length} bytes`, maxBytes);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) throw tooLarge(url, `over ${maxBytes} bytes`, maxBytes);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}

/** The promise, or the signal's reason as soon as it aborts (dns.lookup itself cannot be cancelled). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function tooLarge(url: URL, size: string, maxBytes: number): CounselError {
  return new CounselError(
    "too_large",
    413,
    `${url.href} is ${size}, more than the ${maxBytes} bytes a document may have`,
  );
}
