/**
 * Deadlock detection. The learned graph: every scenario of locks.md in its learned-graph form (lockdep's selftests,
 * the read/write table, gate nesting), each run once with the contexts in one fiber and once with each context in its
 * own live fiber (the fibers run one after another, each started when the previous one is done), in a fresh registry
 * each; the verdicts must match. The locks run in `"warn"` order mode, so the declared ranks log and the learned
 * graph decides. Then the chain cache, the reactions, the reports, the go-deadlock rows, actual deadlocks of 2, 3 and
 * 5 fibers, read/write waits, plain `Fiber.join`s left to the timeout fallback (no false positives from
 * `Deferred.await`), the timeout fallback, the graph export and forgetting a class. Joins through
 * `DeadlockDetector.join` / `await`, which are edges: `joins.test.ts`.
 */
import { Explore, Watchdog } from "@core-stability/testing"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as DeadlockDetector from "../src/DeadlockDetector.js"
import * as LockConfig from "../src/LockConfig.js"
import type { LockError } from "../src/LockError.js"
import * as LockMetrics from "../src/LockMetrics.js"
import * as LockRegistry from "../src/LockRegistry.js"
import * as OrderedLock from "../src/OrderedLock.js"
import * as OrderedRWLock from "../src/OrderedRWLock.js"
import { assertNoLeaks, expectFailure, failureOf, untilWaiting } from "./utils.js"

type Acquire = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | LockError, R>

const nested = (acquisitions: ReadonlyArray<Acquire>): Effect.Effect<void, LockError> =>
  acquisitions.reduceRight<Effect.Effect<void, LockError>>((inner, acquire) => acquire(inner), Effect.void)

interface Verdict {
  readonly context: number
  readonly tag: string | undefined
  readonly kind: string | undefined
}

const OK: Verdict = { context: -1, tag: undefined, kind: undefined }
const potential = (context: number, kind: "circular" | "recursive"): Verdict => ({
  context,
  tag: "PotentialDeadlock",
  kind
})

const verdictOf = (exits: ReadonlyArray<Exit.Exit<void, LockError>>): Verdict => {
  const context = exits.findIndex(Exit.isFailure)
  const error = context < 0 ? undefined : failureOf(exits[context]!)
  return { context, tag: error?._tag, kind: error?._tag === "PotentialDeadlock" ? error.kind : undefined }
}

/** Warn order mode (ranks only log), learned graph failing, logs silenced. */
const Learning = LockConfig.layer({ mode: "warn", detection: { potential: "fail" } })

const quiet = <A, E, R>(self: Effect.Effect<A, E, R>) => Logger.withMinimumLogLevel(self, LogLevel.None)

/**
 * Runs the contexts built by `build` in one fiber, then, with fresh locks in a fresh registry, each in its own fiber
 * (all forked at once, each starting when the previous one is done); asserts both verdicts match and returns it.
 */
const learned = <L>(build: Effect.Effect<L>, contexts: (locks: L) => ReadonlyArray<ReadonlyArray<Acquire>>) =>
  Effect.gen(function*() {
    const inOneFiber = yield* Effect.gen(function*() {
      const cs = contexts(yield* build)
      return verdictOf(yield* Effect.forEach(cs, (c) => Effect.exit(nested(c))))
    }).pipe(Effect.provide(LockRegistry.layer))
    const inFibers = yield* Effect.gen(function*() {
      const cs = contexts(yield* build)
      const done = yield* Effect.forEach(cs, () => Deferred.make<void>())
      const fibers = yield* Effect.forEach(cs, (c, i) =>
        Effect.fork(Effect.gen(function*() {
          if (i > 0) yield* Deferred.await(done[i - 1]!)
          const exit = yield* Effect.exit(nested(c))
          yield* Deferred.succeed(done[i]!, undefined)
          return exit
        })))
      const verdict = verdictOf(yield* Effect.forEach(fibers, Fiber.join))
      yield* assertNoLeaks
      return verdict
    }).pipe(Effect.provide(LockRegistry.layer))
    assert.deepStrictEqual(inFibers, inOneFiber)
    return inOneFiber
  }).pipe(Effect.provide(Learning), quiet)

/** A, B, C, D (ranks 1-4) taken exclusively, or as read locks of the given reader kind. */
const fourLocks = (kind: "exclusive" | OrderedRWLock.ReaderKind) =>
  Effect.gen(function*() {
    const names = ["A", "B", "C", "D"] as const
    if (kind === "exclusive") {
      const locks = yield* Effect.forEach(names, (name, i) => OrderedLock.make({ name, rank: i + 1 }))
      return locks.map((lock): Acquire => OrderedLock.withLock(lock))
    }
    const locks = yield* Effect.forEach(names, (name, i) => OrderedRWLock.make({ name, rank: i + 1, readers: kind }))
    return locks.map((lock): Acquire => OrderedRWLock.withReadLock(lock))
  })

/** X1, X2 (class X, rank 1) and Y1 (rank 2), read/write locks of the given reader kind. */
const xy = (readers: OrderedRWLock.ReaderKind) =>
  Effect.gen(function*() {
    const X1 = yield* OrderedRWLock.make({ name: "X", rank: 1, key: "1", readers })
    const X2 = yield* OrderedRWLock.make({ name: "X", rank: 1, key: "2", readers })
    const Y1 = yield* OrderedLock.make({ name: "Y", rank: 2, key: "1" })
    return { X1, X2, Y1 }
  })

const Rd = (lock: OrderedRWLock.OrderedRWLock): Acquire => OrderedRWLock.withReadLock(lock)
const W = (lock: OrderedRWLock.OrderedRWLock): Acquire => OrderedRWLock.withWriteLock(lock)
const L = (lock: OrderedLock.OrderedLock): Acquire => OrderedLock.withLock(lock)

describe("learned graph: lockdep's selftests (exclusive | recursive readers)", () => {
  it.effect("AA: L(X1); L(X2) is possible recursive locking; recursive readers are fine", () =>
    Effect.gen(function*() {
      const two = (kind: "exclusive" | OrderedRWLock.ReaderKind) =>
        Effect.gen(function*() {
          if (kind === "exclusive") {
            const x1 = yield* OrderedLock.make({ name: "X", rank: 1, key: "1" })
            const x2 = yield* OrderedLock.make({ name: "X", rank: 1, key: "2" })
            return [L(x1), L(x2)]
          }
          const { X1, X2 } = yield* xy(kind)
          return [Rd(X1), Rd(X2)]
        })
      assert.deepStrictEqual(yield* learned(two("exclusive"), (x) => [x]), potential(0, "recursive"))
      assert.deepStrictEqual(yield* learned(two("recursive"), (x) => [x]), OK)
    }))

  it.effect("ABBA: C1: A,B; C2: L(B); L(A)*", () =>
    Effect.gen(function*() {
      const contexts = ([A, B]: ReadonlyArray<Acquire>) => [[A!, B!], [B!, A!]]
      assert.deepStrictEqual(yield* learned(fourLocks("exclusive"), contexts), potential(1, "circular"))
      assert.deepStrictEqual(yield* learned(fourLocks("recursive"), contexts), OK)
    }))

  it.effect("ABBCCA: C1: A,B; C2: B,C; C3: L(C); L(A)*", () =>
    Effect.gen(function*() {
      const contexts = ([A, B, C]: ReadonlyArray<Acquire>) => [[A!, B!], [B!, C!], [C!, A!]]
      assert.deepStrictEqual(yield* learned(fourLocks("exclusive"), contexts), potential(2, "circular"))
      assert.deepStrictEqual(yield* learned(fourLocks("recursive"), contexts), OK)
    }))

  it.effect("ABCABC: C1: A,B; C2: C,A; C3: L(B); L(C)* (the last edge closes it, where ranks fail at C2)", () =>
    Effect.gen(function*() {
      const contexts = ([A, B, C]: ReadonlyArray<Acquire>) => [[A!, B!], [C!, A!], [B!, C!]]
      assert.deepStrictEqual(yield* learned(fourLocks("exclusive"), contexts), potential(2, "circular"))
      assert.deepStrictEqual(yield* learned(fourLocks("recursive"), contexts), OK)
    }))

  it.effect("ABBCCDDA: C1: A,B; C2: B,C; C3: C,D; C4: L(D); L(A)*", () =>
    Effect.gen(function*() {
      const contexts = ([A, B, C, D]: ReadonlyArray<Acquire>) => [[A!, B!], [B!, C!], [C!, D!], [D!, A!]]
      assert.deepStrictEqual(yield* learned(fourLocks("exclusive"), contexts), potential(3, "circular"))
      assert.deepStrictEqual(yield* learned(fourLocks("recursive"), contexts), OK)
    }))

  it.effect("UNLOCK-ORDER: L(A); L(B); U(A); U(B), then B,A: only B -> A is new, and A -> B was learned", () =>
    Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "A", rank: 1 })
      const b = yield* OrderedLock.make({ name: "B", rank: 2 })
      const sa = yield* Scope.make()
      const sb = yield* Scope.make()
      yield* Scope.extend(OrderedLock.lock(a), sa)
      yield* Scope.extend(OrderedLock.lock(b), sb)
      yield* Scope.close(sa, Exit.void)
      yield* Scope.close(sb, Exit.void)
      // out-of-order release kept the stack right: taking A now has no edge from B
      yield* OrderedLock.withLock(a, Effect.void)
      const graph = yield* DeadlockDetector.dependencyGraph
      assert.deepStrictEqual(graph.edges.map((e) => `${e.from}->${e.to}`), ["A->B"])
      expectFailure(
        yield* Effect.exit(OrderedLock.withLock(b, OrderedLock.withLock(a, Effect.void))),
        "PotentialDeadlock"
      )
      yield* assertNoLeaks
    }).pipe(Effect.provide(Learning), Effect.provide(LockRegistry.layer), quiet))
})

describe("learned graph: read/write locks of one class (recursive reader | writer-queued reader)", () => {
  const both = (
    contexts: (locks: Effect.Effect.Success<ReturnType<typeof xy>>) => ReadonlyArray<ReadonlyArray<Acquire>>
  ) => Effect.all({ recursive: learned(xy("recursive"), contexts), queued: learned(xy("queued"), contexts) })

  it.effect("RR1: Rd(X1); Rd(X1): OK | FAIL (recursion)", () =>
    Effect.gen(function*() {
      const verdicts = yield* both(({ X1 }) => [[Rd(X1), Rd(X1)]])
      assert.deepStrictEqual(verdicts.recursive, OK)
      assert.deepStrictEqual(verdicts.queued, { context: 0, tag: "LockRecursion", kind: undefined })
    }))

  it.effect("RR2: Rd(X1); Rd(X2): OK | FAIL", () =>
    Effect.gen(function*() {
      const verdicts = yield* both(({ X1, X2 }) => [[Rd(X1), Rd(X2)]])
      assert.deepStrictEqual(verdicts, { recursive: OK, queued: potential(0, "recursive") })
    }))

  it.effect("RW: Rd(X1); W(X2)*: FAIL | FAIL", () =>
    Effect.gen(function*() {
      const verdicts = yield* both(({ X1, X2 }) => [[Rd(X1), W(X2)]])
      assert.deepStrictEqual(verdicts, { recursive: potential(0, "recursive"), queued: potential(0, "recursive") })
    }))

  it.effect("WR: W(X1); Rd(X2)*: FAIL | FAIL", () =>
    Effect.gen(function*() {
      const verdicts = yield* both(({ X1, X2 }) => [[W(X1), Rd(X2)]])
      assert.deepStrictEqual(verdicts, { recursive: potential(0, "recursive"), queued: potential(0, "recursive") })
    }))

  it.effect("RL-LW: C1: Rd(X1),L(Y1); C2: L(Y1); W(X1)*: FAIL | FAIL", () =>
    Effect.gen(function*() {
      const verdicts = yield* both(({ X1, Y1 }) => [[Rd(X1), L(Y1)], [L(Y1), W(X1)]])
      assert.deepStrictEqual(verdicts, { recursive: potential(1, "circular"), queued: potential(1, "circular") })
    }))

  it.effect("RL-LR: C1: Rd(X1),L(Y1); C2: L(Y1); Rd(X1): OK | FAIL (the strong-path rule)", () =>
    Effect.gen(function*() {
      const verdicts = yield* both(({ X1, Y1 }) => [[Rd(X1), L(Y1)], [L(Y1), Rd(X1)]])
      assert.deepStrictEqual(verdicts, { recursive: OK, queued: potential(1, "circular") })
    }))

  it.effect("WL-LW: C1: W(X1),L(Y1); C2: L(Y1); W(X1)*: FAIL | FAIL", () =>
    Effect.gen(function*() {
      const verdicts = yield* both(({ X1, Y1 }) => [[W(X1), L(Y1)], [L(Y1), W(X1)]])
      assert.deepStrictEqual(verdicts, { recursive: potential(1, "circular"), queued: potential(1, "circular") })
    }))
})

describe("learned graph: nesting", () => {
  const gateLocks = Effect.gen(function*() {
    const gate = yield* OrderedLock.make({ name: "X", rank: 1 })
    const y1 = yield* OrderedLock.make({ name: "Y", rank: 2, key: "1" })
    const y2 = yield* OrderedLock.make({ name: "Y", rank: 2, key: "2" })
    return { gate, y1, y2 }
  })

  it.effect("L(X1); L(Y1) and L(Y2) nested under X1: OK; nested under a gate that is not held: FAIL", () =>
    Effect.gen(function*() {
      const underGate = yield* learned(gateLocks, ({ gate, y1, y2 }) => [[
        L(gate),
        OrderedLock.withLock(y1, { nestedUnder: gate }),
        OrderedLock.withLock(y2, { nestedUnder: gate })
      ]])
      assert.deepStrictEqual(underGate, OK)
      const noGate = yield* learned(gateLocks, ({ gate, y1, y2 }) => [[
        OrderedLock.withLock(y1, { nestedUnder: gate }),
        OrderedLock.withLock(y2, { nestedUnder: gate })
      ]])
      assert.deepStrictEqual(noGate, potential(0, "recursive"))
    }))

  it.effect("withLocks batches learn batch edges between their classes; a cycle of batch edges only is no deadlock", () =>
    Effect.gen(function*() {
      const pa = yield* OrderedLock.make({ name: "P", rank: 1, key: "a" })
      const pb = yield* OrderedLock.make({ name: "P", rank: 1, key: "b" })
      const qa = yield* OrderedLock.make({ name: "Q", rank: 1, key: "a" })
      const qb = yield* OrderedLock.make({ name: "Q", rank: 1, key: "b" })
      const c = yield* OrderedLock.make({ name: "C", rank: 2 })
      yield* OrderedLock.withLocks([pa, qb], Effect.void)
      // P -> Q and Q -> P, both batch edges: both batches are in canonical order, so this is no potential deadlock
      yield* OrderedLock.withLocks([pb, qa], Effect.void)
      // the whole batch is a source of later edges
      yield* OrderedLock.withLocks([pa, qb], OrderedLock.withLock(c, Effect.void))
      const graph = yield* DeadlockDetector.dependencyGraph
      assert.deepStrictEqual(graph.edges.map((e) => `${e.from}->${e.to}`).sort(), ["P->C", "P->Q", "Q->C", "Q->P"])
      assert.strictEqual((yield* DeadlockDetector.stats).reports, 0)
    }).pipe(Effect.provide(LockConfig.layer({ detection: { potential: "fail" } })), Effect.provide(LockRegistry.layer)))

  it.effect("a try-lock gets no edge into itself but is the source of later edges", () =>
    Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "A", rank: 1 })
      const t = yield* OrderedLock.make({ name: "T", rank: 2 })
      const b = yield* OrderedLock.make({ name: "B", rank: 3 })
      yield* OrderedLock.withLock(a, OrderedLock.withLockIfAvailable(t, OrderedLock.withLock(b, Effect.void)))
      const graph = yield* DeadlockDetector.dependencyGraph
      // A -> T is not learned; T -> B is, and so is A -> B (the walk goes past the try-lock to the nearest lock)
      assert.deepStrictEqual(graph.edges.map((e) => `${e.from}->${e.to}`).sort(), ["A->B", "T->B"])
    }).pipe(Effect.provide(LockConfig.layer({ detection: { potential: "fail" } })), Effect.provide(LockRegistry.layer)))

  it.effect("strict mode: a rank inversion fails as LockOrderViolation before the graph sees it", () =>
    Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "A", rank: 1 })
      const b = yield* OrderedLock.make({ name: "B", rank: 2 })
      yield* OrderedLock.withLock(a, OrderedLock.withLock(b, Effect.void))
      const exit = yield* Effect.exit(OrderedLock.withLock(b, OrderedLock.withLock(a, Effect.void)))
      expectFailure(exit, "LockOrderViolation")
      assert.strictEqual((yield* DeadlockDetector.stats).reports, 0)
    }).pipe(
      Effect.provide(LockConfig.layer({ mode: "strict", detection: { potential: "fail" } })),
      Effect.provide(LockRegistry.layer)
    ))
})

describe("chain cache and reactions", () => {
  it.effect("each distinct chain (with modes) is validated once, then found in the cache", () =>
    Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "A", rank: 1 })
      const x = yield* OrderedRWLock.make({ name: "X", rank: 2 })
      const read = OrderedLock.withLock(a, OrderedRWLock.withReadLock(x, Effect.void))
      const write = OrderedLock.withLock(a, OrderedRWLock.withWriteLock(x, Effect.void))
      yield* read
      const first = yield* DeadlockDetector.stats
      // [] + A, [A] + X(read)
      assert.strictEqual(first.chains, 2)
      for (let i = 0; i < 10; i++) yield* read
      const cached = yield* DeadlockDetector.stats
      assert.strictEqual(cached.chains, 2)
      assert.strictEqual(cached.cacheHits - first.cacheHits, 20)
      assert.strictEqual(cached.checks, first.checks)
      // the key includes the mode: [A] + X(write) is a new chain, and A -(EN)-> X a new dependency type
      yield* write
      const moded = yield* DeadlockDetector.stats
      assert.strictEqual(moded.chains, 3)
      assert.strictEqual(moded.edges, 1)
      const graph = yield* DeadlockDetector.dependencyGraph
      assert.deepStrictEqual(graph.edges[0]!.types, ["EN"])
      assert.strictEqual(graph.edges.length, 1)
    }).pipe(Effect.provide(LockConfig.layer({ detection: { potential: "fail" } })), Effect.provide(LockRegistry.layer)))

  it.effect("warn: each cycle is reported once, the acquisition proceeds, and checking continues", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => {
        logs.push(Array.isArray(message) ? message.join(" ") : String(message))
      })
      const [a, b, c] = yield* Effect.forEach(["A", "B", "C"], (name) => OrderedLock.make({ name, rank: 1 }))
      const program = Effect.gen(function*() {
        yield* OrderedLock.withLock(a!, OrderedLock.withLock(b!, Effect.void))
        yield* OrderedLock.withLock(b!, OrderedLock.withLock(a!, Effect.void))
        yield* OrderedLock.withLock(b!, OrderedLock.withLock(a!, Effect.void))
        yield* OrderedLock.withLock(b!, OrderedLock.withLock(c!, Effect.void))
        yield* OrderedLock.withLock(c!, OrderedLock.withLock(a!, Effect.void))
      })
      yield* program.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      const reports = logs.filter((line) => line.includes("possible circular locking dependency: "))
      const cycles = reports.filter((line) => line.includes("closes a cycle"))
      assert.strictEqual(cycles.length, 2)
      assert.include(cycles[0]!, "closes a cycle: B -> A -> B")
      assert.include(cycles[1]!, "closes a cycle: C -> A -> B -> C")
      const stats = yield* DeadlockDetector.stats
      assert.strictEqual(stats.reports, 2)
      const counted = yield* Metric.value(
        LockMetrics.potentialDeadlocks.pipe(Metric.tagged("lock", "A"), Metric.tagged("mode", "exclusive"))
      )
      assert.isAtLeast(counted.count, 2)
    }).pipe(
      Effect.provide(LockConfig.layer({ mode: "warn", detection: { potential: "warn" } })),
      Effect.provide(LockRegistry.layer)
    ))

  it.effect("fail: the failing order fails every time, from the cache, and is reported once", () =>
    Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "A", rank: 1 })
      const b = yield* OrderedLock.make({ name: "B", rank: 1, key: "b" })
      yield* OrderedLock.withLock(a, OrderedLock.withLock(b, Effect.void))
      const inverted = OrderedLock.withLock(b, OrderedLock.withLock(a, Effect.void))
      expectFailure(yield* Effect.exit(inverted), "PotentialDeadlock")
      const once = yield* DeadlockDetector.stats
      expectFailure(yield* Effect.exit(inverted), "PotentialDeadlock")
      const twice = yield* DeadlockDetector.stats
      assert.strictEqual(twice.reports, 1)
      assert.strictEqual(twice.checks, once.checks)
      // the inverted edge was not learned
      assert.strictEqual(twice.edges, 1)
    }).pipe(Effect.provide(Learning), Effect.provide(LockRegistry.layer), quiet))

  it.effect("off: nothing is learned", () =>
    Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "A", rank: 1 })
      const b = yield* OrderedLock.make({ name: "B", rank: 2 })
      yield* OrderedLock.withLock(a, OrderedLock.withLock(b, Effect.void))
      yield* OrderedLock.withLock(b, OrderedLock.withLock(a, Effect.void))
      assert.deepStrictEqual(yield* DeadlockDetector.stats, {
        classes: 2,
        edges: 0,
        chains: 0,
        cacheHits: 0,
        checks: 0,
        reports: 0,
        deadlocks: 0,
        joins: 0
      })
    }).pipe(Effect.provide(LockConfig.layer({ mode: "warn" })), Effect.provide(LockRegistry.layer), quiet))
})

describe("reports", () => {
  it.effect("a potential deadlock names the cycle, each edge's fiber and sites, and renders the scenario", () =>
    Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "Bank.ledger", rank: 1 })
      const b = yield* OrderedLock.make({ name: "Bank.audit", rank: 1, key: "main" })
      yield* Effect.flatMap(
        Effect.fork(
          LockRegistry.withFiberName(OrderedLock.withLock(a, OrderedLock.withLock(b, Effect.void)), "posting")
        ),
        Fiber.join
      )
      const exit = yield* Effect.exit(
        LockRegistry.withFiberName(OrderedLock.withLock(b, OrderedLock.withLock(a, Effect.void)), "report")
      )
      const error = expectFailure(exit, "PotentialDeadlock")
      assert.strictEqual(error.kind, "circular")
      assert.deepStrictEqual(error.cycle.map((link) => [link.from, link.to, link.isNew]), [
        ["Bank.audit", "Bank.ledger", true],
        ["Bank.ledger", "Bank.audit", false]
      ])
      assert.match(error.cycle[0]!.fiber, /^#\d+ \(report\)$/)
      assert.match(error.cycle[1]!.fiber, /^#\d+ \(posting\)$/)
      assert.include(error.cycle[1]!.fromSite!, "DeadlockDetector.test.ts")
      const message = error.message
      assert.include(message, "possible circular locking dependency: ")
      assert.include(message, "closes a cycle: Bank.audit -> Bank.ledger -> Bank.audit")
      assert.include(message, "possible unsafe locking scenario:")
      assert.include(message, "*** DEADLOCK ***")
      const lines = message.split("\n")
      const header = lines.findIndex((line) => line.includes("(report)") && line.includes("(posting)"))
      assert.isAbove(header, 0)
      assert.deepStrictEqual(lines.slice(header + 2, header + 6).map((line) => line.trim()), [
        "lock(Bank.audit)",
        "lock(Bank.ledger)",
        "lock(Bank.ledger)",
        "lock(Bank.audit)"
      ])
    }).pipe(Effect.provide(Learning), Effect.provide(LockRegistry.layer), quiet))

  it.effect("recursive locking renders a one-fiber scenario and names the missing nesting notation", () =>
    Effect.gen(function*() {
      const x1 = yield* OrderedLock.make({ name: "X", rank: 1, key: "1" })
      const x2 = yield* OrderedLock.make({ name: "X", rank: 1, key: "2" })
      const error = expectFailure(
        yield* Effect.exit(OrderedLock.withLock(x1, OrderedLock.withLock(x2, Effect.void))),
        "PotentialDeadlock"
      )
      assert.strictEqual(error.kind, "recursive")
      assert.include(error.message, "possible recursive locking: ")
      assert.include(error.message, "missing lock nesting notation")
      assert.include(error.message, "*** DEADLOCK ***")
    }).pipe(Effect.provide(Learning), Effect.provide(LockRegistry.layer), quiet))
})

describe("go-deadlock's suite", () => {
  const detecting = LockConfig.layer({ mode: "warn", detection: { potential: "fail", actual: "fail" } })

  it.effect("GD-consistent: 10x2 fibers a.W, b.W, c.R and a.R, b.W, c.W: no report", () =>
    Effect.gen(function*() {
      const a = yield* OrderedRWLock.make({ name: "a", rank: 1 })
      const b = yield* OrderedRWLock.make({ name: "b", rank: 2 })
      const c = yield* OrderedRWLock.make({ name: "c", rank: 3 })
      const one = OrderedRWLock.withWriteLock(
        a,
        Effect.zipRight(
          Effect.yieldNow(),
          OrderedRWLock.withWriteLock(b, OrderedRWLock.withReadLock(c, Effect.yieldNow()))
        )
      )
      const two = OrderedRWLock.withReadLock(
        a,
        Effect.zipRight(
          Effect.yieldNow(),
          OrderedRWLock.withWriteLock(b, OrderedRWLock.withWriteLock(c, Effect.yieldNow()))
        )
      )
      yield* Effect.all(Array.from({ length: 10 }, () => [one, two]).flat(), { concurrency: "unbounded" })
      const stats = yield* DeadlockDetector.stats
      assert.strictEqual(stats.reports, 0)
      assert.strictEqual(stats.deadlocks, 0)
      yield* assertNoLeaks
    }).pipe(Effect.provide(detecting), Effect.provide(LockRegistry.layer)))

  it.effect("GD-order: F1: a, b; later F2: b, a.R: exactly one report (a read lock counts)", () =>
    Effect.gen(function*() {
      const a = yield* OrderedRWLock.make({ name: "a", rank: 1 })
      const b = yield* OrderedLock.make({ name: "b", rank: 2 })
      yield* Effect.flatMap(
        Effect.fork(OrderedRWLock.withWriteLock(a, OrderedLock.withLock(b, Effect.void))),
        Fiber.join
      )
      const f2 = OrderedLock.withLock(b, OrderedRWLock.withReadLock(a, Effect.void))
      yield* Effect.flatMap(Effect.fork(f2), Fiber.join)
      yield* Effect.flatMap(Effect.fork(f2), Fiber.join)
      assert.strictEqual((yield* DeadlockDetector.stats).reports, 1)
    }).pipe(
      Effect.provide(LockConfig.layer({ mode: "warn", detection: { potential: "warn" } })),
      Effect.provide(LockRegistry.layer),
      quiet
    ))

  it.effect("GD-hard: order checks off, 20 ms timeout; main holds m; F: m: one timeout report naming the holder", () =>
    Effect.gen(function*() {
      const m = yield* OrderedLock.make({ name: "m", rank: 1 })
      const exit = yield* OrderedLock.withLock(
        m,
        Effect.gen(function*() {
          const f = yield* Effect.fork(Effect.exit(OrderedLock.withLock(m, Effect.void, { timeout: "20 millis" })))
          yield* untilWaiting(m, 1)
          yield* TestClock.adjust("20 millis")
          return yield* Fiber.join(f)
        })
      )
      const error = expectFailure(exit, "LockTimeout")
      assert.strictEqual(error.timeoutMs, 20)
      assert.strictEqual(error.holders.length, 1)
      assert.include(error.message, "lock timeout: ")
      // the holder waits on nothing the wait-for graph sees: the report says so
      assert.deepStrictEqual(error.waitFor.map((link) => link.reason), ["holds"])
      assert.include(error.message, "waits for no lock: it runs, or waits on something the wait-for graph cannot see")
    }).pipe(Effect.provide(LockConfig.layer({ mode: "off" })), Effect.provide(LockRegistry.layer)))

  it.effect("GD-rw: 20 ms timeout; main reads; F1 writes (waits); F2 reads (queued behind F1): two timeouts", () =>
    Effect.gen(function*() {
      const a = yield* OrderedRWLock.make({ name: "a", rank: 1, timeout: "20 millis" })
      const exits = yield* OrderedRWLock.withReadLock(
        a,
        Effect.gen(function*() {
          const f1 = yield* Effect.fork(Effect.exit(OrderedRWLock.withWriteLock(a, Effect.void)))
          yield* untilWaiting(a, 1)
          const f2 = yield* Effect.fork(Effect.exit(OrderedRWLock.withReadLock(a, Effect.void)))
          yield* untilWaiting(a, 2)
          const graph = yield* DeadlockDetector.waitForGraph
          assert.deepStrictEqual(graph.edges.map((e) => e.reason), ["holds", "queued-ahead"])
          yield* TestClock.adjust("20 millis")
          return [yield* Fiber.join(f1), yield* Fiber.join(f2)]
        })
      )
      for (const exit of exits) expectFailure(exit, "LockTimeout")
      yield* assertNoLeaks
    }).pipe(Effect.provide(LockConfig.layer({ mode: "off" })), Effect.provide(LockRegistry.layer)))

  it.effect("GD-many: 100 readers x 50, 3 writers x 10: no report, no lost update", () =>
    Effect.gen(function*() {
      const lock = yield* OrderedRWLock.make({ name: "shared", rank: 1 })
      const counter = yield* Ref.make(0)
      const reader = Effect.forEach(
        Array.from({ length: 50 }),
        () => OrderedRWLock.withReadLock(lock, Effect.asVoid(Ref.get(counter))),
        { discard: true }
      )
      const writer = Effect.forEach(
        Array.from({ length: 10 }),
        () =>
          OrderedRWLock.withWriteLock(
            lock,
            Effect.flatMap(Ref.get(counter), (n) => Effect.zipRight(Effect.yieldNow(), Ref.set(counter, n + 1)))
          ),
        { discard: true }
      )
      yield* Effect.all([...Array.from({ length: 100 }, () => reader), writer, writer, writer], {
        concurrency: "unbounded"
      })
      assert.strictEqual(yield* Ref.get(counter), 30)
      const stats = yield* DeadlockDetector.stats
      assert.strictEqual(stats.reports + stats.deadlocks, 0)
    }).pipe(Effect.provide(detecting), Effect.provide(LockRegistry.layer)))

  it.effect("GD-dup: F1: a.R then a.W; F2: b then b: two recursion reports", () =>
    Effect.gen(function*() {
      const a = yield* OrderedRWLock.make({ name: "a", rank: 1 })
      const b = yield* OrderedLock.make({ name: "b", rank: 2 })
      const f1 = yield* Effect.fork(
        Effect.exit(OrderedRWLock.withReadLock(a, OrderedRWLock.withWriteLock(a, Effect.void)))
      )
      const f2 = yield* Effect.fork(Effect.exit(OrderedLock.withLock(b, OrderedLock.withLock(b, Effect.void))))
      expectFailure(yield* Fiber.join(f1), "LockUpgrade")
      const recursion = expectFailure(yield* Fiber.join(f2), "LockRecursion")
      // the same quality as a learned report: the one-fiber scenario
      assert.include(recursion.message, "possible unsafe locking scenario:")
      assert.include(recursion.message, "  lock(b)\n  lock(b)\n\n  *** DEADLOCK ***")
    }).pipe(Effect.provide(detecting), Effect.provide(LockRegistry.layer)))
})

/**
 * A ring of `n` fibers: fiber i holds lock i, then (once every fiber holds its lock) asks for lock i + 1. The wait of
 * the last fiber to ask closes the cycle: it fails with `DeadlockDetected`, releases its lock, and the rest complete.
 */
const ring = (n: number) =>
  Effect.gen(function*() {
    const locks = yield* Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      (i) => OrderedLock.make({ name: `L${i}`, rank: 1, key: String(i) })
    )
    const held = yield* Effect.forEach(locks, () => Deferred.make<void>())
    const go = yield* Deferred.make<void>()
    const fibers = yield* Effect.forEach(locks, (lock, i) =>
      Effect.fork(Effect.exit(
        OrderedLock.withLock(
          lock,
          Effect.gen(function*() {
            yield* Deferred.succeed(held[i]!, undefined)
            yield* Deferred.await(go)
            yield* OrderedLock.withLock(locks[(i + 1) % n]!, Effect.void)
          })
        ).pipe(LockRegistry.withFiberName(`ring-${i}`))
      )))
    yield* Effect.forEach(held, Deferred.await)
    yield* Deferred.succeed(go, undefined)
    const exits = yield* Effect.forEach(fibers, Fiber.join)
    const failed = exits.filter(Exit.isFailure)
    assert.strictEqual(failed.length, 1, "exactly one victim")
    assert.strictEqual(exits.filter(Exit.isSuccess).length, n - 1, "every other fiber completes")
    const error = expectFailure(failed[0]!, "DeadlockDetected")
    assert.strictEqual(error.cycle.length, n)
    assert.strictEqual(error.cycle[0]!.waiter, error.fiber)
    assert.strictEqual(error.cycle[n - 1]!.blocker, error.fiber)
    assert.strictEqual((yield* DeadlockDetector.stats).deadlocks, 1)
    yield* assertNoLeaks
    return error
  }).pipe(Effect.provide(LockRegistry.layer))

describe("actual deadlocks", () => {
  const plain = LockConfig.layer({ mode: "off" })

  it.effect("2 fibers: the fiber whose wait closed the cycle fails, the other completes", () =>
    Effect.gen(function*() {
      const error = yield* ring(2)
      assert.match(error.fiber, /\(ring-1\)$/)
      assert.include(error.message, "deadlock detected: ")
      assert.include(error.message, "*** DEADLOCK ***")
    }).pipe(Effect.provide(plain)))

  it.effect("3 fibers", () => Effect.asVoid(ring(3)).pipe(Effect.provide(plain)))

  it.effect("5 fibers, in warn mode with the learned graph on too", () =>
    Effect.asVoid(ring(5)).pipe(
      Effect.provide(LockConfig.layer({ mode: "warn", detection: { potential: "warn" } })),
      quiet
    ))

  it.effect("3 fibers under 100 seeded interleavings: one victim, the others complete", () =>
    Effect.asVoid(Explore.explore(ring(3), { runs: 100 })).pipe(Effect.provide(plain)))

  it.effect("3 fibers under the watchdog with the wait-for probe", () =>
    Effect.asVoid(Watchdog.watch(ring(3), { idle: "2 seconds", probes: [DeadlockDetector.waitForProbe] })).pipe(
      Effect.provide(plain)
    ))

  it.effect("read/write waits: a writer waits for a reader, a reader queued behind a writer waits for it", () =>
    Effect.gen(function*() {
      const x = yield* OrderedRWLock.make({ name: "X", rank: 1 })
      const y = yield* OrderedLock.make({ name: "Y", rank: 2 })
      const readHeld = yield* Deferred.make<void>()
      const go = yield* Deferred.make<void>()
      // F1 reads X, then (later) asks for Y
      const f1 = yield* Effect.fork(Effect.exit(OrderedRWLock.withReadLock(
        x,
        Effect.zipRight(
          Effect.zipRight(Deferred.succeed(readHeld, undefined), Deferred.await(go)),
          OrderedLock.withLock(y, Effect.void)
        )
      )))
      yield* Deferred.await(readHeld)
      // F2 asks for the write lock of X: waits for F1
      const f2 = yield* Effect.fork(Effect.exit(OrderedRWLock.withWriteLock(x, Effect.void)))
      yield* untilWaiting(x, 1)
      // F3 holds Y and asks for a read of X: queued behind F2 (writer preference)
      const f3 = yield* Effect.fork(Effect.exit(OrderedLock.withLock(y, OrderedRWLock.withReadLock(x, Effect.void))))
      yield* untilWaiting(x, 2)
      const graph = yield* DeadlockDetector.waitForGraph
      assert.strictEqual(graph.edges.length, 2)
      // F1 asks for Y: F1 -> F3 -> F2 -> F1
      yield* Deferred.succeed(go, undefined)
      const error = expectFailure(yield* Fiber.join(f1), "DeadlockDetected")
      assert.deepStrictEqual(error.cycle.map((link) => link.reason), ["holds", "queued-ahead", "holds"])
      assert.isTrue(Exit.isSuccess(yield* Fiber.join(f2)))
      assert.isTrue(Exit.isSuccess(yield* Fiber.join(f3)))
      yield* assertNoLeaks
    }).pipe(Effect.provide(plain), Effect.provide(LockRegistry.layer)))

  it.effect("a holder that joins a fiber that needs its lock with a plain Fiber.join: the timeout fallback ends it", () =>
    Effect.gen(function*() {
      // A plain Fiber.join is not a wait-for edge (Effect 3 keeps no reliable record of who joins whom: see
      // deadlocks.md); DeadlockDetector.join is (joins.test.ts)
      const l = yield* OrderedLock.make({ name: "L", rank: 1, timeout: "10 millis" })
      const exit = yield* OrderedLock.withLock(
        l,
        Effect.gen(function*() {
          const child = yield* Effect.fork(OrderedLock.withLock(l, Effect.void))
          yield* Effect.fork(Effect.zipRight(untilWaiting(l, 1), TestClock.adjust("10 millis")))
          return yield* Effect.exit(Fiber.join(child))
        })
      )
      const error = expectFailure(exit, "LockTimeout")
      assert.deepStrictEqual(error.waitFor.map((link) => link.reason), ["holds"])
      yield* assertNoLeaks
    }).pipe(Effect.provide(plain), Effect.provide(LockRegistry.layer)))

  it.effect("no false positive: a holder awaiting a Deferred the waiter created (a third fiber completes it)", () =>
    Effect.gen(function*() {
      const l = yield* OrderedLock.make({ name: "l", rank: 1 })
      const other = yield* OrderedLock.make({ name: "other", rank: 0 })
      const inside = yield* Deferred.make<void>()
      const done = yield* Deferred.make<void>() // created by this fiber: Deferred.await blocks "on" its creator
      const holder = yield* Effect.fork(
        OrderedLock.withLock(l, Effect.zipRight(Deferred.succeed(inside, undefined), Deferred.await(done)))
      )
      yield* Deferred.await(inside)
      const third = yield* Effect.fork(Effect.zipRight(untilWaiting(l, 1), Deferred.succeed(done, undefined)))
      // the waiter holds a lock, so the cycle search runs
      const exit = yield* OrderedLock.withLock(other, Effect.exit(OrderedLock.withLock(l, Effect.succeed("got it"))))
      yield* Fiber.join(third)
      yield* Fiber.join(holder)
      assert.deepStrictEqual(exit, Exit.succeed("got it"))
      yield* assertNoLeaks
    }).pipe(Effect.provide(LockConfig.layer({ mode: "strict" })), Effect.provide(LockRegistry.layer)))

  it.effect("no false positive: a holder whose Deferred the waiter has just completed (resume pending)", () =>
    Effect.gen(function*() {
      const l = yield* OrderedLock.make({ name: "l", rank: 1 })
      const other = yield* OrderedLock.make({ name: "other", rank: 0 })
      const inside = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(
        OrderedLock.withLock(l, Effect.zipRight(Deferred.succeed(inside, undefined), Deferred.await(release)))
      )
      yield* Deferred.await(inside)
      const exit = yield* OrderedLock.withLock(
        other,
        Effect.zipRight(
          Deferred.succeed(release, undefined), // the holder releases l as soon as it runs
          Effect.exit(OrderedLock.withLock(l, Effect.succeed("got it")))
        )
      )
      yield* Fiber.join(holder)
      assert.deepStrictEqual(exit, Exit.succeed("got it"))
      yield* assertNoLeaks
    }).pipe(Effect.provide(LockConfig.layer({ mode: "strict" })), Effect.provide(LockRegistry.layer)))

  it.effect("no false positive without held locks either (the reviewer's repro, default detection)", () =>
    Effect.gen(function*() {
      const l = yield* OrderedLock.make({ name: "l", rank: 1 })
      const inside = yield* Deferred.make<void>()
      const done = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(
        OrderedLock.withLock(l, Effect.zipRight(Deferred.succeed(inside, undefined), Deferred.await(done)))
      )
      yield* Deferred.await(inside)
      const third = yield* Effect.fork(Effect.zipRight(untilWaiting(l, 1), Deferred.succeed(done, undefined)))
      const exit = yield* Effect.exit(OrderedLock.withLock(l, Effect.succeed("got it")))
      yield* Fiber.join(third)
      yield* Fiber.join(holder)
      assert.deepStrictEqual(exit, Exit.succeed("got it"))
    }).pipe(Effect.provide(LockConfig.layer({ mode: "strict" })), Effect.provide(LockRegistry.layer)))

  it.effect("actual: off leaves the waits to their timeouts", () =>
    Effect.gen(function*() {
      const l = yield* OrderedLock.make({ name: "L", rank: 1, timeout: "10 millis" })
      const exit = yield* OrderedLock.withLock(
        l,
        Effect.gen(function*() {
          const child = yield* Effect.fork(OrderedLock.withLock(l, Effect.void))
          yield* untilWaiting(l, 1)
          yield* TestClock.adjust("10 millis")
          return yield* Effect.exit(Fiber.join(child))
        })
      )
      expectFailure(exit, "LockTimeout")
    }).pipe(
      Effect.provide(LockConfig.layer({ mode: "off", detection: { actual: "off" } })),
      Effect.provide(LockRegistry.layer)
    ))
})

describe("export", () => {
  it.effect("the dependency graph and the wait-for graph as DOT, Mermaid and JSON", () =>
    Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "A", rank: 1 })
      const b = yield* OrderedLock.make({ name: "B", rank: 2 })
      yield* OrderedLock.withLock(a, OrderedLock.withLock(b, Effect.void))
      const graph = yield* DeadlockDetector.dependencyGraph
      assert.strictEqual(
        DeadlockDetector.toDot(graph),
        [
          `digraph "lock dependencies" {`,
          `  "A" [label="A (rank 1)"];`,
          `  "B" [label="B (rank 2)"];`,
          `  "A" -> "B" [label="EN"];`,
          `}`
        ].join("\n")
      )
      assert.strictEqual(
        DeadlockDetector.toMermaid(graph),
        [`flowchart LR`, `  n0["A (rank 1)"]`, `  n1["B (rank 2)"]`, `  n0 -->|EN| n1`].join("\n")
      )
      assert.deepStrictEqual(JSON.parse(DeadlockDetector.toJson(graph)).edges[0].types, ["EN"])
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(
        OrderedLock.withLock(a, Deferred.await(release)).pipe(LockRegistry.withFiberName("main"))
      )
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(OrderedLock.withLock(a, Effect.void).pipe(LockRegistry.withFiberName("w")))
      yield* untilWaiting(a, 1)
      const waits = yield* DeadlockDetector.waitForGraph
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      yield* Fiber.join(waiter)
      assert.strictEqual(waits.edges.length, 1)
      assert.match(DeadlockDetector.toDot(waits), /"#\d+ \(w\)" -> "#\d+ \(main\)" \[label="waits for exclusive A"\]/)
      assert.match(DeadlockDetector.toMermaid(waits), /-->\|"waits for exclusive A"\|/)
      assert.match(DeadlockDetector.renderWaitFor(waits), /#\d+ \(w\) -> #\d+ \(main\): waits for exclusive A/)
      assert.strictEqual(JSON.parse(DeadlockDetector.toJson(waits))._tag, "WaitForGraph")
      const stats = yield* DeadlockDetector.stats
      assert.deepStrictEqual([stats.classes, stats.edges], [2, 1])
    }).pipe(
      Effect.provide(LockConfig.layer({ detection: { potential: "warn" } })),
      Effect.provide(LockRegistry.layer)
    ))

  it.effect("a lock disposed through its Scope is forgotten by the graph", () =>
    Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "A", rank: 1 })
      yield* Effect.scoped(Effect.gen(function*() {
        const session = yield* OrderedLock.makeScoped({ name: "session", rank: 2, key: "s1" })
        yield* OrderedLock.withLock(a, OrderedLock.withLock(session, Effect.void))
        assert.strictEqual((yield* DeadlockDetector.stats).edges, 1)
      }))
      const stats = yield* DeadlockDetector.stats
      assert.deepStrictEqual([stats.classes, stats.edges], [1, 0])
      // the class may be declared again, with another rank, and A's chain is validated again
      const again = yield* OrderedLock.make({ name: "session", rank: 0 })
      yield* OrderedLock.withLock(again, OrderedLock.withLock(a, Effect.void))
      assert.deepStrictEqual(
        (yield* DeadlockDetector.dependencyGraph).edges.map((e) => `${e.from}->${e.to}`),
        ["session->A"]
      )
    }).pipe(Effect.provide(Learning), Effect.provide(LockRegistry.layer), quiet))
})
