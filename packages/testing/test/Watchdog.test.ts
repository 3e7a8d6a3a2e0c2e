import { assert, describe, it, layer } from "@effect/vitest"
import { Cause, Deferred, Duration, Effect, Exit, Fiber, FiberRef, TestClock } from "effect"
import type { Scheduler } from "effect"
import * as Explore from "../src/Explore.js"
import * as Watchdog from "../src/Watchdog.js"

const idle = Duration.millis(30)

/** Two fibers take two locks in opposite order and wait for each other in between: a certain deadlock. */
const certainDeadlock = Effect.gen(function*() {
  const accounts = yield* Effect.makeSemaphore(1)
  const ledger = yield* Effect.makeSemaphore(1)
  const first = yield* Deferred.make<void>()
  const second = yield* Deferred.make<void>()
  const transfer = (
    mine: Effect.Semaphore,
    theirs: Effect.Semaphore,
    signal: Deferred.Deferred<void>,
    wait: Deferred.Deferred<void>
  ) =>
    mine.withPermits(1)(
      Effect.gen(function*() {
        yield* Deferred.succeed(signal, undefined)
        yield* Deferred.await(wait)
        yield* theirs.withPermits(1)(Effect.void)
      })
    )
  yield* Effect.all([
    transfer(accounts, ledger, first, second),
    transfer(ledger, accounts, second, first)
  ], { concurrency: "unbounded", discard: true })
})

/**
 * The same opposite-order locking without the handshake: the default scheduler always lets one transfer finish
 * first; only some interleavings deadlock.
 */
const possibleDeadlock = Effect.gen(function*() {
  const accounts = yield* Effect.makeSemaphore(1)
  const ledger = yield* Effect.makeSemaphore(1)
  const transfer = (mine: Effect.Semaphore, theirs: Effect.Semaphore) =>
    mine.withPermits(1)(theirs.withPermits(1)(Effect.void))
  yield* Effect.all([transfer(accounts, ledger), transfer(ledger, accounts)], {
    concurrency: "unbounded",
    discard: true
  })
})

const waitForGraph: Watchdog.DiagnosticsProbe = {
  name: "lock wait-for graph",
  report: Effect.succeed("fiber #a holds accounts, waits for ledger\nfiber #b holds ledger, waits for accounts")
}

const detectedIn = <A, E>(exit: Exit.Exit<A, E>): Watchdog.DeadlockDetected => {
  assert.isTrue(Exit.isFailure(exit))
  const failure = Cause.failureOption((exit as Exit.Failure<A, E>).cause)
  assert.isTrue(failure._tag === "Some" && Watchdog.isDeadlockDetected(failure.value))
  return (failure as { readonly value: Watchdog.DeadlockDetected }).value
}

/**
 * A scheduler that runs fibers' message drains (so a fiber's status can be asked) but holds every other task, so the
 * fibers `Effect.all` forks with concurrency (each started by a separate scheduler task) are created, tracked, and
 * never started: the state of a forked fiber whose start is pending, or never comes because its parent was
 * interrupted between forking and starting it.
 */
class NoStartScheduler implements Scheduler.Scheduler {
  readonly held: Array<Scheduler.Task> = []
  scheduleTask(task: Scheduler.Task, _priority: number, fiber?: Fiber.RuntimeFiber<unknown, unknown>): void {
    if (fiber !== undefined && task === (fiber as unknown as { readonly run: unknown }).run) {
      setTimeout(task, 0)
    } else {
      this.held.push(task)
    }
  }
  shouldYield(fiber: Fiber.RuntimeFiber<unknown, unknown>): number | false {
    return fiber.currentOpCount > fiber.getFiberRef(FiberRef.currentMaxOpsBeforeYield)
      ? fiber.getFiberRef(FiberRef.currentSchedulingPriority)
      : false
  }
}

/** A scheduler that never runs a task: a fiber that yields into it is parked for good. */
class FrozenScheduler implements Scheduler.Scheduler {
  readonly held: Array<Scheduler.Task> = []
  scheduleTask(task: Scheduler.Task): void {
    this.held.push(task)
  }
  shouldYield(): number | false {
    return false
  }
}

describe("Watchdog", () => {
  it.effect("reports a deadlock with every fiber's status and the probes' diagnostics", () =>
    Effect.gen(function*() {
      const detected = detectedIn(yield* Effect.exit(Watchdog.watch(certainDeadlock, { idle, probes: [waitForGraph] })))
      assert.strictEqual(detected.idleMillis, 30)
      assert.isAtLeast(detected.fibers.length, 3, "the parent and both transfers")
      assert.isTrue(detected.fibers.every((line) => line.includes("suspended (")))
      assert.isTrue(detected.fibers.some((line) => line.includes("waiting on fiber #")), "the parent waits on a child")
      assert.isTrue(detected.fibers.some((line) => line.includes("forked by #")))
      assert.deepStrictEqual(detected.diagnostics, [{
        name: "lock wait-for graph",
        report: "fiber #a holds accounts, waits for ledger\nfiber #b holds ledger, waits for accounts"
      }])
      assert.include(
        detected.message,
        `watchdog: no progress for 30 ms; ${detected.fibers.length} fiber(s) alive, none running:`
      )
      assert.include(detected.message, "  lock wait-for graph:\n    fiber #a holds accounts, waits for ledger")
    }))

  it.effect("interrupts the stuck fibers after reporting", () =>
    Effect.gen(function*() {
      const interrupted = yield* Deferred.make<void>()
      const stuck = Effect.onInterrupt(Effect.never, () => Deferred.succeed(interrupted, undefined))
      detectedIn(yield* Effect.exit(Watchdog.watch(stuck, { idle })))
      yield* Deferred.await(interrupted)
    }))

  it.effect("passes a result or a failure through", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Watchdog.watch(Effect.succeed(1), { idle }), 1)
      assert.deepStrictEqual(yield* Effect.exit(Watchdog.watch(Effect.fail("boom"), { idle })), Exit.fail("boom"))
    }))

  it.effect("does not fire while the effect moves virtual time itself", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        const sleeper = yield* Effect.fork(Effect.as(Effect.sleep(Duration.hours(1)), "rested"))
        yield* TestClock.adjust(Duration.hours(1))
        return yield* Fiber.join(sleeper)
      })
      assert.strictEqual(yield* Watchdog.watch(program, { idle }), "rested")
    }))

  it.effect("reports a wait on virtual time that nobody advances", () =>
    Effect.gen(function*() {
      const detected = detectedIn(yield* Effect.exit(Watchdog.watch(Effect.sleep(Duration.minutes(5)), { idle })))
      assert.isTrue(detected.fibers.some((line) => line.includes("waiting on an async callback")))
    }))

  it.effect("the default scheduler hides the possible deadlock", () => Watchdog.watch(possibleDeadlock, { idle }))

  it.effect("explore finds the interleaving that deadlocks and the watchdog turns it into a failure", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Explore.explore(Watchdog.watch(possibleDeadlock, { idle }), { runs: 100 }))
      assert.isTrue(Exit.isFailure(exit))
      const failure = Cause.failureOption((exit as Exit.Failure<unknown, Explore.ExploreFailure>).cause)
      assert.isTrue(failure._tag === "Some")
      const explored = (failure as { readonly value: Explore.ExploreFailure }).value
      const deadlock = Cause.failureOption(explored.cause)
      assert.isTrue(deadlock._tag === "Some" && Watchdog.isDeadlockDetected(deadlock.value))
      const replayed = yield* Effect.exit(Explore.replay(Watchdog.watch(possibleDeadlock, { idle }), explored.seed))
      assert.isTrue(Exit.isFailure(replayed))
    }))

  it.effect("reports a fiber that was forked but never started instead of crashing", () =>
    Effect.gen(function*() {
      // Regression: Effect reports such a fiber as suspended with a null `blockingOn`, and rendering it threw
      // `TypeError: Cannot read properties of null (reading '_tag')` from `FiberId.ids`, so the watchdog died instead
      // of failing with its report.
      const scheduler = new NoStartScheduler()
      const neverStarted = Effect.all([Effect.never, Effect.never], { concurrency: "unbounded", discard: true }).pipe(
        Effect.withScheduler(scheduler)
      )
      const exit = yield* Effect.exit(Watchdog.watch(neverStarted, { idle }))
      assert.isFalse(Exit.isFailure(exit) && Cause.isDie(exit.cause), "the watchdog died while reporting")
      const detected = detectedIn(exit)
      assert.isAbove(scheduler.held.length, 0, "a start was held")
      assert.isTrue(
        detected.fibers.some((line) => line.includes("not started: waiting for its scheduler to run it")),
        detected.message
      )
      assert.isTrue(detected.fibers.some((line) => line.includes("waiting on fiber #")), "the forking fiber waits")
    }))

  it.effect("reports a fiber that cannot answer its status request instead of hanging", () =>
    Effect.gen(function*() {
      // The fiber yields into a scheduler that never runs it, so it never processes the report's status request.
      const parked = Effect.withScheduler(Effect.yieldNow(), new FrozenScheduler())
      const detected = detectedIn(yield* Effect.exit(Watchdog.watch(parked, { idle })))
      assert.strictEqual(detected.fibers.length, 1)
      assert.include(detected.fibers[0], "status unavailable: the fiber did not answer within 500 ms")
    }))

  it.effect("refuses a non-positive idle", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Watchdog.watch(Effect.void, { idle: Duration.zero }))
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
    }))

  layer(Watchdog.layer([waitForGraph]))("with probes installed by a layer", (it) => {
    it.effect("renders the installed probes", () =>
      Effect.gen(function*() {
        const detected = detectedIn(yield* Effect.exit(Watchdog.watch(Effect.never, { idle })))
        assert.deepStrictEqual(detected.diagnostics.map((d) => d.name), ["lock wait-for graph"])
      }))
  })
})
