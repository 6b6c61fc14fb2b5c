// The OpenAI-compatible emulator around a describe block; `url` (its base URL, …/v1) is set once it listens.
import { afterAll, beforeAll } from "vitest";
import { OpenAIEmulator, type OpenAIEmulatorOptions } from "../emulators/openai.ts";

export function useOpenAIEmulator(options?: OpenAIEmulatorOptions): {
  emulator: OpenAIEmulator;
  url: string;
} {
  const handle = { emulator: new OpenAIEmulator(options), url: "" };
  beforeAll(async () => {
    handle.url = await handle.emulator.start();
  });
  afterAll(() => handle.emulator.stop());
  return handle;
}
