import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as LockHierarchy from "../src/LockHierarchy.js"
import * as LockRegistry from "../src/LockRegistry.js"
import * as OrderedLock from "../src/OrderedLock.js"
import * as OrderedRWLock from "../src/OrderedRWLock.js"
import { assertNoLeaks, expectFailure } from "./utils.js"

const provide = <A, E>(self: Effect.Effect<A, E>) => Effect.provide(self, LockRegistry.layer)

describe("OrderedLock", () => {
  it.effect("is made from a name and rank, or from a hierarchy level", () =>
    provide(Effect.gen(function*() {
      const byRank = yield* OrderedLock.make({ name: "ledger", rank: 7, key: "eu" })
      assert.deepStrictEqual([byRank.name, byRank.rank, byRank.key], ["ledger", 7, "eu"])
      const byLevel = yield* OrderedLock.make({ hierarchy: LockHierarchy.Global, level: "CleanupCoordinator.steps" })
      assert.deepStrictEqual([byLevel.name, byLevel.rank], ["CleanupCoordinator.steps", 3])
      const local = yield* OrderedLock.make({ hierarchy: LockHierarchy.StateMachine, level: "history" })
      assert.deepStrictEqual([local.name, local.rank], ["StateMachine.history", 3])
      assert.isTrue(OrderedLock.isOrderedLock(byRank))
      assert.isFalse(OrderedRWLock.isOrderedRWLock(byRank))
      assert.deepStrictEqual(byRank.toJSON(), { _id: "OrderedLock", name: "ledger", rank: 7, key: "eu" })
    })))

  it.effect("withLock works data-first and piped, with options either way", () =>
    provide(Effect.gen(function*() {
      const lock = yield* OrderedLock.make({ name: "l", rank: 1 })
      assert.strictEqual(yield* OrderedLock.withLock(lock, Effect.succeed(1)), 1)
      assert.strictEqual(yield* OrderedLock.withLock(lock, Effect.succeed(2), { timeout: "1 second" }), 2)
      assert.strictEqual(yield* Effect.succeed(3).pipe(OrderedLock.withLock(lock)), 3)
      assert.strictEqual(yield* Effect.succeed(4).pipe(OrderedLock.withLock(lock, { timeout: "1 second" })), 4)
      // a built effect can run many times
      const once = OrderedLock.withLock(lock, OrderedLock.locked(lock))
      assert.deepStrictEqual(yield* Effect.all([once, once, once]), [true, true, true])
      yield* assertNoLeaks
    })))

  it.effect("withLocks takes mixed exclusive and read/write requests in canonical order", () =>
    provide(Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "a", rank: 1 })
      const b = yield* OrderedRWLock.make({ name: "b", rank: 2 })
      const c = yield* OrderedRWLock.make({ name: "c", rank: 3 })
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const record = Effect.flatMap(
        LockRegistry.snapshot(),
        (s) => Ref.set(seen, s.fibers[0]!.held.map((h) => `${h.lock.name}:${h.mode}`))
      )
      yield* OrderedLock.withLocks([OrderedRWLock.read(c), a, OrderedRWLock.write(b)], record)
      assert.deepStrictEqual(yield* Ref.get(seen), ["a:exclusive", "b:write", "c:read"])
      yield* record.pipe(OrderedLock.withLocks([c, a]))
      assert.deepStrictEqual(yield* Ref.get(seen), ["a:exclusive", "c:write"])
      yield* assertNoLeaks
    })))

  it.effect("withLocks still checks against locks held outside the batch", () =>
    provide(Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "a", rank: 1 })
      const b = yield* OrderedLock.make({ name: "b", rank: 2 })
      const exit = yield* Effect.exit(OrderedLock.withLock(b, OrderedLock.withLocks([a], Effect.void)))
      assert.strictEqual(expectFailure(exit, "LockOrderViolation").rule, "rank-inversion")
    })))

  it.effect("a try-lock is not order-checked but counts as held afterwards", () =>
    provide(Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "a", rank: 1 })
      const b = yield* OrderedLock.make({ name: "b", rank: 2 })
      const inner = yield* OrderedLock.withLock(b, OrderedLock.withLockIfAvailable(a, Effect.succeed("tried")))
      assert.deepStrictEqual(inner, Option.some("tried"))
      const exit = yield* Effect.exit(OrderedLock.withLockIfAvailable(b, OrderedLock.withLock(a, Effect.void)))
      assert.strictEqual(expectFailure(exit, "LockOrderViolation").rule, "rank-inversion")
      const recursive = yield* Effect.exit(OrderedLock.withLock(a, OrderedLock.withLockIfAvailable(a, Effect.void)))
      expectFailure(recursive, "LockRecursion")
      assert.isTrue(yield* Effect.scoped(OrderedLock.tryLock(a)))
      yield* assertNoLeaks
    })))

  it.effect("recursive readers read on; queued readers may not re-read", () =>
    provide(Effect.gen(function*() {
      const recursive = yield* OrderedRWLock.make({ name: "r", rank: 1, readers: "recursive" })
      const queued = yield* OrderedRWLock.make({ name: "q", rank: 2, readers: "queued" })
      const count = yield* OrderedRWLock.withReadLock(
        recursive,
        OrderedRWLock.withReadLock(recursive, OrderedRWLock.readLocked(recursive))
      )
      assert.strictEqual(count, 2)
      expectFailure(
        yield* Effect.exit(OrderedRWLock.withReadLock(queued, OrderedRWLock.withReadLock(queued, Effect.void))),
        "LockRecursion"
      )
      expectFailure(
        yield* Effect.exit(OrderedRWLock.withWriteLock(queued, OrderedRWLock.withReadLock(queued, Effect.void))),
        "LockRecursion"
      )
      assert.strictEqual(recursive.readers, "recursive")
      yield* assertNoLeaks
    })))
})
