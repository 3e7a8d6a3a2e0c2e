/**
 * A seeded random scheduler for Effect fibers: the same seed gives the same interleaving.
 *
 * Every task the runtime hands to a scheduler (fiber starts, `Effect.yieldNow`, async resumptions, Semaphore and
 * Deferred wake-ups) is kept in a pending set; at each step the scheduler runs one pending task chosen by a seeded
 * pseudo-random generator. With preemption on, a fiber is also made to yield after a random number of operations
 * between `minOps` and `maxOps`, so races without an explicit yield point are explored too. Timers and I/O sit outside
 * any scheduler: interleavings are reproducible as long as the code under test waits on `TestClock`, `Deferred`,
 * `Queue` and other Effect primitives, not on real time or real I/O.
 *
 * The scheduler drives itself: the first task handed to it queues a microtask that runs pending tasks (a macrotask
 * turn every `stepsPerTurn` steps) until none is left, and so does every later task, also after `run` / `runWith`
 * returned. A fiber started under the scheduler keeps it (Effect reads `FiberRef.currentScheduler` from the fiber,
 * and fibers it forks inherit it), so fibers that outlive the run (daemons, forks the run did not join, TestClock's
 * warning fiber, finalizers they run) finish on it, with the same seeded choices and preemption, and nothing is left
 * pending. Their steps after the run count in `steps` and `fingerprint` but belong to no replay: a run is reproducible
 * from its seed alone when it ends everything it started.
 *
 * Preemption can pause a fiber between any two run-loop operations, and an interrupt sent meanwhile takes effect
 * there; that is what finds atomicity bugs, Effect's own included: Effect 3.22.4's `Semaphore.withPermits` keeps its
 * permit when the fiber is interrupted right after taking it (fixed upstream in Effect-TS/effect#6910). `TestClock` guards its state with such semaphores, so a fiber
 * interrupted inside `Effect.sleep` or `TestClock.adjust` under `it.effect` can leave the test clock locked: the next
 * TestClock call, or the test's teardown, then waits forever. Use `preemption: false` for such scenarios until the
 * effect dependency has the fix.
 *
 * The idea is the one behind randomized concurrency testers such as Java's jcstress "stress" mode, Go's
 * `-race -cpu` shuffling and loom / shuttle in Rust (a random scheduler with a replayable seed); the feasibility
 * and the op-budget caveat are recorded in the project's effect-stack notes.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Inspectable from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import type * as Scheduler from "effect/Scheduler"
import * as internal from "./internal/seededScheduler.js"

/**
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * The smallest op budget accepted for preemption: 16 operations. Effect 3.22's run loop livelocks with budgets of 9
 * or less (each forced yield itself costs operations), so smaller values are refused.
 *
 * @since 0.1.0
 * @category constructors
 */
export const minimumOps: number = internal.minimumOps

/**
 * A scheduler that runs pending tasks in an order drawn from `seed`.
 *
 * - `steps`: tasks run so far.
 * - `pending`: tasks waiting to run.
 * - `fingerprint`: a 32-bit hash of every choice among two or more runnable tasks made so far; two runs with the
 *   same fingerprint took the same schedule (used by `Explore` to count distinct interleavings).
 *
 * @since 0.1.0
 * @category models
 */
export interface SeededScheduler extends Scheduler.Scheduler, Pipeable, Inspectable.Inspectable {
  readonly [TypeId]: TypeId
  readonly seed: number
  readonly steps: number
  readonly pending: number
  readonly fingerprint: number
}

/**
 * Options of a seeded scheduler.
 *
 * - `preemption` (default `true`): force a yield after a random number of operations in `[minOps, maxOps]`, counted
 *   per fiber across suspensions. A fiber's first budget is a random phase in `[1, maxOps]`, so preemption can land
 *   anywhere among its first operations (a race right after a fork is explored too); every later slice is at least
 *   `minOps` long. With `false`, fibers switch only at their own yield points (and after Effect's usual 2048-op
 *   budget).
 * - `minOps` (default 16, at least 16): the shortest slice, in run-loop operations.
 * - `maxOps` (default `max(minOps, 24)`): the longest slice, in run-loop operations. Shorter slices split more
 *   read-modify-write windows (a two-fiber lost update without yield points is found in about 5% of seeds at 24,
 *   1% at 64) at the cost of more task switches.
 * - `stepsPerTurn` (default 10 000): tasks run in one microtask burst before the scheduler hands the event loop a
 *   macrotask turn, so real timers (a watchdog, `it.live` sleeps) still fire during a livelock.
 *
 * Invalid values (a budget below 16, `maxOps < minOps`, a non-positive `stepsPerTurn`) are a defect
 * (`IllegalArgumentException`) raised when the scheduler is made.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly preemption?: boolean | undefined
  readonly minOps?: number | undefined
  readonly maxOps?: number | undefined
  readonly stepsPerTurn?: number | undefined
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isSeededScheduler: (u: unknown) => u is SeededScheduler = internal.isSeededScheduler

/**
 * Makes a seeded scheduler. Dies with an `IllegalArgumentException` on invalid options.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (seed: number, options?: Options) => Effect.Effect<SeededScheduler> = internal.make

/**
 * Makes a seeded scheduler synchronously. Throws an `IllegalArgumentException` on invalid options.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: (seed: number, options?: Options) => SeededScheduler = internal.unsafeMake

/**
 * Runs an effect, and every fiber it forks, under a fresh seeded scheduler. The same seed gives the same
 * interleaving; the effect is otherwise unchanged (same value, same errors, same requirements).
 *
 * The effect runs in a fiber of its own, forked onto the scheduler with a fresh op count and Effect's default op
 * budget, which the caller joins (fiber refs the effect sets pass back as if it ran in place). The interleaving
 * therefore depends only on the effect, the seed and the options: not on the calling fiber (its op count, how its
 * current slice was started, how many runs it did before), so the tenth run of a seed in one fiber, a run in a fresh
 * fiber and a run in a fresh process take the same schedule.
 *
 * Works inside `it.effect` (with `TestClock`) and `it.live`.
 *
 * @example
 * ```ts
 * import { Effect, Ref } from "effect"
 * import { SeededScheduler } from "@core-stability/testing"
 *
 * // Three unsynchronised read-yield-write increments: how many updates survive depends on the interleaving.
 * const race = Effect.gen(function*() {
 *   const counter = yield* Ref.make(0)
 *   const increment = Effect.gen(function*() {
 *     const value = yield* Ref.get(counter)
 *     yield* Effect.yieldNow()
 *     yield* Ref.set(counter, value + 1)
 *   })
 *   yield* Effect.all([increment, increment, increment], { concurrency: "unbounded" })
 *   return yield* Ref.get(counter)
 * })
 *
 * const program = SeededScheduler.run(race, 42)
 *
 * Effect.runPromise(program).then(async (first) => {
 *   assert.ok(first >= 1 && first <= 3)
 *   // the same seed gives the same interleaving, hence the same count
 *   assert.strictEqual(await Effect.runPromise(program), first)
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const run: {
  (seed: number, options?: Options): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, seed: number, options?: Options): Effect.Effect<A, E, R>
} = internal.run

/**
 * Runs an effect under a given seeded scheduler, to read its `steps` and `fingerprint` afterwards.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SeededScheduler } from "@core-stability/testing"
 *
 * const twoFibers = Effect.all([Effect.yieldNow(), Effect.yieldNow()], { concurrency: "unbounded" })
 *
 * const fingerprintOf = (seed: number) =>
 *   Effect.gen(function*() {
 *     const scheduler = yield* SeededScheduler.make(seed)
 *     yield* SeededScheduler.runWith(twoFibers, scheduler)
 *     assert.ok(scheduler.steps > 0) // tasks the scheduler ran
 *     return scheduler.fingerprint
 *   })
 *
 * Effect.runPromise(fingerprintOf(42)).then(async (first) => {
 *   // the same seed takes the same schedule
 *   assert.strictEqual(await Effect.runPromise(fingerprintOf(42)), first)
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const runWith: {
  (scheduler: SeededScheduler): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, scheduler: SeededScheduler): Effect.Effect<A, E, R>
} = internal.runWith
