import { defineConfig } from "vitest/config"
import shared from "./vitest.shared.js"

export default defineConfig({
  ...shared,
  test: {
    ...shared.test,
    projects: ["packages/*/vitest.config.ts", "test/vitest.config.ts"]
  }
})
