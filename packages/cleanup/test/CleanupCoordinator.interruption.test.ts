/**
 * Interrupted callers, explored over seeded interleavings (`Explore` from `@core-stability/testing`).
 *
 * These tests run under `it.live`: each run bounds its waits with a real-time timeout so that a hang fails the run
 * (with its seed) instead of the test, and `TestClock` is kept out of preempted runs (Effect 3.22.4's Semaphore can
 * keep a permit when a fiber is interrupted at a preemption point, which would lock the test clock).
 */
import * as CleanupCoordinator from "@core-stability/cleanup/CleanupCoordinator"
import { Explore } from "@core-stability/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Scope } from "effect"

/** Fails the run when `effect` has not completed within 5 s of real time (the happy path takes microseconds). */
const bounded = <A, E, R>(
  coordinator: CleanupCoordinator.CleanupCoordinator,
  what: string,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | Error, R> =>
  Effect.flatMap(Effect.timeoutOption(effect, "5 seconds"), (result) =>
    Option.isSome(result)
      ? Effect.succeed(result.value)
      : Effect.flatMap(coordinator.status, (status) =>
        Effect.die(new Error(`${what} hangs; coordinator status: ${JSON.stringify(status)}`))))

/**
 * Regression (adversarial review, bug 1): `shutdown` decided to start a run (lifecycle `Running`, a fresh Deferred)
 * under its lock and forked the run fiber in a later, interruptible step. A caller interrupted in between left the
 * coordinator `Running` with no run fiber: every later `shutdown`, the Scope finalizer included, waited forever and
 * `reset` failed with `CleanupInProgressError` forever. The prefix of this scenario is the reviewer's repro, so seed
 * 15 still reaches the window.
 */
const interruptedStart = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const coordinator = yield* Scope.extend(CleanupCoordinator.make(), scope)
  let runs = 0
  yield* coordinator.register({
    name: "a",
    run: Effect.sync(() => {
      runs++
    })
  })
  const caller = yield* Effect.fork(coordinator.shutdown)
  yield* Effect.yieldNow()
  yield* Fiber.interrupt(caller)
  // the interrupted caller either never decided (a later shutdown starts run 1) or started run 1 (a later one joins)
  const report = yield* bounded(coordinator, "a shutdown after an interrupted one", coordinator.shutdown)
  assert.strictEqual(report.run, 1)
  assert.strictEqual(report.status, "Completed")
  assert.strictEqual(runs, 1)
  // the Scope finalizer joins the finished run instead of waiting forever
  yield* bounded(coordinator, "closing the coordinator's scope", Scope.close(scope, Exit.void))
  yield* coordinator.reset
  assert.isFalse(yield* coordinator.isShutdownRequested)
  assert.strictEqual(yield* coordinator.phase, "NotStarted")
})

describe("CleanupCoordinator: interrupting the caller that starts the run", () => {
  it.live(
    "replay seed 15 (the reviewer's failing interleaving): the run still happens, exactly once",
    () =>
      Effect.gen(function*() {
        const summary = yield* Explore.explore(interruptedStart, { seed: 15, runs: 1 })
        assert.strictEqual(summary.runs, 1)
      }),
    30_000
  )

  it.live(
    "explored over 200 seeds: a later shutdown, the Scope finalizer and reset never hang",
    () =>
      Effect.gen(function*() {
        const summary = yield* Explore.explore(interruptedStart, { runs: 200 })
        assert.isAbove(summary.distinctSchedules, 1)
      }),
    120_000
  )
})

/**
 * `reset` restores the phase machine and reopens registration as one step: an interrupted reset either happened or
 * did not, and a later reset and run work.
 */
const interruptedReset = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const coordinator = yield* Scope.extend(CleanupCoordinator.make(), scope)
  yield* coordinator.register({ name: "a", run: Effect.void })
  yield* coordinator.shutdown
  const caller = yield* Effect.fork(coordinator.reset)
  yield* Effect.yieldNow()
  yield* Fiber.interrupt(caller)
  const phase = yield* coordinator.phase
  const requested = yield* coordinator.isShutdownRequested
  assert.isTrue(
    (phase === "NotStarted" && !requested) || (phase === "Completed" && requested),
    `half a reset: phase ${phase}, shutdown requested ${requested}`
  )
  yield* coordinator.reset
  const report = yield* bounded(coordinator, "a shutdown after an interrupted reset", coordinator.shutdown)
  assert.strictEqual(report.run, 2)
  assert.strictEqual(report.status, "Completed")
  yield* bounded(coordinator, "closing the coordinator's scope", Scope.close(scope, Exit.void))
})

/** `acquire` acquires and registers the release as one uninterruptible step: nothing acquired goes unreleased. */
const interruptedAcquire = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const coordinator = yield* Scope.extend(CleanupCoordinator.make(), scope)
  let acquired = 0
  let released = 0
  const caller = yield* Effect.fork(coordinator.acquire({
    name: "r",
    acquire: Effect.sync(() => {
      acquired++
    }),
    release: () =>
      Effect.sync(() => {
        released++
      })
  }))
  yield* Effect.yieldNow()
  yield* Fiber.interrupt(caller)
  const report = yield* bounded(coordinator, "a shutdown after an interrupted acquire", coordinator.shutdown)
  assert.isAtMost(acquired, 1)
  assert.strictEqual(released, acquired)
  assert.strictEqual(report.steps.length, acquired)
  yield* bounded(coordinator, "closing the coordinator's scope", Scope.close(scope, Exit.void))
})

/**
 * Every entry point at once, every caller interrupted at a seeded point: the coordinator ends consistent, a last
 * shutdown and the Scope finalizer complete, and the resource is released exactly as often as it was acquired (once
 * at most, even when a reset raced in between: a released resource does not come back after `reset`).
 */
const interruptedEverything = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const coordinator = yield* Scope.extend(CleanupCoordinator.make(), scope)
  let acquired = 0
  let released = 0
  yield* coordinator.register({ name: "a", run: Effect.void })
  const callers = yield* Effect.all([
    Effect.fork(coordinator.shutdown),
    Effect.fork(coordinator.acquire({
      name: "r",
      acquire: Effect.sync(() => {
        acquired++
      }),
      release: () =>
        Effect.sync(() => {
          released++
        })
    })),
    Effect.fork(coordinator.reset),
    Effect.fork(coordinator.shutdown)
  ])
  yield* Effect.yieldNow()
  yield* Fiber.interruptAll(callers)
  const report = yield* bounded(coordinator, "a last shutdown", coordinator.shutdown)
  assert.strictEqual(report.status, "Completed")
  yield* bounded(coordinator, "closing the coordinator's scope", Scope.close(scope, Exit.void))
  // acquired while registration was open: released by a run, once; acquired after it closed: released at once
  assert.isAtMost(acquired, 1)
  assert.strictEqual(released, acquired)
})

describe("CleanupCoordinator: interrupting reset, acquire, and everything at once", () => {
  it.live(
    "replay seed 13 (half a reset before the fix: machine NotStarted, registration still closed)",
    () =>
      Effect.gen(function*() {
        const summary = yield* Explore.explore(interruptedReset, { seed: 13, runs: 1 })
        assert.strictEqual(summary.runs, 1)
      }),
    30_000
  )

  it.live(
    "an interrupted reset happened entirely or not at all (explored over 200 seeds)",
    () =>
      Effect.gen(function*() {
        const summary = yield* Explore.explore(interruptedReset, { runs: 200 })
        assert.isAbove(summary.distinctSchedules, 1)
      }),
    120_000
  )

  it.live("an interrupted acquire leaves nothing unreleased (explored over 200 seeds)", () =>
    Effect.gen(function*() {
      const summary = yield* Explore.explore(interruptedAcquire, { runs: 200 })
      assert.isAbove(summary.distinctSchedules, 1)
    }), 120_000)

  it.live(
    "interrupted shutdowns, acquire and reset together never hang (explored over 200 seeds)",
    () =>
      Effect.gen(function*() {
        const summary = yield* Explore.explore(interruptedEverything, { runs: 200 })
        assert.isAbove(summary.distinctSchedules, 1)
      }),
    120_000
  )
})
