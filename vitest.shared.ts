import type { ViteUserConfig } from "vitest/config"

/**
 * Settings every vitest project of the workspace shares: workspace packages resolve to their TypeScript sources
 * through the `@core-stability/source` export condition, tests run in Node, and no test may hang the run.
 */
const config: ViteUserConfig = {
  resolve: {
    conditions: ["@core-stability/source"]
  },
  ssr: {
    resolve: {
      conditions: ["@core-stability/source"]
    }
  },
  test: {
    environment: "node",
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    sequence: {
      concurrent: false
    }
  }
}

export default config
