/**
 * Regression tests for the findings of the learned-graph review (deadlocks.md, sections 1, 2 and 7): one `describe` per
 * bug, named after it.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as DeadlockDetector from "../src/DeadlockDetector.js"
import * as LockConfig from "../src/LockConfig.js"
import * as LockRegistry from "../src/LockRegistry.js"
import * as OrderedLock from "../src/OrderedLock.js"
import * as OrderedRWLock from "../src/OrderedRWLock.js"
import { failureOf, untilWaiting } from "./utils.js"

/**
 * Fixed: after an out-of-order release (scoped locks, UNLOCK-ORDER), releasing the remaining top hold
 * restores its `prevChain`, the chain-cache node of a stack that still contains the lock released earlier. The fiber's
 * stack is empty but its chain node says `[A]`, so the next acquisition looks up `[A] + C` in the chain cache:
 *
 * - if `[A] + C` was validated with a failure, taking C with nothing held fails with `PotentialDeadlock`
 *   (false positive);
 * - if it was never validated, it is validated now with no edge source (the real stack is empty) and cached as valid,
 *   so a later real `A, C` hits the cache and the edge `A -> C` is never learned: the ABBA `C, A` is missed (false
 *   negative).
 *
 * The same happens to a child whose inherited holds were compacted while it held its own locks.
 */
const Learning = LockConfig.layer({ mode: "warn", detection: { potential: "fail" } })
const quiet = <A, E, R>(self: Effect.Effect<A, E, R>) => Logger.withMinimumLogLevel(self, LogLevel.None)

/** L(A); L(B); U(A); U(B) with scoped locks: the fiber ends up holding nothing. */
const unlockOrder = (a: OrderedLock.OrderedLock, b: OrderedLock.OrderedLock) =>
  Effect.gen(function*() {
    const sa = yield* Scope.make()
    const sb = yield* Scope.make()
    yield* Scope.extend(OrderedLock.lock(a), sa)
    yield* Scope.extend(OrderedLock.lock(b), sb)
    yield* Scope.close(sa, Exit.void)
    yield* Scope.close(sb, Exit.void)
  })

describe("bug 1 (HIGH): stale chain node after an out-of-order release or a compaction", () => {
  it.effect("false positive: taking C with nothing held fails with PotentialDeadlock", () =>
    Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "A", rank: 1 })
      const b = yield* OrderedLock.make({ name: "B", rank: 2 })
      const c = yield* OrderedLock.make({ name: "C", rank: 3 })
      // learn C -> A, then A, C is refused (and cached as a failure): both correct
      yield* OrderedLock.withLock(c, OrderedLock.withLock(a, Effect.void))
      assert.strictEqual(
        failureOf(yield* Effect.exit(OrderedLock.withLock(a, OrderedLock.withLock(c, Effect.void))))?._tag,
        "PotentialDeadlock"
      )
      yield* unlockOrder(a, b)
      // nothing is held: taking C cannot close any cycle
      const exit = yield* Effect.exit(OrderedLock.withLock(c, Effect.succeed("C")))
      assert.deepStrictEqual(failureOf(exit)?._tag, undefined, `taking C with an empty stack failed: ${exit}`)
    }).pipe(Effect.provide(Learning), Effect.provide(LockRegistry.layer), quiet))

  it.effect("false negative: the chain [A] + C is cached without its edge, so ABBA between A and C is missed", () =>
    Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "A", rank: 1 })
      const b = yield* OrderedLock.make({ name: "B", rank: 2 })
      const c = yield* OrderedLock.make({ name: "C", rank: 3 })
      // in another fiber: the UNLOCK-ORDER dance, then C taken with nothing held (validates "[A] + C" without A)
      yield* Fiber.join(yield* Effect.fork(Effect.zipRight(unlockOrder(a, b), OrderedLock.withLock(c, Effect.void))))
      // the real order A, C in this fiber: the edge A -> C must be learned
      yield* OrderedLock.withLock(a, OrderedLock.withLock(c, Effect.void))
      const edges = (yield* DeadlockDetector.dependencyGraph).edges.map((e) => `${e.from}->${e.to}`)
      assert.include(edges, "A->C", `learned: ${edges.join(", ")}`)
      // and the inverted order closes a cycle
      assert.strictEqual(
        failureOf(yield* Effect.exit(OrderedLock.withLock(c, OrderedLock.withLock(a, Effect.void))))?._tag,
        "PotentialDeadlock"
      )
    }).pipe(Effect.provide(Learning), Effect.provide(LockRegistry.layer), quiet))

  it.effect("the same through a child whose inherited hold was released (and compacted) while it held locks", () =>
    Effect.gen(function*() {
      const p = yield* OrderedLock.make({ name: "P", rank: 1 })
      const x = yield* OrderedLock.make({ name: "X", rank: 2 })
      const y = yield* OrderedLock.make({ name: "Y", rank: 3 })
      const z = yield* OrderedLock.make({ name: "Z", rank: 4 })
      const xHeld = yield* Deferred.make<void>()
      const pReleased = yield* Deferred.make<void>()
      const childDone = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      // the parent holds P and forks a child (which inherits P), then releases P while the child holds X
      const child = yield* OrderedLock.withLock(
        p,
        Effect.gen(function*() {
          const f = yield* Effect.fork(Effect.gen(function*() {
            yield* OrderedLock.withLock(
              x,
              Effect.gen(function*() {
                yield* Deferred.succeed(xHeld, undefined)
                yield* Deferred.await(pReleased)
                // P is released: this acquisition compacts the inherited holds
                yield* OrderedLock.withLock(y, Effect.void)
              })
            )
            // the child holds nothing now (its own and its inherited holds are gone): taking Z learns nothing
            yield* OrderedLock.withLock(z, Effect.void)
            yield* Deferred.succeed(childDone, undefined)
            yield* Deferred.await(release)
          }))
          yield* Deferred.await(xHeld)
          return f
        })
      )
      yield* Deferred.succeed(pReleased, undefined)
      yield* Deferred.await(childDone)
      // a real P, Z must learn P -> Z
      yield* OrderedLock.withLock(p, OrderedLock.withLock(z, Effect.void))
      const edges = (yield* DeadlockDetector.dependencyGraph).edges.map((e) => `${e.from}->${e.to}`)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(child)
      assert.include(edges, "P->Z", `learned: ${edges.join(", ")}`)
    }).pipe(Effect.provide(Learning), Effect.provide(LockRegistry.layer), quiet))
})

/**
 * Fixed: with `potential: "warn"`, `learn` stops checking the edge sources at the first cycle found, reports
 * it, then learns the edges of *every* source. When one acquisition closes two distinct cycles (several sources: a
 * held `withLocks` batch, or try-locks above the nearest lock), the second cycle is never reported: its edge is now
 * known, so no later acquisition checks it again. "Each cycle is reported once, and checking goes on" becomes
 * "reported zero times".
 */
describe("bug 3: \"warn\" reports every cycle one acquisition closes", () => {
  it.effect("batch [A, C] then B, after B -> A and B -> C were learned: both A-B and C-B are reported", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => {
        logs.push(Array.isArray(message) ? message.join(" ") : String(message))
      })
      const a = yield* OrderedLock.make({ name: "A", rank: 1 })
      const c = yield* OrderedLock.make({ name: "C", rank: 1 })
      const b = yield* OrderedLock.make({ name: "B", rank: 1 })
      yield* Effect.gen(function*() {
        yield* OrderedLock.withLock(b, OrderedLock.withLock(a, Effect.void))
        yield* OrderedLock.withLock(b, OrderedLock.withLock(c, Effect.void))
        // this acquisition of B closes A -> B -> A and C -> B -> C
        yield* OrderedLock.withLocks([a, c], OrderedLock.withLock(b, Effect.void))
        // and A, B on its own, later: still never reported
        yield* OrderedLock.withLock(a, OrderedLock.withLock(b, Effect.void))
      }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      const cycles = logs.filter((line) => line.includes("closes a cycle: ")).map((line) =>
        line.split("closes a cycle: ")[1]!.split("\n")[0]
      )
      assert.deepStrictEqual(cycles.length, 2, `reported: ${JSON.stringify(cycles)}`)
      assert.strictEqual((yield* DeadlockDetector.stats).reports, 2)
    }).pipe(
      Effect.provide(LockConfig.layer({ mode: "warn", detection: { potential: "warn" } })),
      Effect.provide(LockRegistry.layer)
    ))
})

/**
 * Fixed: `DependencyEdge.fiber` / `fromSite` / `toSite` / `at` are documented as where and when the edge was
 * *first seen*, but `dependencyGraphOf` takes the origin of the lowest dependency type present (EN before ER before
 * SN before SR), not the earliest one. An edge first seen as `X (read) -> Y` in one fiber and later as
 * `X (write) -> Y` in another is exported (DOT / Mermaid / JSON and `dependencyGraph`) as first seen in the second
 * fiber, at the later time.
 */
describe("bug 5: an exported edge names its first sighting", () => {
  it.effect("the export names the fiber and time of the first sighting, not of the lowest dependency type", () =>
    Effect.gen(function*() {
      const x = yield* OrderedRWLock.make({ name: "X", rank: 1 })
      const y = yield* OrderedLock.make({ name: "Y", rank: 2 })
      yield* TestClock.setTime(1_000)
      const first = yield* Effect.fork(
        OrderedRWLock.withReadLock(x, OrderedLock.withLock(y, Effect.void)).pipe(LockRegistry.withFiberName("first"))
      )
      yield* Fiber.join(first)
      yield* TestClock.setTime(2_000)
      const second = yield* Effect.fork(
        OrderedRWLock.withWriteLock(x, OrderedLock.withLock(y, Effect.void)).pipe(LockRegistry.withFiberName("second"))
      )
      yield* Fiber.join(second)
      const [edge] = (yield* DeadlockDetector.dependencyGraph).edges
      assert.deepStrictEqual(edge!.types, ["EN", "SN"])
      assert.deepStrictEqual(
        [edge!.fiber, edge!.at],
        [`${FiberId.threadName(first.id())} (first)`, 1_000],
        "the edge X -> Y was first seen in `first` at 1000"
      )
    }).pipe(
      Effect.provide(LockConfig.layer({ detection: { potential: "fail" } })),
      Effect.provide(LockRegistry.layer)
    ))
})

/**
 * Fixed: the learned graph is one graph over class nodes (edges between classes of different registries are
 * learned, as deadlocks.md says for "every lock of another registry"), but its bookkeeping is split per registry: an
 * edge is counted in the target's registry, exported by the source's registry, and forgetting a class subtracts its
 * edges from its own registry's counter whatever registry counted them.
 *
 * Forgetting a class (its last scoped lock disposed) starts a new chain-cache trie only in the graph of the class's
 * own registry: a chain validated in another registry's trie through the forgotten class's edges stays cached, so a
 * cycle that no longer exists keeps failing (false positive), and the counters drift (`X -> S` is counted in S's
 * registry when learned and when forgotten; `S -> Y` is counted in Y's registry when learned but subtracted from S's
 * registry when forgotten: S's registry ends with -1 edges, Y's with 1, and no edge exists).
 */
describe("bug 2: learned-graph state shared by every registry", () => {
  it.effect("a cycle through a forgotten class keeps failing from another registry's chain cache", () =>
    Effect.gen(function*() {
      const main = LockRegistry.unsafeMake()
      const sessions = LockRegistry.unsafeMake()
      const x = OrderedLock.unsafeMake({ name: "X", rank: 1, registry: main })
      const y = OrderedLock.unsafeMake({ name: "Y", rank: 3, registry: main })
      const yx = OrderedLock.withLock(y, OrderedLock.withLock(x, Effect.void))
      yield* Effect.scoped(Effect.gen(function*() {
        const s = yield* OrderedLock.makeScoped({ name: "S", rank: 2 }).pipe(
          Effect.provideService(LockRegistry.LockRegistry, sessions)
        )
        yield* OrderedLock.withLock(x, OrderedLock.withLock(s, Effect.void))
        yield* OrderedLock.withLock(s, OrderedLock.withLock(y, Effect.void))
        // X -> S -> Y is learned, so Y, X closes a cycle: correct
        assert.strictEqual(failureOf(yield* Effect.exit(yx))?._tag, "PotentialDeadlock")
      }))
      // S is forgotten: its edges left the graph, and no path X -> ... -> Y remains
      const graph = yield* DeadlockDetector.dependencyGraph.pipe(Effect.provideService(LockRegistry.LockRegistry, main))
      assert.deepStrictEqual(graph.edges.map((e) => `${e.from}->${e.to}`), [])
      const exit = yield* Effect.exit(yx)
      assert.strictEqual(failureOf(exit)?._tag, undefined, `Y, X still fails after S was forgotten: ${exit}`)
    }).pipe(Effect.provide(Learning), quiet))

  it.effect("the edge counters of both registries agree with their exported graphs after the class is forgotten", () =>
    Effect.gen(function*() {
      const main = LockRegistry.unsafeMake()
      const sessions = LockRegistry.unsafeMake()
      const x = OrderedLock.unsafeMake({ name: "X", rank: 1, registry: main })
      const y = OrderedLock.unsafeMake({ name: "Y", rank: 3, registry: main })
      yield* Effect.scoped(Effect.gen(function*() {
        const s = yield* OrderedLock.makeScoped({ name: "S", rank: 2 }).pipe(
          Effect.provideService(LockRegistry.LockRegistry, sessions)
        )
        yield* OrderedLock.withLock(x, OrderedLock.withLock(s, Effect.void))
        yield* OrderedLock.withLock(s, OrderedLock.withLock(y, Effect.void))
      }))
      const inMain = yield* DeadlockDetector.stats.pipe(Effect.provideService(LockRegistry.LockRegistry, main))
      const inSessions = yield* DeadlockDetector.stats.pipe(Effect.provideService(LockRegistry.LockRegistry, sessions))
      // no edge is left anywhere
      assert.deepStrictEqual([inMain.edges, inSessions.edges], [0, 0])
    }).pipe(Effect.provide(Learning), quiet))

  it.effect("each registry's dependencyGraph lists the edges its stats count (no forgetting involved)", () =>
    Effect.gen(function*() {
      const main = LockRegistry.unsafeMake()
      const other = LockRegistry.unsafeMake()
      const a = OrderedLock.unsafeMake({ name: "A", rank: 1, registry: other })
      const b = OrderedLock.unsafeMake({ name: "B", rank: 2, registry: main })
      // A (of the other registry) -> B (of main): counted in main's stats
      yield* OrderedLock.withLock(a, OrderedLock.withLock(b, Effect.void))
      for (const registry of [main, other]) {
        const stats = yield* DeadlockDetector.stats.pipe(Effect.provideService(LockRegistry.LockRegistry, registry))
        const graph = yield* DeadlockDetector.dependencyGraph.pipe(
          Effect.provideService(LockRegistry.LockRegistry, registry)
        )
        assert.strictEqual(
          graph.edges.length,
          stats.edges,
          `${registry === main ? "main" : "other"}: stats count ${stats.edges} edges, the export lists ${
            JSON.stringify(graph.edges.map((e) => `${e.from}->${e.to}`))
          }`
        )
      }
    }).pipe(Effect.provide(Learning), quiet))
})

/**
 * Fixed: members of one `withLocks` batch get no edge between them ("canonical order, which no two batches
 * can contradict"), but an acquisition outside a batch can contradict the batch's order, and the learned graph never
 * sees the batch's side. In strict mode, locks of one rank but different classes nested under a held gate are legal
 * and are exactly what deadlocks.md says the learned graph adds there; a batch `[A, C]` and a gated `C, A` deadlock
 * for real (shown here by the wait-for graph), yet the learned graph, with `potential: "fail"`, reports nothing.
 * (In `warn` order mode the same holds for a batch of two ranks against the inverted nested order: only the rank
 * warning is logged, never the `PotentialDeadlock` deadlocks.md promises for an order that closes a cycle.)
 */
const StrictLearning = LockConfig.layer({ mode: "strict", detection: { potential: "fail" } })

const locks = Effect.gen(function*() {
  const g = yield* OrderedLock.make({ name: "G", rank: 1 })
  const a = yield* OrderedLock.make({ name: "A", rank: 2 })
  const c = yield* OrderedLock.make({ name: "C", rank: 2 })
  return { g, a, c }
})

describe("bug 4: withLocks batches record batch edges", () => {
  it.effect("(evidence, passes) the two orders deadlock for real in strict mode, where both are legal", () =>
    Effect.gen(function*() {
      const { a, c, g } = yield* locks
      const cHeld = yield* Deferred.make<void>()
      // G, C (gated), then A (gated), once the batch holds A and queues for C
      const gated = yield* Effect.fork(Effect.exit(OrderedLock.withLock(
        g,
        OrderedLock.withLock(
          c,
          Effect.gen(function*() {
            yield* Deferred.succeed(cHeld, undefined)
            yield* untilWaiting(c, 1)
            yield* OrderedLock.withLock(a, Effect.void, { nestedUnder: g })
          }),
          { nestedUnder: g }
        )
      )))
      yield* Deferred.await(cHeld)
      const batch = yield* Effect.fork(Effect.exit(OrderedLock.withLocks([a, c], Effect.void)))
      const exits = [yield* Fiber.join(gated), yield* Fiber.join(batch)]
      // a real deadlock, broken by the wait-for graph
      assert.deepStrictEqual(exits.map((exit) => failureOf(exit)?._tag), ["DeadlockDetected", undefined])
    }).pipe(Effect.provide(LockConfig.layer({ mode: "strict" })), Effect.provide(LockRegistry.layer)))

  it.effect("strict, potential: fail: batch [A, C] then gated C, A is a potential deadlock", () =>
    Effect.gen(function*() {
      const { a, c, g } = yield* locks
      yield* OrderedLock.withLocks([a, c], Effect.void)
      const exit = yield* Effect.exit(OrderedLock.withLock(
        g,
        OrderedLock.withLock(c, OrderedLock.withLock(a, Effect.void, { nestedUnder: g }), { nestedUnder: g })
      ))
      assert.strictEqual(failureOf(exit)?._tag, "PotentialDeadlock", `C, A after the batch [A, C]: ${exit}`)
    }).pipe(Effect.provide(StrictLearning), Effect.provide(LockRegistry.layer)))
})

/**
 * Fixed: `DeadlockDetected.message` listed the victim's inherited holds under "released
 * when its failure propagates", but the victim does not release them (an ancestor holds them): they are listed apart.
 */
describe("docs: a DeadlockDetected report lists inherited holds apart from the ones the victim releases", () => {
  it.effect("the parent's lock is under 'inherited from its parent', the victim's own lock under 'released'", () =>
    Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "A", rank: 1 })
      const b = yield* OrderedLock.make({ name: "B", rank: 2 })
      const c = yield* OrderedLock.make({ name: "C", rank: 3 })
      const bHeld = yield* Deferred.make<void>()
      // the other fiber: C, then B (a rank inversion, only logged in "warn")
      const other = yield* Effect.fork(Effect.exit(OrderedLock.withLock(
        c,
        Effect.zipRight(Deferred.await(bHeld), OrderedLock.withLock(b, Effect.void))
      )))
      // the parent holds A until the child is done
      const exit = yield* OrderedLock.withLock(
        a,
        Effect.gen(function*() {
          // the child inherits A, takes B, and asks for C once the other fiber waits for B
          return yield* Fiber.join(
            yield* Effect.fork(Effect.exit(OrderedLock.withLock(
              b,
              Effect.gen(function*() {
                yield* Deferred.succeed(bHeld, undefined)
                yield* untilWaiting(b, 1)
                yield* OrderedLock.withLock(c, Effect.void)
              })
            )))
          )
        })
      )
      yield* Fiber.join(other)
      const error = failureOf(exit)
      assert.strictEqual(error?._tag, "DeadlockDetected")
      const message = (error as Error).message
      const released = message.split("released when its failure propagates):\n")[1]!.split("\n")[0]!
      assert.match(released, /^ {2}B \(rank 2, exclusive\)/)
      const inherited = message.split("inherited from its parent")[1]!.split("\n")[1]!
      assert.match(inherited, /^ {2}A \(rank 1, exclusive\) by .* \[inherited\]/)
    }).pipe(
      Effect.provide(LockConfig.layer({ mode: "warn", detection: { potential: "off" } })),
      Effect.provide(LockRegistry.layer),
      quiet
    ))
})
