// Which addresses a URL fetch may connect to: public ones, as ipaddr.js classifies them against the IANA
// special-purpose registries, plus the private ranges an operator opens on purpose (URL_ALLOW_ADDRESSES).
import { BlockList, isIP } from "node:net";
import ipaddr from "ipaddr.js";

/** Which resolved or literal addresses may be connected to. */
export interface AddressPolicy {
  /**
   * Decides alone for every address (IPv4 dotted, IPv6 without brackets); without it, `isPublicAddress`
   * decides. To widen the default (a test server on 127.0.0.1), call `isPublicAddress` from here.
   *
   * @example
   * const local: AddressPolicy = { allow: (address) => address === "127.0.0.1" || isPublicAddress(address) };
   */
  allow?(address: string, family: 4 | 6): boolean;
}

// What a refusal calls each range ipaddr.js names. Every named range is refused, the few anycast services
// among them too (AS112, AMT): no documents live there. A name missing here (one a later ipaddr.js adds) is
// refused as well, under its own name: the policy fails closed.
const IPV4_KINDS: Record<string, string> = {
  unspecified: 'a "this network" address (0.0.0.0/8)',
  broadcast: "the broadcast address",
  private: "a private address",
  loopback: "a loopback address",
  linkLocal: "a link-local address (where cloud metadata services live)",
  carrierGradeNat: "a carrier-grade NAT address (100.64.0.0/10)",
  multicast: "a multicast address",
  reserved: "a reserved address (IETF protocol, documentation, benchmarking, 6to4 relay or 240.0.0.0/4)",
  as112: "an AS112 DNS sink address",
  amt: "an AMT relay address",
};
const IPV6_KINDS: Record<string, string> = {
  unspecified: "the unspecified address",
  loopback: "a loopback address",
  linkLocal: "a link-local address",
  deprecatedSiteLocal: "a site-local address",
  uniqueLocal: "a unique local address (fc00::/7)",
  multicast: "a multicast address",
  discard: "a discard-only address (100::/64)",
  rfc6145: "an IPv4-translated address (::ffff:0:0:0/96)",
  // Only the local-use prefix gets here: the well-known one is judged by the IPv4 address it carries.
  rfc6052: "a local-use NAT64 address (64:ff9b:1::/48)",
  teredo: "a Teredo address (2001::/32)",
  benchmarking: "a benchmarking address (2001:2::/48)",
  amt: "an AMT relay address",
  as112v6: "an AS112 DNS sink address",
  deprecatedOrchid: "an ORCHID identifier, not routable",
  orchid2: "an ORCHID identifier, not routable",
  droneRemoteIdProtocolEntityTags: "a drone remote ID tag, not routable",
  segmentRouting: "a segment-routing identifier (5f00::/16)",
  reserved: "a reserved or documentation address (2001::/23, 2001:db8::/32, 3fff::/20)",
};

// Two prefixes ipaddr.js does not name apart: NAT64's well-known one, which carries an IPv4 address (its
// local-use /48 neighbour is rfc6052 too, and carries none), and global unicast, the only IPv6 space allocated
// to the public internet (ipaddr.js calls every unnamed address "unicast").
const NAT64 = ipaddr.IPv6.parseCIDR("64:ff9b::/96");
const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR("2000::/3");

/**
 * What kind of non-public address this is ("a loopback address"), or undefined for a public one. An IPv6
 * address that embeds an IPv4 one (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged by
 * the IPv4 address it leads to. Anything that is not an IP address is not public.
 */
export function nonPublicKind(address: string): string | undefined {
  // A zone (fe80::1%eth0) names an interface, not another address: the range is the address's own.
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  // net.isIP first: it takes only the spellings a socket is given, where ipaddr.js also reads inet_aton's
  // (2130706433, 0x7f.1). Those never come from DNS, nor from a parsed URL: WHATWG rewrites them to dotted quads.
  if (isIP(bare) === 0 || !ipaddr.isValid(bare)) return "not an IP address";
  const ip = ipaddr.parse(bare);
  if (ip instanceof ipaddr.IPv4) {
    const range = ip.range();
    return range === "unicast" ? undefined : kindOf(range, IPV4_KINDS);
  }
  const embedded = embeddedIPv4(ip);
  if (embedded) {
    const [form, ipv4] = embedded;
    const kind = nonPublicKind(ipv4);
    return kind && `${form} of ${ipv4}, ${kind}`;
  }
  const range = ip.range();
  if (range !== "unicast") return kindOf(range, IPV6_KINDS);
  return ip.match(GLOBAL_UNICAST) ? undefined : "a reserved IPv6 address (outside 2000::/3)";
}

/**
 * True for an address on the public internet; the default AddressPolicy.
 *
 * @example
 * isPublicAddress("8.8.8.8"); // true
 * isPublicAddress("::ffff:169.254.169.254"); // false: the IPv4-mapped form of a link-local address
 */
export function isPublicAddress(address: string): boolean {
  return nonPublicKind(address) === undefined;
}

/**
 * Public addresses, plus the addresses and CIDR ranges an operator opened (URL_ALLOW_ADDRESSES). Node's
 * BlockList matches them: it also matches an IPv4 range against the IPv4-mapped form of its addresses.
 *
 * @example
 * const intranet = allowPolicy(["10.20.0.0/16", "192.168.1.10"]);
 */
export function allowPolicy(allow: string[]): AddressPolicy {
  if (allow.length === 0) return {};
  const opened = new BlockList();
  for (const entry of allow) {
    const [address, bits] = entry.split("/");
    const family = isIP(address) === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) opened.addAddress(address, family);
    else opened.addSubnet(address, Number(bits), family);
  }
  return {
    allow: (address, family) =>
      isPublicAddress(address) || opened.check(address, family === 6 ? "ipv6" : "ipv4"),
  };
}

function kindOf(range: string, kinds: Record<string, string>): string {
  return kinds[range] ?? `a special-purpose address (${range})`;
}

/** The IPv4 address an IPv6 one carries, and the form it is carried in, for the forms that lead to it. */
function embeddedIPv4(ip: ipaddr.IPv6): [string, string] | undefined {
  const bytes = ip.toByteArray();
  const ipv4 = (from: number) => ipaddr.fromByteArray(bytes.slice(from, from + 4)).toString();
  if (ip.isIPv4MappedAddress()) return ["the IPv4-mapped form", ipv4(12)];
  if (ip.match(NAT64)) return ["the NAT64 form", ipv4(12)];
  if (ip.range() === "6to4") return ["the 6to4 form", ipv4(2)];
  return undefined;
}
