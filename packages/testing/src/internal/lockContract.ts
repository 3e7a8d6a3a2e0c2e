import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type * as Contract from "../Contract.js"
import type * as LockContract from "../LockContract.js"
import { awaitSuspended, ensure, register } from "./contract.js"
import * as explore from "./explore.js"
import * as leakCheck from "./leakCheck.js"
import * as watchdog from "./watchdog.js"

const contract = "lock"

/** @internal */
export const checks = <X>(
  makeLock: Effect.Effect<LockContract.ContractLock<X>, unknown, Scope.Scope>,
  options?: LockContract.Options
): ReadonlyArray<Contract.Check> => {
  const runs = options?.runs ?? explore.defaultRuns
  const seed = options?.seed ?? explore.defaultSeed
  const fibers = options?.fibers ?? 4
  const idle = options?.idle ?? watchdog.defaultIdle
  const probes = options?.probes ?? []
  // Single-fiber checks only meet scheduling choices inside the lock itself, so a tenth of the seeds is plenty.
  const fewRuns = Math.max(1, Math.ceil(runs / 10))
  const guarded = <A, E>(self: Effect.Effect<A, E, Scope.Scope>, explored = runs) =>
    self.pipe(Effect.scoped, (e) => watchdog.watch(e, { idle }), (e) => explore.explore(e, { runs: explored, seed }))

  const mutualExclusion: Contract.Check = {
    name: `mutual exclusion: ${fibers} contending fibers, at most one holder (${runs} seeds)`,
    run: guarded(Effect.gen(function*() {
      const lock = yield* makeLock
      let holders = 0
      let maxHolders = 0
      const counter = yield* Ref.make(0)
      const critical = lock.withLock(Effect.gen(function*() {
        holders++
        maxHolders = Math.max(maxHolders, holders)
        const value = yield* Ref.get(counter)
        yield* Effect.yieldNow()
        yield* Ref.set(counter, value + 1)
        holders--
      }))
      yield* Effect.all(Array.from({ length: fibers }, () => critical), { concurrency: "unbounded", discard: true })
      yield* ensure(contract, "mutual exclusion", maxHolders === 1, () => `${maxHolders} fibers held the lock at once`)
      const total = yield* Ref.get(counter)
      yield* ensure(
        contract,
        "mutual exclusion",
        total === fibers,
        () => `lost updates: ${total} of ${fibers} increments`
      )
    }))
  }

  const releaseOn = (label: string, body: Effect.Effect<void, string>): Contract.Check => ({
    name: `releases the lock when the body ${label} (${fewRuns} seeds)`,
    run: guarded(
      Effect.gen(function*() {
        const lock = yield* makeLock
        const exit = yield* Effect.exit(lock.withLock(body))
        yield* ensure(contract, `release on ${label}`, Exit.isFailure(exit), () => "the body's failure was swallowed")
        yield* lock.withLock(Effect.void)
        if (lock.locked !== undefined) {
          const locked = yield* lock.locked
          yield* ensure(contract, `release on ${label}`, !locked, () => "locked is still true after the body ended")
        }
      }),
      fewRuns
    )
  })

  const releaseOnInterrupt: Contract.Check = {
    name: `releases the lock when the holder is interrupted (${runs} seeds)`,
    run: guarded(Effect.gen(function*() {
      const lock = yield* makeLock
      const entered = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(
        lock.withLock(Effect.zipRight(Deferred.succeed(entered, undefined), Effect.never))
      )
      yield* Deferred.await(entered)
      yield* Fiber.interrupt(holder)
      yield* lock.withLock(Effect.void)
    }))
  }

  const interruptedWaiter: Contract.Check = {
    name: `an interrupted waiter neither takes nor blocks the lock (${runs} seeds)`,
    run: guarded(Effect.gen(function*() {
      const lock = yield* makeLock
      const entered = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      let waiterRan = false
      const holder = yield* Effect.fork(
        lock.withLock(Effect.zipRight(Deferred.succeed(entered, undefined), Deferred.await(release)))
      )
      yield* Deferred.await(entered)
      const waiter = yield* Effect.fork(lock.withLock(Effect.sync(() => {
        waiterRan = true
      })))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(waiter)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      yield* lock.withLock(Effect.void)
      yield* ensure(contract, "interrupted waiter", !waiterRan, () => "the interrupted waiter ran its body")
    }))
  }

  const noLeaks: Contract.Check = {
    name: `leaves no fibers, finalizers or probe-reported leaks after contended use (${runs} seeds)`,
    run: guarded(Effect.gen(function*() {
      const lock = yield* makeLock
      const failing = lock.withLock(Effect.zipRight(Effect.yieldNow(), Effect.fail("boom")))
      const working = lock.withLock(Effect.yieldNow())
      yield* leakCheck.expectNoLeaks(
        Effect.all([working, Effect.ignore(failing), working], { concurrency: "unbounded", discard: true }),
        { probes }
      )
    }))
  }

  const result: Array<Contract.Check> = [
    mutualExclusion,
    releaseOn("fails", Effect.fail("boom")),
    releaseOn("dies", Effect.die("boom")),
    releaseOnInterrupt,
    interruptedWaiter,
    noLeaks
  ]

  if (options?.fifo === true) result.push(makeFifoCheck(makeLock, fibers))
  return result
}

const makeFifoCheck = <X>(
  makeLock: Effect.Effect<LockContract.ContractLock<X>, unknown, Scope.Scope>,
  fibers: number
): Contract.Check => ({
  name: `waiters acquire in arrival order (${fibers} waiters)`,
  run: Effect.scoped(Effect.gen(function*() {
    const lock = yield* makeLock
    const entered = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    const order: Array<number> = []
    const holder = yield* Effect.fork(
      lock.withLock(Effect.zipRight(Deferred.succeed(entered, undefined), Deferred.await(release)))
    )
    yield* Deferred.await(entered)
    const waiters: Array<Fiber.RuntimeFiber<void, unknown>> = []
    for (let i = 0; i < fibers; i++) {
      const waiter = yield* Effect.fork(lock.withLock(Effect.sync(() => {
        order.push(i)
      })))
      yield* awaitSuspended(waiter)
      waiters.push(waiter)
    }
    yield* Deferred.succeed(release, undefined)
    yield* Fiber.join(holder)
    yield* Fiber.joinAll(waiters)
    const expected = Array.from({ length: fibers }, (_, i) => i)
    yield* ensure(
      contract,
      "fifo",
      order.join(",") === expected.join(","),
      () => `waiters acquired in order ${order.join(", ")}`
    )
  }))
})

/** @internal */
export const lockContractSuite = <X>(
  name: string,
  makeLock: Effect.Effect<LockContract.ContractLock<X>, unknown, Scope.Scope>,
  options?: LockContract.Options
): void => register(name, checks(makeLock, options))
