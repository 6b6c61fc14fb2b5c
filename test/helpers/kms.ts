// The KMS emulator around a describe block, found through AWS_ENDPOINT_URL_KMS; its requests and faults are
// forgotten between tests (its keys are not: each test makes its own).
import { beforeEach } from "vitest";
import { KmsEmulator } from "../emulators/kms.ts";
import { useAwsEmulator } from "./aws-emulator.ts";

export function useKmsEmulator(): KmsEmulator {
  const emulator = useAwsEmulator(new KmsEmulator(), "AWS_ENDPOINT_URL_KMS");
  beforeEach(() => emulator.reset());
  return emulator;
}
