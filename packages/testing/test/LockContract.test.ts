import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Option } from "effect"
import * as Contract from "../src/Contract.js"
import * as Explore from "../src/Explore.js"
import * as LeakCheck from "../src/LeakCheck.js"
import type { ContractLock } from "../src/LockContract.js"
import { checks, lockContractSuite } from "../src/LockContract.js"
import * as Watchdog from "../src/Watchdog.js"

/** The reference lock: Effect's semaphore with one permit, plus a holder count so `locked` can be read. */
const semaphoreLock = Effect.gen(function*() {
  const semaphore = yield* Effect.makeSemaphore(1)
  let holders = 0
  const lock: ContractLock = {
    withLock: (self) =>
      semaphore.withPermits(1)(
        Effect.acquireUseRelease(Effect.sync(() => holders++), () => self, () => Effect.sync(() => holders--))
      ),
    locked: Effect.sync(() => holders > 0)
  }
  return lock
})

lockContractSuite("Effect.Semaphore(1) passes the lock contract", semaphoreLock, { fifo: true })

lockContractSuite(
  "a lock without locked passes the lock contract",
  Effect.map(Effect.makeSemaphore(1), (semaphore): ContractLock => ({ withLock: semaphore.withPermits(1) })),
  { runs: 20, seed: 500, fibers: 3 }
)

const idle = Duration.millis(30)

const runCheck = (lock: Effect.Effect<ContractLock>, name: string) => {
  const check = checks(lock, { runs: 50, idle }).find((c) => c.name.startsWith(name))
  assert.isDefined(check, name)
  return Effect.exit(check!.run)
}

/** What an exploration failed with, one level down. */
const rootFailure = (exit: Exit.Exit<unknown, unknown>): unknown => {
  assert.isTrue(Exit.isFailure(exit))
  const explored = Cause.failureOption((exit as Exit.Failure<unknown, unknown>).cause)
  assert.isTrue(Option.isSome(explored) && Explore.isExploreFailure(explored.value))
  const inner = (explored as Option.Some<Explore.ExploreFailure>).value
  return Option.getOrUndefined(Cause.failureOption(inner.cause))
}

describe("lock contract checks catch broken locks", () => {
  it.effect("no exclusion fails mutual exclusion", () =>
    Effect.gen(function*() {
      const failure = rootFailure(yield* runCheck(Effect.succeed({ withLock: (self) => self }), "mutual exclusion"))
      assert.isTrue(Contract.isContractViolation(failure))
      assert.include((failure as Contract.ContractViolation).message, "lock contract, \"mutual exclusion\"")
    }))

  it.effect("a lock that is not released after a failure is reported by the watchdog", () =>
    Effect.gen(function*() {
      const leaky = Effect.map(Effect.makeSemaphore(1), (semaphore): ContractLock => ({
        withLock: (self) => Effect.zipRight(semaphore.take(1), Effect.tap(self, () => semaphore.release(1)))
      }))
      const failure = rootFailure(yield* runCheck(leaky, "releases the lock when the body fails"))
      assert.isTrue(Watchdog.isDeadlockDetected(failure))
    }))

  it.effect("a lock whose probe reports it still held fails the leak check", () =>
    Effect.gen(function*() {
      const held = new Set<string>()
      const probe: LeakCheck.LeakProbe = { name: "my locks", leaks: Effect.sync(() => Array.from(held)) }
      const sticky = Effect.map(Effect.makeSemaphore(1), (semaphore): ContractLock => ({
        withLock: (self) =>
          Effect.zipLeft(semaphore.withPermits(1)(self), Effect.sync(() => held.add("lock still marked held")))
      }))
      const check = checks(sticky, { runs: 5, idle, probes: [probe] }).find((c) =>
        c.name.startsWith("leaves no fibers")
      )
      const failure = rootFailure(yield* Effect.exit(check!.run))
      assert.isTrue(LeakCheck.isLeakDetected(failure))
      assert.deepStrictEqual((failure as LeakCheck.LeakDetected).leaks.map((l) => l.source), ["my locks"])
    }))

  it.effect("a lock that lets waiters barge fails the fifo check", () =>
    Effect.gen(function*() {
      // LIFO: the newest waiter is woken first.
      const lifo = Effect.sync((): ContractLock => {
        let busy = false
        const waiters: Array<() => void> = []
        const acquire = Effect.async<void>((resume) => {
          if (!busy) {
            busy = true
            resume(Effect.void)
          } else {
            waiters.push(() => resume(Effect.void))
          }
        })
        const release = Effect.sync(() => {
          const next = waiters.pop()
          if (next === undefined) busy = false
          else next()
        })
        return { withLock: (self) => Effect.acquireUseRelease(acquire, () => self, () => release) }
      })
      const check = checks(lifo, { fifo: true, fibers: 3 }).find((c) =>
        c.name.startsWith("waiters acquire in arrival order")
      )
      const exit = yield* Effect.exit(check!.run)
      assert.isTrue(Exit.isFailure(exit))
      const failure = Option.getOrUndefined(Cause.failureOption((exit as Exit.Failure<unknown, unknown>).cause))
      assert.isTrue(Contract.isContractViolation(failure))
      assert.include((failure as Contract.ContractViolation).detail, "waiters acquired in order 2, 1, 0")
    }))
})
