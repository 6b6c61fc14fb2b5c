// The S3 emulator answers the real SDK as S3 does, for the parts of the protocol the source does not reach on
// its own: virtual-hosted addressing, delimiters and encoded listings, ranges, conditional reads, errors, and
// S3's rule on aws-chunked chunk sizes.
import { Agent } from "node:http";
import { Readable } from "node:stream";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { useS3Emulator } from "../helpers/s3.ts";

describe("S3 emulator", () => {
  const emulator = useS3Emulator();
  const client = () => new S3Client({ forcePathStyle: true });

  it("serves virtual-hosted addressing: the bucket as the first label of the host name", async () => {
    const port = new URL(String(process.env.AWS_ENDPOINT_URL_S3)).port;
    // Every host name resolves to the emulator, as DNS would send bucket.s3.amazonaws.com to S3.
    const httpAgent = new Agent({
      lookup: (_host, _options, callback) => callback(null, [{ address: "127.0.0.1", family: 4 }]),
    });
    const virtual = new S3Client({
      endpoint: `http://localhost:${port}`,
      forcePathStyle: false,
      requestHandler: { httpAgent },
    });
    emulator.createBucket("hosted");
    const since = emulator.requests.length;
    await virtual.send(new PutObjectCommand({ Bucket: "hosted", Key: "dir/a b.txt", Body: "hello" }));
    const got = await virtual.send(new GetObjectCommand({ Bucket: "hosted", Key: "dir/a b.txt" }));
    expect(await got.Body?.transformToString()).toBe("hello");
    expect(emulator.requests.slice(since).map((r) => [r.style, r.headers.host, r.bucket, r.key])).toEqual([
      ["virtual-host", `hosted.localhost:${port}`, "hosted", "dir/a b.txt"],
      ["virtual-host", `hosted.localhost:${port}`, "hosted", "dir/a b.txt"],
    ]);
    virtual.destroy();
    httpAgent.destroy();
  });

  it("lists with a delimiter, start-after and encoding-type=url as S3 does", async () => {
    emulator.createBucket("listing");
    for (const key of ["a b.txt", "a+b.txt", "dir/one.txt", "dir/two.txt", "run books/x.txt", "z.txt"]) {
      emulator.putObject("listing", key, key);
    }
    const s3 = client();
    const folded = await s3.send(new ListObjectsV2Command({ Bucket: "listing", Delimiter: "/", MaxKeys: 3 }));
    // Common prefixes count towards max-keys; S3 sorts by UTF-8 bytes, so "a b" (space) comes before "a+b".
    expect(folded.Contents?.map((c) => c.Key)).toEqual(["a b.txt", "a+b.txt"]);
    expect(folded.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["dir/"]);
    expect(folded).toMatchObject({ KeyCount: 3, IsTruncated: true });
    const rest = await s3.send(
      new ListObjectsV2Command({
        Bucket: "listing",
        Delimiter: "/",
        ContinuationToken: folded.NextContinuationToken,
      }),
    );
    expect(rest.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["run books/"]);
    expect(rest.Contents?.map((c) => c.Key)).toEqual(["z.txt"]);
    expect(rest.IsTruncated).toBe(false);

    // One entry a page, from a folder key equal to the prefix: each token resumes right after its entry.
    emulator.putObject("listing", "dir/", "");
    const paged: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: "listing",
          Prefix: "dir/",
          Delimiter: "/",
          MaxKeys: 1,
          ContinuationToken: token,
        }),
      );
      paged.push(...(page.Contents ?? []).map((c) => String(c.Key)));
      token = page.NextContinuationToken;
    } while (token);
    expect(paged).toEqual(["dir/", "dir/one.txt", "dir/two.txt"]);

    const after = await s3.send(new ListObjectsV2Command({ Bucket: "listing", StartAfter: "dir/one.txt" }));
    expect(after.Contents?.map((c) => c.Key)).toEqual(["dir/two.txt", "run books/x.txt", "z.txt"]);
    expect(after.Contents?.[0]).toMatchObject({
      Size: 11,
      StorageClass: "STANDARD",
      ETag: expect.stringMatching(/^"[0-9a-f]{32}"$/),
    });

    // The SDK does not decode: these are the encoded keys as S3 sends them.
    const encoded = await s3.send(
      new ListObjectsV2Command({ Bucket: "listing", EncodingType: "url", Prefix: "a", Delimiter: "/" }),
    );
    expect(encoded.Contents?.map((c) => c.Key)).toEqual(["a+b.txt", "a%2Bb.txt"]);
    expect(encoded.EncodingType).toBe("url");
    const plain = await s3.send(new ListObjectsV2Command({ Bucket: "listing", Prefix: "a" }));
    expect(plain.Contents?.map((c) => c.Key)).toEqual(["a b.txt", "a+b.txt"]);
  });

  it("answers ranges, conditional reads and missing things with S3's statuses and error codes", async () => {
    emulator.createBucket("reads");
    const stored = emulator.putObject("reads", "memo.txt", "0123456789", { contentType: "text/plain" });
    const s3 = client();

    const range = await s3.send(
      new GetObjectCommand({ Bucket: "reads", Key: "memo.txt", Range: "bytes=2-5" }),
    );
    expect(await range.Body?.transformToString()).toBe("2345");
    expect(range).toMatchObject({ ContentRange: "bytes 2-5/10", ContentLength: 4, ETag: stored.etag });
    await expect(
      s3.send(new GetObjectCommand({ Bucket: "reads", Key: "memo.txt", Range: "bytes=20-30" })),
    ).rejects.toMatchObject({ name: "InvalidRange", $metadata: { httpStatusCode: 416 } });

    await expect(
      s3.send(new GetObjectCommand({ Bucket: "reads", Key: "memo.txt", IfNoneMatch: stored.etag })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 304 } });
    await expect(
      s3.send(new GetObjectCommand({ Bucket: "reads", Key: "memo.txt", IfMatch: '"0000"' })),
    ).rejects.toMatchObject({ name: "PreconditionFailed", $metadata: { httpStatusCode: 412 } });

    const head = await s3.send(new HeadObjectCommand({ Bucket: "reads", Key: "memo.txt" }));
    expect(head).toMatchObject({ ContentLength: 10, ContentType: "text/plain", ETag: stored.etag });
    expect(head.LastModified?.toISOString()).toBe(stored.lastModified.toISOString());

    await s3.send(new DeleteObjectCommand({ Bucket: "reads", Key: "memo.txt" }));
    await expect(s3.send(new GetObjectCommand({ Bucket: "reads", Key: "memo.txt" }))).rejects.toMatchObject({
      name: "NoSuchKey",
      $metadata: { httpStatusCode: 404 },
    });
    // A HEAD reply has no body, so the SDK can only say NotFound.
    await expect(s3.send(new HeadObjectCommand({ Bucket: "reads", Key: "memo.txt" }))).rejects.toMatchObject({
      name: "NotFound",
    });
    await expect(s3.send(new ListObjectsV2Command({ Bucket: "nobody" }))).rejects.toMatchObject({
      name: "NoSuchBucket",
      message: "The specified bucket does not exist",
    });
  });

  it("keeps an object's encryption (SSE-S3 by default, SSE-KMS when asked) and says it as S3 does", async () => {
    emulator.createBucket("sealed");
    const s3 = client();
    await s3.send(new PutObjectCommand({ Bucket: "sealed", Key: "plain", Body: "a" }));
    const keyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: "sealed",
        Key: "kms",
        Body: "b",
        ServerSideEncryption: "aws:kms",
        SSEKMSKeyId: keyId,
      }),
    );
    expect(put).toMatchObject({
      ServerSideEncryption: "aws:kms",
      SSEKMSKeyId: expect.stringMatching(`:key/${keyId}$`),
    });
    expect(await s3.send(new HeadObjectCommand({ Bucket: "sealed", Key: "plain" }))).toMatchObject({
      ServerSideEncryption: "AES256",
    });
    const got = await s3.send(new GetObjectCommand({ Bucket: "sealed", Key: "kms" }));
    expect(got).toMatchObject({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: put.SSEKMSKeyId });
    await expect(
      s3.send(new PutObjectCommand({ Bucket: "sealed", Key: "bad", Body: "c", SSEKMSKeyId: keyId })),
    ).rejects.toMatchObject({ name: "InvalidArgument", $metadata: { httpStatusCode: 400 } });
  });

  it("creates buckets, and refuses to create one twice", async () => {
    const s3 = client();
    await s3.send(new CreateBucketCommand({ Bucket: "fresh" }));
    await expect(s3.send(new HeadBucketCommand({ Bucket: "fresh" }))).resolves.toBeTruthy();
    await expect(s3.send(new CreateBucketCommand({ Bucket: "fresh" }))).rejects.toMatchObject({
      name: "BucketAlreadyOwnedByYou",
    });
  });

  it("refuses an aws-chunked upload whose chunks before the last are under 8 KiB, as S3 does", async () => {
    emulator.createBucket("chunks");
    // Without requestStreamBufferSize the SDK sends each 1 KiB piece as its own chunk.
    const s3 = client();
    const pieces = Array.from({ length: 20 }, (_, i) => Buffer.alloc(1024, i));
    await expect(
      s3.send(
        new PutObjectCommand({
          Bucket: "chunks",
          Key: "x.bin",
          Body: Readable.from(pieces),
          ContentLength: 20_480,
        }),
      ),
    ).rejects.toMatchObject({ name: "InvalidChunkSizeError", $metadata: { httpStatusCode: 403 } });
    expect(emulator.getObject("chunks", "x.bin")).toBeUndefined();
  });

  it("refuses an upload whose checksum does not match its bytes", async () => {
    emulator.createBucket("digests");
    await expect(
      client().send(
        new PutObjectCommand({ Bucket: "digests", Key: "x.txt", Body: "hello", ChecksumCRC32: "AAAAAA==" }),
      ),
    ).rejects.toMatchObject({
      name: "BadDigest",
      message: "The CRC32 you specified did not match the calculated checksum.",
    });
    expect(emulator.getObject("digests", "x.txt")).toBeUndefined();
  });
});
