import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as Predicate from "effect/Predicate"
import type * as Explore from "../Explore.js"
import type * as SeededScheduler from "../SeededScheduler.js"
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
        return Effect.flatMap(Effect.exit(scheduler.runWith(self, instance)), (exit) => {
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
    options?: SeededScheduler.Options
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, Explore.ExploreFailure, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    seed: number,
    options?: SeededScheduler.Options
  ): Effect.Effect<A, Explore.ExploreFailure, R>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    seed: number,
    options?: SeededScheduler.Options
  ): Effect.Effect<A, Explore.ExploreFailure, R> =>
    Effect.suspend(() => {
      validateSeed(seed)
      return Effect.catchAllCause(
        scheduler.run(self, seed, options),
        (cause) => Effect.fail(new ExploreFailure({ seed, run: 1, runs: 1, cause }))
      )
    })
)
