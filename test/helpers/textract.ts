// The Textract emulator around a describe block, found through AWS_ENDPOINT_URL_TEXTRACT; its requests and
// scripts are forgotten between tests.
import { beforeEach } from "vitest";
import { TextractEmulator } from "../emulators/textract.ts";
import { useAwsEmulator } from "./aws-emulator.ts";

export function useTextractEmulator(): TextractEmulator {
  const emulator = useAwsEmulator(new TextractEmulator(), "AWS_ENDPOINT_URL_TEXTRACT");
  beforeEach(() => emulator.reset());
  return emulator;
}
