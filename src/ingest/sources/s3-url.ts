// S3 addresses, `s3://bucket/prefix`: apart from the S3 source (s3.ts) so that checking one, as the ingest route
// does, loads no AWS SDK.
import { BadRequestError } from "../../errors.ts";

export interface S3Location {
  bucket: string;
  /** Keys start with this; empty for the whole bucket. Taken as is, not percent-decoded, like the AWS CLI. */
  prefix: string;
}

/** `s3://bucket`, `s3://bucket/` or `s3://bucket/prefix` as a bucket and a key prefix. */
export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/is.exec(url);
  if (!match || match[1] === "") {
    throw new BadRequestError(`Expected an S3 URL such as s3://bucket/prefix/, got "${url}"`);
  }
  const bucket = match[1];
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes("..")) {
    throw new BadRequestError(
      `"${bucket}" in ${url} is not an S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens`,
    );
  }
  return { bucket, prefix: match[2] ?? "" };
}

export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}
