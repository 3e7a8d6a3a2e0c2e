/**
 * An exclusive lock with a place in a declared order. Every acquisition is checked against the locks the fiber
 * already holds (per `LockConfig` mode), may time out with a report naming the holders, and is released on every
 * exit: success, failure, defect or interruption, including an interruption between the grant and the installation
 * of the release.
 *
 * Per-fiber held locks: every fiber has its own held stack, kept in a FiberRef whose value is a mutable record
 * bound to the fiber on its first acquisition (no `FiberRef.locally` per acquisition).
 * - Fork policy: a child inherits the locks its parent holds when it is forked, for order checking only (taking a
 *   lower-ranked lock, or one of those very locks, is a violation, since the parent may wait for the child while
 *   holding them); a child never owns them. A fiber forked before its parent took a lock does not inherit it, and
 *   {@link forkDetached} forks a fiber that inherits nothing.
 * - Join policy: a child's held set never merges into its parent (`Fiber.join` and `Effect.all` merge FiberRefs by
 *   default; this one keeps the parent's value).
 *
 * The lock is not reentrant: taking a lock the fiber holds fails with `LockRecursion` in every mode, instead of
 * hanging. Several instances of one rank are taken together through {@link withLocks} (canonical order: rank, then
 * instance key), or one by one under a held gate lock (`nestedUnder`, lockdep's `nest_lock`).
 *
 * The fast path (free lock, nobody queued) is synchronous: mask, check, take, run, release. Waiting is an
 * `Effect.async`; an interrupted or timed-out waiter leaves the queue before its failure is seen, and the lock is
 * handed over to waiters in FIFO order.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type { Inspectable } from "effect/Inspectable"
import type * as Option from "effect/Option"
import type { Pipeable } from "effect/Pipeable"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/lock.js"
import type * as LockConfig from "./LockConfig.js"
import type { LockError } from "./LockError.js"
import type { LockHierarchy } from "./LockHierarchy.js"
import type * as LockRegistry from "./LockRegistry.js"
import type * as OrderedRWLock from "./OrderedRWLock.js"

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
 * An exclusive ordered lock.
 *
 * @since 0.1.0
 * @category models
 */
export interface OrderedLock extends Pipeable, Inspectable {
  readonly [TypeId]: TypeId
  /** The lock class name, shared by every instance of the class (e.g. `"StateMachine.state"`). */
  readonly name: string
  /** The rank: locks are taken in increasing rank. */
  readonly rank: number
  /** The instance key, when the class has several instances (e.g. one lock per account). */
  readonly key: string | undefined
}

/**
 * Options shared by both ways of naming a lock.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommonOptions {
  /** The instance key; instances of one class are ordered by key in {@link withLocks}. */
  readonly key?: string | undefined
  /** The default timeout of this lock's acquisitions (else `LockConfig`'s). */
  readonly timeout?: Duration.DurationInput | undefined
  /** What to record about acquisition sites (else `LockConfig`'s `sites`, read when the lock is made). */
  readonly sites?: LockConfig.Sites | undefined
}

/**
 * A lock named by class name and rank, or by a level of a `LockHierarchy` (the rank is looked up; the class name is
 * the qualified level name, e.g. `"StateMachine.state"`).
 *
 * @since 0.1.0
 * @category models
 */
export type MakeOptions =
  | (CommonOptions & { readonly name: string; readonly rank: number })
  | (CommonOptions & { readonly hierarchy: LockHierarchy; readonly level: string })

/**
 * {@link MakeOptions}, plus the registry the lock belongs to (default: the process-wide registry).
 *
 * @since 0.1.0
 * @category models
 */
export type UnsafeMakeOptions = MakeOptions & { readonly registry?: LockRegistry.Registry | undefined }

/**
 * Options of one acquisition.
 *
 * @since 0.1.0
 * @category models
 */
export interface AcquireOptions {
  /** How long to wait before failing with `LockTimeout` (else the lock's, else `LockConfig`'s). */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * A gate lock the fiber holds: while it is held, several locks of one rank may be nested (lockdep's
   * `mutex_lock_nest_lock`). Naming a gate the fiber does not hold is a `LockOrderViolation` (`"gate-not-held"`).
   */
  readonly nestedUnder?: OrderedLock | OrderedRWLock.OrderedRWLock | undefined
}

/**
 * An entry of {@link withLocks}: a lock (exclusive, or the write side of a read/write lock) or a read/write lock with
 * its mode (`OrderedRWLock.read(lock)` / `OrderedRWLock.write(lock)`).
 *
 * @since 0.1.0
 * @category models
 */
export type LockRequest = OrderedLock | OrderedRWLock.OrderedRWLock | OrderedRWLock.ModeRequest

/**
 * @since 0.1.0
 * @category guards
 */
export const isOrderedLock: (u: unknown) => u is OrderedLock = internal.isOrderedLock

/**
 * Makes a lock in the registry in effect (`LockRegistry`); site capture follows `LockConfig`'s `sites`. Registering a class
 * name that exists with another rank is a defect (two declarations disagree); an unknown hierarchy level too.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockHierarchy, OrderedLock } from "@core-stability/locks"
 *
 * const program = Effect.gen(function*() {
 *   const state = yield* OrderedLock.make({ hierarchy: LockHierarchy.Global, level: "StateMachine.state" })
 *   const history = yield* OrderedLock.make({ hierarchy: LockHierarchy.Global, level: "StateMachine.history" })
 *   // state (rank 15) before history (rank 16): legal
 *   yield* Effect.log("recorded").pipe(OrderedLock.withLock(history), OrderedLock.withLock(state))
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: MakeOptions) => Effect.Effect<OrderedLock> = internal.make

/**
 * Like {@link make}, for a lock that lives as long as the current scope: when the last scoped lock of its class is
 * disposed (and no lock of the class was made with {@link make} or {@link unsafeMake}), the class is forgotten by
 * the registry and the learned dependency graph (its edges go, every cached chain is validated again, and its name
 * may be declared again with another rank). The idea follows lockdep's `lockdep_unregister_key`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { OrderedLock } from "@core-stability/locks"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const session = yield* OrderedLock.makeScoped({ name: "session", rank: 3, key: "s-1" })
 *   yield* OrderedLock.withLock(session, Effect.log("in session"))
 * })) // the class "session" is forgotten here
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeScoped: (options: MakeOptions) => Effect.Effect<OrderedLock, never, Scope.Scope> = internal.makeScoped

/**
 * Makes a lock synchronously, in `options.registry` or the process-wide registry; `sites` defaults to
 * `"call-site"`. Throws on a rank conflict or an unknown hierarchy level.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: (options: UnsafeMakeOptions) => OrderedLock = internal.unsafeMake

/**
 * Runs an effect while holding the lock, released on every exit. Called as `withLock(lock, effect, options?)` or
 * `effect.pipe(withLock(lock, options?))`; the acquisition site is captured when the call is made.
 *
 * Fails with `LockOrderViolation` (strict mode, before waiting), `LockRecursion` (the fiber holds it),
 * `LockTimeout`. The body's `A` and `R` are kept.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { OrderedLock } from "@core-stability/locks"
 *
 * const lock = OrderedLock.unsafeMake({ name: "ledger", rank: 1, timeout: "5 seconds" })
 * const write = Effect.log("write").pipe(OrderedLock.withLock(lock))
 * const same = OrderedLock.withLock(lock, Effect.log("write"), { timeout: "1 second" })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withLock: {
  (
    lock: OrderedLock,
    options?: AcquireOptions
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | LockError, R>
  <A, E, R>(
    lock: OrderedLock,
    self: Effect.Effect<A, E, R>,
    options?: AcquireOptions
  ): Effect.Effect<A, E | LockError, R>
} = internal.withLock

/**
 * Takes the lock until the current scope closes. The wait is interruptible; once granted, the release is registered
 * in the scope without a gap.
 *
 * @since 0.1.0
 * @category combinators
 */
export const lock: (lock: OrderedLock, options?: AcquireOptions) => Effect.Effect<void, LockError, Scope.Scope> =
  internal.lock

/**
 * Takes the lock until the current scope closes if it is free right now; `false` otherwise. A try-lock never waits,
 * so it is not order-checked (it cannot deadlock), but it is recorded as held for later acquisitions.
 *
 * @since 0.1.0
 * @category combinators
 */
export const tryLock: (lock: OrderedLock) => Effect.Effect<boolean, LockError, Scope.Scope> = internal.tryLock

/**
 * Runs the effect with the lock if it is free right now (`Some`), or not at all (`None`). Not order-checked (it
 * never waits); fails with `LockRecursion` if the fiber already holds the lock.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withLockIfAvailable: {
  (lock: OrderedLock): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<Option.Option<A>, E | LockError, R>
  <A, E, R>(lock: OrderedLock, self: Effect.Effect<A, E, R>): Effect.Effect<Option.Option<A>, E | LockError, R>
} = internal.withLockIfAvailable

/**
 * Runs an effect while holding several locks, taken in canonical order (rank, then instance key) whatever order
 * they are given in, and released in reverse. Locks of one rank are legal together here. Each acquisition gets the
 * timeout. The idea follows `@matrixai/async-locks` (sorted keys) and lockdep's same-class nesting.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { OrderedLock } from "@core-stability/locks"
 *
 * const a = OrderedLock.unsafeMake({ name: "account", rank: 3, key: "a" })
 * const b = OrderedLock.unsafeMake({ name: "account", rank: 3, key: "b" })
 * // takes a, then b
 * const transfer = Effect.log("transfer").pipe(OrderedLock.withLocks([b, a]))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withLocks: {
  (
    locks: Iterable<LockRequest>,
    options?: AcquireOptions
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | LockError, R>
  <A, E, R>(
    locks: Iterable<LockRequest>,
    self: Effect.Effect<A, E, R>,
    options?: AcquireOptions
  ): Effect.Effect<A, E | LockError, R>
} = internal.withLocks

/**
 * Whether the lock is held by any fiber right now.
 *
 * @since 0.1.0
 * @category getters
 */
export const locked: (lock: OrderedLock) => Effect.Effect<boolean> = internal.locked

/**
 * Whether the current fiber holds the lock (a child of the holder does not).
 *
 * @since 0.1.0
 * @category getters
 */
export const heldByCurrentFiber: (lock: OrderedLock) => Effect.Effect<boolean> = internal.heldByCurrentFiber

/**
 * Forks `self` in a fiber that inherits none of the locks the current fiber holds (fork policy: a plain `Effect.fork`
 * child inherits them for order checking). Use it for a daemon or worker that is independent of the locks of the
 * fiber that starts it, e.g. a background refresher started while a lock is held: it may take those locks (waiting
 * for them like any other fiber) instead of failing with a `held-by-ancestor` or `rank-inversion` violation.
 *
 * The child still never owns the parent's locks; only the order check differs. Joining it while holding a lock it
 * needs is a deadlock: join it with `DeadlockDetector.join` (or `await`), whose wait is an edge of the wait-for graph,
 * and the cycle is broken the moment it forms; a plain `Fiber.join` is invisible to the detector and needs a timeout.
 *
 * @example
 * ```ts
 * import { Effect, Fiber } from "effect"
 * import { OrderedLock } from "@core-stability/locks"
 *
 * const cache = OrderedLock.unsafeMake({ name: "cache", rank: 1 })
 * const program = OrderedLock.withLock(
 *   cache,
 *   // the refresher waits for cache instead of failing with held-by-ancestor
 *   OrderedLock.forkDetached(OrderedLock.withLock(cache, Effect.log("refresh")))
 * ).pipe(Effect.flatMap(Fiber.join))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const forkDetached: <A, E, R>(
  self: Effect.Effect<A, E, R>
) => Effect.Effect<Fiber.RuntimeFiber<A, E>, never, R> = internal.forkDetached
