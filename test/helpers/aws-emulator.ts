// Starts a local AWS emulator around a describe block and points the AWS SDK at it the way a deployment would,
// through the environment: region, test credentials, and the service's endpoint variable (AWS_ENDPOINT_URL_*).
// Restores the environment afterwards.
import { afterAll, beforeAll } from "vitest";

interface Emulator {
  start(): Promise<string>;
  stop(): Promise<void>;
}

export function useAwsEmulator<T extends Emulator>(emulator: T, endpointVariable: string): T {
  const saved = { ...process.env };
  beforeAll(async () => {
    const url = await emulator.start();
    Object.assign(process.env, {
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      [endpointVariable]: url,
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
