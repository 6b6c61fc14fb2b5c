// The Amazon S3 source: every object under `s3://bucket/prefix` becomes a SourceBlob whose `source` is
// `s3://bucket/key`, downloaded a few at a time. Listing gives each object's ETag before any download, so a
// re-run asks `known(source)` for the ETag it last ingested and skips an unchanged object without fetching it.
import { Readable } from "node:stream";
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { pMapIterable, pMapSkip } from "p-map";
import { BadRequestError, CounselError, NotFoundError, UnavailableError } from "../../errors.ts";
import type { SourceBlob } from "./blob.ts";
import { parseS3Url, type S3Location, s3Url } from "./s3-url.ts";

export { parseS3Url, type S3Location, s3Url } from "./s3-url.ts";

/** One object as ListObjectsV2 describes it: enough to decide whether to download it. */
export interface S3ObjectListing {
  bucket: string;
  key: string;
  /** `s3://bucket/key`, the key as is: the document's identity, and what `known` is asked about. */
  source: string;
  /** The key's last segment. */
  name: string;
  /** Without the quotes S3 puts around it. */
  etag: string;
  size: number;
  lastModified?: Date;
}

/** An object that was listed but not yielded, and why. */
export interface S3SkippedObject {
  name: string;
  source: string;
  etag: string;
  size: number;
  /** `unchanged`: `known` returned its ETag. `too_large`: over `maxBytes`. `failed`: it could not be read. */
  reason: "unchanged" | "too_large" | "failed";
  /** For `too_large` and `failed`: a stable code (as in IngestFailure.code) and what happened. */
  code?: string;
  error?: string;
}

export interface S3ReadOptions {
  /** Largest object read, in bytes; a body that grows past it is abandoned, not downloaded. 25 MiB by default. */
  maxBytes?: number;
  /** A body that sends nothing for this long is abandoned: a stalled connection must not hang a run. */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface S3SourceOptions extends S3ReadOptions {
  client: S3Client;
  /**
   * Every listed object that is not yielded is reported here: unchanged, too large or unreadable. A pipeline
   * running with cleanup must count `unchanged` ones as seen, or it would delete their chunks.
   */
  onSkip: (skipped: S3SkippedObject) => void;
  /** The ETag (unquoted) last ingested for a source, if any; an object whose ETag matches is not downloaded. */
  known?: (source: string) => Promise<string | undefined>;
  /** Objects downloaded at once, and so at most this many bodies held in memory before they are consumed. */
  concurrency?: number;
  /** Keys per ListObjectsV2 page (S3 sends at most 1000). */
  pageSize?: number;
}

export interface S3ClientOptions {
  /**
   * Addresses buckets in the path (`http://host/bucket/key`) instead of the host name: needed by a custom
   * endpoint such as MinIO or a local emulator. The S3_FORCE_PATH_STYLE setting belongs here.
   */
  forcePathStyle?: boolean;
  /** Attempts per request; throttling (503 SlowDown), 5xx and connection errors are retried with backoff. */
  maxAttempts?: number;
}

const DEFAULT_MAX_BYTES = 25 * 1024 * 1024;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/**
 * An S3 client from the SDK's default chain: region, credentials and endpoint from the environment or profile
 * (AWS_REGION, AWS_ACCESS_KEY_ID…, AWS_ENDPOINT_URL_S3), as a deployment configures any AWS SDK.
 */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  return new S3Client({
    forcePathStyle: options.forcePathStyle ?? false,
    // Standard retries back off exponentially with jitter on SlowDown and 5xx. Adaptive mode would also rate-limit
    // the whole client after one throttled request, stalling every concurrent download for seconds.
    retryMode: "standard",
    maxAttempts: options.maxAttempts ?? 5,
    // A stream body is uploaded aws-chunked, one chunk per piece the stream gives; S3 refuses chunks under
    // 8 KiB but the last (InvalidChunkSizeError), so the SDK regroups them into 64 KiB chunks first.
    requestStreamBufferSize: 64 * 1024,
  });
}

/**
 * Every object under the prefix, page by page (ListObjectsV2 continuation tokens), in key order. "Folder"
 * keys (ending in "/", as the S3 console makes them) are left out: they hold no document.
 */
export async function* listS3Objects(
  client: S3Client,
  location: S3Location,
  options: { pageSize?: number; signal?: AbortSignal } = {},
): AsyncGenerator<S3ObjectListing> {
  const { bucket, prefix } = location;
  let token: string | undefined;
  do {
    const page = await client
      .send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix || undefined,
          ContinuationToken: token,
          MaxKeys: options.pageSize,
        }),
        { abortSignal: options.signal },
      )
      .catch((error: unknown) => {
        throw listingError(error, location, options.signal);
      });
    for (const object of page.Contents ?? []) {
      const key = object.Key;
      if (!key || key.endsWith("/")) continue;
      yield {
        bucket,
        key,
        source: s3Url(bucket, key),
        name: baseName(key),
        etag: unquote(object.ETag),
        size: object.Size ?? 0,
        lastModified: object.LastModified,
      };
    }
    if (page.IsTruncated && !page.NextContinuationToken) {
      // Asking again without a token would restart the listing: refuse rather than loop for ever.
      throw new UnavailableError(
        `Listing ${s3Url(bucket, prefix)} was cut short without a continuation token`,
      );
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/**
 * Downloads one object into a SourceBlob, streaming its body with a size cap; undefined when the object is
 * gone (deleted since it was listed). Throws a CounselError `too_large` or `s3_read_failed` naming the object.
 */
export async function readS3Object(
  client: S3Client,
  object: { bucket: string; key: string },
  options: S3ReadOptions = {},
): Promise<SourceBlob | undefined> {
  const { signal } = options;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const source = s3Url(object.bucket, object.key);
  let response: GetObjectCommandOutput;
  try {
    response = await client.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }), {
      abortSignal: signal,
    });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof S3ServiceException && error.name === "NoSuchKey") return undefined;
    throw readFailed(source, describe(error));
  }
  const body = response.Body;
  if (!(body instanceof Readable)) {
    throw readFailed(source, "the SDK gave a body that is not a Node.js stream");
  }
  const length = response.ContentLength;
  if (length !== undefined && length > maxBytes) {
    body.destroy();
    throw tooLarge(source, length, maxBytes);
  }
  const data = await readBody(body, {
    maxBytes,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    signal,
    source,
    length,
  });
  return {
    name: baseName(object.key),
    source,
    data,
    ...(response.ContentType ? { mediaType: response.ContentType } : {}),
    // Facts of this version of the object, the same on every run, so index() still sees unchanged chunks.
    metadata: {
      etag: unquote(response.ETag),
      ...(response.LastModified ? { s3_last_modified: response.LastModified.toISOString() } : {}),
      size: data.length,
    },
  };
}

/**
 * Yields a SourceBlob for every object under `url` (`s3://bucket/prefix`), in key order, downloading up to
 * `concurrency` at once. Objects whose ETag `known` returns, objects over `maxBytes` and objects that cannot
 * be read are passed to `onSkip` instead; listing errors (a missing bucket, no access) end the run.
 */
export async function* s3Source(url: string, options: S3SourceOptions): AsyncGenerator<SourceBlob> {
  const location = parseS3Url(url);
  const { client, known, onSkip, signal } = options;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const listing = listS3Objects(client, location, { pageSize: options.pageSize, signal });
  const skip = (
    object: S3ObjectListing,
    reason: S3SkippedObject["reason"],
    error?: unknown,
  ): typeof pMapSkip => {
    onSkip({
      name: object.name,
      source: object.source,
      etag: object.etag,
      size: object.size,
      reason,
      ...(error === undefined
        ? {}
        : {
            code: error instanceof CounselError ? error.code : "s3_read_failed",
            error: describe(error),
          }),
    });
    return pMapSkip;
  };

  yield* pMapIterable(
    listing,
    async (object) => {
      signal?.throwIfAborted();
      if (object.size > maxBytes)
        return skip(object, "too_large", tooLarge(object.source, object.size, maxBytes));
      if (known && (await known(object.source)) === object.etag) return skip(object, "unchanged");
      try {
        const read = { maxBytes, idleTimeoutMs: options.idleTimeoutMs, signal };
        return (await readS3Object(client, object, read)) ?? pMapSkip;
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        return skip(
          object,
          error instanceof CounselError && error.code === "too_large" ? "too_large" : "failed",
          error,
        );
      }
    },
    { concurrency: options.concurrency ?? 4 },
  );
}

/** Stores bytes at `s3://bucket/key` (PutObject), e.g. to stage a scan for Textract; returns the ETag unquoted.
 *  A stream body is sent aws-chunked with a CRC32 trailer and needs its length. */
export async function uploadObject(
  client: S3Client,
  bucket: string,
  key: string,
  body: Uint8Array | Readable,
  contentType: string,
  options: { contentLength?: number; signal?: AbortSignal } = {},
): Promise<{ etag: string }> {
  if (body instanceof Readable && options.contentLength === undefined) {
    throw new BadRequestError(`Uploading a stream to ${s3Url(bucket, key)} needs its length (contentLength)`);
  }
  try {
    const response = await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        ContentLength: options.contentLength,
      }),
      { abortSignal: options.signal },
    );
    return { etag: unquote(response.ETag) };
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (error instanceof S3ServiceException && error.name === "NoSuchBucket") {
      throw new NotFoundError(`S3 bucket "${bucket}" does not exist (uploading ${s3Url(bucket, key)})`);
    }
    throw new UnavailableError(`Cannot upload ${s3Url(bucket, key)}: ${describe(error)}`);
  }
}

/** The body as one Buffer; past `maxBytes`, after `idleTimeoutMs` of silence or on abort the stream is
 *  destroyed, which closes the connection instead of downloading the rest. */
async function readBody(
  body: Readable,
  options: {
    maxBytes: number;
    idleTimeoutMs: number;
    signal?: AbortSignal;
    source: string;
    length?: number;
  },
): Promise<Buffer> {
  const { maxBytes, idleTimeoutMs, signal, source, length } = options;
  const chunks: Buffer[] = [];
  let total = 0;
  let timer: NodeJS.Timeout | undefined;
  const stall = () => {
    body.destroy(new Error(`no data for ${idleTimeoutMs} ms`));
  };
  const onAbort = () => body.destroy(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    timer = setTimeout(stall, idleTimeoutMs);
    for await (const chunk of body) {
      total += (chunk as Buffer).length;
      // Leaving the loop destroys the stream: nothing past the cap is read.
      if (total > maxBytes) throw tooLarge(source, length ?? total, maxBytes, length === undefined);
      chunks.push(chunk as Buffer);
      timer.refresh();
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof CounselError) throw error;
    const of = length === undefined ? "" : ` of ${length}`;
    throw readFailed(source, `the download failed after ${total}${of} bytes: ${describe(error)}`);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
  if (length !== undefined && total !== length) {
    throw readFailed(source, `the body ended after ${total} of ${length} bytes`);
  }
  return Buffer.concat(chunks, total);
}

function listingError(error: unknown, location: S3Location, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason;
  const where = s3Url(location.bucket, location.prefix);
  if (error instanceof S3ServiceException && error.name === "NoSuchBucket") {
    return new NotFoundError(`S3 bucket "${location.bucket}" does not exist (listing ${where})`);
  }
  return new UnavailableError(`Cannot list ${where}: ${describe(error)}`);
}

function tooLarge(source: string, size: number, maxBytes: number, atLeast = false): CounselError {
  return new CounselError(
    "too_large",
    413,
    `${source} is ${atLeast ? "over " : ""}${size} bytes, more than the ${maxBytes} bytes an object may have`,
  );
}

function readFailed(source: string, why: string): CounselError {
  return new CounselError("s3_read_failed", 502, `Cannot read ${source}: ${why}`);
}

/** An SDK error's S3 code and message (`NoSuchKey: The specified key does not exist.`), else the message. */
function describe(error: unknown): string {
  if (error instanceof S3ServiceException) {
    return `${error.name}: ${error.message || `HTTP ${error.$metadata.httpStatusCode}`}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function unquote(etag: string | undefined): string {
  return (etag ?? "").replace(/^"|"$/g, "");
}

function baseName(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}
