/**
 * The three worked examples of docs/testing.md, as tests: a lost update that `explore` finds and replays and a lock
 * fixes; a deadlock the watchdog reports instead of hanging; a leak `expectNoLeaks` catches.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Option, Ref } from "effect"
import { Explore, LeakCheck, Watchdog } from "../src/index.js"

const failureOf = <E>(exit: Exit.Exit<unknown, E>): E => {
  assert.isTrue(Exit.isFailure(exit))
  return Option.getOrThrow(Cause.failureOption((exit as Exit.Failure<unknown, E>).cause))
}

describe("proof of value", () => {
  describe("a lost update", () => {
    // Two tellers deposit into one account: read the balance, compute the fee, write the new balance. No yield point
    // anywhere, so Effect's default scheduler never splits a deposit and the bug stays hidden.
    const deposits = (guard: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
      Effect.gen(function*() {
        const balance = yield* Ref.make(100)
        const deposit = (amount: number) =>
          guard(Effect.gen(function*() {
            const current = yield* Ref.get(balance)
            const fee = yield* Effect.sync(() => Math.round(amount * 0.01))
            yield* Ref.set(balance, current + amount - fee)
          }))
        yield* Effect.all([deposit(1000), deposit(2000)], { concurrency: "unbounded", discard: true })
        const final = yield* Ref.get(balance)
        if (final !== 3070) {
          return yield* Effect.fail(`lost update: balance is ${final}, expected 3070`)
        }
      })

    const unguarded = deposits((self) => self)
    const guarded = Effect.flatMap(Effect.makeSemaphore(1), (lock) => deposits(lock.withPermits(1)))

    it.effect("the default scheduler does not show it", () => unguarded)

    it.effect("explore finds the interleaving that loses a deposit", () =>
      Effect.gen(function*() {
        const failure = failureOf(yield* Effect.exit(Explore.explore(unguarded, { runs: 100 })))
        assert.include(failure.message, `failed with seed ${failure.seed}`)
        assert.include(failure.message, "lost update: balance is")
      }))

    it.effect("the failing seed replays the same interleaving", () =>
      Effect.gen(function*() {
        const found = failureOf(yield* Effect.exit(Explore.explore(unguarded, { runs: 100, seed: 1 })))
        for (let i = 0; i < 3; i++) {
          const again = failureOf(yield* Effect.exit(Explore.replay(unguarded, found.seed)))
          assert.strictEqual(again.seed, found.seed)
          assert.strictEqual(Cause.pretty(again.cause), Cause.pretty(found.cause))
        }
        const viaExplore = failureOf(yield* Effect.exit(Explore.explore(unguarded, { seed: found.seed, runs: 1 })))
        assert.strictEqual(viaExplore.seed, found.seed)
      }))

    it.effect("a lock fixes it for every seed", () =>
      Effect.gen(function*() {
        const summary = yield* Explore.explore(guarded, { runs: 100 })
        assert.strictEqual(summary.runs, 100)
        assert.isAbove(summary.distinctSchedules, 1)
      }))
  })

  it.effect("a deadlock is reported instead of hanging", () =>
    Effect.gen(function*() {
      // Two transfers take the same two locks in opposite order.
      const transfers = Effect.gen(function*() {
        const accounts = yield* Effect.makeSemaphore(1)
        const ledger = yield* Effect.makeSemaphore(1)
        const bothHoldOne = yield* Deferred.make<void>()
        let holding = 0
        const transfer = (first: Effect.Semaphore, second: Effect.Semaphore) =>
          first.withPermits(1)(Effect.gen(function*() {
            if (++holding === 2) yield* Deferred.succeed(bothHoldOne, undefined)
            yield* Deferred.await(bothHoldOne)
            yield* second.withPermits(1)(Effect.void)
          }))
        yield* Effect.all([transfer(accounts, ledger), transfer(ledger, accounts)], { concurrency: "unbounded" })
      })
      const failure = failureOf(yield* Effect.exit(Watchdog.watch(transfers, { idle: "50 millis" })))
      assert.isTrue(Watchdog.isDeadlockDetected(failure))
      assert.include(failure.message, "watchdog: no progress for 50 ms")
      assert.isAtLeast(failure.fibers.length, 3)
    }))

  it.effect("a leak is caught", () =>
    Effect.gen(function*() {
      // A cache refresher that is started per request and never stopped.
      const handleRequest = Effect.gen(function*() {
        const refresher = yield* Effect.forkDaemon(Effect.forever(Effect.sleep("1 minute")))
        yield* Effect.log("request handled")
        return refresher
      })
      const failure = failureOf(yield* Effect.exit(LeakCheck.expectNoLeaks(handleRequest)))
      assert.isTrue(LeakCheck.isLeakDetected(failure))
      assert.strictEqual(failure.leaks.length, 1)
      assert.include(failure.message, "[fiber: fibers]")
      assert.include(failure.message, "still alive")
      // The fix: stop the refresher before returning.
      const fixed = Effect.flatMap(handleRequest, Fiber.interrupt)
      yield* LeakCheck.expectNoLeaks(fixed)
    }))
})
