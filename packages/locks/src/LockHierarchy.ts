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
 * A hierarchy's type carries its rank table (`LockHierarchy<Ranks, Name, Parts>`): built from literal input, `make`
 * and `compose` compute the same table at the type level as at run time (`{ readonly state: 2, ... }`), so
 * `rankOf(Global, "StateMachine.state")` is `15` to the compiler and `TypedLock.fromLevel` makes a lock whose rank
 * the compiler checks. Built from input known only at run time, the table is `{ readonly [level: string]: number }`.
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
 * A rank table: level name to rank. The wide table, `{ readonly [level: string]: number }`, is what is known of a
 * hierarchy built from input known only at run time.
 *
 * @since 0.1.0
 * @category models
 */
export type RankTable = { readonly [level: string]: number }

/**
 * A validated lock order.
 *
 * The type parameters are what the compiler knows of it, all three inferred by {@link make} and {@link compose}:
 *
 * - `Ranks`: the rank table, e.g. `{ readonly callbacks: 1; readonly state: 2; ... }` (default: the wide
 *   {@link RankTable});
 * - `Name`: the hierarchy's name, e.g. `"StateMachine"`;
 * - `Parts`: the names of the parts of a composed hierarchy in the order chosen, `readonly []` for a base hierarchy
 *   (the kind decides the class name of a lock of a level: `"StateMachine.state"` for the level `state` of the base
 *   hierarchy `StateMachine`, the level name itself for a composed one).
 *
 * Every hierarchy is assignable to the plain `LockHierarchy`, which is what functions taking any hierarchy ask for.
 *
 * @since 0.1.0
 * @category models
 */
export interface LockHierarchy<
  out Ranks extends RankTable = RankTable,
  out Name extends string = string,
  out Parts extends ReadonlyArray<string> = ReadonlyArray<string>
> extends Pipeable, Inspectable {
  readonly [TypeId]: TypeId
  readonly name: Name
  /** The levels, by increasing rank. */
  readonly levels: ReadonlyArray<Level>
  /** For a composed hierarchy, the names of its parts in the order chosen; empty for a base hierarchy. */
  readonly parts: Parts
  /** The ranks by level name, the same as {@link levels} (frozen). */
  readonly ranks: Ranks
}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace LockHierarchy {
  /**
   * The names of the levels of a hierarchy, as {@link rankOf} and `TypedLock.fromLevel` take them (`string` for a
   * hierarchy whose table is wide).
   *
   * @since 0.1.0
   * @category models
   */
  export type LevelName<H extends LockHierarchy> = keyof H["ranks"] & string

  /**
   * The rank of a level: the literal of the table, or `number` for a level the type does not know.
   *
   * @since 0.1.0
   * @category models
   */
  export type RankOf<H extends LockHierarchy, Level extends string> = internal.RankOf<H["ranks"], Level>

  /**
   * The class name of a lock of that level: `"StateMachine.state"` for the level `state` of the base hierarchy
   * `StateMachine`, the level name itself for a composed hierarchy, `string` when the type does not say which.
   *
   * @since 0.1.0
   * @category models
   */
  export type LockName<H extends LockHierarchy, Level extends string> = internal.LockName<H, Level>

  /**
   * The hierarchy {@link make} builds from a literal `name` and `levels`.
   *
   * @since 0.1.0
   * @category models
   */
  export type Made<Name extends string, Levels extends ReadonlyArray<string | Level>> = internal.Made<Name, Levels>

  /**
   * The hierarchy {@link compose} builds: its table computed as at run time (topological order of the parts, ranks
   * renumbered 1, 2, ..., names qualified) when the parts' tables, their names and the order are literal; else the
   * wide table.
   *
   * @since 0.1.0
   * @category models
   */
  export type Composed<
    Name extends string,
    Parts extends ReadonlyArray<LockHierarchy>,
    Order extends ReadonlyArray<readonly [before: string, after: string]>
  > = internal.Composed<Name, Parts, Order>
}

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions<
  Name extends string = string,
  Levels extends ReadonlyArray<string | Level> = ReadonlyArray<string | Level>
> {
  readonly name: Name
  /**
   * The levels. A string is ranked by its position (1-based); an object carries its own rank. Ranks need not be
   * contiguous.
   */
  readonly levels: Levels
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
export interface ComposeOptions<
  Name extends string = string,
  Parts extends ReadonlyArray<LockHierarchy> = ReadonlyArray<LockHierarchy>,
  Order extends ReadonlyArray<readonly [before: string, after: string]> = ReadonlyArray<
    readonly [before: string, after: string]
  >
> {
  readonly name: Name
  /** The hierarchies to compose; with no constraint between two parts, the earlier one in this list comes first. */
  readonly parts: Parts
  /** `[before, after]` pairs of part names: every level of `before` ranks below every level of `after`. */
  readonly order?: Order | undefined
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isLockHierarchy = (u: unknown): u is LockHierarchy => typeof u === "object" && u !== null && TypeId in u

/**
 * Builds and validates a hierarchy.
 *
 * The type keeps the name and the rank table when they are literal (a list written in the call, or declared
 * `as const`): `LockHierarchy<{ readonly ledger: 1; readonly account: 2; readonly audit: 3 }, "Accounts", readonly []>`.
 * A list known only at run time, or a level name of type `string`, gives the wide table; a rank of type `number`
 * gives `number` for that level.
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
 * // Effect<LockHierarchy<{ readonly ledger: 1; readonly account: 2; readonly audit: 3 }, "Accounts", readonly []>,
 * //   LockHierarchyError>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <const Name extends string, const Levels extends ReadonlyArray<string | Level>>(
  options: MakeOptions<Name, Levels>
) => Effect.Effect<LockHierarchy.Made<Name, Levels>, LockHierarchyError> = internal.make as any

/**
 * Like {@link make}, synchronously; throws `LockHierarchyError`. For hierarchies declared as module constants.
 *
 * @example
 * ```ts
 * import { LockHierarchy } from "@core-stability/locks"
 *
 * const Ledger = LockHierarchy.unsafeMake({
 *   name: "Ledger",
 *   levels: [{ name: "book", rank: 10 }, { name: "entry", rank: 20 }]
 * })
 * // LockHierarchy<{ readonly book: 10; readonly entry: 20 }, "Ledger", readonly []>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: <const Name extends string, const Levels extends ReadonlyArray<string | Level>>(
  options: MakeOptions<Name, Levels>
) => LockHierarchy.Made<Name, Levels> = internal.unsafeMake as any

/**
 * Composes hierarchies into one order. Parts are ordered by the `order` constraints (a topological order, stable
 * with respect to `parts`); ranks are renumbered 1, 2, ... keeping equal ranks equal; level names become
 * `Part.level`.
 *
 * When the parts' tables and names and the `order` pairs are literal, the compiler computes the same table (see
 * {@link LockHierarchy.Composed}); otherwise the composed hierarchy's table is wide. Constraints the run time rejects
 * (a cycle, an unknown or duplicate part) also give the wide table.
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
 * // Effect<LockHierarchy<{ readonly "Outer.a": 1; readonly "Outer.b": 2; readonly "Inner.c": 3 }, "App",
 * //   readonly ["Outer", "Inner"]>, LockHierarchyError>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const compose: <
  const Name extends string,
  const Parts extends ReadonlyArray<LockHierarchy>,
  const Order extends ReadonlyArray<readonly [before: string, after: string]> = readonly []
>(
  options: ComposeOptions<Name, Parts, Order>
) => Effect.Effect<LockHierarchy.Composed<Name, Parts, Order>, LockHierarchyError> = internal.compose as any

/**
 * Like {@link compose}, synchronously; throws `LockHierarchyError`. For hierarchies declared as module constants.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeCompose: <
  const Name extends string,
  const Parts extends ReadonlyArray<LockHierarchy>,
  const Order extends ReadonlyArray<readonly [before: string, after: string]> = readonly []
>(
  options: ComposeOptions<Name, Parts, Order>
) => LockHierarchy.Composed<Name, Parts, Order> = internal.unsafeCompose as any

/**
 * The rank of a level. Throws (a defect inside an effect) when the hierarchy has no such level, listing the levels
 * it has.
 *
 * Typed as the table's literal for a level the hierarchy's type knows (`15` for `"StateMachine.state"` of
 * {@link Global}), and `number` for any other string: a level name computed at run time, or one the table does not
 * have (which throws). To have an unknown level name refused by the compiler, make the lock with
 * `TypedLock.fromLevel`.
 *
 * @example
 * ```ts
 * import { LockHierarchy } from "@core-stability/locks"
 *
 * LockHierarchy.rankOf(LockHierarchy.Global, "StateMachine.state") // 15, typed 15
 * LockHierarchy.rankOf(LockHierarchy.StateMachine, "state") // 2, typed 2
 * LockHierarchy.Global.pipe(LockHierarchy.rankOf("BufferManager.update")) // 13, typed 13
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const rankOf: {
  <Level extends string>(
    level: Level
  ): <Ranks extends RankTable>(hierarchy: LockHierarchy<Ranks>) => internal.RankOf<Ranks, Level>
  <Ranks extends RankTable, Level extends string>(
    hierarchy: LockHierarchy<Ranks>,
    level: Level
  ): internal.RankOf<Ranks, Level>
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
export const StateMachine: LockHierarchy<
  {
    readonly callbacks: 1
    readonly state: 2
    readonly history: 3
    readonly invariants: 4
    readonly validators: 5
  },
  "StateMachine",
  readonly []
> = internal.seeded(internal.unsafeMake({
  name: "StateMachine",
  levels: ["callbacks", "state", "history", "invariants", "validators"]
}))

/**
 * The seed's CleanupCoordinator order: shutdown < phase < steps < status.
 *
 * @since 0.1.0
 * @category models
 */
export const CleanupCoordinator: LockHierarchy<
  { readonly shutdown: 1; readonly phase: 2; readonly steps: 3; readonly status: 4 },
  "CleanupCoordinator",
  readonly []
> = internal.seeded(internal.unsafeMake({
  name: "CleanupCoordinator",
  levels: ["shutdown", "phase", "steps", "status"]
}))

/**
 * The seed's ComponentCoordinator order: component < resource < history < callback < thread.
 *
 * @since 0.1.0
 * @category models
 */
export const ComponentCoordinator: LockHierarchy<
  { readonly component: 1; readonly resource: 2; readonly history: 3; readonly callback: 4; readonly thread: 5 },
  "ComponentCoordinator",
  readonly []
> = internal.seeded(internal.unsafeMake({
  name: "ComponentCoordinator",
  levels: ["component", "resource", "history", "callback", "thread"]
}))

/**
 * The seed's BufferManager order: cleanup < state < component < update.
 *
 * @since 0.1.0
 * @category models
 */
export const BufferManager: LockHierarchy<
  { readonly cleanup: 1; readonly state: 2; readonly component: 3; readonly update: 4 },
  "BufferManager",
  readonly []
> = internal.seeded(internal.unsafeMake({
  name: "BufferManager",
  levels: ["cleanup", "state", "component", "update"]
}))

/**
 * The global order of core-stability: CleanupCoordinator < ComponentCoordinator < BufferManager < StateMachine
 * (outer coordinators before inner services; see the module documentation for the reasons). Level names are
 * qualified: `"StateMachine.state"`, `"CleanupCoordinator.steps"`.
 *
 * @since 0.1.0
 * @category models
 */
export const Global: LockHierarchy<
  {
    readonly "CleanupCoordinator.shutdown": 1
    readonly "CleanupCoordinator.phase": 2
    readonly "CleanupCoordinator.steps": 3
    readonly "CleanupCoordinator.status": 4
    readonly "ComponentCoordinator.component": 5
    readonly "ComponentCoordinator.resource": 6
    readonly "ComponentCoordinator.history": 7
    readonly "ComponentCoordinator.callback": 8
    readonly "ComponentCoordinator.thread": 9
    readonly "BufferManager.cleanup": 10
    readonly "BufferManager.state": 11
    readonly "BufferManager.component": 12
    readonly "BufferManager.update": 13
    readonly "StateMachine.callbacks": 14
    readonly "StateMachine.state": 15
    readonly "StateMachine.history": 16
    readonly "StateMachine.invariants": 17
    readonly "StateMachine.validators": 18
  },
  "Global",
  readonly ["CleanupCoordinator", "ComponentCoordinator", "BufferManager", "StateMachine"]
> = internal.seeded(internal.unsafeCompose({
  name: "Global",
  parts: [CleanupCoordinator, ComponentCoordinator, BufferManager, StateMachine],
  order: [
    ["CleanupCoordinator", "ComponentCoordinator"],
    ["ComponentCoordinator", "BufferManager"],
    ["BufferManager", "StateMachine"]
  ]
}))
