// The Comprehend emulator around a describe block, found through AWS_ENDPOINT_URL_COMPREHEND; its requests and
// faults are forgotten between tests.
import { beforeEach } from "vitest";
import { ComprehendEmulator } from "../emulators/comprehend.ts";
import { useAwsEmulator } from "./aws-emulator.ts";

export function useComprehendEmulator(): ComprehendEmulator {
  const emulator = useAwsEmulator(new ComprehendEmulator(), "AWS_ENDPOINT_URL_COMPREHEND");
  beforeEach(() => emulator.reset());
  return emulator;
}
