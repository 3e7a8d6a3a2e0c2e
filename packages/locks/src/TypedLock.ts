/**
 * Compile-time lock ordering. A lock made with a literal rank carries that rank in its type, and an effect that
 * takes such locks records them in its requirement channel `R` as phantom markers, `Acquires<Rank, Name>`. Wrapping
 * an effect in a lock of rank N compiles only if every rank the effect acquires is strictly greater than N; an
 * out-of-order nesting is a compile error naming both ranks:
 *
 * ```text
 * Argument of type 'Effect<void, LockError, Acquires<3, "history">>' is not assignable to parameter of type
 * 'OrderViolation<"lock order violation: rank 3 (history) taken inside rank 4 (invariants)">'.
 * ```
 *
 * The wrapped effect records rank N in place of the ranks it wrapped (N is below all of them, and the checks only
 * need the lowest), so the check composes across function boundaries with one marker per region: a helper whose type
 * says it takes a rank-3 lock cannot be called inside a rank-5 region. The markers are types only; no service is ever
 * provided for them. {@link discharge} removes them at the edge of the program (before `Effect.runPromise` or
 * `runMain`, which require `R = never`).
 *
 * Locks are made with a literal name and rank ({@link make}), or from a level of a `LockHierarchy`, whose type knows
 * the rank of each level ({@link fromLevel}): `TypedLock.fromLevel(LockHierarchy.Global, "StateMachine.state")` makes
 * a `TypedLock<"StateMachine.state", 15>`, and a level the hierarchy does not have does not compile.
 *
 * At run time a typed lock is an `OrderedLock` and every combinator here is the `OrderedLock` one: the runtime order
 * checks apply to typed and untyped locks alike, and a typed lock adds no cost. A lock whose rank is not a literal
 * (`number`) adds no marker and is checked at run time only; the two kinds mix freely (see `docs/typed-lock-order.md`).
 *
 * The idea follows Fuchsia's `lock_order` (netstack3: the current lock level is a type, and taking a lock compiles
 * only after a lower level), Clang's thread-safety analysis (`ACQUIRED_BEFORE` / `ACQUIRED_AFTER`) and IronGuard's
 * numbered levels in TypeScript types; here the proof rides in Effect's `R` channel.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/typedLock.js"
import type { LockError } from "./LockError.js"
import type * as LockHierarchy from "./LockHierarchy.js"
import type * as LockRegistry from "./LockRegistry.js"
import type * as OrderedLock from "./OrderedLock.js"

declare const AcquiresTypeId: unique symbol

/**
 * The key of the {@link Acquires} marker. A type only: no value of it exists.
 *
 * @since 0.1.0
 * @category symbols
 */
export type AcquiresTypeId = typeof AcquiresTypeId

/**
 * The phantom marker an effect records in its requirement channel when it takes a typed lock: "this effect acquires
 * a lock of rank `Rank` (named `Name`)". An effect records the lowest rank it takes at its top level, one marker per
 * region it runs in sequence. It is never provided: {@link discharge} removes it at the edge of the program.
 *
 * `Name` is for the compiler's messages; helpers may write `Acquires<3>` (any name).
 *
 * @example
 * ```ts
 * import type { Effect } from "effect"
 * import type { LockError } from "@core-stability/locks/LockError"
 * import type { TypedLock } from "@core-stability/locks"
 *
 * // a helper whose type says it takes the rank-3 lock
 * declare const appendHistory: (entry: string) => Effect.Effect<void, LockError, TypedLock.Acquires<3, "history">>
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Acquires<out Rank extends number, out Name extends string = string> {
  readonly [AcquiresTypeId]: {
    readonly rank: Rank
    readonly name: Name
  }
}

/**
 * An `OrderedLock` whose class name and rank are known to the compiler. It is the `OrderedLock` itself (the same
 * object at run time), so it works with every `OrderedLock` function, which checks it at run time only.
 *
 * @since 0.1.0
 * @category models
 */
export interface TypedLock<out Name extends string, out Rank extends number> extends OrderedLock.OrderedLock {
  readonly name: Name
  readonly rank: Rank
}

/**
 * What the parameter of a lock combinator becomes when the effect given to it takes a lock out of order: a type no
 * effect has, whose one property spells the violation, e.g.
 * `OrderViolation<"lock order violation: rank 3 (history) taken inside rank 4 (invariants)">`. Several
 * violations give a union of messages. A marker whose rank is not a literal (`Acquires<number>`, from a widening
 * annotation) is reported as `"a lock of unknown rank taken inside rank N"`.
 *
 * @since 0.1.0
 * @category errors
 */
export interface OrderViolation<Message extends string> {
  readonly "lock order violation": Message
}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace TypedLock {
  /**
   * Any marker: `Acquires<number, string>`.
   *
   * @since 0.1.0
   * @category models
   */
  export type AnyAcquires = internal.AnyAcquires

  /**
   * The markers of a lock or of an iterable of `withLocks` entries: one `Acquires<Rank, Name>` per literal rank;
   * locks of non-literal rank add none.
   *
   * @since 0.1.0
   * @category models
   */
  export type Held<Locks> = internal.Held<Locks>

  /**
   * The type an `Effect<A, E, R>` must have to run inside `Locks` (a lock or an iterable of locks): the effect itself
   * when every rank it acquires is above every rank held, else an {@link OrderViolation}. Write it in a helper that
   * wraps an arbitrary effect in a typed lock, so the helper stays generic and its callers are checked:
   *
   * @example
   * ```ts
   * import { TypedLock } from "@core-stability/locks"
   *
   * const state = TypedLock.unsafeMake({ name: "state", rank: 2 })
   * const inState = <A, E, R>(self: TypedLock.TypedLock.Inside<typeof state, A, E, R>) =>
   *   TypedLock.withLock(state, self)
   * ```
   *
   * @since 0.1.0
   * @category models
   */
  export type Inside<Locks, A, E, R> = internal.Checked<Effect.Effect<A, E, R>, R, internal.Held<Locks>>

  /**
   * The requirements of an effect requiring `R` once wrapped in `Locks` (a lock or an iterable of locks): its markers
   * replaced by the lock's marker, or by the lowest rank of the list, other requirements kept. `R` unchanged when no
   * lock of `Locks` has a literal rank.
   *
   * @since 0.1.0
   * @category models
   */
  export type Locked<Locks, R> = Locks extends Iterable<any> ?
    internal.Recorded<R, internal.Lowest<internal.Held<Locks>>>
    : internal.Recorded<R, internal.Held<Locks>>

  /**
   * `R` without its markers.
   *
   * @since 0.1.0
   * @category models
   */
  export type Discharged<R> = Exclude<R, internal.AnyAcquires>
}

/**
 * Options of {@link make}: a class name and a rank, or a level of a `LockHierarchy` together with the rank the
 * hierarchy gives it, checked against the hierarchy when the lock is made. The rank must be a non-negative integer
 * literal for the compiler to check it; a rank of type `number` gives a lock checked at run time only. The other
 * options are `OrderedLock`'s.
 *
 * For a level of a hierarchy whose type knows its ranks (the seeded hierarchies, and any built by
 * `LockHierarchy.make` / `compose` from literal input), {@link fromLevel} infers the name and the rank instead; the
 * `hierarchy`/`level`/`rank` form is for hierarchies built from input known only at run time.
 *
 * @since 0.1.0
 * @category models
 */
export type MakeOptions<Name extends string, Rank extends number> =
  | (OrderedLock.CommonOptions & { readonly name: Name; readonly rank: internal.StaticRank<Rank> })
  | (OrderedLock.CommonOptions & {
    readonly hierarchy: LockHierarchy.LockHierarchy
    readonly level: string
    readonly rank: internal.StaticRank<Rank>
  })

/**
 * {@link MakeOptions}, plus the registry the lock belongs to (default: the process-wide registry).
 *
 * @since 0.1.0
 * @category models
 */
export type UnsafeMakeOptions<Name extends string, Rank extends number> =
  & MakeOptions<Name, Rank>
  & { readonly registry?: LockRegistry.Registry | undefined }

/**
 * Makes a typed lock: `OrderedLock.make` with the name and rank kept as literal types. A hierarchy level whose rank
 * is not the one stated is a defect naming both, like any other disagreement between two declarations of a lock.
 * A negative, fractional or exponent rank literal does not compile. For a level of a hierarchy, prefer
 * {@link fromLevel}, which reads the name and the rank from the hierarchy's type.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TypedLock } from "@core-stability/locks"
 *
 * const program = Effect.gen(function*() {
 *   // TypedLock<"state", 2>
 *   const state = yield* TypedLock.make({ name: "state", rank: 2, key: "main" })
 *   return state
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <Name extends string, Rank extends number>(
  options: MakeOptions<Name, Rank>
) => Effect.Effect<TypedLock<Name, Rank>> = internal.make

/**
 * Like {@link make}, synchronously, in `options.registry` or the process-wide registry: for locks declared as module
 * constants. Throws when a hierarchy level's rank is not the one stated.
 *
 * @example
 * ```ts
 * import { TypedLock } from "@core-stability/locks"
 *
 * const history = TypedLock.unsafeMake({ name: "StateMachine.history", rank: 16 })
 * // TypedLock<"StateMachine.history", 16>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: <Name extends string, Rank extends number>(
  options: UnsafeMakeOptions<Name, Rank>
) => TypedLock<Name, Rank> = internal.unsafeMake

/**
 * Options of {@link fromLevel}: `OrderedLock`'s (`key`, `timeout`, `sites`).
 *
 * @since 0.1.0
 * @category models
 */
export type FromLevelOptions = OrderedLock.CommonOptions

/**
 * {@link FromLevelOptions}, plus the registry the lock belongs to (default: the process-wide registry).
 *
 * @since 0.1.0
 * @category models
 */
export type UnsafeFromLevelOptions = FromLevelOptions & { readonly registry?: LockRegistry.Registry | undefined }

/**
 * Makes a typed lock for a level of a hierarchy, its class name and rank read from the hierarchy's type:
 * `fromLevel(LockHierarchy.Global, "StateMachine.state")` gives a `TypedLock<"StateMachine.state", 15>`, the same
 * lock as `OrderedLock.make({ hierarchy, level })` at run time. The class name is the level name for a composed
 * hierarchy (`"StateMachine.state"` in `Global`), `Part.level` for a base one (`"StateMachine.history"` for the level
 * `history` of `LockHierarchy.StateMachine`).
 *
 * A level name the hierarchy's type does not have does not compile (the error lists the levels it has). A hierarchy
 * whose type does not know its ranks (the wide `LockHierarchy`, built from input known only at run time) takes any
 * level name and gives a `TypedLock<string, number>`, checked at run time only; an unknown level is then a defect.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockHierarchy, TypedLock } from "@core-stability/locks"
 *
 * const program = Effect.gen(function*() {
 *   // TypedLock<"StateMachine.state", 15>
 *   const state = yield* TypedLock.fromLevel(LockHierarchy.Global, "StateMachine.state", { key: "main" })
 *   // TypedLock<"StateMachine.history", 16>
 *   const history = yield* TypedLock.fromLevel(LockHierarchy.Global, "StateMachine.history", { key: "main" })
 *   // Effect<void, LockError, Acquires<15, "StateMachine.state">>
 *   const transition = Effect.log("transition").pipe(TypedLock.withLock(history), TypedLock.withLock(state))
 *   // does not compile: "lock order violation: rank 15 (StateMachine.state) taken inside rank 16
 *   // (StateMachine.history)"
 *   // const inverted = transition.pipe(TypedLock.withLock(history))
 *   return transition
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromLevel: <
  Ranks extends LockHierarchy.RankTable,
  HierarchyName extends string,
  Parts extends ReadonlyArray<string>,
  Level extends keyof Ranks & string
>(
  hierarchy: LockHierarchy.LockHierarchy<Ranks, HierarchyName, Parts>,
  level: Level,
  options?: FromLevelOptions
) => Effect.Effect<
  TypedLock<
    LockHierarchy.LockHierarchy.LockName<LockHierarchy.LockHierarchy<Ranks, HierarchyName, Parts>, Level>,
    Ranks[Level]
  >
> = internal.fromLevel as any

/**
 * Like {@link fromLevel}, synchronously, in `options.registry` or the process-wide registry: for locks declared as
 * module constants. Throws (like `OrderedLock.unsafeMake`) when a class of that name exists with another rank.
 *
 * @example
 * ```ts
 * import { LockHierarchy, TypedLock } from "@core-stability/locks"
 *
 * const steps = TypedLock.unsafeFromLevel(LockHierarchy.Global, "CleanupCoordinator.steps")
 * // TypedLock<"CleanupCoordinator.steps", 3>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeFromLevel: <
  Ranks extends LockHierarchy.RankTable,
  HierarchyName extends string,
  Parts extends ReadonlyArray<string>,
  Level extends keyof Ranks & string
>(
  hierarchy: LockHierarchy.LockHierarchy<Ranks, HierarchyName, Parts>,
  level: Level,
  options?: UnsafeFromLevelOptions
) => TypedLock<
  LockHierarchy.LockHierarchy.LockName<LockHierarchy.LockHierarchy<Ranks, HierarchyName, Parts>, Level>,
  Ranks[Level]
> = internal.unsafeFromLevel as any

/**
 * Runs an effect while holding the lock: `OrderedLock.withLock`, with the order checked by the compiler. Called as
 * `withLock(lock, effect, options?)` or `effect.pipe(withLock(lock, options?))`.
 *
 * Compiles only if every rank the effect acquires (every `Acquires<M>` in its `R`) is strictly greater than the
 * lock's rank N; otherwise the effect argument's expected type is an {@link OrderViolation} naming both ranks. The
 * result requires `Acquires<N, Name>` in place of the effect's markers, and keeps the effect's other requirements,
 * its `A`, and its `E` (plus `LockError`). A lock of non-literal rank is not checked by the compiler and leaves `R`
 * unchanged.
 *
 * Fails, at run time, like `OrderedLock.withLock`: `LockOrderViolation` (an order the compiler could not see, such as
 * a lock of dynamic rank, or a lock taken by a caller outside the checked region), `LockRecursion`, `LockTimeout`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TypedLock } from "@core-stability/locks"
 *
 * const state = TypedLock.unsafeMake({ name: "state", rank: 2 })
 * const history = TypedLock.unsafeMake({ name: "history", rank: 3 })
 *
 * // Effect<void, LockError, Acquires<3, "history">>
 * const appendHistory = Effect.log("appended").pipe(TypedLock.withLock(history))
 *
 * // Effect<void, LockError, Acquires<2, "state">>: history (3) inside state (2)
 * const transition = Effect.gen(function*() {
 *   yield* Effect.log("transition")
 *   yield* appendHistory
 * }).pipe(TypedLock.withLock(state))
 *
 * // does not compile: "lock order violation: rank 2 (state) taken inside rank 3 (history)"
 * // const inverted = transition.pipe(TypedLock.withLock(history))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withLock: {
  <L extends OrderedLock.OrderedLock, A, E, R>(
    lock: L,
    self: TypedLock.Inside<L, A, E, R>,
    options?: OrderedLock.AcquireOptions
  ): Effect.Effect<A, E | LockError, internal.Recorded<R, internal.Held<L>>>
  <L extends OrderedLock.OrderedLock>(
    lock: L,
    options?: OrderedLock.AcquireOptions
  ): <A, E, R>(
    self: TypedLock.Inside<L, A, E, R>
  ) => Effect.Effect<A, E | LockError, internal.Recorded<R, internal.Held<L>>>
} = internal.withLock

/**
 * Runs an effect while holding several locks, taken in canonical order (rank, then instance key) whatever order they
 * are given in: `OrderedLock.withLocks`, with the order checked by the compiler. Since the order is canonical, any
 * order of the list compiles, and locks of one rank may be taken together.
 *
 * Compiles only if every rank the effect acquires is strictly greater than the highest literal rank in the list (the
 * effect runs while all of them are held). The result records the lowest literal rank of the list. Entries of
 * non-literal rank are checked at run time only.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TypedLock } from "@core-stability/locks"
 *
 * const component = TypedLock.unsafeMake({ name: "component", rank: 1 })
 * const resource = TypedLock.unsafeMake({ name: "resource", rank: 2 })
 * const history = TypedLock.unsafeMake({ name: "history", rank: 3 })
 *
 * // takes component, resource, history in that order; Effect<void, LockError, Acquires<1, "component">>
 * const all = Effect.log("all three").pipe(TypedLock.withLocks([history, component, resource]))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withLocks: {
  <Locks extends Iterable<OrderedLock.LockRequest>, A, E, R>(
    locks: Locks,
    self: TypedLock.Inside<Locks, A, E, R>,
    options?: OrderedLock.AcquireOptions
  ): Effect.Effect<A, E | LockError, internal.Recorded<R, internal.Lowest<internal.Held<Locks>>>>
  <Locks extends Iterable<OrderedLock.LockRequest>>(
    locks: Locks,
    options?: OrderedLock.AcquireOptions
  ): <A, E, R>(
    self: TypedLock.Inside<Locks, A, E, R>
  ) => Effect.Effect<A, E | LockError, internal.Recorded<R, internal.Lowest<internal.Held<Locks>>>>
} = internal.withLocks

/**
 * Takes the lock until the current scope closes: `OrderedLock.lock`, recording the lock's rank in `R` so that the
 * regions around the scope are checked. The order between acquisitions inside one scope (two `lock` calls in one
 * `Effect.gen`) is not visible in the types and is checked at run time only; prefer {@link withLock} where the order
 * matters.
 *
 * @since 0.1.0
 * @category combinators
 */
export const lock: <L extends OrderedLock.OrderedLock>(
  lock: L,
  options?: OrderedLock.AcquireOptions
) => Effect.Effect<void, LockError, Scope.Scope | internal.Held<L>> = internal.lock

/**
 * Removes the lock-order markers from `R`, so the effect can be run. A cast with no run-time effect: use it at the
 * edge of the program, where no lock is held (before `Effect.runPromise`, `NodeRuntime.runMain`, or where the app
 * provides its Layers). Inside a locked region it would hide the markers from the regions around it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TypedLock } from "@core-stability/locks"
 *
 * const state = TypedLock.unsafeMake({ name: "state", rank: 2 })
 * const program = Effect.log("hello").pipe(TypedLock.withLock(state))
 * // Effect<void, LockError, Acquires<2, "state">>: Effect.runPromise(program) does not compile
 * Effect.runPromise(TypedLock.discharge(program))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const discharge: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, TypedLock.Discharged<R>> =
  internal.discharge
