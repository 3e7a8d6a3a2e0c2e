/**
 * Deadlock detection: what the detector has learned and what it sees now.
 *
 * - The **learned dependency graph** of lock classes (after Linux lockdep): taking B while holding A records
 *   `A -> B`; an acquisition whose edge would close a cycle is a *potential* deadlock, reported the first time the
 *   orders are seen, even when they ran in different fibers at different times and nothing blocked. Switched by
 *   `LockConfig`'s `detection.potential` (`"fail"`: `PotentialDeadlock`; `"warn"`: a log line and the
 *   `lock_potential_deadlocks` metric, once per cycle; `"off"`, the default). Each distinct held stack plus request is
 *   validated once (the chain cache), then found with one lookup.
 * - The **wait-for graph** of fibers: every wait goes through the lock engine, so "waiter -> holder" edges are exact
 *   (a writer waits for every reader; a reader queued behind a waiting writer waits for it). A cycle is found the
 *   moment the wait that closes it starts; the fiber whose wait closed it fails with `DeadlockDetected` and the others
 *   proceed. Switched by `detection.actual` (`"fail"`, the default, or `"off"`).
 *
 * This module exports both graphs (DOT, Mermaid, JSON), the detector's counters and a diagnostics probe for the
 * testing kit's `Watchdog`. How to read the reports: `docs/deadlocks.md`.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as internal from "./internal/detector.js"
import type { WaitForLink } from "./LockError.js"

/**
 * A lock class of the learned graph. `rank` is `undefined` for a class of another registry reached by an edge.
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
 * locker) and where it was first seen.
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
 * The learned dependency graph of the registry in effect.
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
 * An edge of the wait-for graph: `waiter` waits for `lock` because `blocker` holds it or is queued ahead of it (the
 * graph has lock waits only: joins are not edges, see deadlocks.md).
 *
 * @since 0.1.0
 * @category models
 */
export interface WaitForEdge extends WaitForLink {
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
  /** Learned edges (class pairs). */
  readonly edges: number
  /** Distinct chains (held stack plus request) validated. */
  readonly chains: number
  /** Acquisitions whose chain was found validated in the cache. */
  readonly cacheHits: number
  /** New-edge cycle checks (breadth-first searches of the graph). */
  readonly checks: number
  /** Distinct potential-deadlock cycles reported. */
  readonly reports: number
  /** Actual deadlocks broken (victims failed with `DeadlockDetected`). */
  readonly deadlocks: number
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
 * The current wait-for graph of the registry in effect: who waits for whom, right now.
 *
 * @since 0.1.0
 * @category getters
 */
export const waitForGraph: Effect.Effect<WaitForGraph> = internal.waitForGraph

/**
 * The detector's counters for the registry in effect.
 *
 * @since 0.1.0
 * @category getters
 */
export const stats: Effect.Effect<Stats> = internal.stats

/**
 * Renders either graph in Graphviz DOT.
 *
 * @since 0.1.0
 * @category rendering
 */
export const toDot: (graph: DependencyGraph | WaitForGraph) => string = internal.toDot

/**
 * Renders either graph as a Mermaid flowchart.
 *
 * @since 0.1.0
 * @category rendering
 */
export const toMermaid: (graph: DependencyGraph | WaitForGraph) => string = internal.toMermaid

/**
 * Renders either graph as indented JSON.
 *
 * @since 0.1.0
 * @category rendering
 */
export const toJson: (graph: DependencyGraph | WaitForGraph) => string = internal.toJson

/**
 * Renders the wait-for graph as text, one line per edge: waiter, blocker, lock, modes, how long, where.
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderWaitFor: (graph: WaitForGraph) => string = internal.renderWaitFor

/**
 * A diagnostics probe for the testing kit's `Watchdog` (`Watchdog.watch(effect, { probes: [waitForProbe] })`): a
 * stalled test reports the wait-for graph of the registry in effect, which shows the waits the detector cannot break
 * (a fiber blocked on something other than a lock, such as a `Fiber.join` or a `Deferred`).
 *
 * @since 0.1.0
 * @category testing
 */
export const waitForProbe: DiagnosticsProbe = internal.waitForProbe
