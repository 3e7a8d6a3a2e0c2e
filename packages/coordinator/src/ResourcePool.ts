/**
 * A pool of tiered byte buffers, tracked by identity.
 *
 * A request of `size` bytes gets the smallest tier whose buffers hold it (defaults: 4 KiB, 64 KiB, 1 MiB) and comes
 * back as a {@link PooledBuffer} whose `bytes` view is exactly `size` bytes long and never shows bytes from an earlier
 * use. Free buffers are reused newest first (LIFO). Each tier's limit counts buffers *in use* (defaults 1000 / 500 /
 * 100), so a free buffer is always reused at the limit. Every allocation is a fresh handle: releasing a handle twice,
 * or releasing one from another pool, is a typed error and changes nothing.
 *
 * The design follows the original `resource_pool.py` (origin.md 2.5) with its verified bugs fixed (section 4, items
 * 27-29): buffers were matched by content, so a double release freed someone else's buffer; reused buffers kept stale
 * bytes; the cap counted free buffers; `cleanup()` forgot buffers still in use.
 *
 * All operations are synchronous inside the effect (no lock, no waiting): a pool is safe to share between fibers.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Inspectable from "effect/Inspectable"
import type * as Metric from "effect/Metric"
import type * as MetricKeyType from "effect/MetricKeyType"
import type * as MetricState from "effect/MetricState"
import type { Pipeable } from "effect/Pipeable"
import type * as Scope from "effect/Scope"
import type * as BufferError from "./BufferError.js"
import * as internal from "./internal/resourcePool.js"

/**
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category symbols
 */
export const BufferTypeId: unique symbol = internal.BufferTypeId

/**
 * @since 0.1.0
 * @category symbols
 */
export type BufferTypeId = typeof BufferTypeId

/**
 * A pool of tiered byte buffers.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResourcePool extends Pipeable, Inspectable.Inspectable {
  readonly [TypeId]: TypeId
  /** The pool's name, used as the `pool` label of its metrics. */
  readonly name: string
  /** The tiers, smallest first. */
  readonly tiers: ReadonlyArray<Tier>
}

/**
 * One allocation: a handle on a pool buffer. The handle is the capability to release it, once.
 *
 * @since 0.1.0
 * @category models
 */
export interface PooledBuffer extends Inspectable.Inspectable {
  readonly [BufferTypeId]: BufferTypeId
  /**
   * The payload: a view of exactly `size` bytes over the pool buffer. A fresh allocation reads as zeros (or as the
   * copied bytes for `allocateFrom`). Do not use it after releasing the buffer.
   */
  readonly bytes: Uint8Array
  /** The requested size, in bytes (`bytes.length`). */
  readonly size: number
  /** The size of the tier's buffers, in bytes. */
  readonly capacity: number
  /** The name of the tier that served the request. */
  readonly tier: string
  /** The owner named at allocation, if any. */
  readonly owner: string | undefined
  /** The channel named at allocation, if any. */
  readonly channel: string | undefined
}

/**
 * A tier as configured.
 *
 * @since 0.1.0
 * @category models
 */
export interface Tier {
  readonly name: string
  /** The size of each buffer, in bytes. */
  readonly size: number
  /** How many of the tier's buffers may be in use at once. */
  readonly limit: number
}

/**
 * The configuration of one tier.
 *
 * @since 0.1.0
 * @category models
 */
export interface TierConfig {
  /** Defaults to `tier<index>`; the default tiers are named `small`, `medium` and `large`. */
  readonly name?: string | undefined
  /** The size of each buffer, in bytes: a positive integer, larger than the previous tier's. */
  readonly size: number
  /** How many of the tier's buffers may be in use at once: a positive integer. */
  readonly limit: number
}

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The `pool` label of the metrics. Default `"pool"`. */
  readonly name?: string | undefined
  /**
   * The tiers, in ascending size. Default: small 4096 bytes × 1000, medium 65536 bytes × 500, large 1048576 bytes ×
   * 100 (the limits of the original's documents and monitoring config).
   */
  readonly tiers?: ReadonlyArray<TierConfig> | undefined
}

/**
 * Options of an allocation: the accounting keys.
 *
 * @since 0.1.0
 * @category models
 */
export interface AllocateOptions {
  /** Counted in `Stats.owners` while the buffer is held; a release may then name it. */
  readonly owner?: string | undefined
  /** Counted in `Stats.channels` while the buffer is held. */
  readonly channel?: string | undefined
}

/**
 * Options of a release.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReleaseOptions {
  /** When given, must be the buffer's owner, or the release fails with `OwnerMismatch`. */
  readonly owner?: string | undefined
  /**
   * Inside a {@link cleanupStage}, defer the return to the free list until the outermost stage ends. The buffer stays
   * counted in `inUse` (and in `pending`) until then, but no longer counts for its owner and channel. Outside a stage
   * the release is immediate.
   */
  readonly staged?: boolean | undefined
}

/**
 * A snapshot of one tier's books.
 *
 * @since 0.1.0
 * @category models
 */
export interface TierStats extends Tier {
  /** Buffers the tier holds (free plus in use). Never above `limit`. */
  readonly allocated: number
  /** Free buffers, ready for reuse. */
  readonly free: number
  /** Buffers in use, including staged releases still pending. */
  readonly inUse: number
  /** The most buffers in use at once. */
  readonly peak: number
  /** Allocations served (new or reused). */
  readonly allocations: number
  /** Allocations served by a free buffer. */
  readonly reuses: number
  /** Buffers returned to the free list. */
  readonly releases: number
  /** Staged releases made inside a cleanup stage (cumulative). */
  readonly staged: number
  /** Staged releases waiting for the outermost cleanup stage to end. */
  readonly pending: number
}

/**
 * A snapshot of the pool's books.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly name: string
  readonly tiers: ReadonlyArray<TierStats>
  /** Buffers held per owner; owners holding none are absent. */
  readonly owners: Readonly<Record<string, number>>
  /** Buffers held per channel; channels holding none are absent. */
  readonly channels: Readonly<Record<string, number>>
  /** How many cleanup stages are open. */
  readonly stageDepth: number
}

/**
 * The Effect metrics of one tier, labelled `pool` and `tier`.
 *
 * @since 0.1.0
 * @category metrics
 */
export interface TierMetrics {
  readonly tier: string
  /** `pool_buffers_allocated`: buffers the tier holds, free or in use. */
  readonly allocated: Metric.Metric<
    MetricKeyType.MetricKeyType.Gauge<number>,
    number,
    MetricState.MetricState.Gauge<number>
  >
  /** `pool_buffers_in_use`. */
  readonly inUse: Metric.Metric<
    MetricKeyType.MetricKeyType.Gauge<number>,
    number,
    MetricState.MetricState.Gauge<number>
  >
  /** `pool_buffers_peak`. */
  readonly peak: Metric.Metric<MetricKeyType.MetricKeyType.Gauge<number>, number, MetricState.MetricState.Gauge<number>>
  /** `pool_buffer_reuses`. */
  readonly reuses: Metric.Metric<
    MetricKeyType.MetricKeyType.Counter<number>,
    number,
    MetricState.MetricState.Counter<number>
  >
}

/**
 * The default tiers: small 4096 bytes × 1000, medium 65536 bytes × 500, large 1048576 bytes × 100.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultTiers: ReadonlyArray<TierConfig> = internal.defaultTiers

/**
 * Makes a pool. Fails with `InvalidConfig` when a tier size or limit is not a positive integer, the sizes do not
 * ascend, or two tiers share a name.
 *
 * @example
 * ```ts
 * import { ResourcePool } from "@core-stability/coordinator"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const pool = yield* ResourcePool.make()
 *   const buffer = yield* ResourcePool.allocate(pool, 960, { owner: "capture", channel: "left" })
 *   // buffer.bytes.length === 960, buffer.capacity === 4096
 *   yield* ResourcePool.release(pool, buffer)
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<ResourcePool, BufferError.InvalidConfig> = internal.make

/**
 * Makes a pool synchronously; throws `InvalidConfig` on a bad configuration.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: (options?: Options) => ResourcePool = internal.unsafeMake

/**
 * @since 0.1.0
 * @category guards
 */
export const isResourcePool: (u: unknown) => u is ResourcePool = internal.isResourcePool

/**
 * @since 0.1.0
 * @category guards
 */
export const isPooledBuffer: (u: unknown) => u is PooledBuffer = internal.isPooledBuffer

/**
 * Allocates `size` bytes (a non-negative integer) from the smallest tier that holds them, reusing the newest free
 * buffer of that tier. The view reads as zeros.
 *
 * Fails with `BufferTooLarge` above the largest tier, `PoolExhausted` when the tier's limit of buffers is in use (no
 * fallback to a larger tier), `InvalidConfig` for a size that is not a non-negative integer.
 *
 * @since 0.1.0
 * @category combinators
 */
export const allocate: {
  (size: number, options?: AllocateOptions): (
    self: ResourcePool
  ) => Effect.Effect<PooledBuffer, BufferError.BufferTooLarge | BufferError.PoolExhausted | BufferError.InvalidConfig>
  (
    self: ResourcePool,
    size: number,
    options?: AllocateOptions
  ): Effect.Effect<PooledBuffer, BufferError.BufferTooLarge | BufferError.PoolExhausted | BufferError.InvalidConfig>
} = internal.allocate

/**
 * Allocates a buffer of exactly `bytes.length` bytes and copies `bytes` into it (no zeroing pass, since every byte of
 * the view is overwritten).
 *
 * @since 0.1.0
 * @category combinators
 */
export const allocateFrom: {
  (bytes: Uint8Array, options?: AllocateOptions): (
    self: ResourcePool
  ) => Effect.Effect<PooledBuffer, BufferError.BufferTooLarge | BufferError.PoolExhausted>
  (
    self: ResourcePool,
    bytes: Uint8Array,
    options?: AllocateOptions
  ): Effect.Effect<PooledBuffer, BufferError.BufferTooLarge | BufferError.PoolExhausted>
} = internal.allocateFrom

/**
 * Allocates a buffer that is released (staged, see {@link ReleaseOptions}) when the scope closes, unless it was
 * released before.
 *
 * @since 0.1.0
 * @category combinators
 */
export const allocateScoped: {
  (size: number, options?: AllocateOptions): (
    self: ResourcePool
  ) => Effect.Effect<
    PooledBuffer,
    BufferError.BufferTooLarge | BufferError.PoolExhausted | BufferError.InvalidConfig,
    Scope.Scope
  >
  (
    self: ResourcePool,
    size: number,
    options?: AllocateOptions
  ): Effect.Effect<
    PooledBuffer,
    BufferError.BufferTooLarge | BufferError.PoolExhausted | BufferError.InvalidConfig,
    Scope.Scope
  >
} = internal.allocateScoped

/**
 * Returns a buffer to its tier's free list. Fails with `UnknownBuffer` for a second release, a release already
 * pending, or a buffer of another pool, and with `OwnerMismatch` when `options.owner` is not the buffer's owner; in
 * both cases nothing changes.
 *
 * @since 0.1.0
 * @category combinators
 */
export const release: {
  (buffer: PooledBuffer, options?: ReleaseOptions): (
    self: ResourcePool
  ) => Effect.Effect<void, BufferError.UnknownBuffer | BufferError.OwnerMismatch>
  (
    self: ResourcePool,
    buffer: PooledBuffer,
    options?: ReleaseOptions
  ): Effect.Effect<void, BufferError.UnknownBuffer | BufferError.OwnerMismatch>
} = internal.release

/**
 * Opens a cleanup stage for the lifetime of the scope. Staged releases made while any stage is open are deferred and
 * processed, in release order, when the outermost stage closes (the original's `cleanup_stage()` context).
 *
 * @example
 * ```ts
 * import { ResourcePool } from "@core-stability/coordinator"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const pool = yield* ResourcePool.make()
 *   const buffer = yield* ResourcePool.allocate(pool, 100)
 *   yield* Effect.scoped(Effect.gen(function*() {
 *     yield* ResourcePool.cleanupStage(pool)
 *     yield* ResourcePool.release(pool, buffer, { staged: true })
 *     // still in use here: pending 1
 *   }))
 *   // returned to the free list here
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const cleanupStage: (self: ResourcePool) => Effect.Effect<void, never, Scope.Scope> = internal.cleanupStage

/**
 * Drops every free buffer (so the pool holds no memory it does not need). Buffers in use are never forgotten: if any
 * remain, it fails with `BuffersInUse`, listing them per tier and owner, and they stay tracked.
 *
 * @since 0.1.0
 * @category combinators
 */
export const clear: (self: ResourcePool) => Effect.Effect<void, BufferError.BuffersInUse> = internal.clear

/**
 * A snapshot of the pool's books.
 *
 * @since 0.1.0
 * @category getters
 */
export const stats: (self: ResourcePool) => Effect.Effect<Stats> = internal.stats

/**
 * A snapshot of the pool's books, read synchronously.
 *
 * @since 0.1.0
 * @category getters
 */
export const unsafeStats: (self: ResourcePool) => Stats = internal.unsafeStats

/**
 * The pool's Effect metrics, one set per tier (labels `pool` and `tier`). They live in the global metric registry,
 * so pools that share a name share their metrics; `stats` is always per pool.
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics: (self: ResourcePool) => ReadonlyArray<TierMetrics> = internal.metrics
