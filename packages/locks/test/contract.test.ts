/**
 * The lock contract: every lock kind passes the same suite (the idea of async-mutex's `semaphoreSuite`). A subject is
 * an exclusive `OrderedLock`, or the write side of an `OrderedRWLock` of either reader kind, in a checking mode or in
 * `"off"` mode.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as LockConfig from "../src/LockConfig.js"
import type { LockError } from "../src/LockError.js"
import * as LockRegistry from "../src/LockRegistry.js"
import * as OrderedLock from "../src/OrderedLock.js"
import * as OrderedRWLock from "../src/OrderedRWLock.js"
import { assertNoLeaks, expectFailure, holdersOf, untilWaiting, waitersOf } from "./utils.js"

interface Subject {
  readonly info: { readonly name: string; readonly key: string | undefined }
  readonly withLock: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    options?: OrderedLock.AcquireOptions
  ) => Effect.Effect<A, E | LockError, R>
  readonly scoped: Effect.Effect<void, LockError, Scope.Scope>
  readonly ifAvailable: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<Option.Option<A>, E | LockError, R>
  readonly locked: Effect.Effect<boolean>
}

interface Kind {
  readonly name: string
  readonly settings: LockConfig.Options
  readonly make: (name: string) => Effect.Effect<Subject>
}

const exclusive = (name: string): Effect.Effect<Subject> =>
  Effect.map(OrderedLock.make({ name, rank: 1 }), (lock) => ({
    info: lock,
    withLock: (self, options) => OrderedLock.withLock(lock, self, options),
    scoped: OrderedLock.lock(lock),
    ifAvailable: (self) => OrderedLock.withLockIfAvailable(lock, self),
    locked: OrderedLock.locked(lock)
  }))

const writeSide = (readers: OrderedRWLock.ReaderKind) => (name: string): Effect.Effect<Subject> =>
  Effect.map(OrderedRWLock.make({ name, rank: 1, readers }), (lock) => ({
    info: lock,
    withLock: (self, options) => OrderedRWLock.withWriteLock(lock, self, options),
    scoped: OrderedRWLock.writeLock(lock),
    ifAvailable: (self) => OrderedRWLock.withWriteLockIfAvailable(lock, self),
    locked: OrderedRWLock.writeLocked(lock)
  }))

const kinds: ReadonlyArray<Kind> = [
  { name: "exclusive, strict", settings: { mode: "strict" }, make: exclusive },
  { name: "exclusive, warn", settings: { mode: "warn" }, make: exclusive },
  { name: "exclusive, off", settings: { mode: "off" }, make: exclusive },
  { name: "read/write (queued readers), strict", settings: { mode: "strict" }, make: writeSide("queued") },
  { name: "read/write (recursive readers), strict", settings: { mode: "strict" }, make: writeSide("recursive") },
  { name: "read/write (queued readers), off", settings: { mode: "off" }, make: writeSide("queued") }
]

for (const kind of kinds) {
  describe(`lock contract: ${kind.name}`, () => {
    const run = <A, E>(self: Effect.Effect<A, E, Scope.Scope>) =>
      self.pipe(Effect.scoped, Effect.provide(LockConfig.layer(kind.settings)), Effect.provide(LockRegistry.layer))

    it.effect("runs the body and releases the lock", () =>
      run(Effect.gen(function*() {
        const lock = yield* kind.make("L")
        const inside = yield* lock.withLock(lock.locked)
        assert.isTrue(inside)
        assert.isFalse(yield* lock.locked)
        yield* assertNoLeaks
      })))

    it.effect("excludes: a second fiber waits until the holder releases", () =>
      run(Effect.gen(function*() {
        const lock = yield* kind.make("L")
        const log = yield* Ref.make<ReadonlyArray<string>>([])
        const gate = yield* Deferred.make<void>()
        const first = yield* Effect.fork(lock.withLock(
          Effect.zipRight(Ref.update(log, (l) => [...l, "first in"]), Deferred.await(gate)).pipe(
            Effect.zipRight(Ref.update(log, (l) => [...l, "first out"]))
          )
        ))
        yield* Effect.yieldNow()
        const second = yield* Effect.fork(lock.withLock(Ref.update(log, (l) => [...l, "second in"])))
        yield* untilWaiting(lock.info, 1)
        assert.deepStrictEqual(yield* Ref.get(log), ["first in"])
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(first)
        yield* Fiber.join(second)
        assert.deepStrictEqual(yield* Ref.get(log), ["first in", "first out", "second in"])
        yield* assertNoLeaks
      })))

    it.effect("hands the lock to waiters in FIFO order", () =>
      run(Effect.gen(function*() {
        const lock = yield* kind.make("L")
        const order = yield* Ref.make<ReadonlyArray<number>>([])
        const gate = yield* Deferred.make<void>()
        const holder = yield* Effect.fork(lock.withLock(Deferred.await(gate)))
        yield* Effect.yieldNow()
        const waiters: Array<Fiber.RuntimeFiber<void, LockError>> = []
        for (let i = 1; i <= 3; i++) {
          waiters.push(yield* Effect.fork(lock.withLock(Ref.update(order, (o) => [...o, i]))))
          yield* untilWaiting(lock.info, i)
        }
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(holder)
        yield* Effect.forEach(waiters, Fiber.join)
        assert.deepStrictEqual(yield* Ref.get(order), [1, 2, 3])
        yield* assertNoLeaks
      })))

    it.effect("releases on failure, defect and interruption of the body", () =>
      run(Effect.gen(function*() {
        const lock = yield* kind.make("L")
        const failed = yield* Effect.exit(lock.withLock(Effect.fail("boom")))
        assert.deepStrictEqual(failed, Exit.fail("boom"))
        const died = yield* Effect.exit(lock.withLock(Effect.die("defect")))
        assert.isTrue(Exit.isFailure(died))
        const started = yield* Deferred.make<void>()
        const body = yield* Effect.fork(
          lock.withLock(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never))
        )
        yield* Deferred.await(started)
        assert.isTrue(yield* lock.locked)
        yield* Fiber.interrupt(body)
        assert.isFalse(yield* lock.locked)
        yield* assertNoLeaks
      })))

    it.effect("an interrupted waiter leaves the queue at once and takes nothing (EF-interrupt-wait)", () =>
      run(Effect.gen(function*() {
        const lock = yield* kind.make("L")
        const gate = yield* Deferred.make<void>()
        const holder = yield* Effect.fork(lock.withLock(Deferred.await(gate)))
        yield* Effect.yieldNow()
        const ran = yield* Ref.make(false)
        const waiter = yield* Effect.fork(lock.withLock(Ref.set(ran, true)))
        yield* untilWaiting(lock.info, 1)
        yield* Fiber.interrupt(waiter)
        assert.strictEqual(yield* waitersOf(lock.info), 0)
        assert.strictEqual(yield* holdersOf(lock.info), 1)
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(holder)
        assert.isFalse(yield* Ref.get(ran))
        assert.isFalse(yield* lock.locked)
        yield* assertNoLeaks
      })))

    it.effect("a timed-out waiter is gone at once and the report names the holder and the other waiters (EF-timeout)", () =>
      run(Effect.gen(function*() {
        const lock = yield* kind.make("L")
        const gate = yield* Deferred.make<void>()
        const holder = yield* Effect.fork(lock.withLock(Deferred.await(gate)))
        yield* Effect.yieldNow()
        const patient = yield* Effect.fork(lock.withLock(Effect.succeed("patient")))
        yield* untilWaiting(lock.info, 1)
        const hasty = yield* Effect.fork(Effect.exit(lock.withLock(Effect.void, { timeout: "20 millis" })))
        yield* untilWaiting(lock.info, 2)
        yield* TestClock.adjust("20 millis")
        const exit = yield* Fiber.join(hasty)
        const error = expectFailure(exit, "LockTimeout")
        assert.strictEqual(error.timeoutMs, 20)
        assert.strictEqual(error.lock.name, "L")
        assert.deepStrictEqual(error.holders.map((h) => h.fiber), [`#${holder.id().id}`])
        assert.deepStrictEqual(error.waiters.map((w) => w.fiber), [`#${patient.id().id}`])
        assert.include(error.message, "lock timeout")
        // the lock's state is right immediately: one holder, one waiter
        assert.strictEqual(yield* waitersOf(lock.info), 1)
        yield* Deferred.succeed(gate, undefined)
        assert.strictEqual(yield* Fiber.join(patient), "patient")
        yield* Fiber.join(holder)
        yield* assertNoLeaks
      })))

    it.effect("re-acquiring a held lock fails at once instead of hanging (AA)", () =>
      run(Effect.gen(function*() {
        const lock = yield* kind.make("L")
        const exit = yield* Effect.exit(lock.withLock(lock.withLock(Effect.void)))
        const error = expectFailure(exit, "LockRecursion")
        assert.include(error.message, "possible recursive locking")
        yield* assertNoLeaks
      })))

    it.effect("withLockIfAvailable runs the body only when the lock is free", () =>
      run(Effect.gen(function*() {
        const lock = yield* kind.make("L")
        assert.deepStrictEqual(yield* lock.ifAvailable(Effect.succeed(1)), Option.some(1))
        const gate = yield* Deferred.make<void>()
        const holder = yield* Effect.fork(lock.withLock(Deferred.await(gate)))
        yield* Effect.yieldNow()
        assert.deepStrictEqual(yield* lock.ifAvailable(Effect.succeed(2)), Option.none())
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(holder)
        yield* assertNoLeaks
      })))

    it.effect("the scoped form holds the lock until its scope closes", () =>
      run(Effect.gen(function*() {
        const lock = yield* kind.make("L")
        const scope = yield* Scope.make()
        yield* Scope.extend(lock.scoped, scope)
        assert.isTrue(yield* lock.locked)
        yield* Scope.close(scope, Exit.void)
        assert.isFalse(yield* lock.locked)
        // closing again releases nothing more (never a silent capacity increase)
        yield* Scope.close(scope, Exit.void)
        assert.isTrue(yield* lock.withLock(lock.locked))
        yield* assertNoLeaks
      })))

    it.effect("an interruption right after the grant releases the lock", () =>
      run(Effect.gen(function*() {
        const lock = yield* kind.make("L")
        for (let round = 0; round < 20; round++) {
          const gate = yield* Deferred.make<void>()
          const holder = yield* Effect.fork(lock.withLock(Deferred.await(gate)))
          yield* Effect.yieldNow()
          const waiter = yield* Effect.fork(lock.withLock(Effect.never))
          yield* untilWaiting(lock.info, 1)
          yield* Deferred.succeed(gate, undefined)
          // the holder's release hands the lock to the waiter; interrupt it at varying points around the grant
          for (let i = 0; i < round % 4; i++) yield* Effect.yieldNow()
          yield* Fiber.interrupt(waiter)
          yield* Fiber.join(holder)
          assert.isFalse(yield* lock.locked)
        }
        yield* assertNoLeaks
      })))

    it.effect("a waiter times out with TestClock only after its timeout", () =>
      run(Effect.gen(function*() {
        const lock = yield* kind.make("L")
        const gate = yield* Deferred.make<void>()
        const holder = yield* Effect.fork(lock.withLock(Deferred.await(gate)))
        yield* Effect.yieldNow()
        const waiter = yield* Effect.fork(Effect.exit(lock.withLock(Effect.void, { timeout: "1 second" })))
        yield* untilWaiting(lock.info, 1)
        yield* TestClock.adjust("999 millis")
        assert.isNull(waiter.unsafePoll())
        yield* TestClock.adjust("1 millis")
        expectFailure(yield* Fiber.join(waiter), "LockTimeout")
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(holder)
        yield* assertNoLeaks
      })))
  })
}
