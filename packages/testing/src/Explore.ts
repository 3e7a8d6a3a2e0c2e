/**
 * Explore many interleavings of a concurrent effect: run it under one seeded scheduler per seed, stop at the first
 * failure and report the seed so the failing interleaving can be replayed.
 *
 * Write the effect so that each run builds its own state (make `Ref`s, locks and fibers inside it) and asserts what
 * must hold (with `assert` from `@effect/vitest`, a failed `Effect`, or a defect). Seeds are consecutive:
 * run `i` (1-based) uses `seed + i - 1`, so `explore(effect, { seed: s, runs: 1 })` replays the run that used `s`.
 *
 * Fibers a run starts and does not end (daemons, forks it does not join) are not interrupted when the run ends: they
 * keep running on that run's scheduler, which runs itself until nothing is pending, alongside the later runs. Since
 * they are part of no seed's replay, end them inside the run (or check with `LeakCheck.expectNoLeaks`).
 *
 * The approach follows randomized schedulers with replayable seeds (shuttle and loom in Rust, jcstress in Java);
 * see `SeededScheduler` for what is and is not reproducible.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as internal from "./internal/explore.js"
import type * as SeededScheduler from "./SeededScheduler.js"

/**
 * Options of `replay`: the scheduler's options plus
 *
 * - `hangAfter` (default 60 seconds of real time): a run that has not finished by then fails with a `RunHung`
 *   defect (in an `ExploreFailure` naming the seed) instead of hanging the test until the test runner's timeout,
 *   which would not name the seed. The deadline is a real timer, so `TestClock` does not stop it; the hung run's
 *   fiber is interrupted without being awaited (it may be stuck in an uninterruptible region). `Duration.infinity`,
 *   or any deadline longer than Node's timers allow (2^31 - 1 ms, about 24.8 days), turns the deadline off.
 *
 * A `hangAfter` that is not a positive duration is a defect (`IllegalArgumentException`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ReplayOptions extends SeededScheduler.Options {
  readonly hangAfter?: Duration.DurationInput | undefined
}

/**
 * Options of `explore`: those of `replay` (the scheduler's options and `hangAfter`, per run) plus
 *
 * - `runs` (default 100): how many seeds to try.
 * - `seed` (default 0): the first seed; run `i` uses `seed + i - 1`.
 *
 * Invalid values (`runs < 1`, a seed that is not a safe integer, invalid scheduler options) are a defect
 * (`IllegalArgumentException`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends ReplayOptions {
  readonly runs?: number | undefined
  readonly seed?: number | undefined
}

/**
 * The defect of a run that did not finish within `hangAfter` (`afterMs`, real time): a deadlock, a lost wake-up, or
 * a fiber stuck in an uninterruptible region. It is the cause of the `ExploreFailure` that names the run's seed.
 *
 * @since 0.1.0
 * @category errors
 */
export interface RunHung extends Cause.YieldableError {
  readonly _tag: "RunHung"
  readonly afterMs: number
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isRunHung: (u: unknown) => u is RunHung = internal.isRunHung

/**
 * What an exploration that found no failure covered.
 *
 * - `runs`: seeds tried; `firstSeed` / `lastSeed`: the range.
 * - `distinctSchedules`: how many different interleavings the runs took (by scheduler fingerprint). A value of 1
 *   means the effect has no scheduling choices: it never yields, or never runs two fibers at once.
 * - `steps`: scheduler tasks run over all runs.
 *
 * @since 0.1.0
 * @category models
 */
export interface Summary {
  readonly runs: number
  readonly firstSeed: number
  readonly lastSeed: number
  readonly distinctSchedules: number
  readonly steps: number
}

/**
 * The first failing run of an exploration: its `seed`, its position `run` of `runs`, and the `cause` the effect
 * failed with (typed failure, defect such as a failed assertion, or interruption). The message names the seed and
 * how to replay it.
 *
 * @since 0.1.0
 * @category errors
 */
export interface ExploreFailure extends Cause.YieldableError {
  readonly _tag: "ExploreFailure"
  readonly seed: number
  readonly run: number
  readonly runs: number
  readonly cause: Cause.Cause<unknown>
}

/**
 * @since 0.1.0
 * @category errors
 */
export const ExploreFailure: new(args: {
  readonly seed: number
  readonly run: number
  readonly runs: number
  readonly cause: Cause.Cause<unknown>
}) => ExploreFailure = internal.ExploreFailure

/**
 * @since 0.1.0
 * @category guards
 */
export const isExploreFailure: (u: unknown) => u is ExploreFailure = internal.isExploreFailure

/**
 * Runs `self` under `runs` seeded schedulers (seeds `seed`, `seed + 1`, ...), one after the other, and stops at the
 * first run that fails, failing with an `ExploreFailure` that names the seed. Succeeds with a `Summary` when every
 * run succeeded. A run that hangs (has not finished after `hangAfter`, default 60 s of real time) fails too, with a
 * `RunHung` defect, so a deadlock found by a seed is reported with that seed.
 *
 * Works inside `it.effect` (time through `TestClock`) and `it.live`. Under Effect 3.22.4, a run that interrupts a
 * fiber inside `Effect.sleep` or `TestClock.adjust` can leave `TestClock` locked (see `SeededScheduler`): explore such
 * scenarios with `preemption: false`.
 *
 * @example
 * ```ts
 * import { Effect, Ref } from "effect"
 * import { Explore } from "@core-stability/testing"
 *
 * // Three read-yield-write increments, with or without a lock; each run builds its own state.
 * const increments = (locked: boolean) =>
 *   Effect.gen(function*() {
 *     const counter = yield* Ref.make(0)
 *     const lock = yield* Effect.makeSemaphore(1)
 *     const body = Effect.gen(function*() {
 *       const value = yield* Ref.get(counter)
 *       yield* Effect.yieldNow()
 *       yield* Ref.set(counter, value + 1)
 *     })
 *     const increment = locked ? lock.withPermits(1)(body) : body
 *     yield* Effect.all([increment, increment, increment], { concurrency: "unbounded" })
 *     const count = yield* Ref.get(counter)
 *     if (count !== 3) return yield* Effect.dieMessage(`lost ${3 - count} update(s)`)
 *   })
 *
 * const program = Effect.gen(function*() {
 *   // with the lock, no interleaving loses an update
 *   const summary = yield* Explore.explore(increments(true), { runs: 100, seed: 1 })
 *   assert.strictEqual(summary.runs, 100)
 *   assert.ok(summary.distinctSchedules > 1)
 *   // without it, explore stops at the first failing seed and names it
 *   const failure = yield* Effect.flip(Explore.explore(increments(false), { runs: 100, seed: 1 }))
 *   assert.ok(failure.message.startsWith(`explore: run ${failure.run} of 100 failed with seed ${failure.seed}`))
 * })
 *
 * Effect.runPromise(program)
 * ```
 *
 * @since 0.1.0
 * @category testing
 */
export const explore: {
  (options?: Options): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<Summary, ExploreFailure, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, options?: Options): Effect.Effect<Summary, ExploreFailure, R>
} = internal.explore

/**
 * Runs `self` once under the seeded scheduler for `seed`, the interleaving `explore` reported. Succeeds with the
 * effect's value; a failure becomes an `ExploreFailure` naming the seed.
 *
 * @example
 * ```ts
 * import { Effect, Ref } from "effect"
 * import { Explore } from "@core-stability/testing"
 *
 * // An unsynchronised read-yield-write increment run by two fibers: some interleavings lose an update.
 * const lostUpdate = Effect.gen(function*() {
 *   const counter = yield* Ref.make(0)
 *   const increment = Effect.gen(function*() {
 *     const value = yield* Ref.get(counter)
 *     yield* Effect.yieldNow()
 *     yield* Ref.set(counter, value + 1)
 *   })
 *   yield* Effect.all([increment, increment], { concurrency: "unbounded" })
 *   const count = yield* Ref.get(counter)
 *   if (count !== 2) return yield* Effect.fail(`lost an update: ${count}`)
 * })
 *
 * const program = Effect.gen(function*() {
 *   // explore names the first failing seed: "explore: run <n> of 100 failed with seed <seed> (replay it with ...)"
 *   const failure = yield* Effect.flip(Explore.explore(lostUpdate, { runs: 100 }))
 *   // replaying that seed takes the same interleaving, so it fails the same way
 *   const again = yield* Effect.flip(Explore.replay(lostUpdate, failure.seed))
 *   assert.strictEqual(again.seed, failure.seed)
 * })
 *
 * Effect.runPromise(program)
 * ```
 *
 * @since 0.1.0
 * @category testing
 */
export const replay: {
  (
    seed: number,
    options?: ReplayOptions
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, ExploreFailure, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    seed: number,
    options?: ReplayOptions
  ): Effect.Effect<A, ExploreFailure, R>
} = internal.replay
