import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Synthesising a stack takes a few seconds on two cores.
    testTimeout: 60_000,
  },
});
