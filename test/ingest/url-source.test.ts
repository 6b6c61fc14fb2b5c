// The URL source against a real HTTP server on 127.0.0.1: fetching real documents (through redirects, gzip,
// size caps and timeouts), and refusing what an attacker would aim it at (internal addresses however spelt,
// other schemes, redirects inward, DNS rebinding) without ever connecting to the target.
import type { LookupAddress } from "node:dns";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { SourceBlob } from "../../src/ingest/sources/blob.ts";
import { type AddressPolicy, isPublicAddress } from "../../src/ingest/sources/url/address-policy.ts";
import type { Lookup } from "../../src/ingest/sources/url/pinned-fetch.ts";
import { checkUrl } from "../../src/ingest/sources/url/url-policy.ts";
import {
  type UrlSkipped,
  type UrlSourceOptions,
  urlSource,
} from "../../src/ingest/sources/url/url-source.ts";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures");
const MIB = 1024 * 1024;
const LAST_MODIFIED = "Tue, 01 Apr 2025 10:00:00 GMT";

/** The default policy plus the test server's address. */
const LOCAL: AddressPolicy = { allow: (address) => address === "127.0.0.1" || isPublicAddress(address) };
/** The default policy plus one TEST-NET-3 address, which nothing answers: a "public" host that cannot connect. */
const UNREACHABLE = "203.0.113.1";
const TEST_NET: AddressPolicy = { allow: (address) => address === UNREACHABLE || isPublicAddress(address) };

/** A resolver that answers from a script and counts its calls. */
function scriptedLookup(answer: (hostname: string, call: number) => LookupAddress[]) {
  const calls: string[] = [];
  const lookup: Lookup = async (hostname) => {
    calls.push(hostname);
    return answer(hostname, calls.length);
  };
  return { lookup, calls };
}

const v4 = (address: string): LookupAddress => ({ address, family: 4 });

describe("URL source", () => {
  let memo: Buffer;
  let guide: Buffer;
  let rustdoc: Buffer;
  let server: http.Server;
  let port: number;
  let base: string;
  /** Every request the server received: path and Host header. */
  const seen: { path: string; host: string }[] = [];
  /** Resolved when the endless body's connection closes, with the bytes written by then. */
  let endlessClosed: Promise<{ written: number; finished: boolean }>;

  beforeAll(async () => {
    [memo, guide, rustdoc] = await Promise.all(
      ["fake-memo.pdf", "fastify-getting-started.md", "what-is-rustdoc.html"].map((name) =>
        readFile(path.join(FIXTURES, name)),
      ),
    );
    server = http.createServer((request, response) => serve(request, response));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, "close");
  });

  beforeEach(() => {
    seen.length = 0;
  });

  function serve(request: IncomingMessage, response: ServerResponse) {
    const requestPath = request.url ?? "/";
    seen.push({ path: requestPath, host: request.headers.host ?? "" });
    const redirect = /^\/r\/(\d+)$/.exec(requestPath);
    if (redirect) {
      const left = Number(redirect[1]) - 1;
      response.writeHead(302, { location: left > 0 ? `/r/${left}` : "/docs/fake-memo.pdf" }).end();
      return;
    }
    switch (requestPath) {
      case "/docs/fake-memo.pdf":
        response.writeHead(200, {
          "content-type": "application/pdf",
          "content-length": memo.length,
          etag: '"memo-v1"',
          "last-modified": LAST_MODIFIED,
        });
        response.end(memo);
        return;
      case "/guides/getting%20started.md":
        response.writeHead(200, { "content-type": "text/markdown; charset=utf-8" }).end(guide);
        return;
      case "/":
        response.writeHead(200, { "content-type": "text/html" }).end(rustdoc);
        return;
      case "/gz/guide.md":
        response.writeHead(200, { "content-type": "text/markdown", "content-encoding": "gzip" });
        response.end(gzipSync(guide));
        return;
      case "/bomb.txt":
        // 8 MiB of zeros gzip to about 8 KiB: small on the wire, too large once inflated.
        response.writeHead(200, { "content-type": "text/plain", "content-encoding": "gzip" });
        response.end(gzipSync(Buffer.alloc(8 * MIB)));
        return;
      case "/to-private":
        response.writeHead(302, { location: `http://127.0.0.1:${port}/private` }).end();
        return;
      case "/to-metadata":
        response.writeHead(307, { location: "http://169.254.169.254/latest/meta-data/" }).end();
        return;
      case "/to-file":
        response.writeHead(301, { location: "file:///etc/passwd" }).end();
        return;
      case "/private":
        response.writeHead(200, { "content-type": "text/plain" }).end("internal only");
        return;
      case "/no-location":
        response.writeHead(302).end();
        return;
      case "/endless":
        endlessClosed = writeForever(response);
        return;
      case "/declared-huge":
        response.writeHead(200, { "content-type": "application/pdf", "content-length": 1_000_000_000 });
        response.write(memo);
        return;
      case "/stall":
        return; // never answers
      default:
        response.writeHead(404, { "content-type": "text/plain" }).end("not here");
    }
  }

  /** Writes 64 KiB chunks, as fast as the client reads, until 256 MiB or until the connection closes. */
  function writeForever(response: ServerResponse) {
    response.writeHead(200, { "content-type": "text/plain" });
    const chunk = Buffer.alloc(64 * 1024, "a");
    let written = 0;
    const write = () => {
      while (!response.destroyed && written < 256 * MIB) {
        written += chunk.length;
        if (!response.write(chunk)) return void response.once("drain", write);
      }
      if (!response.destroyed) response.end();
    };
    const closed = once(response, "close").then(() => ({ written, finished: response.writableFinished }));
    write();
    return closed;
  }

  async function run(urls: string[], options: Partial<UrlSourceOptions> = {}) {
    const skipped: UrlSkipped[] = [];
    const blobs: SourceBlob[] = [];
    for await (const blob of urlSource(urls, {
      maxBytes: 5 * MIB,
      onSkip: (s) => skipped.push(s),
      ...options,
    })) {
      blobs.push(blob);
    }
    return { blobs, skipped };
  }

  describe("fetching", () => {
    it("yields a document with its bytes, name, media type and metadata", async () => {
      const url = `${base}/docs/fake-memo.pdf`;
      const { blobs, skipped } = await run([url], { policy: LOCAL });
      expect(skipped).toEqual([]);
      expect(blobs).toHaveLength(1);
      const [blob] = blobs;
      expect(blob.data.equals(memo)).toBe(true);
      expect(blob).toMatchObject({ name: "fake-memo.pdf", source: url, mediaType: "application/pdf" });
      expect(blob.metadata).toEqual({
        doc_id: url,
        url,
        final_url: url,
        fetched_status: 200,
        content_type: "application/pdf",
        etag: '"memo-v1"',
        last_modified: LAST_MODIFIED,
      });
    });

    it("names a page after its decoded last path segment, or its host, and keeps the declared type", async () => {
      const { blobs } = await run([`${base}/guides/getting%20started.md`, `${base}/#intro`], {
        policy: LOCAL,
      });
      expect(blobs.map((b) => [b.name, b.mediaType, b.source])).toEqual([
        ["getting started.md", "text/markdown; charset=utf-8", `${base}/guides/getting%20started.md`],
        // The fragment is never sent and is not part of the identity.
        ["127.0.0.1", "text/html", `${base}/`],
      ]);
      expect(blobs[0].data.equals(guide)).toBe(true);
      expect(blobs[1].data.equals(rustdoc)).toBe(true);
    });

    it("decompresses a gzip body, and applies the size cap to what it inflates to", async () => {
      const { blobs, skipped } = await run([`${base}/gz/guide.md`, `${base}/bomb.txt`], {
        policy: LOCAL,
        maxBytes: MIB,
      });
      expect(blobs).toHaveLength(1);
      expect(blobs[0].data.equals(guide)).toBe(true);
      expect(skipped).toEqual([
        expect.objectContaining({ url: `${base}/bomb.txt`, code: "too_large", status: 413 }),
      ]);
      expect(skipped[0].error).toMatch(/over 1048576 bytes/);
    });

    it("follows redirects, resolving and checking every hop, and names the document after the final URL", async () => {
      const { lookup, calls } = scriptedLookup(() => [v4("127.0.0.1")]);
      const asked: string[] = [];
      const policy: AddressPolicy = {
        allow: (address) => {
          asked.push(address);
          return LOCAL.allow?.(address, 4) ?? false;
        },
      };
      const requested = `http://docs.test:${port}/r/3`;
      const { blobs, skipped } = await run([requested], { policy, lookup });
      expect(skipped).toEqual([]);
      const final = `http://docs.test:${port}/docs/fake-memo.pdf`;
      expect(blobs[0]).toMatchObject({ name: "fake-memo.pdf", source: final });
      expect(blobs[0].metadata).toMatchObject({ doc_id: requested, url: requested, final_url: final });
      expect(blobs[0].data.equals(memo)).toBe(true);
      // Four hops, each resolved and vetted on its own; the Host header keeps the name, not the address.
      expect(calls).toEqual(["docs.test", "docs.test", "docs.test", "docs.test"]);
      expect(asked).toEqual(["127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"]);
      expect(seen).toEqual(
        ["/r/3", "/r/2", "/r/1", "/docs/fake-memo.pdf"].map((p) => ({ path: p, host: `docs.test:${port}` })),
      );
    });

    it("refuses to follow more redirects than maxRedirects", async () => {
      const { blobs, skipped } = await run([`${base}/r/3`], { policy: LOCAL, maxRedirects: 2 });
      expect(blobs).toEqual([]);
      expect(skipped).toEqual([expect.objectContaining({ code: "fetch_failed", status: 502 })]);
      expect(skipped[0].error).toMatch(/redirected more than 2 times/);
      expect(seen.map((s) => s.path)).toEqual(["/r/3", "/r/2", "/r/1"]);
    });

    it("abandons a body that grows past maxBytes, closing the connection", async () => {
      const { blobs, skipped } = await run([`${base}/endless`], { policy: LOCAL, maxBytes: MIB });
      expect(blobs).toEqual([]);
      expect(skipped).toEqual([expect.objectContaining({ code: "too_large", status: 413 })]);
      const { written, finished } = await endlessClosed;
      expect(finished).toBe(false);
      expect(written).toBeLessThan(32 * MIB);
    });

    it("refuses a body whose Content-Length is over maxBytes before reading it", async () => {
      const { skipped } = await run([`${base}/declared-huge`], { policy: LOCAL, maxBytes: MIB });
      expect(skipped).toEqual([expect.objectContaining({ code: "too_large", status: 413 })]);
      expect(skipped[0].error).toMatch(/is 1000000000 bytes, more than the 1048576 bytes/);
    });

    it("gives up on a server that does not answer within the timeout", async () => {
      const started = Date.now();
      const { skipped } = await run([`${base}/stall`], { policy: LOCAL, timeoutMs: 300 });
      expect(skipped).toEqual([expect.objectContaining({ code: "timeout", status: 504 })]);
      expect(skipped[0].error).toMatch(/did not finish within 300 ms/);
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it("reports statuses other than 200 and goes on with the other URLs, in order", async () => {
      const urls = [`${base}/missing`, `${base}/docs/fake-memo.pdf`, `${base}/no-location`, `${base}/`];
      const { blobs, skipped } = await run(urls, { policy: LOCAL, concurrency: 2 });
      expect(blobs.map((b) => b.name)).toEqual(["fake-memo.pdf", "127.0.0.1"]);
      expect(skipped).toEqual([
        { url: urls[0], code: "http_status", status: 502, fetchedStatus: 404, error: expect.any(String) },
        { url: urls[2], code: "http_status", status: 502, fetchedStatus: 302, error: expect.any(String) },
      ]);
      expect(skipped[0].error).toBe(`${base}/missing answered 404 Not Found`);
    });

    it("stops the whole run when the caller aborts, without reporting the URL as skipped", async () => {
      const controller = new AbortController();
      const reason = new Error("client went away");
      setTimeout(() => controller.abort(reason), 100);
      const skipped: UrlSkipped[] = [];
      const source = urlSource([`${base}/stall`], {
        maxBytes: MIB,
        policy: LOCAL,
        signal: controller.signal,
        onSkip: (s) => skipped.push(s),
      });
      await expect(source.next()).rejects.toBe(reason);
      expect(skipped).toEqual([]);
    });
  });

  describe("refusing (the default policy: public addresses only)", () => {
    it("classifies addresses: public ones only, however an internal one is written", () => {
      for (const address of [
        "8.8.8.8",
        "172.32.0.1",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
      ]) {
        expect(isPublicAddress(address), address).toBe(true);
      }
      for (const address of [
        ...["10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.0.1", "127.0.0.1", "127.255.255.254"],
        ...["169.254.169.254", "100.64.0.1", "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250"],
        ...[
          "255.255.255.255",
          "240.0.0.1",
          "192.0.2.1",
          "198.18.0.1",
          "::",
          "::1",
          "fe80::1",
          "fe80::1%eth0",
        ],
        ...["fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:a9fe:a9fe", "64:ff9b::a00:1"],
        ...["2002:7f00:1::1", "2001:db8::1", "2001::1", "::7f00:1", "not-an-address"],
      ]) {
        expect(isPublicAddress(address), address).toBe(false);
      }
    });

    it("refuses internal addresses, other schemes and credentials before any DNS lookup or connection", async () => {
      const { lookup, calls } = scriptedLookup(() => {
        throw new Error("no lookup expected");
      });
      const refused: [string, "ssrf_blocked" | "bad_url", RegExp][] = [
        [`http://127.0.0.1:${port}/private`, "ssrf_blocked", /127\.0\.0\.1, a loopback address/],
        [`http://[::1]:${port}/private`, "ssrf_blocked", /::1, a loopback address/],
        ["http://169.254.169.254/latest/meta-data/", "ssrf_blocked", /link-local address/],
        ["http://10.0.0.1/", "ssrf_blocked", /a private address/],
        ["http://100.64.0.1/", "ssrf_blocked", /carrier-grade NAT/],
        [`http://0.0.0.0:${port}/private`, "ssrf_blocked", /"this network"/],
        ["http://[fd00::1]/", "ssrf_blocked", /unique local/],
        [`http://2130706433:${port}/private`, "ssrf_blocked", /given as http:\/\/2130706433.* 127\.0\.0\.1/],
        [`http://0x7f000001:${port}/private`, "ssrf_blocked", /points at 127\.0\.0\.1, a loopback/],
        [`http://0x7f.1:${port}/private`, "ssrf_blocked", /points at 127\.0\.0\.1, a loopback/],
        [`http://017700000001:${port}/private`, "ssrf_blocked", /points at 127\.0\.0\.1, a loopback/],
        [`http://[::ffff:127.0.0.1]:${port}/private`, "ssrf_blocked", /IPv4-mapped form of 127\.0\.0\.1/],
        [`http://[64:ff9b::7f00:1]:${port}/private`, "ssrf_blocked", /NAT64 form of 127\.0\.0\.1/],
        ["http://example.com:25/", "ssrf_blocked", /port 25/],
        ["http://user:pass@example.com/", "bad_url", /credentials/],
        ["file:///etc/passwd", "bad_url", /only http and https URLs can be fetched, not file:/],
        ["gopher://x", "bad_url", /not gopher:/],
        ["ftp://example.com/file", "bad_url", /not ftp:/],
        ["data:text/plain,hello", "bad_url", /not data:/],
        ["javascript:alert(1)", "bad_url", /not javascript:/],
        ["/relative/path", "bad_url", /not an absolute URL/],
      ];
      const { blobs, skipped } = await run(
        refused.map(([url]) => url),
        { lookup },
      );
      expect(blobs).toEqual([]);
      expect(skipped.map((s) => [s.code, s.status])).toEqual(refused.map(([, code]) => [code, 400]));
      refused.forEach(([, , message], i) => {
        expect(skipped[i].error, refused[i][0]).toMatch(message);
      });
      // The password never appears in a report.
      expect(skipped[14].url).toBe("http://user:***@example.com/");
      expect(JSON.stringify(skipped)).not.toContain("pass@");
      expect(calls).toEqual([]);
      expect(seen).toEqual([]);
    });

    it("checkUrl refuses the same URLs on its own, so a route can answer 400 before starting a job", () => {
      expect(() => checkUrl("file:///etc/passwd")).toThrow(expect.objectContaining({ code: "bad_url" }));
      expect(() => checkUrl("http://0x7f.1/")).toThrow(expect.objectContaining({ code: "ssrf_blocked" }));
      expect(checkUrl("HTTPS://Example.COM/a/../b#top").href).toBe("https://example.com/b");
    });

    it("resolves a host name and refuses it when it points at loopback (localhost)", async () => {
      const { skipped } = await run([`http://localhost:${port}/private`]);
      expect(skipped).toEqual([expect.objectContaining({ code: "ssrf_blocked", status: 400 })]);
      expect(skipped[0].error).toMatch(/localhost .* resolves to (127\.0\.0\.1|::1), a loopback address/);
      expect(seen).toEqual([]);
    });

    it("refuses a host when any one of its addresses is not public", async () => {
      const { lookup } = scriptedLookup(() => [v4(UNREACHABLE), v4("127.0.0.1")]);
      const { skipped } = await run([`http://mixed.test:${port}/private`], {
        policy: TEST_NET,
        lookup,
        timeoutMs: 1000,
      });
      expect(skipped).toEqual([expect.objectContaining({ code: "ssrf_blocked", status: 400 })]);
      expect(skipped[0].error).toMatch(/mixed\.test .* resolves to 127\.0\.0\.1, a loopback address/);
      expect(seen).toEqual([]);
    });

    it("re-checks every redirect: an allowed server cannot send the fetch to an internal address", async () => {
      // Allows 127.0.0.1 for the first hop only: the redirect target is judged afresh, by the default rules.
      let asked = 0;
      const firstHopOnly: AddressPolicy = {
        allow: (address) => (asked++ === 0 && address === "127.0.0.1") || isPublicAddress(address),
      };
      const { skipped } = await run([`${base}/to-private`], { policy: firstHopOnly });
      expect(skipped).toEqual([expect.objectContaining({ code: "ssrf_blocked", status: 400 })]);
      expect(skipped[0].error).toMatch(/to-private redirected to http:\/\/127\.0\.0\.1:\d+\/private/);
      expect(seen.map((s) => s.path)).toEqual(["/to-private"]);

      seen.length = 0;
      const other = await run([`${base}/to-metadata`, `${base}/to-file`], { policy: LOCAL });
      expect(other.skipped.map((s) => s.code)).toEqual(["ssrf_blocked", "bad_url"]);
      expect(other.skipped[0].error).toMatch(/169\.254\.169\.254, a link-local address/);
      expect(other.skipped[1].error).toMatch(/redirected to file:\/\/\/etc\/passwd: only http and https/);
      expect(seen.map((s) => s.path)).toEqual(["/to-metadata", "/to-file"]);
    });

    it("connects only to the address it vetted, whatever DNS answers later (rebinding)", async () => {
      // The first answer is public (allowed, but nothing listens there); every later one is loopback, where
      // the test server waits. The name is localhost, so that a fetch that let Node resolve it again when
      // connecting (its own dns.lookup) would reach the server too.
      const { lookup, calls } = scriptedLookup((_, call) => [v4(call === 1 ? UNREACHABLE : "127.0.0.1")]);
      const { blobs, skipped } = await run([`http://localhost:${port}/private`], {
        policy: TEST_NET,
        lookup,
        timeoutMs: 500,
      });
      expect(blobs).toEqual([]);
      expect(skipped).toHaveLength(1);
      // No route to TEST-NET-3 fails at once on some hosts and times out on others.
      expect(["fetch_failed", "timeout"]).toContain(skipped[0].code);
      expect(skipped[0].error).toContain(`connecting to ${UNREACHABLE}`);
      expect(calls).toEqual(["localhost"]);
      expect(seen).toEqual([]);
    });
  });
});
