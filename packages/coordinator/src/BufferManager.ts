/**
 * Bounded queues of byte payloads, one per (stage, channel), with an overflow policy per stage, counters that balance,
 * and a cleanup that flushes, returns every pool buffer, verifies, and leaves the manager closed until reopened.
 *
 * Defaults follow the original `buffer_manager.py` (origin.md 2.4): stages `capture` (1000 items per channel),
 * `processing` (500) and `storage` (250), channels `left` and `right`, frames of 480 samples × 2 channels × 2 bytes at
 * 16 kHz (30 ms; 960 bytes per channel). Its bugs are fixed (section 4, items 4, 7, 8, 27-32):
 *
 * - a payload comes out byte for byte as it went in (the original returned the whole padded pool buffer, stale bytes
 *   included);
 * - every counter exists from construction and counts one fact, so `put = taken + dropped + queued` holds at every
 *   observation (the seed's "items processed tracking not working");
 * - a full queue applies its overflow policy and counts the overflow (the original blocked forever);
 * - no lock is taken on the put/take path, and none is held while waiting for data (the original waited for data
 *   holding its update lock);
 * - an unknown stage or channel is a typed error (the original defaulted to `left`);
 * - `cleanup` releases what it takes and leaves the manager closed until `reopen` (the original never released its
 *   update lock, so every later put timed out).
 *
 * A put copies the payload into a buffer of the manager's `ResourcePool` (owner: the manager's name, channel: the
 * queue's channel); a take hands the consumer its own exact-length copy and returns the buffer to the pool at once.
 * When the fitting tier is exhausted the payload is kept in a plain copy instead (counted as `unpooled`): the
 * original's documented "fall back to direct allocation".
 *
 * @since 0.1.0
 */
import type { LockError } from "@core-stability/locks"
import type * as Effect from "effect/Effect"
import type * as Inspectable from "effect/Inspectable"
import type * as Metric from "effect/Metric"
import type * as MetricKeyType from "effect/MetricKeyType"
import type * as MetricState from "effect/MetricState"
import type * as Option from "effect/Option"
import type { Pipeable } from "effect/Pipeable"
import type * as Scope from "effect/Scope"
import type * as Types from "effect/Types"
import type * as BufferError from "./BufferError.js"
import * as internal from "./internal/bufferManager.js"
import * as internalSizing from "./internal/bufferSizing.js"
import type * as ResourcePool from "./ResourcePool.js"

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
 * The default stages.
 *
 * @since 0.1.0
 * @category models
 */
export type DefaultStage = "capture" | "processing" | "storage"

/**
 * The default channels.
 *
 * @since 0.1.0
 * @category models
 */
export type DefaultChannel = "left" | "right"

/**
 * A buffer manager with stages `S`, channels `C`, and metadata `M` travelling with each payload.
 *
 * It is contravariant in `S` and `C` (a manager of more stages can be used where fewer are expected) and invariant
 * in `M`.
 *
 * @since 0.1.0
 * @category models
 */
export interface BufferManager<
  in S extends string = DefaultStage,
  in C extends string = DefaultChannel,
  in out M = void
> extends Pipeable, Inspectable.Inspectable {
  readonly [TypeId]: {
    readonly _S: Types.Contravariant<S>
    readonly _C: Types.Contravariant<C>
    readonly _M: Types.Invariant<M>
  }
  /** The name: the `manager` metric label and the manager's owner name in its pool. */
  readonly name: string
  /** The pool the payload buffers come from. */
  readonly pool: ResourcePool.ResourcePool
  /** The stages, in configuration order (the order of `flush`). */
  readonly stages: ReadonlyArray<string>
  /** The channels, in configuration order. */
  readonly channels: ReadonlyArray<string>
}

/**
 * One item as it comes out of a queue.
 *
 * @since 0.1.0
 * @category models
 */
export interface Item<M> {
  readonly stage: string
  readonly channel: string
  /** The item's position in its queue: 0 for the first put, then 1, 2, ... (counts dropped items too). */
  readonly sequence: number
  /**
   * The payload, exactly as it was put: the consumer's own copy, `payload.length` bytes. Payloads up to 4 KiB are
   * views into a shared 256 KiB slab (as Node's `Buffer` pool does), which lives while any of its views does: copy a
   * payload (`payload.slice()`) to keep it long.
   */
  readonly payload: Uint8Array
  /** The metadata given to `put`. */
  readonly meta: M
  /** When it was enqueued (ms since the epoch, from the manager's `Clock`). */
  readonly enqueuedAt: number
  /** Time from enqueue to dequeue, in ms. */
  readonly latencyMs: number
}

/**
 * What a put does when its queue is full. Every such put counts as one overflow.
 *
 * - `Backpressure`: wait up to `timeoutMs` for space, then fail with `BufferFull` (counted as rejected).
 * - `DropOldest`: discard the oldest item (counted as dropped, its buffer returned to the pool) and enqueue.
 * - `Reject`: fail at once with `BufferFull` (counted as rejected).
 *
 * @since 0.1.0
 * @category models
 */
export type OverflowPolicy =
  | { readonly _tag: "Backpressure"; readonly timeoutMs: number }
  | { readonly _tag: "DropOldest" }
  | { readonly _tag: "Reject" }

/**
 * Frame sizing, in samples; byte sizes are derived (see {@link Frame}).
 *
 * @since 0.1.0
 * @category models
 */
export interface FrameConfig {
  /** Samples per channel in one frame. Default 480. */
  readonly samplesPerFrame: number
  /** Interleaved channels in the source. Default 2. */
  readonly channelCount: number
  /** Bytes per sample. Default 2 (16-bit PCM). */
  readonly bytesPerSample: number
  /** Samples per second. Default 16000. */
  readonly sampleRateHz: number
}

/**
 * A frame configuration with its derived sizes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Frame extends FrameConfig {
  /** `samplesPerFrame × bytesPerSample`: one channel's frame, in bytes (default 960). */
  readonly bytesPerChannel: number
  /** `bytesPerChannel × channelCount`: one interleaved frame, in bytes (default 1920). */
  readonly bytes: number
  /** `samplesPerFrame / sampleRateHz`, in ms (default 30). */
  readonly durationMs: number
}

/**
 * One observation of system load, the input of the sizing policy (see {@link decideSize}).
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadSample {
  /** CPU use, in percent (0–100). */
  readonly cpuPercent: number
  /** Memory in use, in bytes. */
  readonly memoryBytes: number
}

/**
 * Why the sizing policy changed the frame: `cpu` grows it, `memory` shrinks it.
 *
 * @since 0.1.0
 * @category models
 */
export type SizingCause = "cpu" | "memory"

/**
 * The thresholds and factors of the sizing policy. Sizes are in samples per channel; byte sizes are derived.
 *
 * @since 0.1.0
 * @category models
 */
export interface SizingPolicy {
  /** Above this CPU use (percent) the frame grows. Default 80. */
  readonly cpuThresholdPercent: number
  /** Above this memory use (bytes) the frame shrinks. Default 100 MiB. */
  readonly memoryThresholdBytes: number
  /** Growth factor under CPU load. Default 1.5. */
  readonly growFactor: number
  /** Shrink factor under memory pressure. Default 0.75. */
  readonly shrinkFactor: number
  /** Shrinking never goes below this many samples per frame. Default 480 (30 ms at 16 kHz). */
  readonly minSamplesPerFrame: number
  /** No adjustment within this many ms of the last one. Default 5000. */
  readonly cooldownMs: number
  /**
   * Pool tier sizes, in bytes, ascending. Growing never takes one channel's frame (`bytesPerChannel`) past the
   * smallest tier that holds it now. Default 4 KiB, 64 KiB, 1 MiB.
   */
  readonly tierBytes: ReadonlyArray<number>
}

/**
 * The input of {@link decideSize}.
 *
 * @since 0.1.0
 * @category models
 */
export interface SizingInput {
  readonly frame: FrameConfig
  readonly load: LoadSample
  /** When the last adjustment was made, in ms since the epoch (`Clock` time); `undefined` if never. */
  readonly lastAdjustmentMs: number | undefined
  /** The current time, in ms since the epoch (`Clock` time). */
  readonly nowMs: number
  /** Defaults to {@link sizingPolicy}. */
  readonly policy?: SizingPolicy | undefined
}

/**
 * What the sizing policy decided. `Unchanged` says why: `cooldown` (the last adjustment is less than `cooldownMs` old;
 * `retryInMs` says how long to wait), `nominal` (no threshold exceeded) or `bounded` (a threshold was exceeded but the
 * frame is already at its tier bound or minimum).
 *
 * @since 0.1.0
 * @category models
 */
export type SizingDecision =
  | {
    readonly _tag: "Adjusted"
    readonly from: Frame
    readonly to: Frame
    /** In the order applied: `cpu` (grow) before `memory` (shrink). */
    readonly causes: ReadonlyArray<SizingCause>
  }
  | {
    readonly _tag: "Unchanged"
    readonly frame: Frame
    readonly reason: "cooldown" | "nominal" | "bounded"
    /** ms until the cooldown ends; 0 unless `reason` is `cooldown`. */
    readonly retryInMs: number
  }

/**
 * The sizing record of a manager (see {@link sizing}).
 *
 * @since 0.1.0
 * @category models
 */
export interface SizingStats {
  /** The committed frame, with derived sizes. */
  readonly frame: Frame
  /** Adjustments made by {@link optimize}. */
  readonly adjustments: number
  /** When the last one was made, in ms (`Clock` time); `undefined` if never. */
  readonly lastAdjustmentMs: number | undefined
  /** The last decision of {@link optimize}, if any. */
  readonly lastDecision: SizingDecision | undefined
  /** `buffer_size_adjustments` (labelled by manager). */
  readonly metric: Metric.Metric.Counter<number>
}

/**
 * Options of {@link make}. Every field is validated: a bad value fails `make` with `InvalidConfig`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<S extends string, C extends string> {
  /** The `manager` metric label and the owner name in the pool. Default `"buffers"`. */
  readonly name?: string | undefined
  /**
   * The pool to draw payload buffers from; the manager accounts its buffers under its `name`, so give managers that
   * share a pool distinct names. Default: a new pool with the default tiers.
   */
  readonly pool?: ResourcePool.ResourcePool | undefined
  /**
   * Stage name → capacity of each of its queues, in items (a positive integer, at most 16777216; the ring is allocated
   * up front). Default capture 1000, processing 500, storage 250.
   */
  readonly stages?: { readonly [K in S]: number } | undefined
  /** The channel names (unique). Default `["left", "right"]`. */
  readonly channels?: ReadonlyArray<C> | undefined
  /** One policy for every stage, or one per stage (missing stages get the default). Default backpressure, 500 ms. */
  readonly overflow?: OverflowPolicy | { readonly [K in S]?: OverflowPolicy | undefined } | undefined
  /**
   * Frame sizing in samples. Default 480 samples, 2 channels, 2 bytes per sample, 16000 Hz. One channel's frame
   * (`bytesPerChannel`) must fit the pool's largest tier.
   */
  readonly frame?: Partial<FrameConfig> | undefined
  /** Bucket boundaries of the latency histogram, ascending, in ms. Default 1, 2, 5, ... 5000. */
  readonly latencyBoundariesMs?: ReadonlyArray<number> | undefined
}

/**
 * The lifecycle of a manager: `open` accepts puts; `closing` while `cleanup` runs; `closed` after it, until `reopen`.
 *
 * @since 0.1.0
 * @category models
 */
export type Status = "open" | "closing" | "closed"

/**
 * The counters of one queue. `put = taken + dropped + size` always holds.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueueStats {
  readonly stage: string
  readonly channel: string
  /** In items. */
  readonly capacity: number
  readonly policy: OverflowPolicy
  /** Items enqueued. */
  readonly put: number
  /** Items dequeued by take, poll or flush (the original's "processed"). */
  readonly taken: number
  /** Items discarded: evicted by `DropOldest`, or left over at cleanup. */
  readonly dropped: number
  /** Puts that found the queue full. */
  readonly overflowed: number
  /** Puts refused by the policy (`Reject`, or `Backpressure` timing out). */
  readonly rejected: number
  /** Items enqueued in a plain copy because the pool tier was exhausted. */
  readonly unpooled: number
  /** Items queued now. */
  readonly size: number
  /** The most items queued at once. */
  readonly highWater: number
  /** Enqueue-to-dequeue latency of the items taken, in ms. */
  readonly latency: {
    readonly count: number
    readonly lastMs: number
    readonly meanMs: number
    readonly maxMs: number
  }
}

/**
 * A snapshot of a manager.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly name: string
  readonly status: Status
  readonly frame: Frame
  /** The state record committed by update regions. */
  readonly state: Readonly<Record<string, unknown>>
  /** One entry per (stage, channel), stages first, in configuration order. */
  readonly queues: ReadonlyArray<QueueStats>
  /** Sums over all queues; `queued` is the sum of the sizes. */
  readonly totals: {
    readonly put: number
    readonly taken: number
    readonly dropped: number
    readonly overflowed: number
    readonly rejected: number
    readonly queued: number
  }
  /** Pool buffers the manager holds now (one per pooled item queued). */
  readonly heldBuffers: number
}

/**
 * The Effect metrics of one queue, labelled `manager`, `stage` and `channel`.
 *
 * @since 0.1.0
 * @category metrics
 */
export interface QueueMetrics {
  readonly stage: string
  readonly channel: string
  /** `buffer_items_put`. */
  readonly put: Metric.Metric.Counter<number>
  /** `buffer_items_taken`. */
  readonly taken: Metric.Metric.Counter<number>
  /** `buffer_items_dropped`. */
  readonly dropped: Metric.Metric.Counter<number>
  /** `buffer_overflows`. */
  readonly overflowed: Metric.Metric.Counter<number>
  /** `buffer_puts_rejected`. */
  readonly rejected: Metric.Metric.Counter<number>
  /** `buffer_queue_size`. */
  readonly size: Metric.Metric.Gauge<number>
  /** `buffer_queue_high_water`. */
  readonly highWater: Metric.Metric.Gauge<number>
  /** `buffer_latency_ms`: enqueue-to-dequeue latency, in ms. */
  readonly latency: Metric.Metric<MetricKeyType.MetricKeyType.Histogram, number, MetricState.MetricState.Histogram>
}

/**
 * What `cleanup` did.
 *
 * @since 0.1.0
 * @category models
 */
export interface CleanupReport {
  /** Items handed to the sink. */
  readonly flushed: number
  /** Items left over and counted as dropped (all of them when there is no sink). */
  readonly dropped: number
}

/**
 * Options of {@link cleanup}.
 *
 * @since 0.1.0
 * @category models
 */
export interface CleanupOptions<M, E, R> {
  /**
   * Receives every queued item, queue by queue in configuration order, oldest first. Without a sink every item is
   * counted as dropped. If the sink fails, or the cleanup is interrupted while flushing, the remaining items are
   * counted as dropped and the manager is left closed and empty; cleanup then fails with the sink's error (or is
   * interrupted). The sink must not call `cleanup` or `reopen`.
   */
  readonly sink?: ((item: Item<M>) => Effect.Effect<void, E, R>) | undefined
}

/**
 * What an update region reads: the frame and the state record as the region sees them (its own changes included).
 *
 * @since 0.1.0
 * @category models
 */
export interface UpdateSnapshot {
  readonly frame: Frame
  readonly state: Readonly<Record<string, unknown>>
}

/**
 * A change inside an update region.
 *
 * @since 0.1.0
 * @category models
 */
export interface UpdatePatch {
  /**
   * Fields of the frame configuration to change; validated at once (`InvalidConfig`): positive integers, and one
   * channel's frame within the pool's largest tier.
   */
  readonly frame?: Partial<FrameConfig> | undefined
  /** Keys of the state record to set (merged into it). */
  readonly state?: Readonly<Record<string, unknown>> | undefined
}

/**
 * An exclusive region for atomic multi-field updates (the original's `begin_update` / `end_update`). Changes made
 * with `set` are visible to `get` inside the region and committed together when the region's scope closes
 * successfully; a failure or interruption discards them. After the scope closes, `get` and `set` fail with
 * `UpdateRegionClosed`.
 *
 * @since 0.1.0
 * @category models
 */
export interface UpdateRegion {
  readonly get: Effect.Effect<UpdateSnapshot, BufferError.UpdateRegionClosed>
  readonly set: (patch: UpdatePatch) => Effect.Effect<void, BufferError.UpdateRegionClosed | BufferError.InvalidConfig>
}

/**
 * The metadata argument of `put`: optional when `M` is `void`.
 *
 * @since 0.1.0
 * @category models
 */
export type MetaArgs<M> = [M] extends [void] ? [meta?: M] : [meta: M]

/**
 * Makes a manager whose lifetime is the scope: when the scope closes, it is cleaned up (leftover items counted as
 * dropped, buffers returned; the finalizer takes the manager's cleanup lock, so close the scope outside any lock
 * ranked after `BufferManager.cleanup`). Fails with `InvalidConfig` for a bad option. Its locks are made in the
 * `LockRegistry` in effect. Latency timestamps come from the `Clock`
 * in the environment at construction (so `TestClock` controls them in tests).
 *
 * Type parameters: `M` is the metadata type (give it explicitly; then `S` and `C` take their defaults unless given
 * too); `S` and `C` are inferred from `stages` and `channels`.
 *
 * @example
 * ```ts
 * import { BufferManager } from "@core-stability/coordinator"
 * import { Effect } from "effect"
 *
 * interface FrameMeta { readonly seq: number }
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const buffers = yield* BufferManager.make<FrameMeta>({ overflow: BufferManager.dropOldest })
 *   yield* BufferManager.put(buffers, "capture", "left", new Uint8Array(960), { seq: 0 })
 *   const item = yield* BufferManager.take(buffers, "capture", "left")
 *   // item.payload.length === 960, item.meta.seq === 0
 * }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <M = void, const S extends string = DefaultStage, const C extends string = DefaultChannel>(
  options?: Options<S, C>
) => Effect.Effect<BufferManager<S, C, M>, BufferError.InvalidConfig, Scope.Scope> = internal.make as any

/**
 * Makes a manager synchronously, with the default `Clock` and no finalizer (call `cleanup` yourself). Throws
 * `InvalidConfig` for a bad option.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: <M = void, const S extends string = DefaultStage, const C extends string = DefaultChannel>(
  options?: Options<S, C>
) => BufferManager<S, C, M> = internal.unsafeMake as any

/**
 * @since 0.1.0
 * @category guards
 */
export const isBufferManager: (u: unknown) => u is BufferManager<never, never, unknown> = internal.isBufferManager

/**
 * Waits up to `timeoutMs` (finite, 0 or more) for space, then fails with `BufferFull`. The put either enqueues or fails,
 * decided in one step: a put that fails with `BufferFull` has enqueued nothing, so retrying it cannot duplicate.
 *
 * @since 0.1.0
 * @category constructors
 */
export const backpressure: (timeoutMs: number) => OverflowPolicy = internal.backpressure

/**
 * Discards the oldest item to make room.
 *
 * @since 0.1.0
 * @category constructors
 */
export const dropOldest: OverflowPolicy = internal.dropOldest

/**
 * Fails at once with `BufferFull`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const reject: OverflowPolicy = internal.reject

/**
 * The default sizing: 480 samples, 2 channels, 2 bytes per sample, 16000 Hz.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultFrame: FrameConfig = internal.defaultFrame

/**
 * A frame configuration with its byte sizes and duration derived.
 *
 * @since 0.1.0
 * @category utils
 */
export const deriveFrame: (config: FrameConfig) => Frame = internal.deriveFrame

/**
 * Enqueues a copy of `payload` with its metadata. No lock is taken: the queue's state changes in one synchronous step.
 *
 * Fails with `UnknownQueue` for a stage or channel the manager does not have, `BufferClosed` while the manager is
 * closing or closed, `BufferTooLarge` when the payload exceeds the pool's largest tier, and `BufferFull` when the
 * queue is full and its policy is `Reject`, or `Backpressure` and no space came within the timeout. A put that fails
 * has enqueued nothing, and neither has one interrupted while it waits for space (Effect can still interrupt a fiber
 * right after a put returned, before the caller's next step, as after any effect).
 *
 * @since 0.1.0
 * @category combinators
 */
export const put: {
  <S extends string, C extends string, M = void>(stage: S, channel: C, payload: Uint8Array, ...meta: MetaArgs<M>): (
    self: BufferManager<S, C, M>
  ) => Effect.Effect<
    void,
    BufferError.UnknownQueue | BufferError.BufferClosed | BufferError.BufferFull | BufferError.BufferTooLarge
  >
  <S extends string, C extends string, M>(
    self: BufferManager<S, C, M>,
    stage: NoInfer<S>,
    channel: NoInfer<C>,
    payload: Uint8Array,
    ...meta: MetaArgs<M>
  ): Effect.Effect<
    void,
    BufferError.UnknownQueue | BufferError.BufferClosed | BufferError.BufferFull | BufferError.BufferTooLarge
  >
} = internal.put

/**
 * Dequeues the oldest item, waiting while the queue is empty (no lock is held while waiting). Exactly-once: every
 * item is dequeued by one take, poll or flush, and a take that is interrupted (waiting or not) dequeues nothing. The
 * dequeue is the take's last step and hands the item straight to the caller's continuation, so an interruption cannot
 * fall between them: the item leaves the queue only into `flatMap(take, f)`'s `f`. To process it uninterruptibly as
 * well, take it in a mask: `Effect.uninterruptibleMask((restore) => Effect.flatMap(restore(take), process))`.
 *
 * Fails with `UnknownQueue`, or with `BufferClosed` when the queue is empty and the manager is closing or closed.
 *
 * @since 0.1.0
 * @category combinators
 */
export const take: {
  <S extends string, C extends string>(stage: S, channel: C): <M>(
    self: BufferManager<S, C, M>
  ) => Effect.Effect<Item<M>, BufferError.UnknownQueue | BufferError.BufferClosed>
  <S extends string, C extends string, M>(
    self: BufferManager<S, C, M>,
    stage: NoInfer<S>,
    channel: NoInfer<C>
  ): Effect.Effect<Item<M>, BufferError.UnknownQueue | BufferError.BufferClosed>
} = internal.take

/**
 * Dequeues the oldest item if there is one, without waiting: `Option.none()` when the queue is empty, or when every
 * queued item is already claimed by a take or poll that dequeues it at its next step. Exactly-once as {@link take}.
 *
 * @since 0.1.0
 * @category combinators
 */
export const poll: {
  <S extends string, C extends string>(stage: S, channel: C): <M>(
    self: BufferManager<S, C, M>
  ) => Effect.Effect<Option.Option<Item<M>>, BufferError.UnknownQueue>
  <S extends string, C extends string, M>(
    self: BufferManager<S, C, M>,
    stage: NoInfer<S>,
    channel: NoInfer<C>
  ): Effect.Effect<Option.Option<Item<M>>, BufferError.UnknownQueue>
} = internal.poll

/**
 * Drains every queue to `sink`, queue by queue in configuration order, oldest first, and returns how many items it
 * handed over. Each item counts as taken when it is handed over; if the sink fails, flushing stops with its error and
 * the remaining items stay queued. The manager stays open: each queue is drained until it is empty, and an item put
 * into a queue that flush has already drained stays queued (use `cleanup` to stop puts first).
 *
 * @since 0.1.0
 * @category combinators
 */
export const flush: {
  <M, E, R>(sink: (item: Item<M>) => Effect.Effect<void, E, R>): <S extends string, C extends string>(
    self: BufferManager<S, C, M>
  ) => Effect.Effect<number, E, R>
  <S extends string, C extends string, M, E, R>(
    self: BufferManager<S, C, M>,
    sink: (item: Item<M>) => Effect.Effect<void, E, R>
  ): Effect.Effect<number, E, R>
} = internal.flush

/**
 * Cleans up, in order:
 *
 * 1. closes the manager (after any open update region ends): puts fail with `BufferClosed`, and so do takes that
 *    find their queue empty; waiting puts and takes are woken to see it;
 * 2. flushes every queue to `options.sink`, or counts every item as dropped (never silently); an item a take or poll
 *    has already claimed goes to it (it dequeues at its next step);
 * 3. returns every buffer to the pool (staged: inside a `ResourcePool.cleanupStage` they are pending until it ends);
 * 4. verifies that every queue is empty and the pool counts no buffer for the manager's name (`CleanupIncomplete`).
 *
 * Only the wait for an update region and the flush can be interrupted: a cleanup interrupted once the manager is
 * closing still drops the rest and leaves it closed and empty. Cleanups (and `reopen`) are serialised. The manager
 * stays closed until {@link reopen}.
 *
 * @example
 * ```ts
 * import { BufferManager } from "@core-stability/coordinator"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const buffers = yield* BufferManager.make()
 *   yield* BufferManager.put(buffers, "storage", "right", new Uint8Array([1, 2, 3]))
 *   const report = yield* BufferManager.cleanup(buffers, {
 *     sink: (item) => Effect.log(`flushed ${item.payload.length} bytes`)
 *   })
 *   // report.flushed === 1
 *   yield* BufferManager.reopen(buffers)
 * }))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const cleanup: {
  <M, E = never, R = never>(options?: CleanupOptions<M, E, R>): <S extends string, C extends string>(
    self: BufferManager<S, C, M>
  ) => Effect.Effect<CleanupReport, E | BufferError.CleanupIncomplete | LockError.LockError, R>
  <S extends string, C extends string, M, E = never, R = never>(
    self: BufferManager<S, C, M>,
    options?: CleanupOptions<M, E, R>
  ): Effect.Effect<CleanupReport, E | BufferError.CleanupIncomplete | LockError.LockError, R>
} = internal.cleanup

/**
 * Opens a closed manager again (after any running cleanup ends). Counters carry on from where they were.
 *
 * @since 0.1.0
 * @category combinators
 */
export const reopen: <S extends string, C extends string, M>(
  self: BufferManager<S, C, M>
) => Effect.Effect<void, LockError.LockError> = internal.reopen

/**
 * Opens an update region for the lifetime of the scope: waits for the manager's update lock (level
 * `BufferManager.update`, the last of cleanup < state < component < update), and commits the region's changes when
 * the scope closes successfully. The put/take path never takes this lock.
 *
 * @example
 * ```ts
 * import { BufferManager } from "@core-stability/coordinator"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const buffers = yield* BufferManager.make()
 *   yield* Effect.scoped(Effect.gen(function*() {
 *     const region = yield* BufferManager.update(buffers)
 *     yield* region.set({ frame: { sampleRateHz: 48000 }, state: { sequence: 1 } })
 *   }))
 *   // both changes are visible together from here on
 * }))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const update: <S extends string, C extends string, M>(
  self: BufferManager<S, C, M>
) => Effect.Effect<UpdateRegion, LockError.LockError, Scope.Scope> = internal.update

/**
 * Runs `f` inside an update region (see {@link update}).
 *
 * @since 0.1.0
 * @category combinators
 */
export const withUpdate: {
  <A, E, R>(f: (region: UpdateRegion) => Effect.Effect<A, E, R>): <S extends string, C extends string, M>(
    self: BufferManager<S, C, M>
  ) => Effect.Effect<A, E | LockError.LockError, R>
  <S extends string, C extends string, M, A, E, R>(
    self: BufferManager<S, C, M>,
    f: (region: UpdateRegion) => Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | LockError.LockError, R>
} = internal.withUpdate

/**
 * A snapshot of every counter, the status, the frame and the state record.
 *
 * @since 0.1.0
 * @category getters
 */
export const stats: <S extends string, C extends string, M>(self: BufferManager<S, C, M>) => Effect.Effect<Stats> =
  internal.stats

/**
 * A snapshot, read synchronously.
 *
 * @since 0.1.0
 * @category getters
 */
export const unsafeStats: <S extends string, C extends string, M>(self: BufferManager<S, C, M>) => Stats =
  internal.unsafeStats

/**
 * The committed frame configuration, with derived sizes.
 *
 * @since 0.1.0
 * @category getters
 */
export const frame: <S extends string, C extends string, M>(self: BufferManager<S, C, M>) => Effect.Effect<Frame> =
  internal.frame

/**
 * The committed state record.
 *
 * @since 0.1.0
 * @category getters
 */
export const state: <S extends string, C extends string, M>(
  self: BufferManager<S, C, M>
) => Effect.Effect<Readonly<Record<string, unknown>>> = internal.state

/**
 * The lifecycle status.
 *
 * @since 0.1.0
 * @category getters
 */
export const status: <S extends string, C extends string, M>(self: BufferManager<S, C, M>) => Effect.Effect<Status> =
  internal.status

/**
 * The Effect metrics of every queue, in `stats` order. They live in the global metric registry, so managers that
 * share a name share their metrics; `stats` is always per manager.
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics: <S extends string, C extends string, M>(
  self: BufferManager<S, C, M>
) => ReadonlyArray<QueueMetrics> = internal.metrics

/**
 * The default sizing policy: CPU above 80% grows the frame × 1.5 (capped at its pool tier bound), memory above 100 MiB
 * shrinks it × 0.75 (floored at 480 samples), at most one adjustment per 5 s.
 *
 * @since 0.1.0
 * @category constructors
 */
export const sizingPolicy: SizingPolicy = internalSizing.sizingDefaults

/**
 * The sizing policy as a pure function (origin `optimize_buffers`, with sizes in samples). Within the cooldown of the
 * last adjustment nothing changes. Otherwise CPU above the threshold multiplies `samplesPerFrame` by `growFactor`,
 * capped so that one channel's frame stays within the pool tier that holds it now; then memory above the threshold
 * multiplies it by `shrinkFactor`, floored at `minSamplesPerFrame` (or the current size, if already below). Channels,
 * sample width and rate are never changed.
 *
 * @example
 * ```ts
 * import { BufferManager } from "@core-stability/coordinator"
 *
 * const decision = BufferManager.decideSize({
 *   frame: BufferManager.defaultFrame,
 *   load: { cpuPercent: 85, memoryBytes: 0 },
 *   lastAdjustmentMs: undefined,
 *   nowMs: 0
 * })
 * // { _tag: "Adjusted", to: { samplesPerFrame: 720, bytesPerChannel: 1440, ... }, causes: ["cpu"], ... }
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const decideSize: (input: SizingInput) => SizingDecision = internalSizing.decideSize

/**
 * Applies the sizing policy to the manager's frame under `load`, on the `BufferManager.update` lock, with the time from
 * the `Clock` (so `TestClock` drives the cooldown; the tier bounds are the manager's pool's). An adjustment commits the
 * new frame (read it with {@link frame}), records its time, and increments `buffer_size_adjustments`. Put and take are
 * not affected: a payload's size is its own.
 *
 * @since 0.1.0
 * @category combinators
 */
export const optimize: {
  (load: LoadSample): <S extends string, C extends string, M>(
    self: BufferManager<S, C, M>
  ) => Effect.Effect<SizingDecision, LockError.LockError>
  <S extends string, C extends string, M>(
    self: BufferManager<S, C, M>,
    load: LoadSample
  ): Effect.Effect<SizingDecision, LockError.LockError>
} = internal.optimize

/**
 * Changes fields of the frame configuration (origin `update_buffer_config`): channels, sample width, sample rate, and
 * the size only if given; an explicit `samplesPerFrame` is kept as it is (the original reset it to 30 ms). Every
 * field must be a positive integer and one channel's frame must fit the pool's largest tier, or it fails with
 * `InvalidConfig` and nothing changes (`make` and an update region's `set` apply the same rule). Runs on the
 * `BufferManager.update` lock; returns the new frame.
 *
 * @since 0.1.0
 * @category combinators
 */
export const reconfigure: {
  (config: Partial<FrameConfig>): <S extends string, C extends string, M>(
    self: BufferManager<S, C, M>
  ) => Effect.Effect<Frame, BufferError.InvalidConfig | LockError.LockError>
  <S extends string, C extends string, M>(
    self: BufferManager<S, C, M>,
    config: Partial<FrameConfig>
  ): Effect.Effect<Frame, BufferError.InvalidConfig | LockError.LockError>
} = internal.reconfigure

/**
 * The sizing record: the frame, how many adjustments {@link optimize} made, when the last was, and its metric.
 *
 * @since 0.1.0
 * @category getters
 */
export const sizing: <S extends string, C extends string, M>(
  self: BufferManager<S, C, M>
) => Effect.Effect<SizingStats> = internal.sizing
