/**
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Benchmark from "./Benchmark.js"

/**
 * @since 0.1.0
 */
export * as BenchmarkResult from "./BenchmarkResult.js"

/**
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"

/**
 * @since 0.1.0
 */
export * as Format from "./Format.js"

/**
 * @since 0.1.0
 */
export * as Harness from "./Harness.js"

/**
 * @since 0.1.0
 */
export * as Registry from "./Registry.js"

/**
 * @since 0.1.0
 */
export * as ResultsPage from "./ResultsPage.js"

/**
 * @since 0.1.0
 */
export * as Runner from "./Runner.js"

/**
 * @since 0.1.0
 */
export * as Table from "./Table.js"
