// Starts the S3 emulator around a describe block and points the AWS SDK at it the way a deployment would, through
// the environment (AWS_ENDPOINT_URL_S3, region, credentials); restores it afterwards.
import { afterAll, beforeAll } from "vitest";
import { S3Emulator } from "../emulators/s3.ts";

export function useS3Emulator(): S3Emulator {
  const emulator = new S3Emulator();
  const saved = { ...process.env };
  beforeAll(async () => {
    const url = await emulator.start();
    Object.assign(process.env, {
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_ENDPOINT_URL_S3: url,
    });
    // A session token or profile from the developer's shell would otherwise ride along with the test keys.
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
  });
  afterAll(async () => {
    process.env = saved;
    await emulator.stop();
  });
  return emulator;
}
