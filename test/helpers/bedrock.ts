// The Bedrock Runtime emulator around a describe block, found through AWS_ENDPOINT_URL_BEDROCK_RUNTIME.
import { type BedrockEmulatorOptions, BedrockRuntimeEmulator } from "../emulators/bedrock-runtime.ts";
import { useAwsEmulator } from "./aws-emulator.ts";

export function useBedrockEmulator(options?: BedrockEmulatorOptions): BedrockRuntimeEmulator {
  return useAwsEmulator(new BedrockRuntimeEmulator(options), "AWS_ENDPOINT_URL_BEDROCK_RUNTIME");
}
