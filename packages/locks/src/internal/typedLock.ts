/**
 * `TypedLock`: the type-level order check, and the few lines of run time it needs.
 *
 * Ranks are compared with `LessThan` of `./hierarchy.ts` (digit by digit on their decimal strings, a handful of
 * instantiations whatever the size of the ranks), shared with the rank tables of `LockHierarchy`.
 */
import * as Effect from "effect/Effect"
import * as LockHierarchy from "../LockHierarchy.js"
import type * as LockRegistry from "../LockRegistry.js"
import * as OrderedLock from "../OrderedLock.js"
import type * as TypedLock from "../TypedLock.js"
import type { IsStaticRank, LessThan } from "./hierarchy.js"

export type { IsStaticRank, LessThan } from "./hierarchy.js"

/** Every marker: what `discharge` and the wrapping combinators remove from `R`. */
export type AnyAcquires = TypedLock.Acquires<number, string>

/** The markers of a union of locks: one per static rank; a lock of dynamic rank adds none. */
type LockMarkers<L> = L extends { readonly rank: infer Rank extends number; readonly name: infer Name extends string }
  ? Rank extends number ? IsStaticRank<Rank> extends true ? TypedLock.Acquires<Rank, Name> : never : never
  : never

/** The markers of a lock, or of the locks of an iterable. */
export type Held<Locks> = Locks extends Iterable<infer L> ? LockMarkers<L> : LockMarkers<Locks>

type HasRankBelow<All, Rank extends number> = All extends TypedLock.Acquires<infer Other, any> ? LessThan<Other, Rank>
  : never

/** The markers of lowest rank among `H`. */
export type Lowest<H extends AnyAcquires, All extends AnyAcquires = H> = H extends TypedLock.Acquires<infer Rank, any>
  ? true extends HasRankBelow<All, Rank> ? never : H
  : never

/** `rank 3 (history)`, or `rank 3` when the name is not a literal. */
type Label<Rank extends number, Name extends string> = string extends Name ? `rank ${Rank}` : `rank ${Rank} (${Name})`

/** The message of one broken pair: the inner acquisition and the held rank it was taken inside. */
type Message<Inner, H> = [Inner, H] extends
  [TypedLock.Acquires<infer InnerRank, infer InnerName>, TypedLock.Acquires<infer HeldRank, infer HeldName>]
  ? number extends InnerRank ? `lock order violation: a lock of unknown rank taken inside ${Label<HeldRank, HeldName>}`
  : `lock order violation: ${Label<InnerRank, InnerName>} taken inside ${Label<HeldRank, HeldName>}`
  : never

/**
 * One message per (inner marker, held marker) pair that breaks the order; other requirements give none. Names are
 * read only for the messages.
 */
type Violation<Inner, H> = Inner extends TypedLock.Acquires<infer InnerRank, any>
  ? H extends TypedLock.Acquires<infer HeldRank, any> ? number extends InnerRank ? Message<Inner, H>
    : LessThan<HeldRank, InnerRank> extends true ? never
    : Message<Inner, H>
  : never
  : never

/** The violations of running an effect that requires `R` while holding `H`; `never` when there are none. */
export type Violations<R, H> = 0 extends 1 & R ? never : Violation<R, H>

/** `Self` when an effect requiring `R` may run while `H` is held, else the `OrderViolation` naming both ranks. */
export type Checked<Self, R, H> = [Violations<R, H>] extends [never] ? Self
  : TypedLock.OrderViolation<Violations<R, H>>

/**
 * `R` once wrapped in a region that records `H`: inner markers replaced by `H`; unchanged if `H` is empty (no lock of
 * literal rank). One lock records its own marker as is; several record their lowest (`Lowest`).
 */
export type Recorded<R, H extends AnyAcquires> = [H] extends [never] ? R : Exclude<R, AnyAcquires> | H

/** `Rank` when a typed lock may carry it, else a message the rank literal is checked against. */
export type StaticRank<Rank extends number> = number extends Rank ? Rank
  : IsStaticRank<Rank> extends true ? Rank
  : `a typed lock's rank is a non-negative integer literal, not ${Rank}`

/**
 * A lock named by a hierarchy level must state the rank the hierarchy gives that level. The options' rank type is the
 * checked literal (`StaticRank`), a number once the call has compiled.
 */
const verify = (options: TypedLock.MakeOptions<string, number>): void => {
  if ("hierarchy" in options) {
    const actual = LockHierarchy.rankOf(options.hierarchy, options.level)
    if (actual !== options.rank) {
      throw new Error(
        `typed lock ${options.level}: declared with rank ${options.rank}, but hierarchy ${options.hierarchy.name} ` +
          `ranks it ${actual}`
      )
    }
  }
}

/** @internal */
export const unsafeMake = <Name extends string, Rank extends number>(
  options: TypedLock.UnsafeMakeOptions<Name, Rank>
): TypedLock.TypedLock<Name, Rank> => {
  const checked = options as TypedLock.UnsafeMakeOptions<string, number>
  verify(checked)
  // the lock's name and rank are the literals of the options (or the hierarchy's, verified equal above)
  return OrderedLock.unsafeMake(checked) as TypedLock.TypedLock<Name, Rank>
}

/** @internal */
export const make = <Name extends string, Rank extends number>(
  options: TypedLock.MakeOptions<Name, Rank>
): Effect.Effect<TypedLock.TypedLock<Name, Rank>> => {
  const checked = options as TypedLock.MakeOptions<string, number>
  return Effect.zipRight(
    Effect.sync(() => verify(checked)),
    OrderedLock.make(checked) as Effect.Effect<TypedLock.TypedLock<Name, Rank>>
  )
}

/** @internal */
export const unsafeFromLevel = (
  hierarchy: LockHierarchy.LockHierarchy,
  level: string,
  options?: OrderedLock.CommonOptions & { readonly registry?: LockRegistry.Registry | undefined }
): OrderedLock.OrderedLock => OrderedLock.unsafeMake({ ...options, hierarchy, level })

/** @internal */
export const fromLevel = (
  hierarchy: LockHierarchy.LockHierarchy,
  level: string,
  options?: OrderedLock.CommonOptions
): Effect.Effect<OrderedLock.OrderedLock> => OrderedLock.make({ ...options, hierarchy, level })

/** @internal */
export const discharge = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, AnyAcquires>> =>
  self as Effect.Effect<A, E, Exclude<R, AnyAcquires>>

/** @internal */
export const withLock = OrderedLock.withLock as unknown as typeof TypedLock.withLock

/** @internal */
export const withLocks = OrderedLock.withLocks as unknown as typeof TypedLock.withLocks

/** @internal */
export const lock = OrderedLock.lock as unknown as typeof TypedLock.lock
