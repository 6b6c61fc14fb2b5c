import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Synthesising a stack takes a few seconds on two cores (over 10 s when they are busy), in tests and in the
    // beforeAll hooks that synthesise one for a whole describe block.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
