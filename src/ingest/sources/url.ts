// The URL source: fetches http(s) URLs given by a caller or a recipe into SourceBlobs, treating every URL as
// hostile. Only public addresses are reached: each hop's host is resolved here, every answer is vetted, and the
// connection is pinned to the vetted addresses, so DNS rebinding and redirects cannot lead to an internal one.
import { promises as dns, type LookupAddress } from "node:dns";
import http, { type ClientRequest, type IncomingMessage } from "node:http";
import https from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { pipeline, type Readable } from "node:stream";
import { createBrotliDecompress, createGunzip } from "node:zlib";
import { pMapIterable, pMapSkip } from "p-map";
import { CounselError } from "../../errors.ts";
import type { SourceBlob } from "./blob.ts";

/** Which resolved or literal addresses may be connected to. */
export interface AddressPolicy {
  /**
   * Decides alone for every address (IPv4 dotted, IPv6 without brackets); without it, `isPublicAddress`
   * decides. To widen the default (a test server on 127.0.0.1), call `isPublicAddress` from here.
   */
  allow?(address: string, family: 4 | 6): boolean;
}

/** Resolves a host name to all its addresses, as `dns.promises.lookup(host, { all: true })` does. */
export type Lookup = (hostname: string) => Promise<LookupAddress[]>;

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

export interface UrlFetchOptions {
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

export interface UrlSourceOptions extends UrlFetchOptions {
  /** URLs fetched at once, and so at most this many bodies held in memory before they are consumed. */
  concurrency?: number;
  /** Every URL that is not yielded is reported here; the others go on. */
  onSkip: (skipped: UrlSkipped) => void;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_REDIRECTS = 5;
const MAX_URL_LENGTH = 8192;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = "Counsel/0.1 (document ingestion)";

// The Fetch Standard's "bad ports" (browsers refuse them too): a GET aimed at SMTP, IRC or the like could
// smuggle commands into that protocol, even on a public host.
const BAD_PORTS = new Set([
  0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
  109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
  526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

// Every block of the IANA special-purpose registries (IPv4 and IPv6) that is not globally reachable. The few
// global anycast assignments inside 192.0.0.0/24 and 2001::/23 are refused with their block: no documents live
// there. One BlockList per kind of address, so that a refusal can say which kind it met.
const IPV4_RANGES: [string, number, string][] = [
  ["255.255.255.255", 32, "the broadcast address"],
  ["0.0.0.0", 8, 'a "this network" address (0.0.0.0/8)'],
  ["10.0.0.0", 8, "a private address"],
  ["172.16.0.0", 12, "a private address"],
  ["192.168.0.0", 16, "a private address"],
  ["127.0.0.0", 8, "a loopback address"],
  ["169.254.0.0", 16, "a link-local address (where cloud metadata services live)"],
  ["100.64.0.0", 10, "a carrier-grade NAT address (100.64.0.0/10)"],
  ["192.0.0.0", 24, "an IETF protocol address (192.0.0.0/24)"],
  ["192.0.2.0", 24, "a documentation address (TEST-NET-1)"],
  ["198.51.100.0", 24, "a documentation address (TEST-NET-2)"],
  ["203.0.113.0", 24, "a documentation address (TEST-NET-3)"],
  ["192.88.99.0", 24, "a 6to4 relay address (192.88.99.0/24)"],
  ["198.18.0.0", 15, "a benchmarking address (198.18.0.0/15)"],
  ["224.0.0.0", 4, "a multicast address"],
  ["240.0.0.0", 4, "a reserved address (240.0.0.0/4)"],
];
const IPV6_RANGES: [string, number, string][] = [
  ["::", 128, "the unspecified address"],
  ["::1", 128, "a loopback address"],
  ["::", 96, "an IPv4-compatible IPv6 address (deprecated)"],
  ["fe80::", 10, "a link-local address"],
  ["fec0::", 10, "a site-local address"],
  ["fc00::", 7, "a unique local address (fc00::/7)"],
  ["ff00::", 8, "a multicast address"],
  ["64:ff9b:1::", 48, "a local-use NAT64 address (64:ff9b:1::/48)"],
  ["100::", 64, "a discard-only address (100::/64)"],
  ["2001::", 23, "an IETF protocol address such as Teredo (2001::/23)"],
  ["2001:db8::", 32, "a documentation address (2001:db8::/32)"],
  ["3fff::", 20, "a documentation address (3fff::/20)"],
];

function blockLists(ranges: [string, number, string][], type: "ipv4" | "ipv6"): [string, BlockList][] {
  const byKind = new Map<string, BlockList>();
  for (const [network, prefix, kind] of ranges) {
    const list = byKind.get(kind) ?? new BlockList();
    list.addSubnet(network, prefix, type);
    byKind.set(kind, list);
  }
  return [...byKind];
}

const IPV4_BLOCKED = blockLists(IPV4_RANGES, "ipv4");
const IPV6_BLOCKED = blockLists(IPV6_RANGES, "ipv6");
const GLOBAL_UNICAST = new BlockList();
GLOBAL_UNICAST.addSubnet("2000::", 3, "ipv6");

/**
 * What kind of non-public address this is ("a loopback address"), or undefined for a public one. An IPv6
 * address that embeds an IPv4 one (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged by
 * the IPv4 address it leads to; BlockList only unwraps the mapped form, hence the decoding here. Anything that
 * is not an IP address is not public.
 */
export function nonPublicKind(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, ""); // a zone (fe80::1%eth0) is link-local
  const family = isIP(bare);
  if (family === 4) return IPV4_BLOCKED.find(([, list]) => list.check(bare, "ipv4"))?.[0];
  if (family !== 6) return "not an IP address";
  const groups = ipv6Groups(bare);
  const embedded = (high: number, low: number, how: string) => {
    const ipv4 = `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
    const kind = nonPublicKind(ipv4);
    return kind && `${how} of ${ipv4}, ${kind}`;
  };
  const zero = (from: number, to: number) => groups.slice(from, to).every((group) => group === 0);
  if (zero(0, 5) && groups[5] === 0xffff) return embedded(groups[6], groups[7], "the IPv4-mapped form");
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zero(2, 6))
    return embedded(groups[6], groups[7], "the NAT64 form");
  if (groups[0] === 0x2002) return embedded(groups[1], groups[2], "the 6to4 form");
  const kind = IPV6_BLOCKED.find(([, list]) => list.check(bare, "ipv6"))?.[0];
  if (kind) return kind;
  return GLOBAL_UNICAST.check(bare, "ipv6") ? undefined : "a reserved IPv6 address (outside 2000::/3)";
}

/** True for an address on the public internet; the default AddressPolicy. */
export function isPublicAddress(address: string): boolean {
  return nonPublicKind(address) === undefined;
}

/**
 * Parses a URL and refuses what must never be fetched, before any DNS or connection: schemes other than http
 * and https, credentials, bad ports, and a literal IP (however spelt: WHATWG parsing turns 2130706433, 0x7f.1
 * or 017700000001 into 127.0.0.1 first) that the policy refuses. A host name is checked later, once resolved.
 * Returns the URL without its fragment, which is never sent. Throws a CounselError bad_url or ssrf_blocked.
 */
export function checkUrl(raw: string | URL, policy: AddressPolicy = {}): URL {
  const given = String(raw);
  if (given.length > MAX_URL_LENGTH) throw badUrl(`A URL of ${given.length} characters is too long to fetch`);
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw badUrl(`"${shorten(given)}" is not an absolute URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw badUrl(`${shorten(masked(url))}: only http and https URLs can be fetched, not ${url.protocol}`);
  }
  if (url.username !== "" || url.password !== "") {
    throw badUrl(`${masked(url)}: URLs with credentials (user:password@) are refused; fetching is anonymous`);
  }
  if (url.port !== "" && BAD_PORTS.has(Number(url.port))) {
    throw ssrfBlocked(`${url.href}: port ${url.port} belongs to a protocol other than HTTP and is refused`);
  }
  const literal = bareHost(url);
  const family = isIP(literal);
  if (family !== 0) {
    // Name the spelling given too: "http://2130706433/" is refused as http://127.0.0.1/.
    const spelt = url.href === given ? "" : ` (given as ${shorten(given)})`;
    vet(literal, family as 4 | 6, policy, `${url.href}${spelt} points at`);
  }
  url.hash = "";
  return url;
}

/**
 * Fetches one URL into a SourceBlob, following redirects, each hop checked and pinned as the first. Throws a
 * CounselError (ssrf_blocked, bad_url, fetch_failed, too_large, timeout, http_status); the caller's abort
 * rethrows its reason.
 *
 * Identity: `source` is the final URL, where the bytes came from, for citations; the document id
 * (`metadata.doc_id`) is the URL as requested. That is the one the operator lists and controls: when /latest
 * starts redirecting to /v3.pdf, or a redirect carries a per-request token, a re-run must replace the same
 * document instead of adding another beside it, and a cleanup scoped to the requested URLs must find it.
 */
export async function fetchUrl(raw: string, options: UrlFetchOptions): Promise<SourceBlob> {
  const { signal, policy = {}, lookup = defaultLookup } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  signal?.throwIfAborted();
  let url = checkUrl(raw, policy);
  const requested = url.href;
  let connecting = "";
  // One deadline for the whole fetch: a slow trickle across redirects must not outlive it either.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error("timeout")), timeoutMs);
  const onAbort = () => deadline.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for (let redirects = 0; ; redirects++) {
      connecting = "";
      const addresses = await resolve(url, { policy, lookup, signal: deadline.signal });
      connecting = addresses.map((a) => a.address).join(", ");
      const { request, response } = await send(url, addresses, deadline.signal);
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
        const data = await readBody(response, url, options.maxBytes);
        return toBlob(requested, url, response, data);
      } finally {
        // Closes the connection: nothing more is read from a body that was refused or is complete.
        request.destroy();
      }
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const at = connecting === "" ? "" : ` (connecting to ${connecting})`;
    if (deadline.signal.aborted) {
      throw new CounselError("timeout", 504, `${url.href}${at} did not finish within ${timeoutMs} ms`);
    }
    if (error instanceof CounselError) throw error;
    throw fetchFailed(`Cannot fetch ${url.href}${at}: ${describe(error)}`);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Yields a SourceBlob for every URL that can be fetched, in the order given, up to `concurrency` at once. A URL
 * that cannot (refused, unreachable, not 200, too large, too slow) goes to `onSkip` and the others go on; only
 * the caller's abort ends the run.
 */
export async function* urlSource(urls: string[], options: UrlSourceOptions): AsyncGenerator<SourceBlob> {
  const { onSkip, signal } = options;
  yield* pMapIterable(
    urls,
    async (url) => {
      signal?.throwIfAborted();
      try {
        return await fetchUrl(url, options);
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
    vet(address, answerFamily as 4 | 6, options.policy, `${url.hostname} (${url.href}) resolves to`);
    return { address, family: answerFamily };
  });
}

/** Throws ssrf_blocked unless the policy allows the address; `what` says where it came from. */
function vet(address: string, family: 4 | 6, policy: AddressPolicy, what: string): void {
  const allowed = policy.allow ? policy.allow(address, family) : isPublicAddress(address);
  if (allowed) return;
  const kind = nonPublicKind(address) ?? "an address the policy refuses";
  throw ssrfBlocked(`${what} ${address}, ${kind}: only public addresses can be fetched`);
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

function toBlob(requested: string, url: URL, response: IncomingMessage, data: Buffer): SourceBlob {
  const contentType = response.headers["content-type"];
  const { etag } = response.headers;
  const lastModified = response.headers["last-modified"];
  return {
    name: blobName(url),
    source: url.href,
    data,
    ...(contentType ? { mediaType: contentType } : {}),
    // Facts of this version of the page, the same on every run (no fetch time), so index() skips unchanged ones.
    metadata: {
      doc_id: requested,
      url: requested,
      final_url: url.href,
      fetched_status: response.statusCode,
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

/** The URL's host without IPv6 brackets: what isIP and the socket expect. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "");
}

/** An IPv6 address (any valid spelling) as its eight 16-bit groups, via WHATWG's canonical form. */
function ipv6Groups(address: string): number[] {
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const [head, tail] = canonical.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const gap = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(gap).fill("0"), ...right].map((group) => Number.parseInt(group, 16));
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function masked(url: URL): string {
  if (url.password === "") return url.href;
  const copy = new URL(url.href);
  copy.password = "***";
  return copy.href;
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

function shorten(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function badUrl(message: string): CounselError {
  return new CounselError("bad_url", 400, message);
}

function ssrfBlocked(message: string): CounselError {
  return new CounselError("ssrf_blocked", 400, message);
}

function fetchFailed(message: string): CounselError {
  return new CounselError("fetch_failed", 502, message);
}

function tooLarge(url: URL, size: string, maxBytes: number): CounselError {
  return new CounselError(
    "too_large",
    413,
    `${url.href} is ${size}, more than the ${maxBytes} bytes a document may have`,
  );
}

/** A Node error's code and message (`ECONNREFUSED: connect ECONNREFUSED …`), else the message. */
function describe(error: unknown): string {
  if (error instanceof Error) {
    const { code } = error as NodeJS.ErrnoException;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
