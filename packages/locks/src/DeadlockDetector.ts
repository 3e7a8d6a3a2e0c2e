/**
 * Deadlock detection: what the detector has learned and what it sees now.
 *
 * - The **learned dependency graph** of lock classes (after Linux lockdep): taking B while holding A records
 *   `A -> B`; an acquisition whose edge would close a cycle is a *potential* deadlock, reported the first time the
 *   orders are seen, even when they ran in different fibers at different times and nothing blocked. Switched by
 *   `LockConfig`'s `detection.potential` (`"fail"`: `PotentialDeadlock`; `"warn"`: a log line and the
 *   `lock_potential_deadlocks` metric, once per cycle; `"off"`, the default). Each distinct held stack plus request is
 *   validated once (the chain cache), then found with one lookup.
 * - The **wait-for graph** of fibers: every lock wait goes through the lock engine, so "waiter -> holder" edges are
 *   exact (a writer waits for every reader; a reader queued behind a waiting writer waits for it), and every
 *   {@link join} / {@link await} adds a "joiner -> joined fiber" edge for exactly as long as it waits. A cycle is found
 *   the moment the wait that closes it starts, lock wait or join; the fiber whose wait closed it fails with
 *   `DeadlockDetected` and the others proceed. Switched by `detection.actual` (`"fail"`, the default, or `"off"`).
 *
 * **Joins.** A fiber that holds a lock and joins a fiber that needs it deadlocks as surely as two lock waits do, but
 * Effect 3 keeps no reliable record of which fiber a suspended fiber joins (`Fiber.join` and `Deferred.await` leave
 * the same trace), so a plain `Fiber.join` is invisible to the detector and only a timeout ends such a cycle. Join
 * through {@link join} (or {@link await}) instead and the join is a pseudo-lock: an edge of the wait-for graph, in
 * the registry in effect, that a cycle can go through. Why these names and this place:
 *
 * - They mirror `Fiber.join` and `Fiber.await` exactly (same argument, same result, plus `DeadlockDetected` in the
 *   error channel), so adopting them is a one-word change at the call sites that matter, and the choice between them
 *   is the one Effect users already know: `join` fails with the fiber's error and inherits its FiberRefs, `await`
 *   returns its `Exit`.
 * - They live here, not on `OrderedLock`: a join holds no lock and needs none; what it adds is an edge of this
 *   module's wait-for graph, it follows this module's `detection.actual` switch, and its failure is this module's
 *   `DeadlockDetected`.
 * - They take a `Fiber.RuntimeFiber` (what `Effect.fork` returns), not any `Fiber`: a composite fiber (`Fiber.zip`,
 *   `Fiber.map`, ...) has no identity in the wait-for graph, and silently joining it without an edge would hide the
 *   very cycles this exists to find. Map the result instead: `DeadlockDetector.join(fiber).pipe(Effect.map(f))`.
 *
 * This module exports both graphs (DOT, Mermaid, JSON; join edges are drawn dashed), the detector's counters and a
 * diagnostics probe for the testing kit's `Watchdog`. How to read the reports: `docs/deadlocks.md`.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as internal from "./internal/detector.js"
import type { DeadlockDetected, WaitForLink } from "./LockError.js"

/**
 * A lock class of the learned graph: its name and declared rank. A class of another registry reached by an edge is
 * listed too, with the rank it has in its own registry (`undefined` is reserved for a node that is not a lock class).
 *
 * @since 0.1.0
 * @category models
 */
export interface ClassEntry {
  readonly name: string
  readonly rank: number | undefined
}

/**
 * A learned edge `from -> to` ("a fiber took `to` while holding `from`"), with lockdep's dependency types seen for the
 * pair (`EN`, `ER`, `SN`, `SR`: source held Exclusively or Shared, target taken as a Non-recursive or Recursive
 * locker) and where it was first seen (the earliest sighting of any of its types).
 *
 * @since 0.1.0
 * @category models
 */
export interface DependencyEdge {
  readonly from: string
  readonly to: string
  readonly types: ReadonlyArray<"EN" | "ER" | "SN" | "SR">
  /** The fiber in which the edge was first seen. */
  readonly fiber: string | undefined
  readonly fromSite: string | undefined
  readonly toSite: string | undefined
  /** When it was first seen (ms since the epoch, from the Clock). */
  readonly at: number | undefined
}

/**
 * The learned dependency graph of the registry in effect: its classes and every learned edge with either end among
 * them (an edge between classes of two registries is listed by both, with the other registry's class in `classes`).
 *
 * @since 0.1.0
 * @category models
 */
export interface DependencyGraph {
  readonly _tag: "DependencyGraph"
  readonly classes: ReadonlyArray<ClassEntry>
  readonly edges: ReadonlyArray<DependencyEdge>
}

/**
 * An edge of the wait-for graph with how long the waiter has waited (ms): a lock wait (`via: "lock"`: `waiter` waits
 * for `lock` because `blocker` holds it or is queued ahead of it) or a join (`via: "join"`: `waiter` joins `blocker`
 * with {@link join} / {@link await}).
 *
 * @since 0.1.0
 * @category models
 */
export type WaitForEdge = WaitForLink & {
  /** How long the waiter has waited (ms). */
  readonly waitedMs: number
}

/**
 * The wait-for graph of the registry in effect at one instant: fibers that hold or wait, and who waits for whom.
 *
 * @since 0.1.0
 * @category models
 */
export interface WaitForGraph {
  readonly _tag: "WaitForGraph"
  /** When it was taken (ms since the epoch, from the Clock). */
  readonly at: number
  readonly fibers: ReadonlyArray<string>
  readonly edges: ReadonlyArray<WaitForEdge>
}

/**
 * The detector's counters for the registry in effect, since it was made.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  /** Lock classes known. */
  readonly classes: number
  /** Learned edges (class pairs) with either end in this registry: the edges {@link dependencyGraph} lists. */
  readonly edges: number
  /** Distinct chains (held stack plus request) validated. */
  readonly chains: number
  /** Acquisitions whose chain was found validated in the cache. */
  readonly cacheHits: number
  /** New-edge cycle checks (breadth-first searches of the graph). */
  readonly checks: number
  /** Distinct potential-deadlock cycles reported. */
  readonly reports: number
  /** Actual deadlocks broken (victims failed with `DeadlockDetected`), lock waits and joins. */
  readonly deadlocks: number
  /** Joins ({@link join} / {@link await}) recorded as wait-for edges: joins of a fiber that had not exited. */
  readonly joins: number
}

/**
 * A diagnostics probe, the shape the testing kit's `Watchdog` accepts.
 *
 * @since 0.1.0
 * @category testing
 */
export interface DiagnosticsProbe {
  readonly name: string
  readonly report: Effect.Effect<string>
}

/**
 * The learned dependency graph of the registry in effect (`LockRegistry`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { DeadlockDetector, LockConfig, OrderedLock } from "@core-stability/locks"
 *
 * const program = Effect.gen(function*() {
 *   const a = yield* OrderedLock.make({ name: "A", rank: 1 })
 *   const b = yield* OrderedLock.make({ name: "B", rank: 2 })
 *   yield* OrderedLock.withLock(a, OrderedLock.withLock(b, Effect.void))
 *   console.log(DeadlockDetector.toDot(yield* DeadlockDetector.dependencyGraph))
 *   // digraph "lock dependencies" { "A" -> "B" [label="EN"]; ... }
 * }).pipe(Effect.provide(LockConfig.layer({ detection: { potential: "fail" } })))
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const dependencyGraph: Effect.Effect<DependencyGraph> = internal.dependencyGraph

/**
 * The current wait-for graph of the registry in effect: who waits for whom, right now. Lock waits come first (by
 * lock, in canonical order), then the joins made with {@link join} / {@link await}.
 *
 * @example
 * ```ts
 * import { Deferred, Effect, Fiber } from "effect"
 * import { DeadlockDetector, LockRegistry } from "@core-stability/locks"
 *
 * const program = Effect.gen(function*() {
 *   const release = yield* Deferred.make<void>()
 *   const worker = yield* Effect.fork(Deferred.await(release))
 *   const joiner = yield* Effect.fork(DeadlockDetector.join(worker))
 *   yield* Effect.yieldNow() // the joiner starts its join
 *   const graph = yield* DeadlockDetector.waitForGraph
 *   assert.deepStrictEqual(graph.edges.map((edge) => edge.via), ["join"])
 *   yield* Deferred.succeed(release, undefined)
 *   yield* Fiber.join(joiner)
 *   // the join is over: its edge is gone
 *   assert.strictEqual((yield* DeadlockDetector.waitForGraph).edges.length, 0)
 * }).pipe(Effect.provide(LockRegistry.layer))
 *
 * Effect.runPromise(program)
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const waitForGraph: Effect.Effect<WaitForGraph> = internal.waitForGraph

/**
 * The detector's counters for the registry in effect.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { DeadlockDetector, LockConfig, LockRegistry, OrderedLock } from "@core-stability/locks"
 *
 * const program = Effect.gen(function*() {
 *   const a = yield* OrderedLock.make({ name: "A", rank: 1 })
 *   const b = yield* OrderedLock.make({ name: "B", rank: 2 })
 *   yield* OrderedLock.withLock(a, OrderedLock.withLock(b, Effect.void))
 *   const stats = yield* DeadlockDetector.stats
 *   assert.deepStrictEqual([stats.classes, stats.edges, stats.deadlocks], [2, 1, 0])
 * }).pipe(
 *   Effect.provide(LockConfig.layer({ detection: { potential: "fail" } })),
 *   Effect.provide(LockRegistry.layer)
 * )
 *
 * Effect.runSync(program)
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const stats: Effect.Effect<Stats> = internal.stats

const _await: <A, E>(fiber: Fiber.RuntimeFiber<A, E>) => Effect.Effect<Exit.Exit<A, E>, DeadlockDetected> =
  internal.await_

export {
  /**
   * Waits for a fiber to exit and returns its `Exit`, like `Fiber.await`, with a wait-for edge "this fiber -> `fiber`"
   * in the registry in effect for exactly the duration of the wait (removed on success, failure and interruption).
   *
   * - A fiber that has already exited is awaited at once, without an edge.
   * - With `LockConfig`'s `detection.actual: "fail"` (the default), a join that would close a wait-for cycle (`fiber`,
   *   directly or through further lock waits and joins, waits for a lock this fiber holds, or joins it) fails at once
   *   with `DeadlockDetected` instead of waiting: this fiber is the victim, as the fiber whose lock wait closes a cycle
   *   is. Its `joined` names `fiber`, and the cycle starts with the join (`via: "join"`).
   * - When the cycle is closed later by a lock wait of `fiber` (or of a fiber further along) through this join, that
   *   lock wait fails with `DeadlockDetected`; `fiber` can roll back, and this join then sees its exit.
   * - With `"off"` the edge is still recorded (it shows in {@link waitForGraph} and in `LockTimeout` reports) but never
   *   checked, as lock waits are.
   *
   * The join does not interrupt `fiber` when the joiner is interrupted, as `Fiber.await` does not. Its call site is
   * captured for reports (about 2.5 us per built effect, as for a lock's `"call-site"`).
   *
   * @example
   * ```ts
   * import { Deferred, Effect, Exit } from "effect"
   * import { DeadlockDetector, OrderedLock } from "@core-stability/locks"
   *
   * const program = Effect.gen(function*() {
   *   const ledger = yield* OrderedLock.make({ name: "ledger", rank: 1 })
   *   const go = yield* Deferred.make<void>()
   *   // forked before the lock is taken, so it does not inherit it: it waits for the lock like any other fiber
   *   const audit = yield* Effect.fork(
   *     Effect.zipRight(Deferred.await(go), OrderedLock.withLock(ledger, Effect.succeed("audited")))
   *   )
   *   const exit = yield* OrderedLock.withLock(
   *     ledger,
   *     Effect.zipRight(Deferred.succeed(go, undefined), DeadlockDetector.await(audit))
   *   )
   *   // the audit asked for the ledger while its holder was awaiting the audit: the audit's wait closed the
   *   // cycle, so it failed instead of hanging, and the await returned its exit
   *   assert.ok(Exit.isFailure(exit))
   *   assert.ok(exit.cause._tag === "Fail" && exit.cause.error._tag === "DeadlockDetected")
   * })
   *
   * Effect.runPromise(program)
   * ```
   *
   * @since 0.1.0
   * @category combinators
   */
  _await as await
}

/**
 * Joins a fiber, like `Fiber.join` (its failure becomes this fiber's, its FiberRefs are inherited), through
 * {@link await}: a wait-for edge "this fiber -> `fiber`" for exactly the duration of the wait, checked for a cycle
 * when it starts and followed by every later lock wait. Fails with `E` or `DeadlockDetected`: its own (the join would
 * close a cycle; `joined` names `fiber`) or, through `E`, one the joined fiber failed with.
 *
 * Use it wherever a fiber may join another while holding a lock. In `"strict"` mode a child forked while its parent
 * holds a lock inherits that lock for ordering and fails with `LockOrderViolation` (`"held-by-ancestor"`) when it asks
 * for it, before any wait; the join edge catches the cycles the fork policy cannot see: fibers forked before the lock
 * was taken, siblings, `forkDetached` fibers, chains of joins and lock waits, and `"warn"` / `"off"` modes.
 *
 * @example
 * ```ts
 * import { Deferred, Effect, Fiber } from "effect"
 * import { DeadlockDetector, OrderedLock } from "@core-stability/locks"
 *
 * const program = Effect.gen(function*() {
 *   const ledger = yield* OrderedLock.make({ name: "ledger", rank: 1 })
 *   const queued = yield* Deferred.make<void>()
 *   const holder = yield* Effect.fork(OrderedLock.withLock(ledger, Effect.gen(function*() {
 *     // a worker that needs the ledger, forked detached (it inherits nothing)
 *     const worker = yield* OrderedLock.forkDetached(
 *       Effect.zipRight(Deferred.succeed(queued, undefined), OrderedLock.withLock(ledger, Effect.succeed(1)))
 *     )
 *     yield* Deferred.await(queued)
 *     yield* Effect.yieldNow() // the worker queues for the ledger
 *     // Fiber.join(worker) would hang forever: the worker waits for the ledger this fiber holds
 *     return yield* Effect.flip(DeadlockDetector.join(worker))
 *   })))
 *   const error = yield* Fiber.join(holder)
 *   assert.strictEqual(error._tag, "DeadlockDetected")
 * })
 *
 * Effect.runPromise(program)
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const join: <A, E>(fiber: Fiber.RuntimeFiber<A, E>) => Effect.Effect<A, E | DeadlockDetected> = internal.join

/**
 * Renders either graph in Graphviz DOT. Join edges are drawn dashed, labelled `joins`.
 *
 * @example
 * ```ts
 * import { DeadlockDetector } from "@core-stability/locks"
 *
 * const dot = DeadlockDetector.toDot({
 *   _tag: "WaitForGraph",
 *   at: 0,
 *   fibers: ["#1", "#2"],
 *   edges: [{
 *     via: "join",
 *     waiter: "#1",
 *     mode: undefined,
 *     site: undefined,
 *     lock: undefined,
 *     blocker: "#2",
 *     reason: "joins",
 *     blockerMode: undefined,
 *     blockerSite: undefined,
 *     waitedMs: 0
 *   }]
 * })
 * assert.ok(dot.includes(`"#1" -> "#2" [label="joins (waits for it to exit)", style=dashed];`))
 * ```
 *
 * @since 0.1.0
 * @category rendering
 */
export const toDot: (graph: DependencyGraph | WaitForGraph) => string = internal.toDot

/**
 * Renders either graph as a Mermaid flowchart. Join edges are dotted arrows (`-.->`).
 *
 * @example
 * ```ts
 * import { DeadlockDetector } from "@core-stability/locks"
 *
 * const mermaid = DeadlockDetector.toMermaid({
 *   _tag: "DependencyGraph",
 *   classes: [{ name: "A", rank: 1 }, { name: "B", rank: 2 }],
 *   edges: [{
 *     from: "A",
 *     to: "B",
 *     types: ["EN"],
 *     fiber: "#1",
 *     fromSite: undefined,
 *     toSite: undefined,
 *     at: 0
 *   }]
 * })
 * assert.strictEqual(mermaid, `flowchart LR\n  n0["A (rank 1)"]\n  n1["B (rank 2)"]\n  n0 -->|EN| n1`)
 * ```
 *
 * @since 0.1.0
 * @category rendering
 */
export const toMermaid: (graph: DependencyGraph | WaitForGraph) => string = internal.toMermaid

/**
 * Renders either graph as indented JSON. A wait-for edge keeps its `via` (`"lock"` or `"join"`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { DeadlockDetector, LockRegistry } from "@core-stability/locks"
 *
 * const program = Effect.gen(function*() {
 *   const json = DeadlockDetector.toJson(yield* DeadlockDetector.waitForGraph)
 *   assert.deepStrictEqual(JSON.parse(json).edges, [])
 * }).pipe(Effect.provide(LockRegistry.layer))
 *
 * Effect.runSync(program)
 * ```
 *
 * @since 0.1.0
 * @category rendering
 */
export const toJson: (graph: DependencyGraph | WaitForGraph) => string = internal.toJson

/**
 * Renders the wait-for graph as text, one line per edge: waiter, blocker, lock and modes (or `joins`), how long,
 * where.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { DeadlockDetector, LockRegistry } from "@core-stability/locks"
 *
 * const program = Effect.gen(function*() {
 *   const text = DeadlockDetector.renderWaitFor(yield* DeadlockDetector.waitForGraph)
 *   assert.strictEqual(text, "wait-for graph: 0 fibers, nobody waits")
 * }).pipe(Effect.provide(LockRegistry.layer))
 *
 * Effect.runSync(program)
 * ```
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderWaitFor: (graph: WaitForGraph) => string = internal.renderWaitFor

/**
 * A diagnostics probe for the testing kit's `Watchdog` (`Watchdog.watch(effect, { probes: [waitForProbe] })`): a
 * stalled test reports the wait-for graph of the registry in effect, which shows the waits the detector cannot break
 * (a fiber blocked on something other than a lock or a {@link join}, such as a plain `Fiber.join` or a `Deferred`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { DeadlockDetector, LockRegistry } from "@core-stability/locks"
 *
 * const program = Effect.gen(function*() {
 *   assert.strictEqual(DeadlockDetector.waitForProbe.name, "lock wait-for graph")
 *   const report = yield* DeadlockDetector.waitForProbe.report
 *   assert.ok(report.startsWith("wait-for graph: "))
 * }).pipe(Effect.provide(LockRegistry.layer))
 *
 * Effect.runSync(program)
 * ```
 *
 * @since 0.1.0
 * @category testing
 */
export const waitForProbe: DiagnosticsProbe = internal.waitForProbe
