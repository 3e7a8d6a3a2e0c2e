/**
 * Runs benchmarks one after another and turns their measurements into results. A benchmark that fails is reported
 * and left out of the results; the others still run.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { type Benchmark, BenchmarkError } from "./Benchmark.js"
import { BenchmarkResult, verdict } from "./BenchmarkResult.js"
import type { Measurement, Settings } from "./Harness.js"

/**
 * What a run produced: the results of the benchmarks that ran, and the failures of those that did not.
 *
 * @since 0.1.0
 * @category models
 */
export interface Outcome {
  readonly results: ReadonlyArray<BenchmarkResult>
  readonly failures: ReadonlyArray<BenchmarkError>
}

/**
 * Callbacks for progress reporting, each an effect run in order with the run.
 *
 * @since 0.1.0
 * @category models
 */
export interface Listener {
  readonly onStart: (benchmark: Benchmark) => Effect.Effect<void>
  readonly onResult: (result: BenchmarkResult) => Effect.Effect<void>
  readonly onFailure: (failure: BenchmarkError) => Effect.Effect<void>
}

/**
 * A listener that ignores every event.
 *
 * @since 0.1.0
 * @category constructors
 */
export const silent: Listener = {
  onStart: () => Effect.void,
  onResult: () => Effect.void,
  onFailure: () => Effect.void
}

/**
 * Combines a benchmark's definition with what it measured: the ratio judged against the target in the benchmark's
 * direction.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toResult = (benchmark: Benchmark, measurement: Measurement): BenchmarkResult => ({
  id: benchmark.id,
  subject: benchmark.subject,
  baseline: benchmark.baseline,
  unit: benchmark.unit,
  subjectValue: measurement.subjectValue,
  baselineValue: measurement.baselineValue,
  ratio: measurement.ratio,
  direction: benchmark.direction,
  target: benchmark.target,
  pass: verdict(measurement.ratio, benchmark.direction, benchmark.target)
})

const validate = Schema.validate(BenchmarkResult)

/**
 * Runs `benchmarks` sequentially with the `Settings` in context, telling `listener` about each start, result and
 * failure. Never fails: failures, defects and results that break the JSON contract (a non-finite value) are collected
 * in the outcome as failures.
 *
 * @example
 * ```ts
 * import { Harness, Registry, Runner } from "@core-stability/bench"
 * import { Effect, Schema } from "effect"
 *
 * const outcome = Runner.run(Registry.select(Registry.all, ["harness."])).pipe(
 *   Effect.provideService(Harness.Settings, Harness.smoke)
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const run = (
  benchmarks: ReadonlyArray<Benchmark>,
  listener: Listener = silent
): Effect.Effect<Outcome, never, Settings> =>
  Effect.gen(function*() {
    const results: Array<BenchmarkResult> = []
    const failures: Array<BenchmarkError> = []
    for (const benchmark of benchmarks) {
      yield* listener.onStart(benchmark)
      yield* benchmark.run.pipe(
        // a value that is not a finite non-negative number (a sample too short for the clock) is a broken benchmark
        Effect.flatMap((measurement) => Effect.orDie(validate(toResult(benchmark, measurement)))),
        Effect.matchCauseEffect({
          onFailure: (cause) => {
            const failure = new BenchmarkError({ id: benchmark.id, cause })
            failures.push(failure)
            return listener.onFailure(failure)
          },
          onSuccess: (result) => {
            results.push(result)
            return listener.onResult(result)
          }
        })
      )
    }
    return { results, failures }
  })
