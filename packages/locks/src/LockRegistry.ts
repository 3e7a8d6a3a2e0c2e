/**
 * Where the locks of a program are known: lock classes, and the locks that are held or waited for right now. It
 * gives a snapshot like the Web Locks API's `query()` (every busy lock with its holders and waiters, every fiber's
 * held stack), a readable rendering of it, and a leak probe for tests.
 *
 * The registry is a `Context.Reference`: a process-wide default is used unless a Layer provides another one (tests
 * provide {@link layer} to get a fresh registry each). A lock belongs to the registry in effect when it is made.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as internal from "./internal/registry.js"
import type { HeldLock, LockDescription, WaitingRequest } from "./LockError.js"

/**
 * @since 0.1.0
 * @category symbols
 */
export const RegistryTypeId: unique symbol = internal.RegistryTypeId as RegistryTypeId

/**
 * @since 0.1.0
 * @category symbols
 */
export type RegistryTypeId = typeof RegistryTypeId

/**
 * A lock registry (opaque).
 *
 * @since 0.1.0
 * @category models
 */
export interface Registry {
  readonly [RegistryTypeId]: RegistryTypeId
}

/**
 * The registry in effect.
 *
 * @since 0.1.0
 * @category services
 */
export const LockRegistry: typeof internal.LockRegistryTag = internal.LockRegistryTag

/**
 * A fresh, empty registry.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: () => Registry = internal.unsafeMake

/**
 * Provides a fresh registry: the locks made under it, and only those, appear in its snapshots and leak reports.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<never> = internal.layer

/**
 * A holder or waiter in a snapshot, with the full captured stack when the snapshot asked for stacks.
 *
 * @since 0.1.0
 * @category models
 */
export interface SnapshotHold extends HeldLock {
  /** The user frames of the acquisition site, innermost first; only with `{ stacks: true }`. */
  readonly stack: ReadonlyArray<string> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SnapshotWaiter extends WaitingRequest {
  readonly stack: ReadonlyArray<string> | undefined
}

/**
 * One busy lock.
 *
 * @since 0.1.0
 * @category models
 */
export interface LockEntry {
  readonly lock: LockDescription
  readonly holders: ReadonlyArray<SnapshotHold>
  /** Queued requests, first in line first. */
  readonly waiters: ReadonlyArray<SnapshotWaiter>
}

/**
 * One fiber's held stack.
 *
 * @since 0.1.0
 * @category models
 */
export interface FiberEntry {
  readonly fiber: string
  /** Oldest first. */
  readonly held: ReadonlyArray<SnapshotHold>
}

/**
 * The state of every busy lock at one instant.
 *
 * @since 0.1.0
 * @category models
 */
export interface LockSnapshot {
  /** When it was taken (ms since the epoch, from the `Clock`). */
  readonly at: number
  /** How many lock classes the registry knows. */
  readonly classes: number
  /** Busy locks (held or awaited), in canonical order (rank, then key). */
  readonly locks: ReadonlyArray<LockEntry>
  /** Every fiber that holds a lock, with its held stack. */
  readonly fibers: ReadonlyArray<FiberEntry>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SnapshotOptions {
  /** Include the full captured stack of every holder and waiter (formatting costs a few us per entry). */
  readonly stacks?: boolean | undefined
}

/**
 * A snapshot of the registry in effect. Sites are the call sites captured when the acquiring effects were built;
 * full stacks only with `{ stacks: true }`. The idea follows the Web Locks API's `navigator.locks.query()`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockRegistry, OrderedLock } from "@core-stability/locks"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* OrderedLock.make({ name: "accounts", rank: 1 })
 *   const report = yield* OrderedLock.withLock(lock, Effect.map(LockRegistry.snapshot(), LockRegistry.render))
 *   console.log(report)
 * })
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const snapshot: (options?: SnapshotOptions) => Effect.Effect<LockSnapshot> = internal.snapshot

/**
 * Renders a snapshot as a table (lock, rank, held/waiting, mode, fiber, for how long, site), then every fiber's held
 * stack, then the stacks when the snapshot has them.
 *
 * @since 0.1.0
 * @category rendering
 */
export const render: (snapshot: LockSnapshot) => string = internal.render

/**
 * One line per lock still held and per request still queued.
 *
 * @since 0.1.0
 * @category getters
 */
export const leaks: (snapshot: LockSnapshot) => ReadonlyArray<string> = internal.leaks

/**
 * The shape of a leak probe accepted by the testing kit of core-stability.
 *
 * @since 0.1.0
 * @category testing
 */
export interface LeakProbe {
  readonly name: string
  /** Empty when nothing leaked. */
  readonly leaks: Effect.Effect<ReadonlyArray<string>>
}

/**
 * A leak probe over the registry in effect when it runs: lists the locks still held and the waiters still queued.
 *
 * @since 0.1.0
 * @category testing
 */
export const leakProbe: LeakProbe = internal.leakProbe

/**
 * Names the current fiber in reports and snapshots (`#12 (worker-1)`) for the duration of `self`. The name is not
 * inherited by forked children.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withFiberName: {
  (name: string): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, name: string): Effect.Effect<A, E, R>
} = internal.withFiberName
