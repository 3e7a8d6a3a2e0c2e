/**
 * A read/write lock with a place in a declared order: many readers or one writer. Ordering, recursion, timeouts,
 * release guarantees, introspection and metrics are those of `OrderedLock`; the body stays interruptible (unlike
 * `TReentrantLock.withReadLock` / `withWriteLock` in Effect 3.22.4, which run it uninterruptibly).
 *
 * Fairness: writer preference. A new reader queues behind a waiting writer, so a steady stream of readers cannot
 * starve a writer; when a writer releases, every reader queued before the next writer is let in together.
 *
 * Reader kinds, declared per lock (following lockdep's two kinds of reader):
 * - `"queued"` (default): a reader is an ordinary participant of the FIFO queue. Re-reading a lock the fiber reads
 *   fails with `LockRecursion` (it would queue behind a waiting writer that waits for the fiber itself), and two
 *   read locks of one rank are a `same-rank` violation.
 * - `"recursive"`: a fiber that already reads a lock of the class reads on without queueing behind waiting writers:
 *   re-reading the same lock, or reading several instances of the class, is legal.
 *
 * Upgrading is refused: a reader asking for the write lock fails with `LockUpgrade` at once (two readers that both
 * upgrade would otherwise wait for each other forever). Taking the read lock while holding the write lock is
 * `LockRecursion`.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type { Inspectable } from "effect/Inspectable"
import type * as Option from "effect/Option"
import type { Pipeable } from "effect/Pipeable"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/lock.js"
import type { LockError } from "./LockError.js"
import type * as OrderedLock from "./OrderedLock.js"

/**
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = internal.RWTypeId as TypeId

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * How readers of a lock behave, see the module documentation.
 *
 * @since 0.1.0
 * @category models
 */
export type ReaderKind = "queued" | "recursive"

/**
 * An ordered read/write lock.
 *
 * @since 0.1.0
 * @category models
 */
export interface OrderedRWLock extends Pipeable, Inspectable {
  readonly [TypeId]: TypeId
  readonly name: string
  readonly rank: number
  readonly key: string | undefined
  readonly readers: ReaderKind
}

/**
 * `OrderedLock`'s options plus the reader kind (default `"queued"`).
 *
 * @since 0.1.0
 * @category models
 */
export type MakeOptions = OrderedLock.MakeOptions & { readonly readers?: ReaderKind | undefined }

/**
 * @since 0.1.0
 * @category models
 */
export type UnsafeMakeOptions = OrderedLock.UnsafeMakeOptions & { readonly readers?: ReaderKind | undefined }

/**
 * A read/write lock with the mode to take it in, for `OrderedLock.withLocks`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModeRequest {
  readonly lock: OrderedRWLock
  readonly mode: "read" | "write"
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isOrderedRWLock: (u: unknown) => u is OrderedRWLock = internal.isOrderedRWLock

/**
 * Makes a read/write lock in the registry in effect.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockHierarchy, OrderedRWLock } from "@core-stability/locks"
 *
 * const program = Effect.gen(function*() {
 *   const history = yield* OrderedRWLock.make({
 *     hierarchy: LockHierarchy.Global,
 *     level: "StateMachine.history",
 *     readers: "recursive"
 *   })
 *   yield* Effect.log("read").pipe(OrderedRWLock.withReadLock(history))
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: MakeOptions) => Effect.Effect<OrderedRWLock> = internal.makeRW

/**
 * Like {@link make}, for a lock that lives as long as the current scope; its class is forgotten by the learned
 * dependency graph when the last scoped lock of the class is disposed (see `OrderedLock.makeScoped`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeScoped: (options: MakeOptions) => Effect.Effect<OrderedRWLock, never, Scope.Scope> =
  internal.makeScopedRW

/**
 * Makes a read/write lock synchronously.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: (options: UnsafeMakeOptions) => OrderedRWLock = internal.unsafeMakeRW

/**
 * Runs an effect while holding a read lock. Fails with `LockOrderViolation`, `LockRecursion` (re-reading a
 * `"queued"` lock, or reading while writing), `LockTimeout`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withReadLock: {
  (
    lock: OrderedRWLock,
    options?: OrderedLock.AcquireOptions
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | LockError, R>
  <A, E, R>(
    lock: OrderedRWLock,
    self: Effect.Effect<A, E, R>,
    options?: OrderedLock.AcquireOptions
  ): Effect.Effect<A, E | LockError, R>
} = internal.withReadLock

/**
 * Runs an effect while holding the write lock. Fails with `LockOrderViolation`, `LockRecursion`, `LockUpgrade`
 * (the fiber reads this lock), `LockTimeout`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withWriteLock: {
  (
    lock: OrderedRWLock,
    options?: OrderedLock.AcquireOptions
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | LockError, R>
  <A, E, R>(
    lock: OrderedRWLock,
    self: Effect.Effect<A, E, R>,
    options?: OrderedLock.AcquireOptions
  ): Effect.Effect<A, E | LockError, R>
} = internal.withWriteLock

/**
 * Takes a read lock until the current scope closes.
 *
 * @since 0.1.0
 * @category combinators
 */
export const readLock: (
  lock: OrderedRWLock,
  options?: OrderedLock.AcquireOptions
) => Effect.Effect<void, LockError, Scope.Scope> = internal.readLock

/**
 * Takes the write lock until the current scope closes.
 *
 * @since 0.1.0
 * @category combinators
 */
export const writeLock: (
  lock: OrderedRWLock,
  options?: OrderedLock.AcquireOptions
) => Effect.Effect<void, LockError, Scope.Scope> = internal.writeLock

/**
 * Runs the effect under a read lock if one can be had right now (`Some`), else not at all (`None`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const withReadLockIfAvailable: {
  (lock: OrderedRWLock): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<Option.Option<A>, E | LockError, R>
  <A, E, R>(lock: OrderedRWLock, self: Effect.Effect<A, E, R>): Effect.Effect<Option.Option<A>, E | LockError, R>
} = internal.withReadLockIfAvailable

/**
 * Runs the effect under the write lock if it can be had right now (`Some`), else not at all (`None`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const withWriteLockIfAvailable: {
  (lock: OrderedRWLock): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<Option.Option<A>, E | LockError, R>
  <A, E, R>(lock: OrderedRWLock, self: Effect.Effect<A, E, R>): Effect.Effect<Option.Option<A>, E | LockError, R>
} = internal.withWriteLockIfAvailable

/**
 * The read side of a lock, for `OrderedLock.withLocks`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const read = (lock: OrderedRWLock): ModeRequest => ({ lock, mode: "read" })

/**
 * The write side of a lock, for `OrderedLock.withLocks`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const write = (lock: OrderedRWLock): ModeRequest => ({ lock, mode: "write" })

/**
 * How many read holds the lock has right now.
 *
 * @since 0.1.0
 * @category getters
 */
export const readLocked: (lock: OrderedRWLock) => Effect.Effect<number> = internal.readLocked

/**
 * Whether the write lock is held right now.
 *
 * @since 0.1.0
 * @category getters
 */
export const writeLocked: (lock: OrderedRWLock) => Effect.Effect<boolean> = internal.writeLocked
