import * as GuardedLock from "@core-stability/locks/GuardedLock"
import type { LockError } from "@core-stability/locks/LockError"
import * as LockHierarchy from "@core-stability/locks/LockHierarchy"
import * as OrderedLock from "@core-stability/locks/OrderedLock"
import * as OrderedRWLock from "@core-stability/locks/OrderedRWLock"
import { Context, Effect, type Option, type Scope } from "effect"
import { describe, expect, test } from "tstyche"

class Db extends Context.Tag("Db")<Db, { readonly query: Effect.Effect<number> }>() {}
class NotFound {
  readonly _tag = "NotFound"
}

declare const body: Effect.Effect<string, NotFound, Db>
const lock = OrderedLock.unsafeMake({ name: "l", rank: 1 })
const rw = OrderedRWLock.unsafeMake({ name: "rw", rank: 2, readers: "recursive" })

describe("OrderedLock", () => {
  test("withLock keeps A and R and adds exactly LockError to E", () => {
    expect(OrderedLock.withLock(lock, body)).type.toBe<Effect.Effect<string, NotFound | LockError, Db>>()
    expect(body.pipe(OrderedLock.withLock(lock))).type.toBe<Effect.Effect<string, NotFound | LockError, Db>>()
    expect(OrderedLock.withLock(lock, body, { timeout: "1 second" })).type.toBe<
      Effect.Effect<string, NotFound | LockError, Db>
    >()
    expect(OrderedLock.withLock(lock, Effect.succeed(1))).type.toBe<Effect.Effect<number, LockError>>()
  })

  test("the scoped forms require a Scope and nothing else", () => {
    expect(OrderedLock.lock(lock)).type.toBe<Effect.Effect<void, LockError, Scope.Scope>>()
    expect(OrderedLock.tryLock(lock)).type.toBe<Effect.Effect<boolean, LockError, Scope.Scope>>()
    expect(OrderedRWLock.readLock(rw)).type.toBe<Effect.Effect<void, LockError, Scope.Scope>>()
  })

  test("constructors add no requirement", () => {
    expect(OrderedLock.make({ name: "a", rank: 1 })).type.toBe<Effect.Effect<OrderedLock.OrderedLock>>()
    expect(OrderedLock.make({ hierarchy: LockHierarchy.Global, level: "StateMachine.state" })).type.toBe<
      Effect.Effect<OrderedLock.OrderedLock>
    >()
    expect(LockHierarchy.rankOf(LockHierarchy.Global, "StateMachine.state")).type.toBe<15>()
  })

  test("try and batch forms", () => {
    expect(OrderedLock.withLockIfAvailable(lock, body)).type.toBe<
      Effect.Effect<Option.Option<string>, NotFound | LockError, Db>
    >()
    expect(OrderedLock.withLocks([lock, OrderedRWLock.read(rw)], body)).type.toBe<
      Effect.Effect<string, NotFound | LockError, Db>
    >()
  })

  test("misuse does not compile", () => {
    expect(OrderedLock.withLock).type.not.toBeCallableWith(rw, body)
    expect(OrderedLock.make).type.not.toBeCallableWith({ name: "a" })
    expect(OrderedLock.make).type.not.toBeCallableWith({ hierarchy: LockHierarchy.Global })
    expect(OrderedRWLock.withReadLock).type.not.toBeCallableWith(lock, body)
  })
})

describe("OrderedRWLock", () => {
  test("withReadLock and withWriteLock keep A and R and add LockError", () => {
    expect(OrderedRWLock.withReadLock(rw, body)).type.toBe<Effect.Effect<string, NotFound | LockError, Db>>()
    expect(body.pipe(OrderedRWLock.withWriteLock(rw))).type.toBe<Effect.Effect<string, NotFound | LockError, Db>>()
  })
})

describe("GuardedLock", () => {
  test("a guard has the value's type", () => {
    const g = GuardedLock.unsafeMake({ name: "g", rank: 3, value: { n: 1 } })
    expect(GuardedLock.get(g)).type.toBe<Effect.Effect<{ n: number }, LockError>>()
    expect(GuardedLock.withGuard(g, (guard) => guard.get)).type.toBe<Effect.Effect<{ n: number }, LockError>>()
    expect(GuardedLock.set).type.not.toBeCallableWith(g, "not a number box")
  })
})
