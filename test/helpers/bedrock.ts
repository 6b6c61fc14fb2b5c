// Starts the Bedrock Runtime emulator around a describe block and points the AWS SDK at it the way a deployment
// would, through the environment (AWS_ENDPOINT_URL_BEDROCK_RUNTIME, region, credentials); restores it afterwards.
import { afterAll, beforeAll } from "vitest";
import { type BedrockEmulatorOptions, BedrockRuntimeEmulator } from "../emulators/bedrock-runtime.ts";

export function useBedrockEmulator(options?: BedrockEmulatorOptions): BedrockRuntimeEmulator {
  const emulator = new BedrockRuntimeEmulator(options);
  const saved = { ...process.env };
  beforeAll(async () => {
    const url = await emulator.start();
    Object.assign(process.env, {
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: url,
    });
  });
  afterAll(async () => {
    process.env = saved;
    await emulator.stop();
  });
  return emulator;
}
