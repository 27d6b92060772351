import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const alias = { "@": fileURLToPath(new URL("./src", import.meta.url)) };

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts"],
          environment: "node",
          sequence: { groupOrder: 0 },
        },
      },
      {
        resolve: { alias },
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          environment: "node",
          sequence: { groupOrder: 1 },
          globalSetup: ["tests/integration/global-setup.ts"],
          setupFiles: ["tests/integration/support/setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Files share one PostgreSQL server but each gets its own database.
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
    ],
  },
});
