// A local Amazon S3 that speaks the REST-XML wire protocol over HTTP/1.1, so that the real @aws-sdk/client-s3 runs
// unchanged against it; production code reaches it only through the SDK's endpoint setting (AWS_ENDPOINT_URL_S3).
// In-memory buckets, path-style and virtual-hosted addressing, and the aws-chunked encoding with a checksum
// trailer that the SDK uses to upload a stream. It records what it was asked, and injects faults the way S3 and
// networks produce them: error replies (503 SlowDown, 500 InternalError), latency, slow bodies, and bodies that
// are cut or stall mid-stream. Signatures are not verified: only that a request is signed with SigV4.

import { createHash, randomBytes } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { isIP } from "node:net";
import { crc32 } from "node:zlib";
import { HttpEmulator } from "./loopback.ts";

export type S3Operation =
  | "CreateBucket"
  | "HeadBucket"
  | "ListObjectsV2"
  | "GetObject"
  | "HeadObject"
  | "PutObject"
  | "DeleteObject"
  | "Unsupported";

export interface StoredObject {
  body: Buffer;
  /** Quoted, as S3 sends it: the MD5 of the bytes, for an object written by one PUT. */
  etag: string;
  /** S3 keeps whole seconds. */
  lastModified: Date;
  contentType: string;
  contentEncoding?: string;
  /** Full-object checksums by header name (`x-amz-checksum-crc32`), base64, as the uploader sent them. */
  checksums: Record<string, string>;
  /** User metadata (`x-amz-meta-*`), names without the prefix. */
  metadata: Record<string, string>;
  /**
   * How S3 encrypted it: SSE-S3 (AES256, the default since 2023) or SSE-KMS with the key asked for (or the
   * account's aws/s3 key), as PutObject, GetObject and HeadObject say in their `x-amz-server-side-encryption*`
   * headers.
   */
  encryption: { algorithm: "AES256" | "aws:kms"; kmsKeyId?: string };
}

export interface RecordedS3Request {
  operation: S3Operation;
  method: string;
  /** How the bucket was addressed: in the path, or as the first label of the host name. */
  style: "path" | "virtual-host";
  bucket?: string;
  key?: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The status replied, once the reply has started; 0 before. */
  status: number;
  /** Object bytes handed to the connection (GetObject). */
  bytesSent: number;
  /** Set when the connection closed before the reply was complete (client hang-up or an injected cut). */
  aborted: boolean;
}

export interface S3ErrorReply {
  status: number;
  code: string;
  message: string;
}

export const SLOW_DOWN: S3ErrorReply = {
  status: 503,
  code: "SlowDown",
  message: "Please reduce your request rate.",
};
export const INTERNAL_ERROR: S3ErrorReply = {
  status: 500,
  code: "InternalError",
  message: "We encountered an internal error. Please try again.",
};

/** A fault for the next `times` requests (1 by default) that match `operation` and `key` (any when absent). */
export interface S3Fault {
  operation?: S3Operation;
  key?: string;
  times?: number;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Answer with this S3 error instead. */
  error?: S3ErrorReply;
  /** GetObject: send this many bytes of the body, then drop the connection. */
  cutAfterBytes?: number;
  /** GetObject: send this many bytes of the body, then go silent with the connection open. */
  stallAfterBytes?: number;
  /** GetObject: pause between body chunks of 16 KiB, so that a reader can stop part-way. */
  chunkDelayMs?: number;
}

const XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";
const BODY_CHUNK = 16 * 1024;
/** aws-chunked: every chunk but the last must hold at least this much (S3 answers InvalidChunkSizeError). */
const MIN_CHUNK = 8192;
/** Query parameters that name a sub-resource this emulator does not serve (ACLs, tagging, multipart...). */
const SUBRESOURCES = [
  "acl",
  "tagging",
  "uploads",
  "uploadId",
  "versionId",
  "versioning",
  "location",
  "delete",
];

class S3Error extends Error {
  constructor(
    readonly reply: S3ErrorReply,
    readonly fields: Record<string, string | number> = {},
  ) {
    super(reply.message);
  }
}

export class S3Emulator extends HttpEmulator {
  readonly requests: RecordedS3Request[] = [];
  readonly buckets = new Map<string, Map<string, StoredObject>>();
  /** Most GetObject replies in flight at once: what a reader's concurrency limit must bound. */
  maxInFlight = 0;
  private inFlight = 0;
  private faults: S3Fault[] = [];

  createBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, new Map());
  }

  /** Stores an object as S3 would after a PUT, with a CRC32 full-object checksum (S3 now keeps one for every
   *  object), so that the SDK's response validation wraps GetObject bodies as it does against AWS. */
  putObject(
    bucket: string,
    key: string,
    body: Buffer | string,
    options: { contentType?: string; metadata?: Record<string, string> } = {},
  ): StoredObject {
    const objects = this.buckets.get(bucket);
    if (!objects) throw new Error(`no bucket ${bucket}: call createBucket first`);
    const bytes = Buffer.from(body);
    const stored: StoredObject = {
      body: bytes,
      etag: `"${createHash("md5").update(bytes).digest("hex")}"`,
      lastModified: wholeSeconds(new Date()),
      contentType: options.contentType ?? "binary/octet-stream",
      checksums: { "x-amz-checksum-crc32": crc32Base64(bytes) },
      metadata: options.metadata ?? {},
      encryption: { algorithm: "AES256" },
    };
    objects.set(key, stored);
    return stored;
  }

  getObject(bucket: string, key: string): StoredObject | undefined {
    return this.buckets.get(bucket)?.get(key);
  }

  deleteObject(bucket: string, key: string): void {
    this.buckets.get(bucket)?.delete(key);
  }

  inject(fault: S3Fault): void {
    this.faults.push({ times: 1, ...fault });
  }

  /** The next `times` matching requests get 503 SlowDown, S3's throttling reply. */
  throttle(times: number, match: Pick<S3Fault, "operation" | "key"> = {}): void {
    this.inject({ ...match, times, error: SLOW_DOWN });
  }

  /** Requests recorded for one operation, optionally since an index into `requests`. */
  recorded(operation: S3Operation, since = 0): RecordedS3Request[] {
    return this.requests.slice(since).filter((r) => r.operation === operation);
  }

  private takeFault(operation: S3Operation, key: string | undefined): S3Fault | undefined {
    const fault = this.faults.find(
      (f) => (f.operation ?? operation) === operation && (f.key === undefined || f.key === key),
    );
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
    }
    return fault;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse) {
    // The raw target, not WHATWG URL parsing, which would resolve "." and ".." segments that are legal in keys.
    const target = req.url ?? "/";
    const q = target.indexOf("?");
    const rawPath = q < 0 ? target : target.slice(0, q);
    const params = new URLSearchParams(q < 0 ? "" : target.slice(q + 1));
    const { bucket, key, style } = address(req.headers.host, rawPath);
    const operation = classify(req.method ?? "GET", bucket, key, params, req.headers);
    const record: RecordedS3Request = {
      operation,
      method: req.method ?? "GET",
      style,
      bucket,
      key,
      query: Object.fromEntries(params),
      headers: req.headers,
      status: 0,
      bytesSent: 0,
      aborted: false,
    };
    this.requests.push(record);
    res.on("close", () => {
      if (!res.writableFinished) record.aborted = true;
    });
    const tracked = operation === "GetObject";
    if (tracked) {
      this.inFlight += 1;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    }

    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const fault = this.takeFault(operation, key);
      if (fault?.delayMs) await sleep(fault.delayMs);
      if (res.destroyed) return;
      if (fault?.error) throw new S3Error(fault.error);
      if (!req.headers.authorization?.startsWith("AWS4-HMAC-SHA256 Credential=")) {
        throw new S3Error({ status: 403, code: "AccessDenied", message: "Access Denied" });
      }
      await this.serve(operation, { req, res, record, bucket, key, params, body, fault });
    } catch (error) {
      // A bug in the emulator answers 500 with its message, so that a test fails saying what went wrong.
      const s3Error =
        error instanceof S3Error ? error : new S3Error({ ...INTERNAL_ERROR, message: `emulator: ${error}` });
      this.sendError(res, record, s3Error, req.method === "HEAD");
    } finally {
      if (tracked) this.inFlight -= 1;
    }
  }

  private async serve(operation: S3Operation, call: Call) {
    const { res, record, bucket, key } = call;
    switch (operation) {
      case "CreateBucket": {
        if (this.buckets.has(bucket as string)) {
          throw new S3Error(
            {
              status: 409,
              code: "BucketAlreadyOwnedByYou",
              message: "Your previous request to create the named bucket succeeded and you already own it.",
            },
            { BucketName: bucket as string },
          );
        }
        this.createBucket(bucket as string);
        this.reply(res, record, 200, { location: `/${bucket}` });
        res.end();
        return;
      }
      case "HeadBucket":
        this.objects(bucket as string);
        this.reply(res, record, 200, { "x-amz-bucket-region": "us-east-1" });
        res.end();
        return;
      case "ListObjectsV2":
        return this.listObjectsV2(call);
      case "GetObject":
      case "HeadObject":
        return this.getObjectReply(call, operation === "HeadObject");
      case "PutObject":
        return this.putObjectReply(call);
      case "DeleteObject":
        // S3 answers 204 whether or not the key existed; only a missing bucket is an error.
        this.objects(bucket as string).delete(key as string);
        this.reply(res, record, 204, {});
        res.end();
        return;
      default:
        throw new S3Error({
          status: 501,
          code: "NotImplemented",
          message: "A header you provided implies functionality that is not implemented",
        });
    }
  }

  private objects(bucket: string): Map<string, StoredObject> {
    const objects = this.buckets.get(bucket);
    if (!objects) {
      throw new S3Error(
        { status: 404, code: "NoSuchBucket", message: "The specified bucket does not exist" },
        { BucketName: bucket },
      );
    }
    return objects;
  }

  private listObjectsV2({ res, record, bucket, params }: Call) {
    const objects = this.objects(bucket as string);
    const prefix = params.get("prefix") ?? "";
    const delimiter = params.get("delimiter") ?? "";
    const encoding = params.get("encoding-type");
    if (encoding !== null && encoding !== "url") {
      throw new S3Error({
        status: 400,
        code: "InvalidArgument",
        message: "Invalid Encoding Method specified in Request",
      });
    }
    const maxKeysText = params.get("max-keys") ?? "1000";
    const maxKeys = Number(maxKeysText);
    if (!/^\d+$/.test(maxKeysText) || !Number.isSafeInteger(maxKeys)) {
      throw new S3Error({
        status: 400,
        code: "InvalidArgument",
        message: "Provided max-keys not an integer or within integer range",
      });
    }
    const token = params.get("continuation-token");
    // The token is opaque to clients: here the last entry of the previous page, and whether it was a common
    // prefix (then every key under it was listed too).
    let marker = params.get("start-after") ?? "";
    let markerIsCommon = false;
    if (token !== null) {
      const decoded = /^v1:([pk]):(.*)$/s.exec(Buffer.from(token, "base64").toString("utf8"));
      if (!decoded) {
        throw new S3Error({
          status: 400,
          code: "InvalidArgument",
          message: "The continuation token provided is incorrect",
        });
      }
      markerIsCommon = decoded[1] === "p";
      marker = decoded[2];
    }

    // Every entry after the marker in UTF-8 byte order (S3's order), keys under a delimiter folded into one
    // common prefix.
    const keys = [...objects.keys()]
      .filter((k) => k.startsWith(prefix) && utf8Compare(k, marker) > 0)
      .filter((k) => !(markerIsCommon && k.startsWith(marker)))
      .sort(utf8Compare);
    const entries: { key: string; common: boolean }[] = [];
    for (const k of keys) {
      const at = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
      if (at < 0) {
        entries.push({ key: k, common: false });
        continue;
      }
      const common = k.slice(0, at + delimiter.length);
      if (entries.at(-1)?.key !== common) entries.push({ key: common, common: true });
    }
    const page = entries.slice(0, Math.min(maxKeys, 1000));
    const truncated = page.length > 0 && page.length < entries.length;
    const text = (value: string) => (encoding === "url" ? urlEncodeKey(value) : value);

    const xml: string[] = [`<ListBucketResult xmlns="${XMLNS}">`, element("Name", bucket as string)];
    xml.push(element("Prefix", text(prefix)));
    if (token !== null) xml.push(element("ContinuationToken", token));
    if (truncated) {
      const last = page[page.length - 1];
      const next = `v1:${last.common ? "p" : "k"}:${last.key}`;
      xml.push(element("NextContinuationToken", Buffer.from(next).toString("base64")));
    }
    xml.push(element("KeyCount", page.length), element("MaxKeys", maxKeys));
    if (delimiter) xml.push(element("Delimiter", text(delimiter)));
    if (encoding) xml.push(element("EncodingType", encoding));
    xml.push(element("IsTruncated", truncated));
    if (params.has("start-after")) xml.push(element("StartAfter", text(params.get("start-after") ?? "")));
    for (const entry of page.filter((e) => !e.common)) {
      const object = objects.get(entry.key) as StoredObject;
      const algorithm = Object.keys(object.checksums)[0]?.replace("x-amz-checksum-", "").toUpperCase();
      xml.push(
        "<Contents>",
        element("Key", text(entry.key)),
        element("LastModified", object.lastModified.toISOString()),
        element("ETag", object.etag),
        ...(algorithm
          ? [element("ChecksumAlgorithm", algorithm), element("ChecksumType", "FULL_OBJECT")]
          : []),
        element("Size", object.body.length),
        element("StorageClass", "STANDARD"),
        "</Contents>",
      );
    }
    for (const entry of page.filter((e) => e.common)) {
      xml.push("<CommonPrefixes>", element("Prefix", text(entry.key)), "</CommonPrefixes>");
    }
    xml.push("</ListBucketResult>");
    this.sendXml(res, record, 200, xml.join(""));
  }

  private async getObjectReply({ req, res, record, bucket, key, fault }: Call, head: boolean) {
    const object = this.objects(bucket as string).get(key as string);
    if (!object) {
      throw new S3Error(
        { status: 404, code: "NoSuchKey", message: "The specified key does not exist." },
        { Key: key as string },
      );
    }
    const validators = { etag: object.etag, "last-modified": object.lastModified.toUTCString() };
    const ifMatch = req.headers["if-match"];
    const ifNoneMatch = req.headers["if-none-match"];
    const ifModifiedSince = req.headers["if-modified-since"];
    const ifUnmodifiedSince = req.headers["if-unmodified-since"];
    if (
      (ifMatch !== undefined && !etagMatches(ifMatch, object.etag)) ||
      (ifMatch === undefined && ifUnmodifiedSince && object.lastModified > new Date(ifUnmodifiedSince))
    ) {
      throw new S3Error(
        {
          status: 412,
          code: "PreconditionFailed",
          message: "At least one of the pre-conditions you specified did not hold",
        },
        { Condition: ifMatch !== undefined ? "If-Match" : "If-Unmodified-Since" },
      );
    }
    if (
      (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, object.etag)) ||
      (ifNoneMatch === undefined && ifModifiedSince && object.lastModified <= new Date(ifModifiedSince))
    ) {
      this.reply(res, record, 304, validators);
      res.end();
      return;
    }

    let start = 0;
    let end = object.body.length - 1;
    const range = parseRange(req.headers.range, object.body.length);
    if (range === "unsatisfiable") {
      throw new S3Error(
        { status: 416, code: "InvalidRange", message: "The requested range is not satisfiable" },
        { RangeRequested: String(req.headers.range), ActualObjectSize: object.body.length },
      );
    }
    if (range) [start, end] = range;
    const headers: Record<string, string | number> = {
      ...validators,
      "content-type": object.contentType,
      "content-length": end - start + 1,
      "accept-ranges": "bytes",
      ...encryptionHeaders(object.encryption),
    };
    if (object.contentEncoding) headers["content-encoding"] = object.contentEncoding;
    for (const [name, value] of Object.entries(object.metadata)) headers[`x-amz-meta-${name}`] = value;
    if (range) headers["content-range"] = `bytes ${start}-${end}/${object.body.length}`;
    // Like S3: full-object checksums only for a whole object, and only when the client asked for them.
    if (
      !range &&
      req.headers["x-amz-checksum-mode"] === "ENABLED" &&
      Object.keys(object.checksums).length > 0
    ) {
      Object.assign(headers, object.checksums, { "x-amz-checksum-type": "FULL_OBJECT" });
    }
    this.reply(res, record, range ? 206 : 200, headers);
    if (head) {
      res.end();
      return;
    }
    await this.sendBody(res, record, object.body.subarray(start, end + 1), fault);
  }

  private async sendBody(res: ServerResponse, record: RecordedS3Request, bytes: Buffer, fault?: S3Fault) {
    const limit = Math.min(bytes.length, fault?.cutAfterBytes ?? fault?.stallAfterBytes ?? bytes.length);
    for (let offset = 0; offset < limit && !res.destroyed; offset += BODY_CHUNK) {
      const piece = bytes.subarray(offset, Math.min(offset + BODY_CHUNK, limit));
      record.bytesSent += piece.length;
      // Wait for the bytes to reach the socket, so that a cut comes after them and a slow reader slows us down.
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off("close", done);
          resolve();
        };
        res.once("close", done);
        res.write(piece, done);
      });
      if (fault?.chunkDelayMs) await sleep(fault.chunkDelayMs);
    }
    if (res.destroyed) return;
    if (fault?.cutAfterBytes !== undefined && fault.cutAfterBytes < bytes.length) {
      res.destroy();
      return;
    }
    // A stall leaves the reply open; stop() closes the connection.
    if (fault?.stallAfterBytes !== undefined && fault.stallAfterBytes < bytes.length) return;
    res.end();
  }

  private putObjectReply({ req, res, record, bucket, key, body }: Call) {
    const objects = this.objects(bucket as string);
    const encodings = (req.headers["content-encoding"] ?? "")
      .split(",")
      .map((e) => e.trim())
      .filter(Boolean);
    const sha256 = String(req.headers["x-amz-content-sha256"] ?? "");
    const chunked = encodings.includes("aws-chunked") || sha256.startsWith("STREAMING-");
    let bytes = body;
    const checksums: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (
        name.startsWith("x-amz-checksum-") &&
        name !== "x-amz-checksum-algorithm" &&
        name !== "x-amz-checksum-type"
      )
        checksums[name] = String(value);
    }
    if (chunked) {
      const decoded = decodeAwsChunked(body);
      bytes = decoded.data;
      if (req.headers["x-amz-decoded-content-length"] === undefined) {
        throw new S3Error({
          status: 411,
          code: "MissingContentLength",
          message: "You must provide the Content-Length HTTP header.",
        });
      }
      if (Number(req.headers["x-amz-decoded-content-length"]) !== bytes.length) {
        throw new S3Error({
          status: 400,
          code: "IncompleteBody",
          message: "You did not provide the number of bytes specified by the Content-Length HTTP header",
        });
      }
      const trailer = String(req.headers["x-amz-trailer"] ?? "").toLowerCase();
      if (trailer) {
        const value = decoded.trailers[trailer];
        if (value === undefined) {
          throw new S3Error({
            status: 400,
            code: "MalformedTrailerError",
            message:
              "The request contained trailing data that was not well-formed or did not conform to our published schema.",
          });
        }
        checksums[trailer] = value;
      }
    }
    const md5 = req.headers["content-md5"];
    if (md5 !== undefined && md5 !== createHash("md5").update(bytes).digest("base64")) {
      throw new S3Error({
        status: 400,
        code: "BadDigest",
        message: "The Content-MD5 you specified did not match what we received.",
      });
    }
    for (const [name, value] of Object.entries(checksums)) {
      const actual = checksum(name, bytes);
      // CRC32C and CRC64NVME need code Node lacks: stored as sent, not verified.
      if (actual !== undefined && actual !== value) {
        const algorithm = name.replace("x-amz-checksum-", "").toUpperCase();
        throw new S3Error({
          status: 400,
          code: "BadDigest",
          message: `The ${algorithm} you specified did not match the calculated checksum.`,
        });
      }
    }
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (name.startsWith("x-amz-meta-")) metadata[name.slice("x-amz-meta-".length)] = String(value);
    }
    const contentEncoding = encodings.filter((e) => e !== "aws-chunked").join(",");
    const encryption = requestedEncryption(req.headers);
    const stored: StoredObject = {
      body: bytes,
      etag: `"${createHash("md5").update(bytes).digest("hex")}"`,
      lastModified: wholeSeconds(new Date()),
      contentType: req.headers["content-type"] ?? "binary/octet-stream",
      ...(contentEncoding ? { contentEncoding } : {}),
      checksums,
      metadata,
      encryption,
    };
    objects.set(key as string, stored);
    this.reply(res, record, 200, {
      etag: stored.etag,
      ...encryptionHeaders(encryption),
      ...checksums,
      ...(Object.keys(checksums).length > 0 ? { "x-amz-checksum-type": "FULL_OBJECT" } : {}),
    });
    res.end();
  }

  private reply(
    res: ServerResponse,
    record: RecordedS3Request,
    status: number,
    headers: Record<string, string | number>,
  ) {
    record.status = status;
    res.writeHead(status, {
      "x-amz-request-id": randomBytes(8).toString("hex").toUpperCase(),
      "x-amz-id-2": randomBytes(48).toString("base64"),
      server: "AmazonS3",
      ...headers,
    });
  }

  private sendXml(res: ServerResponse, record: RecordedS3Request, status: number, xml: string) {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
    this.reply(res, record, status, {
      "content-type": "application/xml",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  }

  /** S3's error document; a HEAD reply carries the status alone, as S3 sends it. */
  private sendError(res: ServerResponse, record: RecordedS3Request, error: S3Error, head: boolean) {
    if (res.destroyed) return;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (head) {
      this.reply(res, record, error.reply.status, {});
      res.end();
      return;
    }
    const fields = Object.entries(error.fields).map(([name, value]) => element(name, value));
    this.sendXml(
      res,
      record,
      error.reply.status,
      [
        "<Error>",
        element("Code", error.reply.code),
        element("Message", error.reply.message),
        ...fields,
        element("RequestId", randomBytes(8).toString("hex").toUpperCase()),
        element("HostId", randomBytes(48).toString("base64")),
        "</Error>",
      ].join(""),
    );
  }
}

interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  record: RecordedS3Request;
  bucket?: string;
  key?: string;
  params: URLSearchParams;
  body: Buffer;
  fault?: S3Fault;
}

/** Bucket and key from the Host header (virtual-hosted: `bucket.localhost`, `bucket.s3.<region>...`) or the
 *  path (path-style: `/bucket/key`). Keys are percent-decoded as a path: a `+` stays a `+`. */
function address(
  hostHeader: string | undefined,
  rawPath: string,
): { bucket?: string; key?: string; style: "path" | "virtual-host" } {
  const host = (hostHeader ?? "").replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  const virtual = isIP(host) ? null : host.match(/^(.+?)\.(?:localhost|s3[.-].+)$/);
  const path = rawPath.replace(/^\//, "");
  if (virtual) {
    return { bucket: virtual[1], key: path ? decodePath(path) : undefined, style: "virtual-host" };
  }
  const slash = path.indexOf("/");
  const bucket = decodePath(slash < 0 ? path : path.slice(0, slash)) || undefined;
  const key = slash < 0 || slash === path.length - 1 ? undefined : decodePath(path.slice(slash + 1));
  return { bucket, key, style: "path" };
}

/** Percent-decoding that keeps a malformed escape as sent rather than failing the request. */
/** The ARN S3 names for the key a request asked for by id (an alias or an ARN is kept as given). */
const KMS_KEY_ARN_PREFIX = "arn:aws:kms:us-east-1:123456789012:key/";

/**
 * The encryption a PutObject asks for, as S3 checks it: AES256 or aws:kms (a key id only with aws:kms); none
 * asked for is SSE-S3, and aws:kms without a key is the account's aws/s3 key.
 */
function requestedEncryption(headers: IncomingHttpHeaders): StoredObject["encryption"] {
  const algorithm = headers["x-amz-server-side-encryption"];
  const keyId = headers["x-amz-server-side-encryption-aws-kms-key-id"];
  if (algorithm === undefined || algorithm === "AES256") {
    if (keyId !== undefined) {
      throw new S3Error({
        status: 400,
        code: "InvalidArgument",
        message:
          "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
      });
    }
    return { algorithm: "AES256" };
  }
  if (algorithm !== "aws:kms") {
    throw new S3Error({
      status: 400,
      code: "InvalidArgument",
      message: "The encryption method specified is not supported",
    });
  }
  const id = String(keyId ?? "alias/aws/s3");
  return { algorithm, kmsKeyId: /^(arn:|alias\/)/.test(id) ? id : `${KMS_KEY_ARN_PREFIX}${id}` };
}

function encryptionHeaders(encryption: StoredObject["encryption"]): Record<string, string> {
  return {
    "x-amz-server-side-encryption": encryption.algorithm,
    ...(encryption.kmsKeyId ? { "x-amz-server-side-encryption-aws-kms-key-id": encryption.kmsKeyId } : {}),
  };
}

function decodePath(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function classify(
  method: string,
  bucket: string | undefined,
  key: string | undefined,
  params: URLSearchParams,
  headers: IncomingHttpHeaders,
): S3Operation {
  if (!bucket || SUBRESOURCES.some((name) => params.has(name))) return "Unsupported";
  if (key === undefined) {
    if (method === "PUT") return "CreateBucket";
    if (method === "HEAD") return "HeadBucket";
    if (method === "GET" && params.get("list-type") === "2") return "ListObjectsV2";
    return "Unsupported";
  }
  if (method === "GET") return "GetObject";
  if (method === "HEAD") return "HeadObject";
  if (method === "PUT") return headers["x-amz-copy-source"] ? "Unsupported" : "PutObject";
  if (method === "DELETE") return "DeleteObject";
  return "Unsupported";
}

/**
 * The aws-chunked content encoding: `<hex size>[;chunk-signature=...]\r\n<bytes>\r\n` per chunk, a zero-size
 * chunk, then trailer lines (`x-amz-checksum-crc32:<base64>`) and an empty line. Only the last data chunk may
 * be smaller than 8 KiB.
 */
function decodeAwsChunked(raw: Buffer): { data: Buffer; trailers: Record<string, string> } {
  const malformed = () =>
    new S3Error({ status: 400, code: "IncompleteBody", message: "The request body terminated unexpectedly" });
  const chunks: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let offset = 0;
  for (;;) {
    const eol = raw.indexOf("\r\n", offset);
    if (eol < 0) throw malformed();
    const size = Number.parseInt(raw.subarray(offset, eol).toString("latin1").split(";")[0], 16);
    if (!Number.isInteger(size) || size < 0) throw malformed();
    offset = eol + 2;
    if (size === 0) break;
    if (
      raw.length < offset + size + 2 ||
      raw.toString("latin1", offset + size, offset + size + 2) !== "\r\n"
    ) {
      throw malformed();
    }
    chunks.push(raw.subarray(offset, offset + size));
    offset += size + 2;
  }
  const small = chunks.findIndex((c, i) => c.length < MIN_CHUNK && i < chunks.length - 1);
  if (small >= 0) {
    throw new S3Error(
      {
        status: 403,
        code: "InvalidChunkSizeError",
        message: "Only the last chunk is allowed to have a size less than 8192 bytes",
      },
      { Chunk: small + 1, BadChunkSize: chunks[small].length },
    );
  }
  for (const line of raw.subarray(offset).toString("utf8").split("\r\n")) {
    if (!line) continue;
    const colon = line.indexOf(":");
    if (colon < 0) throw malformed();
    trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { data: Buffer.concat(chunks), trailers };
}

function checksum(header: string, bytes: Buffer): string | undefined {
  switch (header) {
    case "x-amz-checksum-crc32":
      return crc32Base64(bytes);
    case "x-amz-checksum-sha1":
      return createHash("sha1").update(bytes).digest("base64");
    case "x-amz-checksum-sha256":
      return createHash("sha256").update(bytes).digest("base64");
    default:
      return undefined;
  }
}

function crc32Base64(bytes: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(bytes));
  return out.toString("base64");
}

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range; anything else is ignored, as S3 ignores it. */
function parseRange(
  header: string | undefined,
  size: number,
): [number, number] | "unsatisfiable" | undefined {
  const match = header?.match(/^bytes=(\d*)-(\d*)$/);
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    return suffix === 0 || size === 0 ? "unsatisfiable" : [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  return start >= size || end < start ? "unsatisfiable" : [start, end];
}

function etagMatches(header: string, etag: string): boolean {
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t === etag || `"${t}"` === etag;
  });
}

/**
 * `encoding-type=url`: form-style percent-encoding, as S3 answers it (a space becomes `+`, a `+` becomes `%2B`,
 * `/` stays), so that a key with a space and one with a `+` stay apart.
 */
function urlEncodeKey(value: string): string {
  return encodeURIComponent(value).replace(/%2F/g, "/").replace(/%20/g, "+");
}

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function element(name: string, value: string | number | boolean): string {
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }[c]};`,
  );
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
