// The S3 emulator around a describe block, found through AWS_ENDPOINT_URL_S3.
import { S3Emulator } from "../emulators/s3.ts";
import { useAwsEmulator } from "./aws-emulator.ts";

export function useS3Emulator(): S3Emulator {
  return useAwsEmulator(new S3Emulator(), "AWS_ENDPOINT_URL_S3");
}
