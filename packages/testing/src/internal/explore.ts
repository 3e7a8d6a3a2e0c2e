import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as Predicate from "effect/Predicate"
import type * as Explore from "../Explore.js"
import * as scheduler from "./seededScheduler.js"

/** @internal */
export const defaultRuns = 100

/** @internal */
export const defaultSeed = 0

/** @internal */
export class ExploreFailure extends Data.TaggedError("ExploreFailure")<{
  readonly seed: number
  readonly run: number
  readonly runs: number
  readonly cause: Cause.Cause<unknown>
}> {
  override get message(): string {
    return `explore: run ${this.run} of ${this.runs} failed with seed ${this.seed} ` +
      `(replay it with Explore.replay(effect, ${this.seed}) or Explore.explore(effect, { seed: ${this.seed}, runs: 1 })):\n` +
      Cause.pretty(this.cause, { renderErrorCause: true })
  }
}

/** @internal */
export const defaultHangAfter: Duration.DurationInput = "60 seconds"

/** @internal */
export class RunHung extends Data.TaggedError("RunHung")<{ readonly afterMs: number }> {
  override get message(): string {
    return `the run did not finish within ${this.afterMs} ms of real time: a deadlock, a lost wake-up, or a fiber ` +
      `stuck in an uninterruptible region (the run's fiber was abandoned, not awaited)`
  }
}

/** @internal */
export const isRunHung = (u: unknown): u is RunHung => Predicate.isTagged(u, "RunHung")

const hangAfterMs = (options: { readonly hangAfter?: Duration.DurationInput | undefined } | undefined): number => {
  const input = options?.hangAfter ?? defaultHangAfter
  const duration = Duration.decodeUnknown(input)
  if (duration._tag === "None" || Duration.toMillis(duration.value) <= 0) {
    throw new Cause.IllegalArgumentException(`Explore: hangAfter must be a positive duration, got ${String(input)}`)
  }
  const ms = Duration.toMillis(duration.value)
  // Node's timers take at most 2^31 - 1 ms (about 24.8 days) and fire a longer one after 1 ms: a longer deadline is
  // no deadline.
  return ms > maxTimerMs ? Infinity : ms
}

const maxTimerMs = 2_147_483_647

/**
 * `run` bounded by `ms` of real time (a `setTimeout`, so `TestClock` does not stop it): past the deadline the run's
 * fiber is interrupted without waiting for it (it may be stuck uninterruptibly) and the result is a `RunHung` defect.
 */
const withHangDeadline = <A, E, R>(run: Effect.Effect<A, E, R>, ms: number): Effect.Effect<A, E, R> =>
  Number.isFinite(ms)
    ? Effect.raceFirst(
      Effect.disconnect(run),
      Effect.async<never>((resume) => {
        const timer = setTimeout(() => resume(Effect.die(new RunHung({ afterMs: ms }))), ms)
        return Effect.sync(() => clearTimeout(timer))
      })
    )
    : run

/** @internal */
export const isExploreFailure = (u: unknown): u is Explore.ExploreFailure => Predicate.isTagged(u, "ExploreFailure")

const validateRuns = (runs: number): void => {
  if (!Number.isInteger(runs) || runs < 1) {
    throw new Cause.IllegalArgumentException(`Explore: runs must be a positive integer, got ${runs}`)
  }
}

const validateSeed = (seed: number): void => {
  if (!Number.isSafeInteger(seed)) {
    throw new Cause.IllegalArgumentException(`Explore: seed must be a safe integer, got ${seed}`)
  }
}

/** @internal */
export const explore: {
  (
    options?: Explore.Options
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<Explore.Summary, Explore.ExploreFailure, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    options?: Explore.Options
  ): Effect.Effect<Explore.Summary, Explore.ExploreFailure, R>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    options?: Explore.Options
  ): Effect.Effect<Explore.Summary, Explore.ExploreFailure, R> =>
    Effect.suspend(() => {
      const runs = options?.runs ?? defaultRuns
      const firstSeed = options?.seed ?? defaultSeed
      validateRuns(runs)
      validateSeed(firstSeed)
      scheduler.resolveOptions(options)
      const deadlineMs = hangAfterMs(options)
      const fingerprints = new Set<number>()
      let steps = 0
      const loop = (run: number): Effect.Effect<Explore.Summary, Explore.ExploreFailure, R> => {
        if (run > runs) {
          return Effect.succeed({
            runs,
            firstSeed,
            lastSeed: firstSeed + runs - 1,
            distinctSchedules: fingerprints.size,
            steps
          })
        }
        const seed = firstSeed + run - 1
        const instance = scheduler.unsafeMake(seed, options)
        return Effect.flatMap(Effect.exit(withHangDeadline(scheduler.runWith(self, instance), deadlineMs)), (exit) => {
          fingerprints.add(instance.fingerprint)
          steps += instance.steps
          return Exit.isFailure(exit)
            ? Effect.fail(new ExploreFailure({ seed, run, runs, cause: exit.cause }))
            : loop(run + 1)
        })
      }
      return loop(1)
    })
)

/** @internal */
export const replay: {
  (
    seed: number,
    options?: Explore.ReplayOptions
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, Explore.ExploreFailure, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    seed: number,
    options?: Explore.ReplayOptions
  ): Effect.Effect<A, Explore.ExploreFailure, R>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    seed: number,
    options?: Explore.ReplayOptions
  ): Effect.Effect<A, Explore.ExploreFailure, R> =>
    Effect.suspend(() => {
      validateSeed(seed)
      scheduler.resolveOptions(options)
      const deadlineMs = hangAfterMs(options)
      return Effect.catchAllCause(
        withHangDeadline(scheduler.run(self, seed, options), deadlineMs),
        (cause) => Effect.fail(new ExploreFailure({ seed, run: 1, runs: 1, cause }))
      )
    })
)
