/**
 * Regression tests for the bugs a review of the component coordinator found. Each test names the bug it guards
 * against; the explored ones run the interleaving under 100 seeds of `Explore` (seeds 0-99: a failure names the seed
 * to replay). Explorations whose components fork workers run under the live clock: a stop waits for its workers with
 * a timeout, and a `TestClock` sleep interrupted under the seeded scheduler can leave the test clock locked (see
 * `SeededScheduler`); nothing in them waits on a timer.
 */
import { ComponentCoordinator, ComponentError } from "@core-stability/coordinator"
import { Explore } from "@core-stability/testing"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, Deferred, Effect, Either, Exit, Fiber, Option, Queue, Ref, Schedule, TestClock } from "effect"
import { eventually, settle, stateIs } from "./utils/coordinator.js"

type Coordinator = ComponentCoordinator.ComponentCoordinator

/** A finalizer that counts in `finalized` the closings of the scope it is added to (a start's incarnation scope). */
const countClosing = (finalized: Ref.Ref<number>) => Effect.addFinalizer(() => Ref.update(finalized, (n) => n + 1))

/**
 * Registers component "a", whose every start counts its scope's closing in `finalized`, then forks `worker` as `name`.
 * The start is the same effect as written out inline, so explored programs take the same steps.
 */
const registerCountingWorker = (
  coordinator: Coordinator,
  finalized: Ref.Ref<number>,
  name: string,
  worker: Effect.Effect<unknown, unknown>
) =>
  coordinator.register({
    id: "a",
    start: (context) => Effect.zipRight(countClosing(finalized), context.fork(worker, { name }))
  })

const info = (coordinator: Coordinator, id: string) =>
  Effect.map(coordinator.components, (infos) => infos.find((other) => other.id === id)!)

const failureOf = <A, E>(exit: Exit.Exit<A, E>): Option.Option<E> =>
  Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()

describe("ComponentCoordinator regressions", () => {
  describe("bug 1: a start over a live incarnation ran a second one beside it", () => {
    it.scoped("start after transition(id, Error) stops the old incarnation's workers and closes its scope", () =>
      Effect.gen(function*() {
        const finalized = yield* Ref.make(0)
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-start-over" })
        yield* registerCountingWorker(coordinator, finalized, "loop", Effect.never)
        yield* coordinator.startAll
        yield* coordinator.transition("a", "Error", { reason: "marked failed by the monitor" })
        yield* coordinator.start("a")
        assert.strictEqual(yield* coordinator.state("a"), "Running")
        assert.strictEqual(yield* Ref.get(finalized), 1, "the first incarnation's scope was never closed")
        assert.strictEqual((yield* coordinator.leakReport).workers.length, 1, "both incarnations' workers run")
        yield* coordinator.stopAll
        yield* settle
        assert.deepStrictEqual((yield* coordinator.leakReport).workers, [])
        assert.strictEqual(yield* Ref.get(finalized), 2)
      }))

    it.scoped("startAll after a hand-driven stop (transition to Stopped) releases what the old incarnation held", () =>
      Effect.gen(function*() {
        const held = yield* Ref.make(0)
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-start-over-2" })
        yield* coordinator.register({
          id: "a",
          start: (context) =>
            context.allocate({
              type: "buffer",
              acquire: Ref.update(held, (n) => n + 1),
              release: () => Ref.update(held, (n) => n - 1)
            })
        })
        yield* coordinator.startAll
        yield* coordinator.transition("a", "Stopping")
        yield* coordinator.transition("a", "Stopped")
        yield* coordinator.startAll
        assert.strictEqual(yield* Ref.get(held), 1)
        assert.strictEqual((yield* info(coordinator, "a")).allocations, 1)
      }))
  })

  describe("bug 2: a worker stopping its own component wedged it in Stopping", () => {
    it.scoped("a worker that calls stopAll: the component ends Stopped, its scope is closed, the group ends", () =>
      Effect.gen(function*() {
        const finalized = yield* Ref.make(0)
        const done = yield* Deferred.make<Exit.Exit<ReadonlyArray<string>, unknown>>()
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-worker-stopall" })
        yield* registerCountingWorker(
          coordinator,
          finalized,
          "commands",
          Effect.onExit(coordinator.stopAll, (exit) => Deferred.succeed(done, exit))
        )
        yield* coordinator.startAll
        yield* Deferred.await(done)
        yield* stateIs(coordinator, "a", "Stopped")
        assert.strictEqual(yield* Ref.get(finalized), 1, "the start effect's finalizer never ran")
        const ended = yield* Effect.timeoutOption(coordinator.join, 0)
        assert.deepStrictEqual(ended, Option.some({ _tag: "Stopped" as const }))
      }))

    it.scoped("a worker that calls restart on its own component: the component is restarted", () =>
      Effect.gen(function*() {
        const done = yield* Deferred.make<Exit.Exit<void, unknown>>()
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-worker-restart" })
        yield* coordinator.register({
          id: "a",
          start: (context) =>
            context.generation === 1
              ? context.fork(
                Effect.onExit(coordinator.restart("a"), (exit) => Deferred.succeed(done, exit)),
                { name: "watchdog" }
              )
              : context.fork(Effect.never, { name: "loop" })
        })
        yield* coordinator.startAll
        yield* Deferred.await(done)
        yield* eventually(
          Effect.map(info(coordinator, "a"), (a) => a.state === "Running" && a.generation === 2),
          "a runs generation 2"
        )
      }))

    it.scoped("a worker that cleans up its own component: the cleanup completes", () =>
      Effect.gen(function*() {
        const finalized = yield* Ref.make(0)
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-worker-cleanup" })
        const report = yield* Deferred.make<Either.Either<unknown, unknown>>()
        yield* registerCountingWorker(
          coordinator,
          finalized,
          "commands",
          Effect.zipRight(
            Effect.yieldNow(),
            Effect.flatMap(Effect.either(coordinator.cleanupComponent("a")), (r) => Deferred.succeed(report, r))
          )
        )
        yield* coordinator.startAll
        // the worker is interrupted by its own cleanup, so it never sees the report; the cleanup completes anyway
        yield* stateIs(coordinator, "a", "Stopped")
        assert.strictEqual(yield* Ref.get(finalized), 1)
        assert.deepStrictEqual(yield* coordinator.leakReport, { allocations: [], workers: [] })
      }))

    // without the fix every seed wedges: the worker's own stopAll interrupts the worker half-way and the run hangs
    it.live("a worker's stopAll racing restart and stopAll: every incarnation is closed (explored)", () =>
      Explore.explore(
        Effect.scoped(Effect.gen(function*() {
          const finalized = yield* Ref.make(0)
          const coordinator = yield* ComponentCoordinator.make({ name: "regression-worker-explore" })
          yield* registerCountingWorker(coordinator, finalized, "commands", coordinator.stopAll)
          yield* coordinator.startAll
          yield* Effect.all([Effect.either(coordinator.restart("a")), coordinator.stopAll], {
            concurrency: "unbounded"
          })
          // a detached stop a worker asked for is queued before this one, or finds nothing left to stop
          yield* coordinator.stopAll
          const a = yield* info(coordinator, "a")
          assert.strictEqual(a.state, "Stopped")
          assert.strictEqual(yield* Ref.get(finalized), a.generation, "an incarnation's scope was never closed")
          assert.deepStrictEqual(yield* coordinator.leakReport, { allocations: [], workers: [] })
        })),
        { runs: 100 }
      ))
  })

  describe("bug 3: an interrupted stop lost the component's scope", () => {
    it.scoped("stopAll under a caller's timeout: a later stopAll still closes the component's scope", () =>
      Effect.gen(function*() {
        const finalized = yield* Ref.make(0)
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-interrupted-stop" })
        yield* registerCountingWorker(
          coordinator,
          finalized,
          "writer",
          Effect.onInterrupt(Effect.never, () => Effect.sleep("1 second"))
        )
        yield* coordinator.startAll
        const stopping = yield* Effect.fork(Effect.timeout(coordinator.stopAll, "500 millis"))
        yield* stateIs(coordinator, "a", "Stopping")
        yield* TestClock.adjust("500 millis")
        yield* Fiber.await(stopping)
        // the stop was abandoned half-way: the incarnation is still attached, the component still Stopping
        assert.strictEqual(yield* coordinator.state("a"), "Stopping")
        yield* TestClock.adjust("1 second")
        yield* settle
        yield* coordinator.stopAll
        assert.strictEqual(yield* coordinator.state("a"), "Stopped")
        assert.strictEqual(yield* Ref.get(finalized), 1, "the start effect's scope was never closed")
      }))

    // without the fix (incarnation detached before the workers were awaited), seed 5 loses the scope
    it.live("a stop interrupted at any point is finished by the next one (explored)", () =>
      Explore.explore(
        Effect.scoped(Effect.gen(function*() {
          const finalized = yield* Ref.make(0)
          const flush = yield* Deferred.make<void>()
          const coordinator = yield* ComponentCoordinator.make({ name: "regression-interrupted-stop-explore" })
          yield* registerCountingWorker(
            coordinator,
            finalized,
            "writer",
            Effect.onInterrupt(Effect.never, () => Deferred.await(flush))
          )
          yield* coordinator.startAll
          const stopping = yield* Effect.fork(coordinator.stopAll)
          const interrupter = yield* Effect.fork(Fiber.interrupt(stopping))
          yield* Fiber.await(interrupter)
          yield* Deferred.succeed(flush, undefined)
          yield* Fiber.await(stopping)
          yield* coordinator.stopAll
          assert.strictEqual(yield* coordinator.state("a"), "Stopped")
          assert.strictEqual(yield* Ref.get(finalized), 1, "the start effect's scope was never closed")
          assert.deepStrictEqual(yield* coordinator.leakReport, { allocations: [], workers: [] })
        })),
        { runs: 100 }
      ))
  })

  describe("bug 4: cleanupComponent raced start between its steps", () => {
    it.scoped("a start that queues behind the stop-workers step waits for the cleanup, then starts cleanly", () =>
      Effect.gen(function*() {
        const finalized = yield* Ref.make(0)
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-cleanup-vs-start" })
        yield* coordinator.register({
          id: "a",
          start: (context) =>
            Effect.gen(function*() {
              yield* countClosing(finalized)
              yield* context.allocate({
                type: "buffer",
                acquire: Effect.succeed(context.generation),
                release: () => Effect.void
              })
              yield* context.fork(
                context.generation === 1
                  ? Effect.onInterrupt(Effect.never, () => Effect.sleep("1 second"))
                  : Effect.never,
                { name: "writer" }
              )
            })
        })
        yield* coordinator.startAll
        const cleaning = yield* Effect.fork(Effect.either(coordinator.cleanupComponent("a")))
        yield* stateIs(coordinator, "a", "Stopping")
        const starting = yield* Effect.fork(Effect.either(coordinator.start("a")))
        yield* settle
        yield* TestClock.adjust("1 second")
        const report = yield* Fiber.join(cleaning)
        assert.isTrue(Either.isRight(report) && report.right.status === "Completed")
        assert.isTrue(Either.isRight(yield* Fiber.join(starting)))
        // the start waited for the cleanup: generation 2 runs with its own resource, generation 1 is closed
        const a = yield* info(coordinator, "a")
        assert.strictEqual(a.state, "Running")
        assert.strictEqual(a.generation, 2)
        assert.strictEqual(a.allocations, 1, "a Running component's resource was released under it")
        assert.strictEqual(yield* Ref.get(finalized), 1)
      }))

    // without the fix (starts not waiting for the cleanup), seed 13 starts generation 2 between two cleanup steps
    it.live("cleanupComponent racing start and restart leaves a consistent component (explored)", () =>
      Explore.explore(
        Effect.scoped(Effect.gen(function*() {
          const finalized = yield* Ref.make(0)
          const held = yield* Ref.make(0)
          const stopping = yield* Deferred.make<void>()
          const coordinator = yield* ComponentCoordinator.make({ name: "regression-cleanup-explore" })
          yield* coordinator.register({
            id: "a",
            start: (context) =>
              Effect.gen(function*() {
                yield* countClosing(finalized)
                yield* context.allocate({
                  type: "buffer",
                  acquire: Ref.update(held, (n) => n + 1),
                  release: () => Ref.update(held, (n) => n - 1)
                })
                // a writer that takes a few scheduler turns to stop: whoever stops it holds the lock meanwhile
                yield* context.fork(
                  Effect.onInterrupt(
                    Effect.never,
                    () => Effect.zipRight(Deferred.succeed(stopping, undefined), Effect.repeatN(Effect.yieldNow(), 10))
                  ),
                  { name: "writer" }
                )
              })
          })
          yield* coordinator.startAll
          // the start is asked for while the first writer stops (in the cleanup's stop-workers step, or in the restart)
          const [cleanup] = yield* Effect.all([
            Effect.either(coordinator.cleanupComponent("a")),
            Effect.zipRight(Deferred.await(stopping), Effect.either(coordinator.start("a"))),
            Effect.either(coordinator.restart("a"))
          ], { concurrency: "unbounded" })
          assert.isTrue(Either.isRight(cleanup) && cleanup.right.status === "Completed")
          const a = yield* info(coordinator, "a")
          const closed = yield* Ref.get(finalized)
          if (a.state === "Stopped") {
            assert.strictEqual(a.workers, 0, "a Stopped component still runs a worker")
            assert.strictEqual(closed, a.generation, "a Stopped component's scope is still open")
            assert.strictEqual(yield* Ref.get(held), 0)
          } else {
            assert.strictEqual(a.state, "Running")
            assert.strictEqual(a.allocations, 1, "a Running component's resource was released under it")
            assert.strictEqual(yield* Ref.get(held), 1)
            assert.strictEqual(closed, a.generation - 1)
          }
          yield* coordinator.stopAll
          assert.strictEqual(yield* Ref.get(held), 0)
          assert.deepStrictEqual(yield* coordinator.leakReport, { allocations: [], workers: [] })
        })),
        { runs: 100 }
      ))
  })

  describe("regression: cleanupComponent raced a queued dependent start", () => {
    // without the fix (the dependents checked outside the lifecycle lock), the cleanup saw "b" Initializing, went on,
    // and stopped "a" under a "b" that then ran
    it.scoped("a cleanup asked for while a dependent starts sees it running and refuses with HasRunningDependents", () =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-cleanup-vs-dependent-start" })
        yield* coordinator.register({ id: "a" })
        yield* coordinator.register({ id: "b", dependencies: ["a"], start: () => Deferred.await(gate) })
        yield* coordinator.start("a")
        // the start of "b" holds the lifecycle lock until its start effect returns
        const starting = yield* Effect.fork(coordinator.start("b"))
        yield* stateIs(coordinator, "b", "Initializing")
        const cleaning = yield* Effect.fork(Effect.either(coordinator.cleanupComponent("a")))
        yield* settle
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(starting)
        const cleanup = yield* Fiber.join(cleaning)
        assert.isTrue(Either.isLeft(cleanup) && cleanup.left instanceof ComponentError.HasRunningDependents)
        if (Either.isLeft(cleanup) && cleanup.left._tag === "HasRunningDependents") {
          assert.deepStrictEqual(cleanup.left.dependents, ["b"])
        }
        assert.strictEqual(yield* coordinator.state("a"), "Running")
        assert.strictEqual(yield* coordinator.state("b"), "Running")
        // nothing is left marked: a start of "a" does not wait, and a cascading cleanup takes both
        const report = yield* coordinator.cleanupComponent("a", { cascade: true })
        assert.deepStrictEqual(report.status, "Completed")
        assert.strictEqual(yield* coordinator.state("b"), "Stopped")
        assert.strictEqual(yield* coordinator.state("a"), "Stopped")
        yield* coordinator.start("a")
        assert.strictEqual(yield* coordinator.state("a"), "Running")
      }))

    // without the fix, seed 1 ends with "b" Running over a Stopped "a"
    it.live("cleanupComponent racing starts of a dependent never leaves it running over a stopped dependency (explored)", () =>
      Explore.explore(
        Effect.scoped(Effect.gen(function*() {
          const coordinator = yield* ComponentCoordinator.make({ name: "regression-cleanup-dependent-explore" })
          yield* coordinator.register({ id: "a" })
          // a start that takes a few scheduler turns, under the lifecycle lock
          yield* coordinator.register({
            id: "b",
            dependencies: ["a"],
            start: () => Effect.repeatN(Effect.yieldNow(), 5)
          })
          yield* coordinator.start("a")
          const [cleanup, first, second] = yield* Effect.all([
            Effect.either(coordinator.cleanupComponent("a")),
            Effect.either(coordinator.start("b")),
            Effect.zipRight(Effect.yieldNow(), Effect.either(coordinator.start("b")))
          ], { concurrency: "unbounded" })
          const a = yield* coordinator.state("a")
          const b = yield* coordinator.state("b")
          if (b === "Running") assert.strictEqual(a, "Running", "b runs over a stopped dependency")
          if (Either.isRight(cleanup)) {
            assert.strictEqual(cleanup.right.status, "Completed")
            assert.strictEqual(a, "Stopped")
            assert.notStrictEqual(b, "Running")
          } else {
            assert.strictEqual(cleanup.left._tag, "HasRunningDependents")
            assert.strictEqual(b, "Running")
          }
          for (const started of [first, second]) {
            if (Either.isLeft(started)) assert.strictEqual(started.left._tag, "DependencyNotRunning")
          }
          yield* coordinator.stopAll
          assert.deepStrictEqual(yield* coordinator.leakReport, { allocations: [], workers: [] })
        })),
        { runs: 100 }
      ))
  })

  describe("bug 5: a restart planned before a cleanup brought the component back", () => {
    it.scoped("a component cleaned up during its restart backoff stays stopped", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make({
          name: "regression-cleanup-pending",
          backoff: Schedule.spaced("1 second")
        })
        yield* coordinator.register({
          id: "a",
          start: (context) => context.fork(context.generation === 1 ? Effect.fail("boom") : Effect.never)
        })
        yield* coordinator.startAll
        yield* stateIs(coordinator, "a", "Error") // the supervisor has planned a restart after 1 s of backoff
        const report = yield* coordinator.cleanupComponent("a")
        assert.strictEqual(report.status, "Completed")
        assert.strictEqual(yield* coordinator.state("a"), "Stopped")
        yield* TestClock.adjust("2 seconds")
        yield* settle
        assert.strictEqual(yield* coordinator.state("a"), "Stopped")
        // a later start is not affected: the component can be started and supervised again
        yield* coordinator.start("a")
        assert.strictEqual(yield* coordinator.state("a"), "Running")
      }))

    // without the fix (no per-component plan epoch), seed 56 restarts the component after its cleanup
    it.live("a worker failure racing cleanupComponent never restarts the component afterwards (explored)", () =>
      Explore.explore(
        Effect.scoped(Effect.gen(function*() {
          const coordinator = yield* ComponentCoordinator.make({
            name: "regression-cleanup-pending-explore",
            // no timer, but a backoff that takes some scheduler turns: the restart falls due before, during or
            // after the cleanup
            backoff: Schedule.recurs(100).pipe(Schedule.tapOutput(() => Effect.repeatN(Effect.yieldNow(), 100))),
            maxRestarts: 100
          })
          const fault = yield* Queue.unbounded<void>()
          yield* coordinator.register({
            id: "a",
            start: (context) =>
              context.fork(
                context.generation === 1 ? Effect.zipRight(Queue.take(fault), Effect.fail("boom")) : Effect.never
              )
          })
          yield* coordinator.startAll
          const [, report] = yield* Effect.all([
            Queue.offer(fault, undefined),
            coordinator.cleanupComponent("a")
          ], { concurrency: "unbounded" })
          assert.strictEqual(report.status, "Completed")
          yield* settle
          const a = yield* info(coordinator, "a")
          assert.strictEqual(a.state, "Stopped", `a restart brought back generation ${a.generation}`)
          assert.deepStrictEqual(yield* coordinator.leakReport, { allocations: [], workers: [] })
        })),
        { runs: 100 }
      ))
  })

  describe("bug 6: a restart plan dropped by startAll left its ids pending", () => {
    it.scoped("a later one_for_one failure restarts only the failed component", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make({
          name: "regression-stale-pending",
          strategy: "one_for_one",
          backoff: Schedule.spaced("1 second")
        })
        const faults = { x: yield* Queue.unbounded<void>(), y: yield* Queue.unbounded<void>() }
        const worker = (id: "x" | "y") => (context: ComponentCoordinator.ComponentContext) =>
          context.fork(Effect.zipRight(Queue.take(faults[id]), Effect.fail(`${id} broke`)), { name: `${id}-worker` })
        yield* coordinator.register({ id: "x", start: worker("x") })
        yield* coordinator.register({ id: "y", start: worker("y") })
        yield* coordinator.startAll
        yield* Queue.offer(faults.x, undefined)
        yield* stateIs(coordinator, "x", "Error")
        assert.deepStrictEqual(yield* coordinator.startAll, ["x"])
        yield* TestClock.adjust("1 second")
        yield* settle
        const before = yield* coordinator.components
        assert.deepStrictEqual(before.map((c) => [c.id, c.state, c.generation]), [["x", "Running", 2], [
          "y",
          "Running",
          1
        ]])
        yield* TestClock.adjust("1 minute")
        yield* Queue.offer(faults.y, undefined)
        yield* stateIs(coordinator, "y", "Error")
        yield* TestClock.adjust("1 second")
        yield* stateIs(coordinator, "y", "Running")
        const after = yield* coordinator.components
        assert.deepStrictEqual(after.map((c) => [c.id, c.state, c.generation]), [["x", "Running", 2], [
          "y",
          "Running",
          2
        ]])
      }))

    // without the fix (startAll kept `pending`), seed 6 restarts x when y fails
    it.live("a failure racing startAll never leaves the failed component pending for later restarts (explored)", () =>
      Explore.explore(
        Effect.scoped(Effect.gen(function*() {
          const coordinator = yield* ComponentCoordinator.make({
            name: "regression-stale-pending-explore",
            strategy: "one_for_one",
            backoff: Schedule.recurs(100),
            maxRestarts: 100
          })
          const faults = { x: yield* Queue.unbounded<void>(), y: yield* Queue.unbounded<void>() }
          const worker = (id: "x" | "y") => (context: ComponentCoordinator.ComponentContext) =>
            context.fork(Effect.zipRight(Queue.take(faults[id]), Effect.fail(`${id} broke`)), { name: `${id}-worker` })
          yield* coordinator.register({ id: "x", start: worker("x") })
          yield* coordinator.register({ id: "y", start: worker("y") })
          yield* coordinator.startAll
          yield* Effect.all([Queue.offer(faults.x, undefined), Effect.either(coordinator.startAll)], {
            concurrency: "unbounded"
          })
          yield* eventually(Effect.map(info(coordinator, "x"), (x) => x.state === "Running"), "x runs again")
          yield* settle
          const x = yield* info(coordinator, "x")
          const y = yield* info(coordinator, "y")
          yield* Queue.offer(faults.y, undefined)
          yield* eventually(
            Effect.map(
              info(coordinator, "y"),
              (next) => next.state === "Running" && next.generation === y.generation + 1
            ),
            "y restarted"
          )
          yield* settle
          assert.strictEqual((yield* info(coordinator, "x")).generation, x.generation, "y's failure restarted x")
        })),
        { runs: 100 }
      ))
  })

  describe("bug 7: a release that never completed hung the coordinator", () => {
    it.scoped("cleanupComponent fails with CleanupFailed, the lock is free, the leak report flags the release", () =>
      Effect.gen(function*() {
        const unblock = yield* Deferred.make<void>()
        const calls = yield* Ref.make(0)
        yield* Effect.gen(function*() {
          const coordinator = yield* ComponentCoordinator.make({ name: "regression-hung-release" })
          yield* coordinator.register({
            id: "a",
            start: (context) =>
              context.allocate({
                type: "device",
                acquire: Effect.void,
                release: () => Effect.zipRight(Ref.update(calls, (n) => n + 1), Deferred.await(unblock))
              })
          })
          yield* coordinator.startAll
          const cleanup = yield* Effect.fork(Effect.either(coordinator.cleanupComponent("a")))
          yield* settle
          // the heartbeat monitor gives the release up between 5 s (shutdownTimeout) and 10 s (+ heartbeatInterval)
          yield* TestClock.adjust("1 minute")
          yield* settle
          const done = yield* Fiber.poll(cleanup)
          assert.isTrue(Option.isSome(done), "cleanupComponent is still running a minute later")
          const result = Option.getOrThrow(done)
          assert.isTrue(
            Exit.isSuccess(result) && Either.isLeft(result.value) && result.value.left._tag === "CleanupFailed",
            "expected CleanupFailed"
          )
          assert.strictEqual(yield* coordinator.state("a"), "Error")
          const [leak] = (yield* coordinator.leakReport).allocations
          assert.include(leak?.releaseFailure ?? "", "did not complete")
          // the lifecycle lock is free: a stop joins the running release (it is not started twice) and gives up again
          const stop = yield* Effect.fork(coordinator.stopAll)
          yield* settle
          yield* TestClock.adjust("1 minute")
          yield* Fiber.join(stop)
          assert.strictEqual(yield* Ref.get(calls), 1)
          // the release ends at last: the allocation leaves the books
          yield* Deferred.succeed(unblock, undefined)
          yield* settle
          assert.deepStrictEqual((yield* coordinator.leakReport).allocations, [])
        }).pipe(Effect.ensuring(Deferred.succeed(unblock, undefined)))
      }))

    it.scoped("release of a hung allocation fails with ReleaseFailed (TimeoutException) and keeps it flagged", () =>
      Effect.gen(function*() {
        const unblock = yield* Deferred.make<void>()
        yield* Effect.gen(function*() {
          const coordinator = yield* ComponentCoordinator.make({
            name: "regression-hung-release-2",
            shutdownTimeout: "2 seconds",
            heartbeatInterval: "1 second"
          })
          yield* coordinator.register({ id: "a" })
          const allocation = yield* coordinator.allocate("a", {
            type: "device",
            acquire: Effect.void,
            release: () => Deferred.await(unblock)
          })
          const release = yield* Effect.fork(Effect.either(coordinator.release(allocation)))
          yield* settle
          yield* TestClock.adjust("3 seconds")
          const result = yield* Fiber.join(release)
          assert.isTrue(Either.isLeft(result) && result.left._tag === "ReleaseFailed")
          const error = (result as Either.Left<ComponentError.ReleaseFailed, void>).left as ComponentError.ReleaseFailed
          assert.isTrue(Option.exists(Cause.failureOption(error.cause), Cause.isTimeoutException))
          assert.strictEqual((yield* coordinator.resources("a")).length, 1)
          yield* Deferred.succeed(unblock, undefined)
          yield* settle
          assert.strictEqual((yield* coordinator.resources("a")).length, 0)
        }).pipe(Effect.ensuring(Deferred.succeed(unblock, undefined)))
      }))
  })

  describe("bug 8: a resource's release function was called at allocation time", () => {
    it.scoped("release is not called before the allocation is released", () =>
      Effect.gen(function*() {
        const calls: Array<string> = []
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-release-eager" })
        yield* coordinator.register({ id: "a" })
        const allocation = yield* coordinator.allocate("a", {
          type: "buffer",
          acquire: Effect.succeed("frame-1"),
          release: (value) => {
            calls.push(`release ${value}`)
            return Effect.void
          }
        })
        assert.deepStrictEqual(calls, [], "release was called while the resource is still held")
        yield* coordinator.release(allocation)
        assert.deepStrictEqual(calls, ["release frame-1"])
      }))

    it.scoped("a release function that throws is a failed release: flagged on the books, units still counted", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make({
          name: "regression-release-throws",
          limits: { buffer: 1 }
        })
        yield* coordinator.register({ id: "a" })
        const allocation = yield* coordinator.allocate("a", {
          type: "buffer",
          acquire: Effect.succeed(1),
          release: (_value: number): Effect.Effect<void> => {
            throw new Error("release misconfigured")
          }
        })
        const error = yield* Effect.flip(coordinator.release(allocation))
        assert.instanceOf(error, ComponentError.ReleaseFailed)
        assert.include(error.message, "release misconfigured")
        const [leak] = (yield* coordinator.leakReport).allocations
        assert.include(leak?.releaseFailure ?? "", "release misconfigured")
        // the unit is still held (the resource was never given back), and the books say so
        const refused = yield* Effect.flip(coordinator.allocate("a", {
          type: "buffer",
          acquire: Effect.succeed(2),
          release: () => Effect.void
        }))
        assert.instanceOf(refused, ComponentError.ResourceLimitExceeded)
      }))

    it.scoped("an acquired value that cannot be recorded is released and its reservation given back", () =>
      Effect.gen(function*() {
        const released: Array<number> = []
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-record-fails", limits: { buffer: 1 } })
        yield* coordinator.register({ id: "a" })
        const resource = (value: number): ComponentCoordinator.Resource<number> => ({
          type: "buffer",
          acquire: Effect.succeed(value),
          release: (v) => Effect.sync(() => released.push(v))
        })
        const base = Clock.make()
        const broken: Clock.Clock = Object.assign(Object.create(Object.getPrototypeOf(base)), base, {
          currentTimeMillis: Effect.dieMessage("clock broken")
        })
        const exit = yield* Effect.exit(Effect.withClock(coordinator.allocate("a", resource(1)), broken))
        assert.isTrue(Exit.isFailure(exit))
        assert.deepStrictEqual(released, [1])
        assert.deepStrictEqual((yield* coordinator.leakReport).allocations, [])
        const batch = yield* Effect.exit(Effect.withClock(coordinator.allocateAll("a", [resource(2)]), broken))
        assert.isTrue(Exit.isFailure(batch))
        assert.deepStrictEqual(released, [1, 2])
        // nothing is held, so the limit of 1 allows one allocation
        const next = yield* coordinator.allocate("a", resource(3))
        assert.strictEqual(next.value, 3)
      }))
  })

  describe("bug 9: a start function that threw escaped as a defect", () => {
    it.scoped("it is a StartFailed and leaves the component in Error", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-start-throws" })
        yield* coordinator.register({
          id: "a",
          start: () => {
            throw new Error("bad device configuration")
          }
        })
        const exit = yield* Effect.exit(coordinator.startAll)
        const failure = failureOf(exit)
        assert.isTrue(Option.isSome(failure) && failure.value instanceof ComponentError.StartFailed)
        assert.include((failure as Option.Some<ComponentError.StartFailed>).value.message, "bad device configuration")
        assert.strictEqual(yield* coordinator.state("a"), "Error")
      }))
  })

  describe("bug 10: a listener that threw killed its fiber", () => {
    it.scoped("it keeps receiving the changes after the one it threw on", () =>
      Effect.gen(function*() {
        const seen: Array<string> = []
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-listener-throws" })
        yield* coordinator.subscribe((change) => {
          seen.push(`${change.component}:${change.to}`)
          if (change.to === "Initializing") throw new Error("listener bug")
          return Effect.void
        })
        yield* coordinator.register({ id: "a" })
        yield* coordinator.startAll
        yield* settle
        assert.deepStrictEqual(seen, ["a:Initializing", "a:Running"])
      }))
  })

  describe("option and declaration validation", () => {
    it.scoped("dependencies or channels given as a string are refused (a string iterates over its characters)", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-string-ids" })
        yield* coordinator.register({ id: "capture" })
        const dependencies = yield* Effect.flip(coordinator.register({ id: "processor", dependencies: "capture" }))
        assert.instanceOf(dependencies, ComponentError.InvalidComponent)
        assert.include(dependencies.message, "dependencies must be an iterable of ids, not a string")
        const channels = yield* Effect.flip(coordinator.register({ id: "writer", channels: "left" }))
        assert.instanceOf(channels, ComponentError.InvalidComponent)
        assert.include(channels.message, "channels must be an iterable of ids")
        const empty = yield* Effect.flip(coordinator.register({ id: "writer", dependencies: [""] }))
        assert.instanceOf(empty, ComponentError.InvalidComponent)
        assert.deepStrictEqual(yield* coordinator.order, ["capture"])
      }))

    it.scoped("dependencies and channels given as a generator are read once", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-generator-ids" })
        yield* coordinator.register({ id: "capture" })
        const once = function*(...ids: Array<string>) {
          yield* ids
        }
        yield* coordinator.register({ id: "processor", dependencies: once("capture"), channels: once("left", "right") })
        const processor = yield* info(coordinator, "processor")
        assert.deepStrictEqual(processor.dependencies, ["capture"])
        assert.deepStrictEqual(processor.channels, ["left", "right"])
      }))

    it.scoped("unknown restart types and strategies are refused at run time", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-restart-values" })
        const type = yield* Effect.flip(
          coordinator.register({ id: "a", restart: { type: "sometimes" as ComponentCoordinator.RestartType } })
        )
        assert.instanceOf(type, ComponentError.InvalidComponent)
        assert.include(type.message, `restart.type must be "permanent", "transient" or "temporary", got "sometimes"`)
        const strategy = yield* Effect.flip(
          coordinator.register({ id: "a", restart: { strategy: "all_for_one" as ComponentCoordinator.Strategy } })
        )
        assert.instanceOf(strategy, ComponentError.InvalidComponent)
        assert.include(strategy.message, `got "all_for_one"`)
      }))

    it.scoped("unknown strategy and autoShutdown options are refused with InvalidOptions", () =>
      Effect.gen(function*() {
        const strategy = yield* Effect.flip(
          ComponentCoordinator.make({ strategy: "one-for-one" as ComponentCoordinator.Strategy })
        )
        assert.instanceOf(strategy, ComponentError.InvalidOptions)
        assert.strictEqual(strategy.field, "strategy")
        const autoShutdown = yield* Effect.flip(ComponentCoordinator.make({ autoShutdown: "any" as "never" }))
        assert.instanceOf(autoShutdown, ComponentError.InvalidOptions)
        assert.strictEqual(autoShutdown.field, "autoShutdown")
      }))

    it.scoped("subscribe refuses a capacity that is not a positive integer (a defect)", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-capacity" })
        for (const capacity of [0, -1, 1.5]) {
          const exit = yield* Effect.exit(Effect.scoped(coordinator.subscribe(() => Effect.void, { capacity })))
          assert.isTrue(
            Exit.isFailure(exit) && Option.exists(Cause.dieOption(exit.cause), Cause.isIllegalArgumentException),
            `capacity ${capacity} was accepted`
          )
        }
      }))
  })

  describe("a stale ComponentContext", () => {
    it.scoped("an old incarnation's context.allocate fails with StaleContext and allocates nothing", () =>
      Effect.gen(function*() {
        const contexts: Array<ComponentCoordinator.ComponentContext> = []
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-stale-context" })
        yield* coordinator.register({ id: "a", start: (context) => Effect.sync(() => contexts.push(context)) })
        const acquired = yield* Ref.make(0)
        const resource: ComponentCoordinator.Resource<void> = {
          type: "buffer",
          acquire: Ref.update(acquired, (n) => n + 1),
          release: () => Effect.void
        }
        yield* coordinator.startAll
        yield* coordinator.restart("a")
        const [first, second] = contexts
        const stale = yield* Effect.flip(first!.allocate(resource))
        assert.instanceOf(stale, ComponentError.StaleContext)
        assert.strictEqual(stale.generation, 1)
        assert.strictEqual(stale.current, 2)
        const staleBatch = yield* Effect.flip(first!.allocateAll([resource]))
        assert.instanceOf(staleBatch, ComponentError.StaleContext)
        assert.strictEqual(yield* Ref.get(acquired), 0)
        assert.strictEqual((yield* info(coordinator, "a")).allocations, 0)
        // the current one allocates; once stopped, it is stale too
        yield* second!.allocate(resource)
        yield* coordinator.stopAll
        const stopped = yield* Effect.flip(second!.allocate(resource))
        assert.instanceOf(stopped, ComponentError.StaleContext)
        assert.strictEqual(stopped.current, undefined)
      }))

    it.scoped("an acquisition that outlives its incarnation is released at once and not recorded", () =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const released = yield* Ref.make(0)
        const outcome = yield* Deferred.make<Exit.Exit<unknown, unknown>>()
        const coordinator = yield* ComponentCoordinator.make({ name: "regression-stale-acquire" })
        yield* coordinator.register({
          id: "a",
          start: (context) =>
            context.generation === 1
              ? context.fork(
                // the acquisition runs uninterruptibly (and so does this worker, to report its outcome): the worker
                // outlives the 5 s shutdown timeout of the restart's stop
                Effect.uninterruptible(Effect.flatMap(
                  Effect.exit(context.allocate({
                    type: "buffer",
                    acquire: Deferred.await(gate),
                    release: () => Ref.update(released, (n) => n + 1)
                  })),
                  (exit) => Deferred.succeed(outcome, exit)
                )),
                { name: "slow-acquire" }
              )
              : Effect.void
        })
        yield* coordinator.startAll
        yield* settle
        const restart = yield* Effect.fork(coordinator.restart("a"))
        yield* settle
        yield* TestClock.adjust("5 seconds")
        yield* Fiber.join(restart)
        assert.strictEqual((yield* info(coordinator, "a")).generation, 2)
        yield* Deferred.succeed(gate, undefined)
        const exit = yield* Deferred.await(outcome)
        assert.isTrue(Option.exists(failureOf(exit), (error) => error instanceof ComponentError.StaleContext))
        assert.strictEqual(yield* Ref.get(released), 1)
        assert.strictEqual((yield* info(coordinator, "a")).allocations, 0)
      }))
  })
})
