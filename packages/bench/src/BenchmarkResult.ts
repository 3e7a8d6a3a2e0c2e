/**
 * The JSON contract of a benchmark run: one record per benchmark id, with the measured values of the subject and its
 * baseline, the ratio that the target is judged on, and the verdict.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Which way a ratio is better: `"higher"` for throughput (ops/s), `"lower"` for costs (ns/op, ms, bytes).
 *
 * @since 0.1.0
 * @category models
 */
export const Direction = Schema.Literal("higher", "lower")

/**
 * @since 0.1.0
 * @category models
 */
export type Direction = typeof Direction.Type

/**
 * The unit of `subjectValue` and `baselineValue`: operations per second, nanoseconds per operation, milliseconds per
 * run, microseconds per operation (latency percentiles) or bytes per instance.
 *
 * @since 0.1.0
 * @category models
 */
export const Unit = Schema.Literal("ops/s", "ns/op", "ms", "us", "bytes")

/**
 * @since 0.1.0
 * @category models
 */
export type Unit = typeof Unit.Type

const Measured = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())

/**
 * The id grammar: dot-separated lowercase segments of letters, digits and dashes, at least two segments, the first
 * naming the area (`locks`, `deadlock`, `state-machine`, `cleanup`, `components`, `buffer`, `typed-lock-order`,
 * `demo`, `harness`).
 *
 * @since 0.1.0
 * @category models
 */
export const BenchmarkId = Schema.String.pipe(Schema.pattern(/^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$/))

/**
 * Whether `ratio` meets `target` in the given direction; `null` when there is no target (reported only).
 *
 * @example
 * ```ts
 * import { BenchmarkResult } from "@core-stability/bench"
 *
 * BenchmarkResult.verdict(1.2, "higher", 1) // true
 * BenchmarkResult.verdict(1.4, "lower", 1.3) // false
 * BenchmarkResult.verdict(0.8, "higher", null) // null
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const verdict = (ratio: number, direction: Direction, target: number | null): boolean | null =>
  target === null ? null : direction === "higher" ? ratio >= target : ratio <= target

/**
 * One benchmark's result. `ratio` is subject over baseline (the median of the ratios of the rounds, each round
 * measuring both sides back to back), `target` is what `ratio` must reach in `direction` (`null`: reported only), and
 * `pass` is the verdict (`null` exactly when `target` is).
 *
 * @since 0.1.0
 * @category models
 */
export const BenchmarkResult = Schema.Struct({
  id: BenchmarkId,
  subject: Schema.NonEmptyString,
  baseline: Schema.NonEmptyString,
  unit: Unit,
  subjectValue: Measured,
  baselineValue: Measured,
  ratio: Measured,
  direction: Direction,
  target: Schema.NullOr(Schema.Number.pipe(Schema.finite(), Schema.positive())),
  pass: Schema.NullOr(Schema.Boolean)
}).pipe(
  Schema.filter((result) =>
    result.pass === verdict(result.ratio, result.direction, result.target) ||
    `pass is ${result.pass} but ratio ${result.ratio} against target ${result.target} (${result.direction}) gives ${
      verdict(result.ratio, result.direction, result.target)
    }`
  )
)

/**
 * @since 0.1.0
 * @category models
 */
export type BenchmarkResult = typeof BenchmarkResult.Type

/**
 * A run's results: an array of {@link BenchmarkResult} with unique ids.
 *
 * @since 0.1.0
 * @category models
 */
export const BenchmarkResults = Schema.Array(BenchmarkResult).pipe(
  Schema.filter((results) => {
    const seen = new Set<string>()
    for (const result of results) {
      if (seen.has(result.id)) return `duplicate id ${result.id}`
      seen.add(result.id)
    }
    return true
  })
)

/**
 * The results file: {@link BenchmarkResults} as JSON text, pretty-printed with two spaces.
 *
 * @since 0.1.0
 * @category models
 */
export const BenchmarkResultsJson = Schema.parseJson(BenchmarkResults, { space: 2 })

/**
 * Parses and validates a results file's text; fails with a `ParseError` naming the offending path. Unknown fields are
 * an error, so the contract cannot drift silently.
 *
 * @example
 * ```ts
 * import { BenchmarkResult } from "@core-stability/bench"
 * import { Effect } from "effect"
 *
 * const results = Effect.runSync(BenchmarkResult.decodeJson("[]"))
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const decodeJson = Schema.decodeUnknown(BenchmarkResultsJson, { onExcessProperty: "error" })

/**
 * Validates results and renders them as the JSON text of a results file.
 *
 * @since 0.1.0
 * @category utils
 */
export const encodeJson = Schema.encode(BenchmarkResultsJson, { onExcessProperty: "error" })
