/**
 * A declared lock order: named levels with ranks. A fiber takes locks in increasing rank; `OrderedLock` checks it on
 * every acquisition. Hierarchies are validated when they are built, and several are composed into one global order
 * with before/after constraints between the parts.
 *
 * The four tables of the seed design ("Core Stability Implementation", section 1) are declared here, and composed
 * into {@link Global}, the order the other packages of core-stability use:
 *
 * | rank | level |
 * | --- | --- |
 * | 1-4 | `CleanupCoordinator.shutdown`, `.phase`, `.steps`, `.status` |
 * | 5-9 | `ComponentCoordinator.component`, `.resource`, `.history`, `.callback`, `.thread` |
 * | 10-13 | `BufferManager.cleanup`, `.state`, `.component`, `.update` |
 * | 14-18 | `StateMachine.callbacks`, `.state`, `.history`, `.invariants`, `.validators` |
 *
 * Outer coordinators come before inner ones: the cleanup coordinator drives the shutdown of every component (the
 * original called the state machine while holding its phase lock), the component coordinator owns components and
 * their resources, a buffer manager is one such component, and the state machine is the innermost service that
 * every component uses to record its state. A fiber holding an outer lock may take an inner one, never the reverse.
 *
 * The idea of a declared order checked at run time follows MySQL's LOCK_ORDER; numbered levels follow Fuchsia's
 * `lock_order` and Clang's `ACQUIRED_BEFORE`.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type { Inspectable } from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import * as internal from "./internal/hierarchy.js"
import type { LockHierarchyError } from "./LockError.js"

/**
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = internal.TypeId as TypeId

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * One level of a hierarchy.
 *
 * @since 0.1.0
 * @category models
 */
export interface Level {
  /** The level name; in a composed hierarchy, `Part.level`. */
  readonly name: string
  /** The rank: a fiber takes levels of increasing rank. */
  readonly rank: number
}

/**
 * A validated lock order.
 *
 * @since 0.1.0
 * @category models
 */
export interface LockHierarchy extends Pipeable, Inspectable {
  readonly [TypeId]: TypeId
  readonly name: string
  /** The levels, by increasing rank. */
  readonly levels: ReadonlyArray<Level>
  /** For a composed hierarchy, the names of its parts in the order chosen; empty for a base hierarchy. */
  readonly parts: ReadonlyArray<string>
}

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions {
  readonly name: string
  /**
   * The levels. A string is ranked by its position (1-based); an object carries its own rank. Ranks need not be
   * contiguous.
   */
  readonly levels: ReadonlyArray<string | Level>
  /**
   * Whether two levels may share a rank (`false`): same-rank locks can then only be taken together through
   * `OrderedLock.withLocks` or under a held gate lock. Default `true` (ranks must be unique).
   */
  readonly uniqueRanks?: boolean | undefined
}

/**
 * Options of {@link compose}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ComposeOptions {
  readonly name: string
  /** The hierarchies to compose; with no constraint between two parts, the earlier one in this list comes first. */
  readonly parts: ReadonlyArray<LockHierarchy>
  /** `[before, after]` pairs of part names: every level of `before` ranks below every level of `after`. */
  readonly order?: ReadonlyArray<readonly [before: string, after: string]> | undefined
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isLockHierarchy = (u: unknown): u is LockHierarchy => typeof u === "object" && u !== null && TypeId in u

/**
 * Builds and validates a hierarchy.
 *
 * Fails with `LockHierarchyError`: `"Empty"`, `"DuplicateLevel"`, `"DuplicateRank"` (when ranks must be unique),
 * `"InvalidRank"`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockHierarchy } from "@core-stability/locks"
 *
 * const Accounts = LockHierarchy.make({ name: "Accounts", levels: ["ledger", "account", "audit"] })
 * // Effect<LockHierarchy, LockHierarchyError>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: MakeOptions) => Effect.Effect<LockHierarchy, LockHierarchyError> = internal.make

/**
 * Like {@link make}, synchronously; throws `LockHierarchyError`. For hierarchies declared as module constants.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: (options: MakeOptions) => LockHierarchy = internal.unsafeMake

/**
 * Composes hierarchies into one order. Parts are ordered by the `order` constraints (a topological order, stable
 * with respect to `parts`); ranks are renumbered 1, 2, ... keeping equal ranks equal; level names become
 * `Part.level`.
 *
 * Fails with `LockHierarchyError`: `"Contradiction"` (the constraints form a cycle; `conflict` lists it),
 * `"UnknownPart"`, `"DuplicateLevel"` (two parts with one name), `"Empty"`.
 *
 * @example
 * ```ts
 * import { LockHierarchy } from "@core-stability/locks"
 *
 * const Outer = LockHierarchy.unsafeMake({ name: "Outer", levels: ["a", "b"] })
 * const Inner = LockHierarchy.unsafeMake({ name: "Inner", levels: ["c"] })
 * const App = LockHierarchy.compose({ name: "App", parts: [Inner, Outer], order: [["Outer", "Inner"]] })
 * // ranks: Outer.a = 1, Outer.b = 2, Inner.c = 3
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const compose: (options: ComposeOptions) => Effect.Effect<LockHierarchy, LockHierarchyError> = internal.compose

/**
 * Like {@link compose}, synchronously; throws `LockHierarchyError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeCompose: (options: ComposeOptions) => LockHierarchy = internal.unsafeCompose

/**
 * The rank of a level. Throws (a defect inside an effect) when the hierarchy has no such level, listing the levels
 * it has.
 *
 * @example
 * ```ts
 * import { LockHierarchy } from "@core-stability/locks"
 *
 * LockHierarchy.rankOf(LockHierarchy.Global, "StateMachine.state") // 15
 * LockHierarchy.rankOf(LockHierarchy.StateMachine, "state") // 2
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const rankOf: {
  (level: string): (hierarchy: LockHierarchy) => number
  (hierarchy: LockHierarchy, level: string): number
} = dual(2, internal.rankOf)

/**
 * The level of that name, if any.
 *
 * @since 0.1.0
 * @category getters
 */
export const findLevel: {
  (level: string): (hierarchy: LockHierarchy) => Level | undefined
  (hierarchy: LockHierarchy, level: string): Level | undefined
} = dual(2, internal.findLevel)

/**
 * The hierarchy as a two-column table (rank, level).
 *
 * @since 0.1.0
 * @category rendering
 */
export const render: (hierarchy: LockHierarchy) => string = internal.render

/**
 * The seed's StateMachine order: callbacks < state < history < invariants < validators.
 *
 * @since 0.1.0
 * @category models
 */
export const StateMachine: LockHierarchy = unsafeMake({
  name: "StateMachine",
  levels: ["callbacks", "state", "history", "invariants", "validators"]
})

/**
 * The seed's CleanupCoordinator order: shutdown < phase < steps < status.
 *
 * @since 0.1.0
 * @category models
 */
export const CleanupCoordinator: LockHierarchy = unsafeMake({
  name: "CleanupCoordinator",
  levels: ["shutdown", "phase", "steps", "status"]
})

/**
 * The seed's ComponentCoordinator order: component < resource < history < callback < thread.
 *
 * @since 0.1.0
 * @category models
 */
export const ComponentCoordinator: LockHierarchy = unsafeMake({
  name: "ComponentCoordinator",
  levels: ["component", "resource", "history", "callback", "thread"]
})

/**
 * The seed's BufferManager order: cleanup < state < component < update.
 *
 * @since 0.1.0
 * @category models
 */
export const BufferManager: LockHierarchy = unsafeMake({
  name: "BufferManager",
  levels: ["cleanup", "state", "component", "update"]
})

/**
 * The global order of core-stability: CleanupCoordinator < ComponentCoordinator < BufferManager < StateMachine
 * (outer coordinators before inner services; see the module documentation for the reasons). Level names are
 * qualified: `"StateMachine.state"`, `"CleanupCoordinator.steps"`.
 *
 * @since 0.1.0
 * @category models
 */
export const Global: LockHierarchy = unsafeCompose({
  name: "Global",
  parts: [CleanupCoordinator, ComponentCoordinator, BufferManager, StateMachine],
  order: [
    ["CleanupCoordinator", "ComponentCoordinator"],
    ["ComponentCoordinator", "BufferManager"],
    ["BufferManager", "StateMachine"]
  ]
})
