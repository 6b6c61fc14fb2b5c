// What may be fetched at all: http(s) URLs without credentials or another protocol's port, aimed only at
// addresses the AddressPolicy allows. Checked for the URL given, for every redirect and for every DNS answer.
import { isIP } from "node:net";
import { type AddressPolicy, isPublicAddress, nonPublicKind } from "./address-policy.ts";
import { badUrl, masked, shorten, ssrfBlocked } from "./fetch-errors.ts";

const MAX_URL_LENGTH = 8192;

// The Fetch Standard's "bad ports" (browsers refuse them too): a GET aimed at SMTP, IRC or the like could
// smuggle commands into that protocol, even on a public host.
const BAD_PORTS = new Set([
  0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
  109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
  526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/**
 * Parses a URL and refuses what must never be fetched, before any DNS or connection: schemes other than http
 * and https, credentials, bad ports, and a literal IP that the policy refuses. A host name is checked later,
 * once resolved. Returns the URL without its fragment, which is never sent. Throws a CounselError bad_url or
 * ssrf_blocked.
 *
 * Numeric tricks need no code of their own: WHATWG URL parsing turns 2130706433, 0x7f.1 or 017700000001 into
 * 127.0.0.1, and an IPv6 literal into its canonical form, before the address is judged.
 *
 * @example
 * checkUrl("http://0x7f.1/"); // throws ssrf_blocked: it points at 127.0.0.1, a loopback address
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
    vetAddress(literal, family as 4 | 6, policy, `${url.href}${spelt} points at`);
  }
  url.hash = "";
  return url;
}

/** Throws ssrf_blocked unless the policy allows the address; `what` says where it came from. */
export function vetAddress(address: string, family: 4 | 6, policy: AddressPolicy, what: string): void {
  const allowed = policy.allow ? policy.allow(address, family) : isPublicAddress(address);
  if (allowed) return;
  const kind = nonPublicKind(address) ?? "an address the policy refuses";
  throw ssrfBlocked(`${what} ${address}, ${kind}: only public addresses can be fetched`);
}

/** The URL's host without IPv6 brackets: what isIP and the socket expect. */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "");
}
