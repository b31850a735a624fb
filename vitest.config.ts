import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Most tests wait on loopback servers (the emulator, Azurite, TLS endpoints, child processes)
    // rather than compute: three workers on a 2-core machine finish the suite in about two thirds
    // of the time one worker per spare core takes.
    maxWorkers: 3,
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          // Fault storms, killed processes, a restarted Azurite, fuzzing and hostile input:
          // `npm run test:resilience`, which .ci/run runs after the suite.
          name: "resilience",
          include: ["test/resilience/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: "conformance",
          include: ["test/conformance/**/*.test.ts"],
        },
      },
    ],
  },
});
