/**
 * A lock that guards a value, like Rust's `Mutex<T>`: the value is reached only through a `Guard` handed to the body
 * of {@link withGuard}, which runs under the lock. A guard that escapes its region (kept in a variable and used
 * later) refuses to work: using it is a defect naming the lock.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type { Pipeable } from "effect/Pipeable"
import * as internal from "./internal/guarded.js"
import type { LockError } from "./LockError.js"
import type * as OrderedLock from "./OrderedLock.js"

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
 * An ordered lock and the value it guards.
 *
 * @since 0.1.0
 * @category models
 */
export interface GuardedLock<in out A> extends Pipeable {
  readonly [TypeId]: TypeId
  /** The underlying lock: it orders and times out like any `OrderedLock`. */
  readonly lock: OrderedLock.OrderedLock
  /** Phantom marker of the guarded type. */
  readonly _A: (_: A) => A
}

/**
 * Access to a guarded value, valid only inside the lock region it was handed to.
 *
 * @since 0.1.0
 * @category models
 */
export interface Guard<in out A> {
  readonly get: Effect.Effect<A>
  set(value: A): Effect.Effect<void>
  update(f: (a: A) => A): Effect.Effect<void>
  modify<B>(f: (a: A) => readonly [B, A]): Effect.Effect<B>
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isGuardedLock: (u: unknown) => u is GuardedLock<unknown> = internal.isGuardedLock

/**
 * Makes a guarded lock (see `OrderedLock.make` for the options) holding `value`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { GuardedLock } from "@core-stability/locks"
 *
 * const program = Effect.gen(function*() {
 *   const balance = yield* GuardedLock.make({ name: "balance", rank: 1, value: 100 })
 *   yield* GuardedLock.withGuard(balance, (guard) => guard.update((n) => n - 30))
 *   return yield* GuardedLock.get(balance) // 70
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <A>(options: OrderedLock.MakeOptions & { readonly value: A }) => Effect.Effect<GuardedLock<A>> =
  internal.make as any

/**
 * Makes a guarded lock synchronously.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: <A>(options: OrderedLock.UnsafeMakeOptions & { readonly value: A }) => GuardedLock<A> =
  internal.unsafeMake as any

/**
 * Runs `f` under the lock with a guard on the value. Fails like `OrderedLock.withLock`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withGuard: {
  <A, B, E, R>(
    f: (guard: Guard<A>) => Effect.Effect<B, E, R>,
    options?: OrderedLock.AcquireOptions
  ): (self: GuardedLock<A>) => Effect.Effect<B, E | LockError, R>
  <A, B, E, R>(
    self: GuardedLock<A>,
    f: (guard: Guard<A>) => Effect.Effect<B, E, R>,
    options?: OrderedLock.AcquireOptions
  ): Effect.Effect<B, E | LockError, R>
} = internal.withGuard

/**
 * Reads the value under the lock.
 *
 * @since 0.1.0
 * @category getters
 */
export const get: <A>(self: GuardedLock<A>) => Effect.Effect<A, LockError> = internal.get

/**
 * Replaces the value under the lock.
 *
 * @since 0.1.0
 * @category combinators
 */
export const set: {
  <A>(value: A): (self: GuardedLock<A>) => Effect.Effect<void, LockError>
  <A>(self: GuardedLock<A>, value: A): Effect.Effect<void, LockError>
} = internal.set

/**
 * Updates the value under the lock.
 *
 * @since 0.1.0
 * @category combinators
 */
export const update: {
  <A>(f: (a: A) => A): (self: GuardedLock<A>) => Effect.Effect<void, LockError>
  <A>(self: GuardedLock<A>, f: (a: A) => A): Effect.Effect<void, LockError>
} = internal.update

/**
 * Computes a result from the value and replaces it, under the lock.
 *
 * @since 0.1.0
 * @category combinators
 */
export const modify: {
  <A, B>(f: (a: A) => readonly [B, A]): (self: GuardedLock<A>) => Effect.Effect<B, LockError>
  <A, B>(self: GuardedLock<A>, f: (a: A) => readonly [B, A]): Effect.Effect<B, LockError>
} = internal.modify
