import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as GuardedLockNs from "../src/GuardedLock.js"
import * as GuardedLock from "../src/GuardedLock.js"
import * as LockRegistry from "../src/LockRegistry.js"
import * as OrderedLock from "../src/OrderedLock.js"
import { assertNoLeaks, expectFailure } from "./utils.js"

describe("GuardedLock", () => {
  it.effect("reads and changes the value only under the lock", () =>
    Effect.gen(function*() {
      const balance = yield* GuardedLock.make({ name: "balance", rank: 1, value: 100 })
      const inside = yield* GuardedLock.withGuard(balance, (guard) =>
        Effect.gen(function*() {
          yield* guard.update((n) => n - 30)
          return yield* OrderedLock.heldByCurrentFiber(balance.lock)
        }))
      assert.isTrue(inside)
      assert.strictEqual(yield* GuardedLock.get(balance), 70)
      yield* GuardedLock.set(balance, 5)
      assert.strictEqual(yield* GuardedLock.modify(balance, (n) => [n * 2, n + 1] as const), 10)
      assert.strictEqual(
        yield* balance.pipe(GuardedLock.update((n: number) => n * 3), Effect.zipRight(GuardedLock.get(balance))),
        18
      )
      yield* assertNoLeaks
    }).pipe(Effect.provide(LockRegistry.layer)))

  it.effect("a guard used outside its region is a defect naming the lock", () =>
    Effect.gen(function*() {
      const cell = yield* GuardedLock.make({ name: "cell", rank: 1, value: "x" })
      let escaped: GuardedLockNs.Guard<string> | undefined
      yield* GuardedLock.withGuard(cell, (guard) =>
        Effect.sync(() => {
          escaped = guard
        }))
      const exit = yield* Effect.exit(escaped!.get)
      assert.isTrue(Exit.isFailure(exit) && String(exit.cause).includes("the guard of cell was used outside"))
    }).pipe(Effect.provide(LockRegistry.layer)))

  it.effect("guards follow the lock's ordering rules", () =>
    Effect.gen(function*() {
      const low = yield* GuardedLock.make({ name: "low", rank: 1, value: 0 })
      const high = yield* GuardedLock.make({ name: "high", rank: 2, value: 0 })
      const exit = yield* Effect.exit(GuardedLock.withGuard(high, () => GuardedLock.get(low)))
      assert.strictEqual(expectFailure(exit, "LockOrderViolation").rule, "rank-inversion")
      assert.isTrue(GuardedLock.isGuardedLock(low))
    }).pipe(Effect.provide(LockRegistry.layer)))
})
