import type { LockError } from "@core-stability/locks/LockError"
import * as LockHierarchy from "@core-stability/locks/LockHierarchy"
import * as OrderedLock from "@core-stability/locks/OrderedLock"
import * as OrderedRWLock from "@core-stability/locks/OrderedRWLock"
import * as TypedLock from "@core-stability/locks/TypedLock"
import { type Cause, Context, Effect, Layer, Schedule, type Scope } from "effect"
import { describe, expect, test } from "tstyche"

type Acquires<Rank extends number, Name extends string = string> = TypedLock.Acquires<Rank, Name>
type Inside<Locks, A, E, R> = TypedLock.TypedLock.Inside<Locks, A, E, R>

// The global order of the seed's four hierarchies (LockHierarchy.Global): ranks 1-18.
const shutdown = TypedLock.unsafeMake({ name: "CleanupCoordinator.shutdown", rank: 1 })
const phase = TypedLock.unsafeMake({ name: "CleanupCoordinator.phase", rank: 2 })
const steps = TypedLock.unsafeMake({ name: "CleanupCoordinator.steps", rank: 3 })
const status = TypedLock.unsafeMake({ name: "CleanupCoordinator.status", rank: 4 })
const component = TypedLock.unsafeMake({ name: "ComponentCoordinator.component", rank: 5 })
const resource = TypedLock.unsafeMake({ name: "ComponentCoordinator.resource", rank: 6 })
const ccHistory = TypedLock.unsafeMake({ name: "ComponentCoordinator.history", rank: 7 })
const callback = TypedLock.unsafeMake({ name: "ComponentCoordinator.callback", rank: 8 })
const thread = TypedLock.unsafeMake({ name: "ComponentCoordinator.thread", rank: 9 })
const bmCleanup = TypedLock.unsafeMake({ name: "BufferManager.cleanup", rank: 10 })
const bmState = TypedLock.unsafeMake({ name: "BufferManager.state", rank: 11 })
const bmUpdate = TypedLock.unsafeMake({ name: "BufferManager.update", rank: 13 })
const callbacks = TypedLock.unsafeMake({ name: "StateMachine.callbacks", rank: 14 })
const state = TypedLock.unsafeMake({ name: "StateMachine.state", rank: 15 })
const history = TypedLock.unsafeMake({ name: "StateMachine.history", rank: 16 })
const invariants = TypedLock.unsafeMake({ name: "StateMachine.invariants", rank: 17 })

class Storage extends Context.Tag("Storage")<Storage, { readonly write: (s: string) => Effect.Effect<void> }>() {}

describe("constructors", () => {
  test("a literal rank and name are kept in the lock's type", () => {
    expect(state).type.toBe<TypedLock.TypedLock<"StateMachine.state", 15>>()
    expect(TypedLock.make({ name: "a", rank: 120 })).type.toBe<Effect.Effect<TypedLock.TypedLock<"a", 120>>>()
    expect(TypedLock.unsafeMake({ hierarchy: LockHierarchy.Global, level: "StateMachine.state", rank: 15 })).type
      .toBe<TypedLock.TypedLock<string, 15>>()
  })

  test("a typed lock is an OrderedLock", () => {
    expect(state).type.toBeAssignableTo<OrderedLock.OrderedLock>()
  })

  test("a rank of type number gives a lock checked at run time only", () => {
    const rank: number = 4
    expect(TypedLock.unsafeMake({ name: "dyn", rank })).type.toBe<TypedLock.TypedLock<"dyn", number>>()
  })

  test("negative, fractional and exponent ranks do not compile", () => {
    // @ts-expect-error: "a typed lock's rank is a non-negative integer literal, not -1"
    TypedLock.unsafeMake({ name: "negative", rank: -1 })
    // @ts-expect-error: "a typed lock's rank is a non-negative integer literal, not 1.5"
    TypedLock.unsafeMake({ name: "fraction", rank: 1.5 })
    // @ts-expect-error: "a typed lock's rank is a non-negative integer literal, not 1e+21"
    TypedLock.unsafeMake({ name: "exponent", rank: 1e21 })
  })
})

describe("fromLevel", () => {
  const fsState = TypedLock.unsafeFromLevel(LockHierarchy.Global, "StateMachine.state")
  const fsHistory = TypedLock.unsafeFromLevel(LockHierarchy.Global, "StateMachine.history")

  test("infers the lock's name and rank from the hierarchy", () => {
    expect(TypedLock.fromLevel(LockHierarchy.Global, "StateMachine.state")).type
      .toBe<Effect.Effect<TypedLock.TypedLock<"StateMachine.state", 15>>>()
    expect(fsState).type.toBe<TypedLock.TypedLock<"StateMachine.state", 15>>()
    expect(TypedLock.unsafeFromLevel(LockHierarchy.Global, "CleanupCoordinator.shutdown", { key: "main" })).type
      .toBe<TypedLock.TypedLock<"CleanupCoordinator.shutdown", 1>>()
    expect(fsState).type.toBe<typeof state>()
  })

  test("a base hierarchy's lock is named Part.level", () => {
    expect(TypedLock.fromLevel(LockHierarchy.StateMachine, "history")).type
      .toBe<Effect.Effect<TypedLock.TypedLock<"StateMachine.history", 3>>>()
    const Accounts = LockHierarchy.unsafeMake({ name: "Accounts", levels: ["ledger", { name: "audit", rank: 10 }] })
    expect(TypedLock.unsafeFromLevel(Accounts, "audit")).type.toBe<TypedLock.TypedLock<"Accounts.audit", 10>>()
  })

  test("ABBA across fromLevel locks does not compile, naming both levels", () => {
    expect(TypedLock.withLock(fsState, TypedLock.withLock(fsHistory, Effect.void))).type
      .toBe<Effect.Effect<void, LockError, Acquires<15, "StateMachine.state">>>()
    const inner = TypedLock.withLock(fsState, Effect.void)
    // @ts-expect-error: lock order violation: rank 15 (StateMachine.state) taken inside rank 16 (StateMachine.history)
    TypedLock.withLock(fsHistory, inner)
    expect(TypedLock.withLock).type.not.toBeCallableWith(fsHistory, inner)
    expect<Inside<typeof fsHistory, void, LockError, Effect.Effect.Context<typeof inner>>>().type.toBe<
      TypedLock.OrderViolation<
        "lock order violation: rank 15 (StateMachine.state) taken inside rank 16 (StateMachine.history)"
      >
    >()
  })

  test("a level the hierarchy does not have does not compile", () => {
    // @ts-expect-error: '"StateMachine.nope"' is not assignable to '"CleanupCoordinator.shutdown" | ...'
    TypedLock.fromLevel(LockHierarchy.Global, "StateMachine.nope")
    expect(TypedLock.fromLevel).type.not.toBeCallableWith(LockHierarchy.Global, "StateMachine.nope")
    // a base level name is not a level of the composed hierarchy
    expect(TypedLock.unsafeFromLevel).type.not.toBeCallableWith(LockHierarchy.Global, "state")
    expect(TypedLock.unsafeFromLevel).type.not.toBeCallableWith(LockHierarchy.StateMachine, "StateMachine.state")
    const level: string = "StateMachine.state"
    expect(TypedLock.unsafeFromLevel).type.not.toBeCallableWith(LockHierarchy.Global, level)
  })

  test("a hierarchy whose type does not know its ranks gives a lock checked at run time only", () => {
    const hierarchy: LockHierarchy.LockHierarchy = LockHierarchy.Global
    const level: string = "StateMachine.state"
    const dynamic = TypedLock.unsafeFromLevel(hierarchy, level)
    expect(dynamic).type.toBe<TypedLock.TypedLock<string, number>>()
    expect(TypedLock.withLock(dynamic, TypedLock.withLock(fsHistory, Effect.void))).type
      .toBe<Effect.Effect<void, LockError, Acquires<16, "StateMachine.history">>>()
  })
})

describe("markers", () => {
  test("an effect records the rank it takes in R", () => {
    expect(TypedLock.withLock(history, Effect.succeed(1))).type
      .toBe<Effect.Effect<number, LockError, Acquires<16, "StateMachine.history">>>()
    expect(Effect.succeed(1).pipe(TypedLock.withLock(history))).type
      .toBe<Effect.Effect<number, LockError, Acquires<16, "StateMachine.history">>>()
  })

  test("a region records only its own rank: inner markers are replaced by it", () => {
    const transition = Effect.void.pipe(TypedLock.withLock(history), TypedLock.withLock(state))
    expect(transition).type.toBe<Effect.Effect<void, LockError, Acquires<15, "StateMachine.state">>>()
  })

  test("regions run in sequence record one marker each", () => {
    const both = Effect.gen(function*() {
      yield* TypedLock.withLock(history, Effect.void)
      yield* TypedLock.withLock(callbacks, Effect.void)
    })
    expect(both).type.toBe<
      Effect.Effect<void, LockError, Acquires<16, "StateMachine.history"> | Acquires<14, "StateMachine.callbacks">>
    >()
  })

  test("A, E and the other requirements are inferred unchanged", () => {
    const body = Effect.gen(function*() {
      const storage = yield* Storage
      yield* storage.write("entry")
      if (Math.random() > 2) return yield* Effect.fail("disk full" as const)
      return 42
    })
    expect(TypedLock.withLock(history, body)).type
      .toBe<Effect.Effect<number, "disk full" | LockError, Storage | Acquires<16, "StateMachine.history">>>()
    expect(body.pipe(TypedLock.withLock(history), TypedLock.withLock(state))).type
      .toBe<Effect.Effect<number, "disk full" | LockError, Storage | Acquires<15, "StateMachine.state">>>()
  })

  test("markers go through Effect's own combinators", () => {
    const appendHistory = TypedLock.withLock(history, Effect.void)
    const retried = appendHistory.pipe(Effect.retry(Schedule.recurs(3)), Effect.timeout("1 second"))
    expect(retried).type.toBe<
      Effect.Effect<void, LockError | Cause.TimeoutException, Acquires<16, "StateMachine.history">>
    >()
    expect(Effect.forkDaemon(appendHistory)).type.toBeAssignableTo<
      Effect.Effect<unknown, never, Acquires<16, "StateMachine.history">>
    >()
  })

  test("Locked names the requirements of a wrapped effect", () => {
    expect<TypedLock.TypedLock.Locked<typeof state, Storage | Acquires<16>>>().type
      .toBe<Storage | Acquires<15, "StateMachine.state">>()
    expect<TypedLock.TypedLock.Locked<[typeof invariants, typeof state], Acquires<18>>>().type
      .toBe<Acquires<15, "StateMachine.state">>()
    expect<TypedLock.TypedLock.Locked<OrderedLock.OrderedLock, Storage | Acquires<16>>>().type
      .toBe<Storage | Acquires<16>>()
  })

  test("the scoped lock records its rank next to Scope", () => {
    expect(TypedLock.lock(state)).type
      .toBe<Effect.Effect<void, LockError, Scope.Scope | Acquires<15, "StateMachine.state">>>()
  })
})

describe("out-of-order nesting does not compile", () => {
  test("ABBA: the inverted nesting fails and names both ranks", () => {
    const stateThenHistory = TypedLock.withLock(state, TypedLock.withLock(history, Effect.void))
    expect(stateThenHistory).type.toBe<Effect.Effect<void, LockError, Acquires<15, "StateMachine.state">>>()

    const inner = TypedLock.withLock(state, Effect.void)
    // @ts-expect-error: lock order violation: rank 15 (StateMachine.state) taken inside rank 16 (StateMachine.history)
    TypedLock.withLock(history, inner)
    // @ts-expect-error: the same, piped
    inner.pipe(TypedLock.withLock(history))
    expect(TypedLock.withLock).type.not.toBeCallableWith(history, inner)
    expect<Inside<typeof history, void, LockError, Acquires<15, "StateMachine.state">>>().type.toBe<
      TypedLock.OrderViolation<
        "lock order violation: rank 15 (StateMachine.state) taken inside rank 16 (StateMachine.history)"
      >
    >()
  })

  test("AA: a rank taken inside itself fails", () => {
    const other = TypedLock.unsafeMake({ name: "StateMachine.state", rank: 15, key: "other" })
    const inner = TypedLock.withLock(other, Effect.void)
    // @ts-expect-error: lock order violation: rank 15 (StateMachine.state) taken inside rank 15 (StateMachine.state)
    TypedLock.withLock(state, inner)
  })

  test("a lower-rank helper cannot be called inside a higher-rank region", () => {
    // the helper's type says it takes the rank-16 lock
    const appendHistory = (entry: string): Effect.Effect<void, LockError, Acquires<16>> =>
      TypedLock.withLock(history, Effect.log(entry))
    const audit = Effect.gen(function*() {
      yield* appendHistory("audit")
    })
    expect(TypedLock.withLock(state, audit)).type.toBe<
      Effect.Effect<void, LockError, Acquires<15, "StateMachine.state">>
    >()
    // @ts-expect-error: lock order violation: rank 16 taken inside rank 17 (StateMachine.invariants)
    TypedLock.withLock(invariants, audit)
    expect<Inside<typeof invariants, void, LockError, Acquires<16>>>().type.toBe<
      TypedLock.OrderViolation<"lock order violation: rank 16 taken inside rank 17 (StateMachine.invariants)">
    >()
  })

  test("several violations are all named", () => {
    const both = Effect.gen(function*() {
      yield* TypedLock.withLock(callbacks, Effect.void)
      yield* TypedLock.withLock(state, Effect.void)
    })
    expect(TypedLock.withLock).type.not.toBeCallableWith(history, both)
    expect<Inside<typeof history, void, LockError, Effect.Effect.Context<typeof both>>>().type.toBe<
      TypedLock.OrderViolation<
        | "lock order violation: rank 14 (StateMachine.callbacks) taken inside rank 16 (StateMachine.history)"
        | "lock order violation: rank 15 (StateMachine.state) taken inside rank 16 (StateMachine.history)"
      >
    >()
  })

  test("a marker whose rank was widened to number is refused", () => {
    const widened: Effect.Effect<void, LockError, Acquires<number>> = TypedLock.withLock(history, Effect.void)
    // @ts-expect-error: lock order violation: a lock of unknown rank taken inside rank 15 (StateMachine.state)
    TypedLock.withLock(state, widened)
  })
})

describe("the seed's four hierarchies", () => {
  test("StateMachine: state then history compiles; callbacks under state does not", () => {
    const transition = Effect.log("transition").pipe(
      TypedLock.withLock(invariants),
      TypedLock.withLock(history),
      TypedLock.withLock(state)
    )
    expect(transition).type.toBe<Effect.Effect<void, LockError, Acquires<15, "StateMachine.state">>>()
    const notify = TypedLock.withLock(callbacks, Effect.log("notify"))
    // @ts-expect-error: rank 14 (StateMachine.callbacks) taken inside rank 15 (StateMachine.state)
    TypedLock.withLock(state, notify)
  })

  test("CleanupCoordinator: shutdown, phase, steps, status compiles; steps under status does not", () => {
    const run = Effect.void.pipe(
      TypedLock.withLock(status),
      TypedLock.withLock(steps),
      TypedLock.withLock(phase),
      TypedLock.withLock(shutdown)
    )
    expect(run).type.toBe<Effect.Effect<void, LockError, Acquires<1, "CleanupCoordinator.shutdown">>>()
    const addStep = TypedLock.withLock(steps, Effect.void)
    // @ts-expect-error: rank 3 (CleanupCoordinator.steps) taken inside rank 4 (CleanupCoordinator.status)
    TypedLock.withLock(status, addStep)
  })

  test("ComponentCoordinator: all five together in any order compiles; resource under history does not", () => {
    const acquireAll = Effect.void.pipe(TypedLock.withLocks([thread, callback, ccHistory, resource, component]))
    expect(acquireAll).type.toBe<Effect.Effect<void, LockError, Acquires<5, "ComponentCoordinator.component">>>()
    const allocate = TypedLock.withLock(resource, Effect.void)
    // @ts-expect-error: rank 6 (ComponentCoordinator.resource) taken inside rank 7 (ComponentCoordinator.history)
    TypedLock.withLock(ccHistory, allocate)
  })

  test("BufferManager: the original's put_buffer took update before state, which does not compile", () => {
    const readState = TypedLock.withLock(bmState, Effect.succeed("state"))
    // @ts-expect-error: rank 11 (BufferManager.state) taken inside rank 13 (BufferManager.update)
    TypedLock.withLock(bmUpdate, readState)
    const putBuffer = Effect.void.pipe(TypedLock.withLock(bmUpdate), TypedLock.withLock(bmState))
    expect(TypedLock.withLock(bmCleanup, putBuffer)).type
      .toBe<Effect.Effect<void, LockError, Acquires<10, "BufferManager.cleanup">>>()
  })

  test("Global: a coordinator may call into the state machine; the state machine may not call back", () => {
    const transition = TypedLock.withLock(state, Effect.void)
    expect(TypedLock.withLock(phase, transition)).type
      .toBe<Effect.Effect<void, LockError, Acquires<2, "CleanupCoordinator.phase">>>()
    const advancePhase = TypedLock.withLock(phase, Effect.void)
    // @ts-expect-error: rank 2 (CleanupCoordinator.phase) taken inside rank 15 (StateMachine.state)
    TypedLock.withLock(state, advancePhase)
  })
})

describe("withLocks", () => {
  test("any order of the list compiles and records the lowest rank", () => {
    const forward = TypedLock.withLocks([state, history], Effect.void)
    const backward = TypedLock.withLocks([history, state], Effect.void)
    expect(forward).type.toBe<Effect.Effect<void, LockError, Acquires<15, "StateMachine.state">>>()
    expect(backward).type.toBe<Effect.Effect<void, LockError, Acquires<15, "StateMachine.state">>>()
  })

  test("locks of one rank may be taken together", () => {
    const a = TypedLock.unsafeMake({ name: "account", rank: 3, key: "a" })
    const b = TypedLock.unsafeMake({ name: "account", rank: 3, key: "b" })
    expect(TypedLock.withLocks([b, a], Effect.void)).type.toBe<Effect.Effect<void, LockError, Acquires<3, "account">>>()
  })

  test("the body must stay above the highest rank of the list", () => {
    const aboveAll = TypedLock.withLock(invariants, Effect.void)
    expect(TypedLock.withLocks([history, state], aboveAll)).type
      .toBe<Effect.Effect<void, LockError, Acquires<15, "StateMachine.state">>>()
    const between = TypedLock.withLock(history, Effect.void)
    // @ts-expect-error: rank 16 (StateMachine.history) taken inside rank 16 (StateMachine.history)
    TypedLock.withLocks([invariants, state], between)
    expect<Inside<[typeof invariants, typeof state], void, LockError, Acquires<16, "StateMachine.history">>>().type
      .toBe<
        TypedLock.OrderViolation<
          "lock order violation: rank 16 (StateMachine.history) taken inside rank 17 (StateMachine.invariants)"
        >
      >()
  })

  test("read/write entries are checked at run time only", () => {
    const rw = OrderedRWLock.unsafeMake({ name: "rw", rank: 7 })
    expect(TypedLock.withLocks([state, { lock: rw, mode: "read" }], Effect.void)).type
      .toBe<Effect.Effect<void, LockError, Acquires<15, "StateMachine.state">>>()
  })
})

describe("generic helpers stay polymorphic", () => {
  test("a point-free helper checks each call", () => {
    const inState = TypedLock.withLock(state)
    expect(inState(TypedLock.withLock(history, Effect.void))).type
      .toBe<Effect.Effect<void, LockError, Acquires<15, "StateMachine.state">>>()
    expect(inState).type.not.toBeCallableWith(TypedLock.withLock(callbacks, Effect.void))
  })

  test("a helper over any effect declares the check with Inside and passes it on to its callers", () => {
    const inState = <A, E, R>(self: Inside<typeof state, A, E, R>) =>
      TypedLock.withLock(state, self).pipe(Effect.withSpan("state"))
    const body = Effect.succeed("ok").pipe(TypedLock.withLock(history))
    expect(inState(body)).type.toBe<Effect.Effect<string, LockError, Acquires<15, "StateMachine.state">>>()
    expect(inState).type.not.toBeCallableWith(TypedLock.withLock(callbacks, Effect.void))
  })

  test("a helper generic in the lock records whichever rank it is given", () => {
    const guarded = <L extends TypedLock.TypedLock<string, number>>(lock: L) =>
      TypedLock.withLock(lock, Effect.log("guarded"))
    expect(guarded(history)).type.toBe<Effect.Effect<void, LockError, Acquires<16, "StateMachine.history">>>()
    expect(TypedLock.withLock(state, guarded(history))).type
      .toBe<Effect.Effect<void, LockError, Acquires<15, "StateMachine.state">>>()
    // @ts-expect-error: rank 14 (StateMachine.callbacks) taken inside rank 15 (StateMachine.state)
    TypedLock.withLock(state, guarded(callbacks))
  })

  test("a helper generic in R keeps the markers of what it wraps", () => {
    const logged = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.tap(self, () => Effect.log("done"))
    const appended = logged(TypedLock.withLock(history, Effect.void))
    expect(appended).type.toBe<Effect.Effect<void, LockError, Acquires<16, "StateMachine.history">>>()
    // @ts-expect-error: rank 16 (StateMachine.history) taken inside rank 17 (StateMachine.invariants)
    TypedLock.withLock(invariants, appended)
  })
})

describe("locks of non-literal rank", () => {
  const rank: number = 12
  const dynamic = TypedLock.unsafeMake({ name: "dynamic", rank })
  const plain = OrderedLock.unsafeMake({ name: "plain", rank: 12 })

  test("add no marker and leave R unchanged", () => {
    expect(TypedLock.withLock(plain, Effect.void)).type.toBe<Effect.Effect<void, LockError, never>>()
    expect(TypedLock.withLock(dynamic, TypedLock.withLock(history, Effect.void))).type
      .toBe<Effect.Effect<void, LockError, Acquires<16, "StateMachine.history">>>()
  })

  test("are transparent: the typed regions around and inside them are still checked against each other", () => {
    const throughPlain = TypedLock.withLock(plain, TypedLock.withLock(callbacks, Effect.void))
    expect(TypedLock.withLock(phase, throughPlain)).type
      .toBe<Effect.Effect<void, LockError, Acquires<2, "CleanupCoordinator.phase">>>()
    // @ts-expect-error: rank 14 (StateMachine.callbacks) taken inside rank 15 (StateMachine.state)
    TypedLock.withLock(state, throughPlain)
  })

  test("untyped combinators erase nothing and check nothing", () => {
    const appended = TypedLock.withLock(history, Effect.void)
    expect(OrderedLock.withLock(invariants, appended)).type
      .toBe<Effect.Effect<void, LockError, Acquires<16, "StateMachine.history">>>()
  })
})

describe("discharge", () => {
  const program = Effect.gen(function*() {
    const storage = yield* Storage
    yield* storage.write("x").pipe(TypedLock.withLock(history), TypedLock.withLock(state))
  })

  test("removes the markers and nothing else", () => {
    expect(TypedLock.discharge(program)).type.toBe<Effect.Effect<void, LockError, Storage>>()
  })

  test("an effect with markers cannot be run", () => {
    const runnable = program.pipe(Effect.provide(Layer.succeed(Storage, { write: () => Effect.void })))
    expect(runnable).type.toBe<Effect.Effect<void, LockError, Acquires<15, "StateMachine.state">>>()
    // @ts-expect-error: Type 'Acquires<15, "StateMachine.state">' is not assignable to type 'never'
    Effect.runPromise(runnable)
    expect(Effect.runPromise(TypedLock.discharge(runnable))).type.toBe<Promise<void>>()
  })
})
