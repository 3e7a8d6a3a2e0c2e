import type { LockError } from "@core-stability/locks/LockError"
import * as LockHierarchy from "@core-stability/locks/LockHierarchy"
import * as LockRegistry from "@core-stability/locks/LockRegistry"
import * as OrderedLock from "@core-stability/locks/OrderedLock"
import * as TypedLock from "@core-stability/locks/TypedLock"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option, Ref } from "effect"

/** What a run shows of itself: its value, or its error with the fields that name the broken rule. */
type Outcome =
  | { readonly value: unknown }
  | { readonly error: string; readonly rule: string | undefined; readonly lock: string; readonly held: string }

const outcome = <A>(exit: Exit.Exit<A, LockError>): Outcome => {
  if (Exit.isSuccess(exit)) return { value: exit.value }
  const error = Option.getOrThrow(Cause.failureOption(exit.cause))
  return {
    error: error._tag,
    rule: error._tag === "LockOrderViolation" ? error.rule : undefined,
    lock: error.lock?.name ?? "(join)",
    held: "held" in error ? error.held.map((h) => h.lock.name).join(" > ") : ""
  }
}

/** Runs a program in a fresh registry, its lock-order markers discharged. */
const inRegistry = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(TypedLock.discharge, Effect.provide(LockRegistry.layer))

/** The names of the locks the current fiber holds, oldest first. */
const heldNames = Effect.map(
  LockRegistry.snapshot(),
  (snapshot) => snapshot.fibers.flatMap((fiber) => fiber.held.map((hold) => hold.lock.name))
)

describe("TypedLock", () => {
  describe("constructors", () => {
    it.effect("a typed lock is the OrderedLock it describes", () =>
      inRegistry(Effect.gen(function*() {
        const state = yield* TypedLock.make({ name: "state", rank: 2, key: "main" })
        assert.isTrue(OrderedLock.isOrderedLock(state))
        assert.strictEqual(state.name, "state")
        assert.strictEqual(state.rank, 2)
        assert.strictEqual(state.key, "main")
      })))

    it.effect("a hierarchy level gets the hierarchy's name and its stated rank", () =>
      inRegistry(Effect.gen(function*() {
        const state = yield* TypedLock.make({ hierarchy: LockHierarchy.Global, level: "StateMachine.state", rank: 15 })
        assert.strictEqual(state.name, "StateMachine.state")
        assert.strictEqual(state.rank, LockHierarchy.rankOf(LockHierarchy.Global, "StateMachine.state"))
      })))

    it.effect("a stated rank the hierarchy disagrees with is a defect naming both", () =>
      inRegistry(Effect.gen(function*() {
        const exit = yield* Effect.exit(
          TypedLock.make({ hierarchy: LockHierarchy.Global, level: "StateMachine.state", rank: 2 })
        )
        assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
        const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        assert.strictEqual(
          (defect as Error).message,
          "typed lock StateMachine.state: declared with rank 2, but hierarchy Global ranks it 15"
        )
      })))

    it("unsafeMake throws on the same disagreement", () => {
      const registry = LockRegistry.unsafeMake()
      assert.throws(
        () => TypedLock.unsafeMake({ hierarchy: LockHierarchy.StateMachine, level: "history", rank: 1, registry }),
        "typed lock history: declared with rank 1, but hierarchy StateMachine ranks it 3"
      )
      assert.strictEqual(
        TypedLock.unsafeMake({ hierarchy: LockHierarchy.StateMachine, level: "history", rank: 3, registry }).name,
        "StateMachine.history"
      )
    })
  })

  describe("fromLevel", () => {
    it.effect("a level's lock carries the hierarchy's class name and rank", () =>
      inRegistry(Effect.gen(function*() {
        const state = yield* TypedLock.fromLevel(LockHierarchy.Global, "StateMachine.state", { key: "main" })
        assert.isTrue(OrderedLock.isOrderedLock(state))
        assert.strictEqual(state.name, "StateMachine.state")
        assert.strictEqual(state.rank, 15)
        assert.strictEqual(state.key, "main")
        const untyped = yield* OrderedLock.make({ hierarchy: LockHierarchy.Global, level: "StateMachine.state" })
        assert.strictEqual(untyped.name, state.name)
        assert.strictEqual(untyped.rank, state.rank)
      })))

    it.effect("a base hierarchy's level is named Part.level", () =>
      inRegistry(Effect.gen(function*() {
        const history = yield* TypedLock.fromLevel(LockHierarchy.StateMachine, "history")
        assert.strictEqual(history.name, "StateMachine.history")
        assert.strictEqual(history.rank, 3)
        const Accounts = LockHierarchy.unsafeMake({ name: "Accounts", levels: ["ledger", { name: "audit", rank: 10 }] })
        const audit = yield* TypedLock.fromLevel(Accounts, "audit")
        assert.strictEqual(audit.name, "Accounts.audit")
        assert.strictEqual(audit.rank, 10)
      })))

    it("unsafeFromLevel makes the lock in the registry given", () => {
      const registry = LockRegistry.unsafeMake()
      const history = TypedLock.unsafeFromLevel(LockHierarchy.StateMachine, "history", { registry })
      assert.strictEqual(history.name, "StateMachine.history")
      assert.strictEqual(history.rank, 3)
      // the class StateMachine.history now has rank 3 in that registry: Global's rank 16 disagrees with it
      assert.throws(() => TypedLock.unsafeFromLevel(LockHierarchy.Global, "StateMachine.history", { registry }))
      const other = LockRegistry.unsafeMake()
      assert.strictEqual(
        TypedLock.unsafeFromLevel(LockHierarchy.Global, "StateMachine.history", { registry: other }).rank,
        16
      )
    })

    it.effect("an inversion of fromLevel locks forced past the compiler fails at run time as the untyped one", () =>
      inRegistry(Effect.gen(function*() {
        const state = yield* TypedLock.fromLevel(LockHierarchy.Global, "StateMachine.state")
        const history = yield* TypedLock.fromLevel(LockHierarchy.Global, "StateMachine.history")
        const legal = yield* heldNames.pipe(TypedLock.withLock(history), TypedLock.withLock(state))
        assert.deepStrictEqual(legal, ["StateMachine.state", "StateMachine.history"])

        const inner = TypedLock.withLock(state, Effect.succeed("unreachable"))
        // @ts-expect-error: lock order violation: rank 15 (StateMachine.state) taken inside rank 16 (StateMachine.history)
        const typed = yield* Effect.exit(TypedLock.withLock(history, inner))
        const untyped = yield* Effect.exit(OrderedLock.withLock(history, OrderedLock.withLock(state, Effect.void)))
        assert.deepStrictEqual(outcome(typed), {
          error: "LockOrderViolation",
          rule: "rank-inversion",
          lock: "StateMachine.state",
          held: "StateMachine.history"
        })
        assert.deepStrictEqual(outcome(untyped), outcome(typed))
      })))

    it.effect("an unknown level forced past the compiler is a defect naming the levels", () =>
      inRegistry(Effect.gen(function*() {
        // @ts-expect-error: '"nope"' is not assignable to '"callbacks" | "state" | "history" | ...'
        const exit = yield* Effect.exit(TypedLock.fromLevel(LockHierarchy.StateMachine, "nope"))
        assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
        const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        assert.match((defect as Error).message, /has no level "nope"; levels: callbacks, state, history/)
        const level: string = "nope"
        const hierarchy: LockHierarchy.LockHierarchy = LockHierarchy.StateMachine
        assert.throws(() => TypedLock.unsafeFromLevel(hierarchy, level), /has no level "nope"/)
      })))
  })

  describe("typed and untyped forms behave identically", () => {
    it("the typed combinators are OrderedLock's own functions", () => {
      assert.strictEqual(TypedLock.withLock, OrderedLock.withLock)
      assert.strictEqual(TypedLock.withLocks, OrderedLock.withLocks)
      assert.strictEqual(TypedLock.lock, OrderedLock.lock)
    })

    it("discharge returns the effect it is given", () => {
      const effect = Effect.succeed(1)
      assert.strictEqual(TypedLock.discharge(effect), effect)
    })

    it.effect("a legal nesting holds the same locks and returns the same value", () =>
      inRegistry(Effect.gen(function*() {
        const state = yield* TypedLock.make({ name: "state", rank: 2 })
        const history = yield* TypedLock.make({ name: "history", rank: 3 })
        const body = Effect.zipRight(Effect.log("transition"), heldNames)

        const typed = yield* body.pipe(TypedLock.withLock(history), TypedLock.withLock(state))
        const untyped = yield* body.pipe(OrderedLock.withLock(history), OrderedLock.withLock(state))
        assert.deepStrictEqual(typed, ["state", "history"])
        assert.deepStrictEqual(untyped, typed)
        assert.isFalse(yield* OrderedLock.locked(state))
      })))

    it.effect("an inversion forced past the compiler fails at run time exactly as the untyped one does", () =>
      inRegistry(Effect.gen(function*() {
        const state = yield* TypedLock.make({ name: "state", rank: 2 })
        const history = yield* TypedLock.make({ name: "history", rank: 3 })

        const inner = TypedLock.withLock(state, Effect.succeed("unreachable"))
        // @ts-expect-error: lock order violation: rank 2 (state) taken inside rank 3 (history)
        const typed = yield* Effect.exit(TypedLock.withLock(history, inner))
        const untyped = yield* Effect.exit(
          OrderedLock.withLock(history, OrderedLock.withLock(state, Effect.succeed(1)))
        )
        assert.deepStrictEqual(outcome(typed), {
          error: "LockOrderViolation",
          rule: "rank-inversion",
          lock: "state",
          held: "history"
        })
        assert.deepStrictEqual(outcome(untyped), outcome(typed))
      })))

    it.effect("a lock of dynamic rank is checked at run time, whichever form is used", () =>
      inRegistry(Effect.gen(function*() {
        const configured: number = 5
        const buffer = yield* TypedLock.make({ name: "buffer", rank: configured })
        const state = yield* TypedLock.make({ name: "state", rank: 2 })

        // compiles: the compiler cannot see the dynamic rank
        const typed = yield* Effect.exit(TypedLock.withLock(buffer, TypedLock.withLock(state, Effect.void)))
        const untyped = yield* Effect.exit(OrderedLock.withLock(buffer, OrderedLock.withLock(state, Effect.void)))
        assert.deepStrictEqual(outcome(typed), {
          error: "LockOrderViolation",
          rule: "rank-inversion",
          lock: "state",
          held: "buffer"
        })
        assert.deepStrictEqual(outcome(untyped), outcome(typed))
      })))

    it.effect("withLocks takes the locks in canonical order whatever the list order", () =>
      inRegistry(Effect.gen(function*() {
        const component = yield* TypedLock.make({ name: "component", rank: 1 })
        const resource = yield* TypedLock.make({ name: "resource", rank: 2 })
        const history = yield* TypedLock.make({ name: "history", rank: 3 })

        const typed = yield* TypedLock.withLocks([history, component, resource], heldNames)
        const untyped = yield* OrderedLock.withLocks([history, component, resource], heldNames)
        assert.deepStrictEqual(typed, ["component", "resource", "history"])
        assert.deepStrictEqual(untyped, typed)
      })))

    it.effect("the scoped lock holds until its scope closes", () =>
      inRegistry(Effect.gen(function*() {
        const state = yield* TypedLock.make({ name: "state", rank: 2 })
        const history = yield* TypedLock.make({ name: "history", rank: 3 })
        const holding = (take: typeof TypedLock.lock) =>
          Effect.scoped(Effect.gen(function*() {
            yield* take(state)
            yield* take(history)
            return yield* heldNames
          }))

        const typed = yield* holding(TypedLock.lock)
        const untyped = yield* holding(OrderedLock.lock)
        assert.deepStrictEqual(typed, ["state", "history"])
        assert.deepStrictEqual(untyped, typed)
        assert.isFalse(yield* OrderedLock.locked(history))
      })))

    it.effect("a failing body fails the same way and releases the lock", () =>
      inRegistry(Effect.gen(function*() {
        const state = yield* TypedLock.make({ name: "state", rank: 2 })
        const ref = yield* Ref.make(0)
        const body = Effect.zipRight(Ref.update(ref, (n) => n + 1), Effect.fail("invalid transition" as const))

        const typed = yield* Effect.exit(TypedLock.withLock(state, body))
        const untyped = yield* Effect.exit(OrderedLock.withLock(state, body))
        assert.deepStrictEqual(typed, Exit.fail("invalid transition"))
        assert.deepStrictEqual(untyped, typed)
        assert.strictEqual(yield* Ref.get(ref), 2)
        assert.isFalse(yield* OrderedLock.locked(state))
      })))
  })
})
