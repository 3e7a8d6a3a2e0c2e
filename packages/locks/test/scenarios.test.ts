/**
 * The declared-order scenarios of locks.md: lockdep's selftests (AA, ABBA, ABBCCA, ABCABC, ABBCCDDA, unlock order,
 * the read/write table, gate nesting), go-deadlock's suite (GD rows that concern ordering, timeouts and release) and
 * the Effect-specific rows (EF). `C1; C2` are contexts that run one after another; every scenario runs once in one
 * fiber and once with each context in its own fiber, and the verdicts must match.
 *
 * With declared ranks (A < B < C < D, X < Y), a report fires at the first acquisition that contradicts the ranks: for
 * ABCABC that is `L(A)` inside C2 (`C, A`), for the others the acquisition lockdep marks with `*`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as LockConfig from "../src/LockConfig.js"
import type { LockError } from "../src/LockError.js"
import * as LockMetrics from "../src/LockMetrics.js"
import * as LockRegistry from "../src/LockRegistry.js"
import * as OrderedLock from "../src/OrderedLock.js"
import * as OrderedRWLock from "../src/OrderedRWLock.js"
import { assertNoLeaks, expectFailure, failureOf, untilWaiting } from "./utils.js"

type Acquire = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | LockError, R>

/** A context: acquisitions nested in order (`A,B` = lock A, lock B, unlock B, unlock A). */
const nested = (acquisitions: ReadonlyArray<Acquire>): Effect.Effect<void, LockError> =>
  acquisitions.reduceRight<Effect.Effect<void, LockError>>((inner, acquire) => acquire(inner), Effect.void)

interface Verdict {
  /** The first context that failed, or -1. */
  readonly context: number
  readonly tag: string | undefined
  readonly rule: string | undefined
}

const verdictOf = (exits: ReadonlyArray<Exit.Exit<void, LockError>>): Verdict => {
  const context = exits.findIndex(Exit.isFailure)
  const error = context < 0 ? undefined : failureOf(exits[context]!)
  return { context, tag: error?._tag, rule: error?._tag === "LockOrderViolation" ? error.rule : undefined }
}

/** Runs the contexts in one fiber, then each in its own fiber; asserts both verdicts match and returns it. */
const scenario = (contexts: ReadonlyArray<ReadonlyArray<Acquire>>) =>
  Effect.gen(function*() {
    const inOneFiber = yield* Effect.forEach(contexts, (c) => Effect.exit(nested(c)))
    const inFibers = yield* Effect.forEach(contexts, (c) =>
      Effect.flatMap(Effect.fork(Effect.exit(nested(c))), Fiber.join))
    const verdict = verdictOf(inOneFiber)
    assert.deepStrictEqual(verdictOf(inFibers), verdict)
    yield* assertNoLeaks
    return verdict
  })

const OK: Verdict = { context: -1, tag: undefined, rule: undefined }
const fail = (context: number, tag: string, rule?: string): Verdict => ({ context, tag, rule })

const provide = <A, E>(self: Effect.Effect<A, E, Scope.Scope>, settings: LockConfig.Options = {}) =>
  self.pipe(Effect.scoped, Effect.provide(LockConfig.layer(settings)), Effect.provide(LockRegistry.layer))

const exclusiveLocks = Effect.gen(function*() {
  const [A, B, C, D] = yield* Effect.forEach(["A", "B", "C", "D"], (name, i) => OrderedLock.make({ name, rank: i + 1 }))
  const L = (lock: OrderedLock.OrderedLock): Acquire => OrderedLock.withLock(lock)
  return {
    A: L(A!),
    B: L(B!),
    C: L(C!),
    D: L(D!),
    X1: A!,
    X2: yield* OrderedLock.make({ name: "A", rank: 1, key: "2" })
  }
})

describe("lockdep selftests with declared ranks", () => {
  it.effect("AA: taking a second instance of a class is recursive... for the same instance, same-rank for another", () =>
    provide(Effect.gen(function*() {
      const { X1, X2 } = yield* exclusiveLocks
      const L = OrderedLock.withLock
      assert.deepStrictEqual(yield* scenario([[L(X1), L(X1)]]), fail(0, "LockRecursion"))
      assert.deepStrictEqual(yield* scenario([[L(X1), L(X2)]]), fail(0, "LockOrderViolation", "same-rank"))
    })))

  it.effect("ABBA: C1: A,B; C2: L(B); L(A)* fails", () =>
    provide(Effect.gen(function*() {
      const { A, B } = yield* exclusiveLocks
      assert.deepStrictEqual(yield* scenario([[A, B], [B, A]]), fail(1, "LockOrderViolation", "rank-inversion"))
    })))

  it.effect("ABBCCA: C1: A,B; C2: B,C; C3: L(C); L(A)* fails", () =>
    provide(Effect.gen(function*() {
      const { A, B, C } = yield* exclusiveLocks
      assert.deepStrictEqual(
        yield* scenario([[A, B], [B, C], [C, A]]),
        fail(2, "LockOrderViolation", "rank-inversion")
      )
    })))

  it.effect("ABCABC: C1: A,B; C2: C,A; C3: L(B); L(C) fails (at C2, which contradicts the ranks)", () =>
    provide(Effect.gen(function*() {
      const { A, B, C } = yield* exclusiveLocks
      assert.deepStrictEqual(
        yield* scenario([[A, B], [C, A], [B, C]]),
        fail(1, "LockOrderViolation", "rank-inversion")
      )
    })))

  it.effect("ABBCCDDA: C1: A,B; C2: B,C; C3: C,D; C4: L(D); L(A)* fails", () =>
    provide(Effect.gen(function*() {
      const { A, B, C, D } = yield* exclusiveLocks
      assert.deepStrictEqual(
        yield* scenario([[A, B], [B, C], [C, D], [D, A]]),
        fail(3, "LockOrderViolation", "rank-inversion")
      )
    })))

  it.effect("UNLOCK-ORDER: L(A); L(B); U(A); U(B) is legal", () =>
    provide(Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "A", rank: 1 })
      const b = yield* OrderedLock.make({ name: "B", rank: 2 })
      const sa = yield* Scope.make()
      const sb = yield* Scope.make()
      yield* Scope.extend(OrderedLock.lock(a), sa)
      yield* Scope.extend(OrderedLock.lock(b), sb)
      yield* Scope.close(sa, Exit.void)
      assert.isFalse(yield* OrderedLock.locked(a))
      assert.isTrue(yield* OrderedLock.heldByCurrentFiber(b))
      // B is still held: taking C above it is legal, taking A again is legal too (A is released)
      const c = yield* OrderedLock.make({ name: "C", rank: 3 })
      yield* OrderedLock.withLock(c, Effect.void)
      yield* Scope.close(sb, Exit.void)
      yield* OrderedLock.withLock(a, Effect.void)
      yield* assertNoLeaks
    })))

  it.effect("the violation report names the lock, the held stack and the rule", () =>
    provide(Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "Accounts.ledger", rank: 1 })
      const b = yield* OrderedLock.make({ name: "Accounts.audit", rank: 2 })
      const exit = yield* Effect.exit(OrderedLock.withLock(b, OrderedLock.withLock(a, Effect.void)))
      const error = expectFailure(exit, "LockOrderViolation")
      assert.strictEqual(error.lock.name, "Accounts.ledger")
      assert.deepStrictEqual(error.held.map((h) => h.lock.name), ["Accounts.audit"])
      assert.strictEqual(error.rule, "rank-inversion")
      assert.match(error.message, /^possible circular locking dependency: #\d+ is taking Accounts\.ledger \(rank 1/)
      assert.include(error.message, "Accounts.ledger (rank 1) must be taken before Accounts.audit (rank 2)")
    })))
})

describe("read/write table", () => {
  const rwLocks = (readers: OrderedRWLock.ReaderKind) =>
    Effect.gen(function*() {
      const X1 = yield* OrderedRWLock.make({ name: "X", rank: 1, key: "1", readers })
      const X2 = yield* OrderedRWLock.make({ name: "X", rank: 1, key: "2", readers })
      const Y1 = yield* OrderedLock.make({ name: "Y", rank: 2, key: "1" })
      return {
        Rd: (l: OrderedRWLock.OrderedRWLock): Acquire => OrderedRWLock.withReadLock(l),
        W: (l: OrderedRWLock.OrderedRWLock): Acquire => OrderedRWLock.withWriteLock(l),
        L: (l: OrderedLock.OrderedLock): Acquire => OrderedLock.withLock(l),
        X1,
        X2,
        Y1
      }
    })

  const rows: ReadonlyArray<{
    readonly id: string
    readonly contexts: (l: Effect.Effect.Success<ReturnType<typeof rwLocks>>) => ReadonlyArray<ReadonlyArray<Acquire>>
    readonly recursive: Verdict
    readonly queued: Verdict
  }> = [
    {
      id: "RR1: Rd(X1); Rd(X1)",
      contexts: ({ Rd, X1 }) => [[Rd(X1), Rd(X1)]],
      recursive: OK,
      queued: fail(0, "LockRecursion")
    },
    {
      id: "RR2: Rd(X1); Rd(X2)",
      contexts: ({ Rd, X1, X2 }) => [[Rd(X1), Rd(X2)]],
      recursive: OK,
      queued: fail(0, "LockOrderViolation", "same-rank")
    },
    {
      id: "RW: Rd(X1); W(X2)*",
      contexts: ({ Rd, W, X1, X2 }) => [[Rd(X1), W(X2)]],
      recursive: fail(0, "LockOrderViolation", "same-rank"),
      queued: fail(0, "LockOrderViolation", "same-rank")
    },
    {
      id: "WR: W(X1); Rd(X2)*",
      contexts: ({ Rd, W, X1, X2 }) => [[W(X1), Rd(X2)]],
      recursive: fail(0, "LockOrderViolation", "same-rank"),
      queued: fail(0, "LockOrderViolation", "same-rank")
    },
    {
      id: "RL-LW: C1: Rd(X1),L(Y1); C2: L(Y1); W(X1)*",
      contexts: ({ L, Rd, W, X1, Y1 }) => [[Rd(X1), L(Y1)], [L(Y1), W(X1)]],
      recursive: fail(1, "LockOrderViolation", "rank-inversion"),
      queued: fail(1, "LockOrderViolation", "rank-inversion")
    },
    {
      // lockdep accepts this with recursive readers because it saw no writer take X before Y; the declared ranks say
      // a writer may (X before Y is legal in every mode), so the declared check reports it for both kinds
      id: "RL-LR: C1: Rd(X1),L(Y1); C2: L(Y1); Rd(X1) (declared ranks: fails for both kinds)",
      contexts: ({ L, Rd, X1, Y1 }) => [[Rd(X1), L(Y1)], [L(Y1), Rd(X1)]],
      recursive: fail(1, "LockOrderViolation", "rank-inversion"),
      queued: fail(1, "LockOrderViolation", "rank-inversion")
    },
    {
      id: "WL-LW: C1: W(X1),L(Y1); C2: L(Y1); W(X1)*",
      contexts: ({ L, W, X1, Y1 }) => [[W(X1), L(Y1)], [L(Y1), W(X1)]],
      recursive: fail(1, "LockOrderViolation", "rank-inversion"),
      queued: fail(1, "LockOrderViolation", "rank-inversion")
    }
  ]

  for (const row of rows) {
    it.effect(row.id, () =>
      provide(Effect.gen(function*() {
        for (const readers of ["recursive", "queued"] as const) {
          const locks = yield* rwLocks(readers).pipe(Effect.provide(LockRegistry.layer))
          const verdict = yield* scenario(row.contexts(locks))
          assert.deepStrictEqual(verdict, row[readers], readers)
        }
      })))
  }
})

describe("gate nesting", () => {
  const locks = Effect.gen(function*() {
    return {
      X1: yield* OrderedLock.make({ name: "X", rank: 1, key: "1" }),
      Y1: yield* OrderedLock.make({ name: "Y", rank: 2, key: "1" }),
      Y2: yield* OrderedLock.make({ name: "Y", rank: 2, key: "2" })
    }
  })

  it.effect("L(X1); L(Y1) under X1; L(Y2) under X1 is legal", () =>
    provide(Effect.gen(function*() {
      const { X1, Y1, Y2 } = yield* locks
      const under = { nestedUnder: X1 }
      assert.deepStrictEqual(
        yield* scenario([[OrderedLock.withLock(X1), OrderedLock.withLock(Y1, under), OrderedLock.withLock(Y2, under)]]),
        OK
      )
    })))

  it.effect("the same without the gate annotation is a same-rank violation", () =>
    provide(Effect.gen(function*() {
      const { X1, Y1, Y2 } = yield* locks
      assert.deepStrictEqual(
        yield* scenario([[OrderedLock.withLock(X1), OrderedLock.withLock(Y1), OrderedLock.withLock(Y2)]]),
        fail(0, "LockOrderViolation", "same-rank")
      )
    })))

  it.effect("nesting under a gate that is not held fails", () =>
    provide(Effect.gen(function*() {
      const { X1, Y1 } = yield* locks
      assert.deepStrictEqual(
        yield* scenario([[OrderedLock.withLock(Y1, { nestedUnder: X1 })]]),
        fail(0, "LockOrderViolation", "gate-not-held")
      )
    })))

  it.effect("withLocks takes same-rank instances in canonical order whatever order they are given in", () =>
    provide(Effect.gen(function*() {
      const { X1, Y1, Y2 } = yield* locks
      const order = yield* Ref.make<ReadonlyArray<string>>([])
      const snapshotOrder = Effect.flatMap(
        LockRegistry.snapshot(),
        (s) => Ref.set(order, s.fibers[0]!.held.map((h) => `${h.lock.name}${h.lock.key}`))
      )
      yield* OrderedLock.withLocks([Y2, X1, Y1], snapshotOrder)
      assert.deepStrictEqual(yield* Ref.get(order), ["X1", "Y1", "Y2"])
      yield* assertNoLeaks
    })))
})

describe("go-deadlock suite", () => {
  it.effect("GD-consistent: 10x2 fibers taking a.W, b.W, c.R and a.R, b.W, c.W report nothing", () =>
    provide(Effect.gen(function*() {
      const a = yield* OrderedRWLock.make({ name: "a", rank: 1 })
      const b = yield* OrderedRWLock.make({ name: "b", rank: 2 })
      const c = yield* OrderedRWLock.make({ name: "c", rank: 3 })
      const one = Effect.yieldNow().pipe(
        OrderedRWLock.withReadLock(c),
        OrderedRWLock.withWriteLock(b),
        OrderedRWLock.withWriteLock(a)
      )
      const two = Effect.yieldNow().pipe(
        OrderedRWLock.withWriteLock(c),
        OrderedRWLock.withWriteLock(b),
        OrderedRWLock.withReadLock(a)
      )
      const fibers = yield* Effect.forEach(
        Array.from({ length: 10 }),
        () => Effect.all([Effect.fork(Effect.repeatN(one, 5)), Effect.fork(Effect.repeatN(two, 5))])
      )
      yield* Effect.forEach(fibers.flat(), Fiber.join)
      yield* assertNoLeaks
    })))

  it.effect("GD-order: F1: a, b; later F2: b, a.R gives exactly one order report (a read lock counts)", () =>
    provide(
      Effect.gen(function*() {
        const a = yield* OrderedRWLock.make({ name: "gd-order.a", rank: 1 })
        const b = yield* OrderedLock.make({ name: "gd-order.b", rank: 2 })
        const reports = Metric.value(
          LockMetrics.orderViolations.pipe(Metric.tagged("lock", "gd-order.a"), Metric.tagged("mode", "read"))
        )
        const before = (yield* reports).count
        yield* Effect.flatMap(
          Effect.fork(OrderedRWLock.withWriteLock(a, OrderedLock.withLock(b, Effect.void))),
          Fiber.join
        )
        yield* Effect.flatMap(
          Effect.fork(OrderedLock.withLock(b, OrderedRWLock.withReadLock(a, Effect.void))),
          Fiber.join
        )
        assert.strictEqual((yield* reports).count - before, 1)
        yield* assertNoLeaks
      }),
      { mode: "warn" }
    ))

  it.effect("GD-hard: with order checks off and a 20 ms timeout, a fiber waiting on a held lock times out once", () =>
    provide(
      Effect.gen(function*() {
        const m = yield* OrderedLock.make({ name: "m", rank: 1 })
        const scope = yield* Scope.make()
        yield* Scope.extend(OrderedLock.lock(m), scope)
        const f = yield* Effect.fork(Effect.exit(OrderedLock.withLock(m, Effect.void)))
        yield* untilWaiting(m, 1)
        yield* TestClock.adjust("20 millis")
        const error = expectFailure(yield* Fiber.join(f), "LockTimeout")
        assert.strictEqual(error.timeoutMs, 20)
        assert.strictEqual(error.holders.length, 1)
        yield* Scope.close(scope, Exit.void)
        yield* assertNoLeaks
      }),
      { mode: "off", timeout: "20 millis" }
    ))

  it.effect("GD-rw: main reads; F1 writes (waits); F2 reads (queued behind the writer): two timeouts", () =>
    provide(
      Effect.gen(function*() {
        const l = yield* OrderedRWLock.make({ name: "rw", rank: 1 })
        // forked before main takes its read lock, so they do not inherit it (see the fork policy)
        const go = yield* Deferred.make<void>()
        const readerGo = yield* Deferred.make<void>()
        const writer = yield* Effect.fork(
          Effect.zipRight(Deferred.await(go), Effect.exit(OrderedRWLock.withWriteLock(l, Effect.void)))
        )
        const reader = yield* Effect.fork(
          Effect.zipRight(Deferred.await(readerGo), Effect.exit(OrderedRWLock.withReadLock(l, Effect.void)))
        )
        const scope = yield* Scope.make()
        yield* Scope.extend(OrderedRWLock.readLock(l), scope)
        yield* Deferred.succeed(go, undefined)
        yield* untilWaiting(l, 1)
        yield* Deferred.succeed(readerGo, undefined)
        yield* untilWaiting(l, 2)
        yield* TestClock.adjust("20 millis")
        expectFailure(yield* Fiber.join(writer), "LockTimeout")
        expectFailure(yield* Fiber.join(reader), "LockTimeout")
        yield* Scope.close(scope, Exit.void)
        yield* assertNoLeaks
      }),
      { timeout: "20 millis" }
    ))

  it.effect("GD-many: 100 readers x50 and 3 writers x10: no report, no corruption", () =>
    provide(Effect.gen(function*() {
      const l = yield* OrderedRWLock.make({ name: "many", rank: 1 })
      const state = { value: 0, writing: 0, reading: 0, corrupt: false }
      const write = OrderedRWLock.withWriteLock(
        l,
        Effect.gen(function*() {
          if (state.writing > 0 || state.reading > 0) state.corrupt = true
          state.writing++
          const v = state.value
          yield* Effect.yieldNow()
          state.value = v + 1
          state.writing--
        })
      )
      const read = OrderedRWLock.withReadLock(
        l,
        Effect.gen(function*() {
          if (state.writing > 0) state.corrupt = true
          state.reading++
          yield* Effect.yieldNow()
          state.reading--
        })
      )
      const readers = yield* Effect.forEach(Array.from({ length: 100 }), () => Effect.fork(Effect.repeatN(read, 49)))
      const writers = yield* Effect.forEach(Array.from({ length: 3 }), () => Effect.fork(Effect.repeatN(write, 9)))
      yield* Effect.forEach([...readers, ...writers], Fiber.join)
      assert.strictEqual(state.value, 30)
      assert.isFalse(state.corrupt)
      yield* assertNoLeaks
    })))

  it.effect("GD-dup: F1: a.R then a.W; F2: b then b: two recursion reports", () =>
    provide(Effect.gen(function*() {
      const a = yield* OrderedRWLock.make({ name: "a", rank: 1 })
      const b = yield* OrderedLock.make({ name: "b", rank: 2 })
      const f1 = yield* Effect.fork(
        Effect.exit(OrderedRWLock.withReadLock(a, OrderedRWLock.withWriteLock(a, Effect.void)))
      )
      const f2 = yield* Effect.fork(Effect.exit(OrderedLock.withLock(b, OrderedLock.withLock(b, Effect.void))))
      const upgrade = expectFailure(yield* Fiber.join(f1), "LockUpgrade")
      assert.include(upgrade.message, "read-to-write upgrade refused")
      expectFailure(yield* Fiber.join(f2), "LockRecursion")
      yield* assertNoLeaks
    })))

  it.effect("two readers that both try to upgrade both get an error, not a hang", () =>
    provide(Effect.gen(function*() {
      const a = yield* OrderedRWLock.make({ name: "a", rank: 1 })
      const bothRead = yield* Deferred.make<void>()
      const readers = yield* Ref.make(0)
      const upgrader = OrderedRWLock.withReadLock(
        a,
        Effect.gen(function*() {
          if ((yield* Ref.updateAndGet(readers, (n) => n + 1)) === 2) yield* Deferred.succeed(bothRead, undefined)
          yield* Deferred.await(bothRead)
          return yield* OrderedRWLock.withWriteLock(a, Effect.void)
        })
      )
      const [one, two] = yield* Effect.all([Effect.exit(upgrader), Effect.exit(upgrader)], { concurrency: 2 })
      expectFailure(one!, "LockUpgrade")
      expectFailure(two!, "LockUpgrade")
      yield* assertNoLeaks
    })))
})

describe("races", () => {
  it.effect("a real ABBA race ends without a deadlock: the inverted acquisition fails before it waits", () =>
    provide(Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "A", rank: 1 })
      const b = yield* OrderedLock.make({ name: "B", rank: 2 })
      const bothIn = yield* Deferred.make<void>()
      const inside = yield* Ref.make(0)
      const rendezvous = Effect.zipRight(
        Effect.flatMap(
          Ref.updateAndGet(inside, (n) => n + 1),
          (n) => n === 2 ? Deferred.succeed(bothIn, undefined) : Effect.void
        ),
        Deferred.await(bothIn)
      )
      const ab = OrderedLock.withLock(a, Effect.zipRight(rendezvous, OrderedLock.withLock(b, Effect.succeed("ab"))))
      const ba = OrderedLock.withLock(b, Effect.zipRight(rendezvous, OrderedLock.withLock(a, Effect.succeed("ba"))))
      const [abExit, baExit] = yield* Effect.all([Effect.exit(ab), Effect.exit(ba)], { concurrency: 2 })
      assert.deepStrictEqual(abExit, Exit.succeed("ab"))
      assert.strictEqual(expectFailure(baExit!, "LockOrderViolation").rule, "rank-inversion")
      yield* assertNoLeaks
    })))

  it.effect("a waiting writer that times out lets the readers queued behind it in at once", () =>
    provide(Effect.gen(function*() {
      const l = yield* OrderedRWLock.make({ name: "rw", rank: 1 })
      const go = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(OrderedRWLock.withReadLock(l, Deferred.await(gate)))
      const writer = yield* Effect.fork(
        Effect.zipRight(
          Deferred.await(go),
          Effect.exit(OrderedRWLock.withWriteLock(l, Effect.void, { timeout: "10 millis" }))
        )
      )
      const reader = yield* Effect.fork(
        Effect.zipRight(
          Deferred.await(go),
          Effect.zipRight(untilWaiting(l, 1), OrderedRWLock.withReadLock(l, Effect.succeed("read")))
        )
      )
      yield* Deferred.succeed(go, undefined)
      yield* untilWaiting(l, 2)
      yield* TestClock.adjust("10 millis")
      expectFailure(yield* Fiber.join(writer), "LockTimeout")
      // the reader was queued behind the writer; with the writer gone it reads alongside the holder
      assert.strictEqual(yield* Fiber.join(reader), "read")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      yield* assertNoLeaks
    })))
})

describe("Effect-specific rows", () => {
  it.effect("EF-child: a child of the holder is not an owner; taking the parent's lock is reported", () =>
    provide(Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "a", rank: 1 })
      const b = yield* OrderedLock.make({ name: "b", rank: 2 })
      const [owner, childOwner, childTakesIt, childTakesLower] = yield* OrderedLock.withLock(
        b,
        Effect.gen(function*() {
          const owner = yield* OrderedLock.heldByCurrentFiber(b)
          const childOwner = yield* Effect.flatMap(Effect.fork(OrderedLock.heldByCurrentFiber(b)), Fiber.join)
          const childTakesIt = yield* Effect.flatMap(
            Effect.fork(Effect.exit(OrderedLock.withLock(b, Effect.void))),
            Fiber.join
          )
          const childTakesLower = yield* Effect.flatMap(
            Effect.fork(Effect.exit(OrderedLock.withLock(a, Effect.void))),
            Fiber.join
          )
          return [owner, childOwner, childTakesIt, childTakesLower] as const
        })
      )
      assert.isTrue(owner)
      assert.isFalse(childOwner)
      const held = expectFailure(childTakesIt, "LockOrderViolation")
      assert.strictEqual(held.rule, "held-by-ancestor")
      assert.isTrue(held.held[0]!.inherited)
      assert.strictEqual(expectFailure(childTakesLower, "LockOrderViolation").rule, "rank-inversion")
      yield* assertNoLeaks
    })))

  it.effect("EF-child: a child forked before its parent took a lock does not inherit it", () =>
    provide(Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "a", rank: 1 })
      const b = yield* OrderedLock.make({ name: "b", rank: 2 })
      const go = yield* Deferred.make<void>()
      const child = yield* Effect.fork(Effect.zipRight(Deferred.await(go), OrderedLock.withLock(a, Effect.void)))
      yield* OrderedLock.withLock(b, Effect.zipRight(Deferred.succeed(go, undefined), Effect.yieldNow()))
      yield* Fiber.join(child)
      yield* assertNoLeaks
    })))

  it.effect("join policy: Effect.all does not merge a child's held set into its parent", () =>
    provide(Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "a", rank: 1 })
      const b = yield* OrderedLock.make({ name: "b", rank: 2 })
      const c = yield* OrderedLock.make({ name: "c", rank: 3 })
      const exit = yield* OrderedLock.withLock(
        b,
        Effect.gen(function*() {
          yield* Effect.all([OrderedLock.withLock(c, Effect.void), OrderedLock.withLock(c, Effect.void)], {
            concurrency: 2
          })
          // the parent still holds b: taking a is still an inversion
          return yield* Effect.exit(OrderedLock.withLock(a, Effect.void))
        })
      )
      assert.strictEqual(expectFailure(exit, "LockOrderViolation").rule, "rank-inversion")
      yield* assertNoLeaks
    })))

  it.effect("EF-fair: a steady stream of readers cannot starve a waiting writer", () =>
    provide(Effect.gen(function*() {
      const l = yield* OrderedRWLock.make({ name: "fair", rank: 1 })
      const stop = yield* Ref.make(false)
      const readsAfterWriter = yield* Ref.make(0)
      const writerWaiting = yield* Ref.make(false)
      const reader = Effect.whileLoop({
        while: () => true,
        body: () =>
          OrderedRWLock.withReadLock(
            l,
            Effect.gen(function*() {
              if (yield* Ref.get(writerWaiting)) yield* Ref.update(readsAfterWriter, (n) => n + 1)
              yield* Effect.yieldNow()
            })
          ),
        step: () => undefined
      })
      const readers = yield* Effect.forEach(Array.from({ length: 5 }), () => Effect.fork(reader))
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      yield* Ref.set(writerWaiting, true)
      yield* OrderedRWLock.withWriteLock(l, Ref.set(stop, true))
      // only readers already admitted (at most one round of the five) ran after the writer queued
      assert.isAtMost(yield* Ref.get(readsAfterWriter), 5)
      yield* Effect.forEach(readers, Fiber.interrupt)
      yield* assertNoLeaks
    })))

  it.effect("EF-overrelease: releasing is tied to the hold, so nothing is ever released twice", () =>
    provide(Effect.gen(function*() {
      const l = yield* OrderedLock.make({ name: "l", rank: 1 })
      const scope = yield* Scope.make()
      yield* Scope.extend(OrderedLock.lock(l), scope)
      yield* Scope.close(scope, Exit.void)
      yield* Scope.close(scope, Exit.void)
      // had the second close released again, two fibers could now hold the lock together
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(OrderedLock.withLock(l, Deferred.await(gate)))
      yield* Effect.yieldNow()
      assert.isFalse(yield* OrderedLock.tryLock(l).pipe(Effect.scoped))
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      yield* assertNoLeaks
    })))

  it.effect("the body of a read/write lock stays interruptible", () =>
    provide(Effect.gen(function*() {
      const l = yield* OrderedRWLock.make({ name: "rw", rank: 1 })
      for (const take of [OrderedRWLock.withReadLock(l), OrderedRWLock.withWriteLock(l)]) {
        const started = yield* Deferred.make<void>()
        const f = yield* Effect.fork(take(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(f)
        assert.isTrue(Exit.isInterrupted(yield* Fiber.await(f)))
      }
      yield* assertNoLeaks
    })))
})
