/**
 * Side-by-side measurement. Every benchmark measures its subject and its baseline in the same process, interleaved:
 * warm-up rounds first (discarded), then measured rounds, each round taking one sample of each side back to back
 * (subject first in even rounds, baseline first in odd ones). Samples are kept short (about a millisecond or two where
 * the workload allows), so that both samples of a round see the same machine state; the reported values are the
 * medians over the rounds and the ratio is the median of the per-round ratios subject / baseline. Absolute values are
 * only as good as the machine was quiet; ratios are what targets judge.
 *
 * Each sample is timed by tinybench, by default on the process's CPU clock (`process.cpuUsage`, user + system): time
 * the process spends descheduled while other tenants of a shared machine run does not count, which removes most of
 * the noise; CPU time of the process's own helper threads (garbage collection) does count. The wall clock
 * (`process.hrtime`) is the alternative for a quiet machine. No benchmark waits on timers or I/O, so both clocks
 * measure the same work.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import * as internal from "./internal/harness.js"

/**
 * How to measure: warm-up rounds, measured rounds (one sample of each side per round), the clock, and whether this is
 * a smoke run (benchmarks may then shrink their workloads: a smoke run checks that they run, not how fast).
 *
 * @since 0.1.0
 * @category services
 */
export const Settings: typeof internal.Settings = internal.Settings

/**
 * @since 0.1.0
 * @category services
 */
export type Settings = internal.Settings

/**
 * The fields of {@link Settings}: `warmupRounds` and `rounds` (counts of rounds, each one sample of each side),
 * `clock`, and `smoke`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SettingsShape extends internal.SettingsShape {}

/**
 * What samples are timed with: `"cpu"`, the process's CPU time (default), or `"wall"`, elapsed real time.
 *
 * @since 0.1.0
 * @category models
 */
export type Clock = internal.Clock

/**
 * The settings of a real run: 20 warm-up rounds, 100 measured rounds, CPU clock.
 *
 * @since 0.1.0
 * @category constructors
 */
export const full: SettingsShape = internal.full

/**
 * The settings of a smoke run: no warm-up, 1 round, CPU clock; benchmarks shrink their workloads.
 *
 * @since 0.1.0
 * @category constructors
 */
export const smoke: SettingsShape = internal.smoke

/**
 * A side failed while it was being sampled (`side` is `"subject"` or `"baseline"`, `cause` what it threw or rejected
 * with).
 *
 * @since 0.1.0
 * @category errors
 */
export const SampleError: typeof internal.SampleError = internal.SampleError

/**
 * @since 0.1.0
 * @category errors
 */
export type SampleError = internal.SampleError

/**
 * What a benchmark measured: the subject's and the baseline's median values in the benchmark's unit, and the median of
 * the per-round ratios subject / baseline.
 *
 * @since 0.1.0
 * @category models
 */
export interface Measurement extends internal.Measurement {}

/**
 * One side of a timed comparison. `run` is one sample (typically a batch of many operations) and is timed, sync or
 * async; `setup` and `teardown`, when given, run before and after every sample and are not timed (e.g. building the
 * scope that `run` closes, and releasing what the sample left behind).
 *
 * @since 0.1.0
 * @category models
 */
export interface Side extends internal.Side {}

/**
 * One side of a latency comparison: `operation` is one operation, run many times in one fiber and timed one by one;
 * `setup`, when given, runs before each round's operations and is not timed.
 *
 * @since 0.1.0
 * @category models
 */
export interface LatencySide extends internal.LatencySide {}

/**
 * One side of a memory comparison: `allocate(count)` creates `count` instances and returns them (sync or async); they
 * must stay reachable through the returned value, which is held until the heap has been read. `setup`, when given,
 * runs before the first heap reading (what the instances need but is not counted per instance, e.g. the container
 * they are registered in); `teardown` runs after the second reading (e.g. closing the scope that owns them).
 *
 * @since 0.1.0
 * @category models
 */
export interface MemorySide extends internal.MemorySide {}

/**
 * Times subject and baseline interleaved. Each sample runs `operations` operations; the unit converts a sample's time:
 * `"ops/s"` is operations per second, `"ns/op"` nanoseconds per operation, `"ms"` the sample's milliseconds.
 * `warmupRounds` and `rounds` override the settings for workloads whose samples are long (a smoke run ignores them).
 *
 * @example
 * ```ts
 * import { Harness } from "@core-stability/bench"
 * import { Effect } from "effect"
 *
 * const semaphore = Effect.unsafeMakeSemaphore(1)
 * const measurement = Harness.compare({
 *   subject: { run: Harness.runEffect(Harness.loop(500, semaphore.withPermits(1)(Effect.void))) },
 *   baseline: { run: Harness.runEffect(Harness.loop(500, Effect.void)) },
 *   unit: "ops/s",
 *   operations: 500
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const compare: (options: {
  readonly subject: Side
  readonly baseline: Side
  readonly unit: "ops/s" | "ns/op" | "ms"
  readonly operations: number
  readonly warmupRounds?: number | undefined
  readonly rounds?: number | undefined
}) => Effect.Effect<Measurement, SampleError, Settings> = internal.compare

/**
 * Measures a latency percentile (microseconds) of subject and baseline, interleaved like {@link compare}: in each
 * round, each side runs `operations` operations in one fiber, timing each one on the settings' clock, and the round's
 * value is the `percentile` (0-1, nearest rank) of those times. For costs that vary per operation (a cycle check that
 * depends on the graph), where a mean would hide the tail.
 *
 * @since 0.1.0
 * @category combinators
 */
export const latency: (options: {
  readonly subject: LatencySide
  readonly baseline: LatencySide
  readonly operations: number
  readonly percentile: number
  readonly warmupRounds?: number | undefined
  readonly rounds?: number | undefined
}) => Effect.Effect<Measurement, SampleError, Settings> = internal.latency

/**
 * Measures retained heap per instance (bytes) of subject and baseline alternately, over one warm-up round and `rounds`
 * measured rounds (default 5; a smoke run takes one): a full garbage collection, the heap reading, `allocate(count)`,
 * another collection, the second reading; (after - before) / count. Collections are forced through `global.gc` when
 * node runs with `--expose-gc`, otherwise through V8's flag set at run time.
 *
 * @since 0.1.0
 * @category combinators
 */
export const memory: (options: {
  readonly subject: MemorySide
  readonly baseline: MemorySide
  readonly count: number
  readonly rounds?: number | undefined
}) => Effect.Effect<Measurement, SampleError, Settings> = internal.memory

/**
 * Picks a workload size: `full` in a real run, `smoke` in a smoke run.
 *
 * @since 0.1.0
 * @category getters
 */
export const size: (full: number, smoke: number) => Effect.Effect<number, never, Settings> = internal.size

/**
 * Runs `body` `operations` times in a tight loop inside one fiber (`Effect.whileLoop`, the cheapest loop the runtime
 * has, so the loop adds as little as possible to either side).
 *
 * @since 0.1.0
 * @category combinators
 */
export const loop: <E, R>(operations: number, body: Effect.Effect<unknown, E, R>) => Effect.Effect<void, E, R> =
  internal.loop

/**
 * Turns an effect into a sample function that runs it with `Effect.runPromise`.
 *
 * @since 0.1.0
 * @category utils
 */
export const runEffect: <A, E>(self: Effect.Effect<A, E>) => () => Promise<A> = internal.runEffect

/**
 * The `q` quantile (0-1) of some numbers by the nearest-rank method (`NaN` for none): `quantile(values, 0.99)` is
 * the p99.
 *
 * @since 0.1.0
 * @category utils
 */
export const quantile: (values: ReadonlyArray<number>, q: number) => number = internal.quantile

/**
 * The median of some numbers (`NaN` for none).
 *
 * @since 0.1.0
 * @category utils
 */
export const median: (values: ReadonlyArray<number>) => number = internal.median
