/**
 * A benchmark: an id from the capability issues, what is measured against what, the unit and the direction of its
 * ratio, the target the ratio must reach (or `null` when it is reported only), and the program that measures it.
 *
 * @since 0.1.0
 */
import { Cause, Data, type Effect } from "effect"
import type { Direction, Unit } from "./BenchmarkResult.js"
import type { Measurement, SampleError, Settings } from "./Harness.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Benchmark {
  /** The id the capability issue names, e.g. `locks.uncontended.vs-semaphore`. */
  readonly id: string
  /** What is measured, precisely enough to reproduce (mode, options, workload). */
  readonly subject: string
  /** What it is measured against: a real anchor or the same subject at a reference size. */
  readonly baseline: string
  /** The unit of both measured values. */
  readonly unit: Unit
  /** Which way the ratio subject / baseline is better. */
  readonly direction: Direction
  /** The ratio to reach in `direction`, or `null` when the benchmark is reported only. */
  readonly target: number | null
  /** What bounds the ratio: printed on the results page when the target is missed. */
  readonly limits: string
  /** Measures subject and baseline side by side (see `Harness.compare` and `Harness.memory`). */
  readonly run: Effect.Effect<Measurement, SampleError, Settings>
}

/**
 * A benchmark could not be measured: its `id`, and the cause of its run's failure (a `SampleError` when a side failed
 * while sampled, a defect when the benchmark's own set-up threw).
 *
 * @since 0.1.0
 * @category errors
 */
export class BenchmarkError extends Data.TaggedError("BenchmarkError")<{
  readonly id: string
  readonly cause: Cause.Cause<SampleError>
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${this.id}: ${Cause.pretty(this.cause)}`
  }
}
