import type { LockError } from "@core-stability/locks"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import type * as FiberStatus from "effect/FiberStatus"
import { dual } from "effect/Function"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as RuntimeFlags from "effect/RuntimeFlags"
import type * as Scope from "effect/Scope"
import * as BufferError from "../BufferError.js"
import type * as BufferManager from "../BufferManager.js"
import type * as ResourcePool from "../ResourcePool.js"
import * as BufferLocks from "./bufferLocks.js"
import * as Sizing from "./bufferSizing.js"
import * as Instruments from "./instruments.js"
import { Model } from "./model.js"
import * as pool from "./resourcePool.js"

/** @internal */
export const TypeId: BufferManager.TypeId = Symbol.for(
  "@core-stability/coordinator/BufferManager"
) as BufferManager.TypeId

/** @internal */
export const defaultStages = { capture: 1000, processing: 500, storage: 250 } as const

/** @internal */
export const defaultChannels = ["left", "right"] as const

/** @internal */
export const defaultFrame: BufferManager.FrameConfig = {
  samplesPerFrame: 480,
  channelCount: 2,
  bytesPerSample: 2,
  sampleRateHz: 16000
}

/** @internal */
export const defaultLatencyBoundaries: ReadonlyArray<number> = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]

/** @internal */
export const backpressure = (timeoutMs: number): BufferManager.OverflowPolicy => ({ _tag: "Backpressure", timeoutMs })

/** @internal */
export const dropOldest: BufferManager.OverflowPolicy = { _tag: "DropOldest" }

/** @internal */
export const reject: BufferManager.OverflowPolicy = { _tag: "Reject" }

/** @internal */
export const defaultOverflow: BufferManager.OverflowPolicy = backpressure(500)

/**
 * Small payloads are copied out into views of a shared slab (like Node's `Buffer` pool): allocating an `ArrayBuffer`
 * per item costs more than the rest of put and take together, and a large slab amortises its allocation best.
 * Sizes in bytes.
 */
const SLAB_BYTES = 256 * 1024
const SLAB_ITEM_MAX = 4 * 1024

/** The largest queue capacity, in items: a queue's ring is allocated up front. */
const MAX_CAPACITY = 1 << 24

const OPEN = "open"
const CLOSING = "closing"
const CLOSED = "closed"

/** Wakes the first waiter of a set; a waiter removes itself when woken. */
const wakeOne = (waiters: Set<() => void>): void => {
  const first = waiters.values().next()
  if (first.done !== true) first.value()
}

const wakeAll = (waiters: Set<() => void>): void => {
  for (const waiter of Array.from(waiters)) waiter()
}

/**
 * Suspends until woken, unless `ready()` already holds. The check and the registration happen in one synchronous
 * step, so a wake-up between them cannot be lost. The signal carries no item: the woken fiber checks again when it
 * runs. The waiter is registered in `waiters` and, if given, in `also` (a private set, e.g. for a timer); a wake-up
 * from either removes it from both.
 */
const waitUntil = (
  waiters: Set<() => void>,
  ready: () => boolean,
  also?: Set<() => void>
): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (ready()) {
      resume(Effect.void)
      return
    }
    const waiter = () => {
      waiters.delete(waiter)
      also?.delete(waiter)
      resume(Effect.void)
    }
    waiters.add(waiter)
    also?.add(waiter)
    return Effect.sync(() => {
      waiters.delete(waiter)
      also?.delete(waiter)
    })
  })

/**
 * A fiber that holds a claim on a queued item (see `QueueImpl.claims`): the fiber itself when it could be interrupted
 * before it dequeues, else `undefined` (it cannot fail to dequeue).
 */
type Claimant = Fiber.RuntimeFiber<unknown, unknown> | undefined

/**
 * Whether a fiber has been interrupted. Read on a fiber that stands between two steps and was interruptible there, it
 * tells that the fiber will never run its next step: the runtime delivers an interruption before any further step.
 */
const isInterrupted = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
  !Cause.isEmpty(fiber.getFiberRef(FiberRef.interruptedCause))

/** Removes the claims of claimants that were interrupted before they dequeued: those items are free again. */
const releaseAbandoned = (claims: Array<Claimant>): void => {
  let kept = 0
  for (const claimant of claims) {
    if (claimant === undefined || !isInterrupted(claimant)) claims[kept++] = claimant
  }
  claims.length = kept
}

/**
 * One bounded FIFO queue. The ring keeps each item in parallel arrays (no object per item): the stored bytes (a pool
 * buffer, or the item's own copy when the pool tier was exhausted), the pool tier (`undefined` for a copy), the payload
 * length in bytes, the metadata and the enqueue time (ms). An item's sequence number is not stored: the head's is
 * `taken + dropped`.
 */
class QueueImpl<M> {
  readonly stored: Array<Uint8Array | undefined>
  readonly tiers: Array<pool.Tier | undefined>
  readonly lengths: Float64Array
  readonly metas: Array<M | undefined>
  readonly enqueuedAt: Float64Array
  head = 0
  size = 0
  readonly takers = new Set<() => void>()
  readonly putters = new Set<() => void>()
  /**
   * Claims on queued items, one entry per claim, never more than `size`. A take or poll claims an item in one
   * synchronous step and dequeues it in its next (see `claim`), so that nothing of ours runs between the dequeue and
   * the caller. Claims are counts, not items: whoever dequeues takes the head. A claimant interrupted between its two
   * steps never dequeues; its claim is released by the next one that needs it (`unclaimed`, `settled`).
   */
  readonly claims: Array<Claimant> = []
  readonly channelCell: pool.Cell
  put = 0
  taken = 0
  dropped = 0
  overflowed = 0
  rejected = 0
  unpooled = 0
  highWater = 0
  latencyCount = 0
  latencySumMs = 0
  latencyMaxMs = 0
  latencyLastMs = 0
  readonly putCounter: Instruments.Counter
  readonly takenCounter: Instruments.Counter
  readonly droppedCounter: Instruments.Counter
  readonly overflowCounter: Instruments.Counter
  readonly rejectedCounter: Instruments.Counter
  readonly sizeGauge: Instruments.Gauge
  readonly highWaterGauge: Instruments.Gauge
  readonly latencyHistogram: Instruments.Histogram

  constructor(
    readonly stage: string,
    readonly channel: string,
    readonly capacity: number,
    readonly policy: BufferManager.OverflowPolicy,
    manager: string,
    boundaries: MetricBoundaries.MetricBoundaries,
    poolImpl: pool.PoolImpl
  ) {
    this.stored = new Array(capacity)
    this.tiers = new Array(capacity)
    this.lengths = new Float64Array(capacity)
    this.metas = new Array(capacity)
    this.enqueuedAt = new Float64Array(capacity)
    this.channelCell = poolImpl.channelCell(channel)
    const labels = { manager, stage, channel }
    this.putCounter = Instruments.counter("buffer_items_put", "items enqueued", labels)
    this.takenCounter = Instruments.counter("buffer_items_taken", "items dequeued by take, poll or flush", labels)
    this.droppedCounter = Instruments.counter("buffer_items_dropped", "items discarded (drop-oldest, cleanup)", labels)
    this.overflowCounter = Instruments.counter("buffer_overflows", "puts that found the queue full", labels)
    this.rejectedCounter = Instruments.counter("buffer_puts_rejected", "puts refused by the overflow policy", labels)
    this.sizeGauge = Instruments.gauge("buffer_queue_size", "items queued", labels)
    this.highWaterGauge = Instruments.gauge("buffer_queue_high_water", "most items queued at once", labels)
    this.latencyHistogram = Instruments.histogram(
      "buffer_latency_ms",
      "time from enqueue to dequeue (ms)",
      boundaries,
      labels
    )
    this.putCounter.hook.update(0)
    this.takenCounter.hook.update(0)
    this.droppedCounter.hook.update(0)
    this.overflowCounter.hook.update(0)
    this.rejectedCounter.hook.update(0)
    this.sizeGauge.hook.update(0)
    this.highWaterGauge.hook.update(0)
  }

  push(stored: Uint8Array, tier: pool.Tier | undefined, length: number, meta: M, enqueuedAt: number): void {
    const end = this.head + this.size
    const slot = end < this.capacity ? end : end - this.capacity
    this.stored[slot] = stored
    this.tiers[slot] = tier
    this.lengths[slot] = length
    this.metas[slot] = meta
    this.enqueuedAt[slot] = enqueuedAt
    this.size++
    this.put++
    this.putCounter.hook.update(1)
    this.sizeGauge.hook.update(this.size)
    if (this.size > this.highWater) {
      this.highWater = this.size
      this.highWaterGauge.hook.update(this.size)
    }
    // every waiting taker is woken: if the one that claims the item is interrupted before it dequeues, another is
    // awake to find the item (no taker waits while an item is queued)
    if (this.takers.size > 0) wakeAll(this.takers)
  }

  /** Items no one has claimed; the claims of interrupted claimants are released first if they are in the way. */
  unclaimed(): number {
    if (this.claims.length > 0 && this.claims.length >= this.size) releaseAbandoned(this.claims)
    return this.size - this.claims.length
  }

  /** Whether no claim is pending (claims of interrupted claimants released first). */
  settled(): boolean {
    if (this.claims.length > 0) releaseAbandoned(this.claims)
    return this.claims.length === 0
  }

  /** Removes one claim of `claimant` (the last entry, in the usual case). */
  unclaim(claimant: Claimant): void {
    const claims = this.claims
    const last = claims.length - 1
    if (last >= 0 && claims[last] === claimant) {
      claims.pop()
      return
    }
    const index = claims.lastIndexOf(claimant)
    if (index < 0) throw new Error("BUG: BufferManager: a claim was released while its claimant still held it")
    claims[index] = claims[last]
    claims.pop()
  }

  /** Removes the head item (read its slot first); the caller counts it as taken or dropped. */
  advance(): void {
    const slot = this.head
    this.stored[slot] = undefined
    this.tiers[slot] = undefined
    this.metas[slot] = undefined
    this.head = slot + 1 < this.capacity ? slot + 1 : 0
    this.size--
    this.sizeGauge.hook.update(this.size)
    if (this.putters.size > 0) wakeOne(this.putters)
  }

  countDropped(n: number): void {
    this.dropped += n
    this.droppedCounter.hook.update(n)
  }

  countTaken(latencyMs: number): void {
    this.taken++
    this.takenCounter.hook.update(1)
    this.latencyCount++
    this.latencySumMs += latencyMs
    this.latencyLastMs = latencyMs
    if (latencyMs > this.latencyMaxMs) this.latencyMaxMs = latencyMs
    this.latencyHistogram.hook.update(latencyMs)
  }

  stats(): BufferManager.QueueStats {
    return {
      stage: this.stage,
      channel: this.channel,
      capacity: this.capacity,
      policy: this.policy,
      put: this.put,
      taken: this.taken,
      dropped: this.dropped,
      overflowed: this.overflowed,
      rejected: this.rejected,
      unpooled: this.unpooled,
      size: this.size,
      highWater: this.highWater,
      latency: {
        count: this.latencyCount,
        lastMs: this.latencyLastMs,
        meanMs: this.latencyCount === 0 ? 0 : this.latencySumMs / this.latencyCount,
        maxMs: this.latencyMaxMs
      }
    }
  }

  metrics(): BufferManager.QueueMetrics {
    return {
      stage: this.stage,
      channel: this.channel,
      put: this.putCounter.metric,
      taken: this.takenCounter.metric,
      dropped: this.droppedCounter.metric,
      overflowed: this.overflowCounter.metric,
      rejected: this.rejectedCounter.metric,
      size: this.sizeGauge.metric,
      highWater: this.highWaterGauge.metric,
      latency: this.latencyHistogram.metric
    }
  }
}

/** @internal */
export const deriveFrame = (config: BufferManager.FrameConfig): BufferManager.Frame => ({
  ...config,
  bytesPerChannel: config.samplesPerFrame * config.bytesPerSample,
  bytes: config.samplesPerFrame * config.bytesPerSample * config.channelCount,
  durationMs: (config.samplesPerFrame / config.sampleRateHz) * 1000
})

const invalid = (field: string, value: unknown, reason: string) =>
  new BufferError.InvalidConfig({ module: "BufferManager", field, value, reason })

const isPositiveInteger = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n > 0

/**
 * Validates a frame (`frame` merged over `base`): every field a positive integer, and one channel's frame
 * (`bytesPerChannel`) within `largest`, the pool's largest tier in bytes.
 */
const validateFrame = (
  frame: Partial<BufferManager.FrameConfig> | undefined,
  base: BufferManager.FrameConfig,
  largest: number
): BufferManager.FrameConfig | BufferError.InvalidConfig => {
  const merged = { ...base, ...frame }
  for (const field of ["samplesPerFrame", "channelCount", "bytesPerSample", "sampleRateHz"] as const) {
    if (!isPositiveInteger(merged[field])) return invalid(`frame.${field}`, merged[field], "a positive integer")
  }
  const bytesPerChannel = merged.samplesPerFrame * merged.bytesPerSample
  if (bytesPerChannel > largest) {
    return invalid(
      "frame.samplesPerFrame",
      merged.samplesPerFrame,
      `one channel's frame (${bytesPerChannel} bytes) must fit the largest pool tier (${largest} bytes)`
    )
  }
  return {
    samplesPerFrame: merged.samplesPerFrame,
    channelCount: merged.channelCount,
    bytesPerSample: merged.bytesPerSample,
    sampleRateHz: merged.sampleRateHz
  }
}

const validatePolicy = (
  field: string,
  policy: BufferManager.OverflowPolicy
): BufferError.InvalidConfig | undefined => {
  switch (policy._tag) {
    case "Backpressure":
      return Number.isFinite(policy.timeoutMs) && policy.timeoutMs >= 0 ?
        undefined :
        invalid(`${field}.timeoutMs`, policy.timeoutMs, "a finite number of ms, 0 or more")
    case "DropOldest":
    case "Reject":
      return undefined
    default:
      return invalid(field, (policy as { _tag: unknown })._tag, "Backpressure, DropOldest or Reject")
  }
}

interface Resolved {
  readonly name: string
  readonly stages: ReadonlyArray<readonly [string, number]>
  readonly channels: ReadonlyArray<string>
  readonly policies: ReadonlyMap<string, BufferManager.OverflowPolicy>
  readonly frame: BufferManager.FrameConfig
  readonly boundaries: MetricBoundaries.MetricBoundaries
}

const isPolicy = (u: unknown): u is BufferManager.OverflowPolicy =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string"

const resolve = (options: BufferManager.Options<string, string> | undefined): Resolved | BufferError.InvalidConfig => {
  const name = options?.name ?? "buffers"
  if (name.length === 0) return invalid("name", "\"\"", "a non-empty string")
  const stages = Object.entries(options?.stages ?? defaultStages)
  if (stages.length === 0) return invalid("stages", "{}", "at least one stage")
  for (const [stage, capacity] of stages) {
    if (!isPositiveInteger(capacity) || capacity > MAX_CAPACITY) {
      return invalid(`stages.${stage}`, capacity, `a positive integer (items), at most ${MAX_CAPACITY}`)
    }
  }
  const channels = options?.channels ?? defaultChannels
  if (channels.length === 0) return invalid("channels", "[]", "at least one channel")
  if (new Set(channels).size !== channels.length) return invalid("channels", channels.join(","), "unique names")
  const overflow = options?.overflow
  const policies = new Map<string, BufferManager.OverflowPolicy>()
  for (const [stage] of stages) {
    const policy = overflow === undefined ?
      defaultOverflow :
      isPolicy(overflow) ?
      overflow :
      (overflow as Readonly<Record<string, BufferManager.OverflowPolicy | undefined>>)[stage] ?? defaultOverflow
    const error = validatePolicy(
      isPolicy(overflow) || overflow === undefined ? "overflow" : `overflow.${stage}`,
      policy
    )
    if (error !== undefined) return error
    policies.set(stage, policy)
  }
  if (overflow !== undefined && !isPolicy(overflow)) {
    for (const stage of Object.keys(overflow)) {
      if (!policies.has(stage)) return invalid(`overflow.${stage}`, stage, "a configured stage")
    }
  }
  const largest = options?.pool === undefined ?
    pool.defaultTiers[pool.defaultTiers.length - 1]!.size :
    pool.toImpl(options.pool).largest
  const frame = validateFrame(options?.frame, defaultFrame, largest)
  if (frame instanceof BufferError.InvalidConfig) return frame
  const latency = options?.latencyBoundariesMs ?? defaultLatencyBoundaries
  for (let i = 0; i < latency.length; i++) {
    const bound = latency[i]!
    if (!(Number.isFinite(bound) && bound > 0 && (i === 0 || bound > latency[i - 1]!))) {
      return invalid(`latencyBoundariesMs[${i}]`, bound, "positive, finite and ascending (ms)")
    }
  }
  if (latency.length === 0) return invalid("latencyBoundariesMs", "[]", "at least one boundary (ms)")
  return {
    name,
    stages,
    channels,
    policies,
    frame,
    boundaries: MetricBoundaries.fromIterable(latency)
  }
}

class RegionImpl implements BufferManager.UpdateRegion {
  open = true
  frame: BufferManager.FrameConfig
  state: Readonly<Record<string, unknown>>
  constructor(readonly manager: ManagerImpl<any>) {
    this.frame = manager.frame
    this.state = manager.state
  }
  get get(): Effect.Effect<BufferManager.UpdateSnapshot, BufferError.UpdateRegionClosed> {
    return Effect.suspend(() =>
      this.open ?
        Effect.succeed({ frame: deriveFrame(this.frame), state: this.state }) :
        Effect.fail(new BufferError.UpdateRegionClosed({ manager: this.manager.name }))
    )
  }
  set(
    patch: BufferManager.UpdatePatch
  ): Effect.Effect<void, BufferError.UpdateRegionClosed | BufferError.InvalidConfig> {
    return Effect.suspend((): Effect.Effect<void, BufferError.UpdateRegionClosed | BufferError.InvalidConfig> => {
      if (!this.open) return Effect.fail(new BufferError.UpdateRegionClosed({ manager: this.manager.name }))
      const frame = validateFrame(patch.frame, this.frame, this.manager.poolImpl.largest)
      if (frame instanceof BufferError.InvalidConfig) return Effect.fail(frame)
      this.frame = frame
      if (patch.state !== undefined) this.state = { ...this.state, ...patch.state }
      return Effect.void
    })
  }
}

/** @internal */
export class ManagerImpl<M> extends Model implements BufferManager.BufferManager<any, any, M> {
  readonly [TypeId] = {
    _S: (_: unknown) => _,
    _C: (_: unknown) => _,
    _M: (_: M) => _
  }
  readonly name: string
  readonly stages: ReadonlyArray<string>
  readonly channels: ReadonlyArray<string>
  readonly queues = new Map<string, Map<string, QueueImpl<M>>>()
  readonly ordered: Array<QueueImpl<M>> = []
  readonly poolImpl: pool.PoolImpl
  readonly ownerCell: pool.Cell
  slab = new ArrayBuffer(SLAB_BYTES)
  slabOffset = 0
  status: BufferManager.Status = OPEN
  frame: BufferManager.FrameConfig
  state: Readonly<Record<string, unknown>> = {}
  adjustments = 0
  lastAdjustmentMs: number | undefined = undefined
  lastDecision: BufferManager.SizingDecision | undefined = undefined
  readonly adjustmentCounter: Instruments.Counter
  readonly sizingPolicy: BufferManager.SizingPolicy

  constructor(
    resolved: Resolved,
    readonly pool: ResourcePool.ResourcePool,
    readonly clock: Clock.Clock,
    readonly locks: BufferLocks.BufferLocks
  ) {
    super()
    this.name = resolved.name
    this.poolImpl = pool as pool.PoolImpl
    this.ownerCell = this.poolImpl.ownerCell(resolved.name)
    this.stages = resolved.stages.map(([stage]) => stage)
    this.channels = resolved.channels
    this.frame = resolved.frame
    this.adjustmentCounter = Instruments.counter(
      "buffer_size_adjustments",
      "frame size adjustments made by optimize",
      { manager: resolved.name }
    )
    this.adjustmentCounter.hook.update(0)
    this.sizingPolicy = { ...Sizing.sizingDefaults, tierBytes: this.poolImpl.tiers.map((tier) => tier.size) }
    for (const [stage, capacity] of resolved.stages) {
      const byChannel = new Map<string, QueueImpl<M>>()
      for (const channel of resolved.channels) {
        const queue = new QueueImpl<M>(
          stage,
          channel,
          capacity,
          resolved.policies.get(stage)!,
          resolved.name,
          resolved.boundaries,
          this.poolImpl
        )
        byChannel.set(channel, queue)
        this.ordered.push(queue)
      }
      this.queues.set(stage, byChannel)
    }
  }

  lookup(stage: string, channel: string): QueueImpl<M> | BufferError.UnknownQueue {
    const queue = this.queues.get(stage)?.get(channel)
    return queue ?? new BufferError.UnknownQueue({ stage, channel, stages: this.stages, channels: this.channels })
  }

  /** Stores a copy of the payload: in a pool buffer, or in a plain copy when the tier is exhausted. */
  enqueue(queue: QueueImpl<M>, payload: Uint8Array, meta: M): void {
    const length = payload.length
    const tier = this.poolImpl.tierFor(length)!
    const backing = this.poolImpl.acquire(tier, this.ownerCell, queue.channelCell)
    const now = this.clock.unsafeCurrentTimeMillis()
    if (backing !== undefined) {
      backing.set(payload)
      queue.push(backing, tier, length, meta, now)
    } else {
      queue.unpooled++
      queue.push(payload.slice(), undefined, length, meta, now)
    }
  }

  /** Copies a small payload into the current slab and returns the exact-length view; a large one gets its own copy. */
  copyOut(backing: Uint8Array, length: number): Uint8Array {
    if (length > SLAB_ITEM_MAX) return backing.slice(0, length)
    if (this.slabOffset + length > SLAB_BYTES) {
      this.slab = new ArrayBuffer(SLAB_BYTES)
      this.slabOffset = 0
    }
    const view = new Uint8Array(this.slab, this.slabOffset, length)
    view.set(length === backing.length ? backing : new Uint8Array(backing.buffer, backing.byteOffset, length))
    this.slabOffset += (length + 7) & ~7
    return view
  }

  /** Dequeues one item, counted as taken, handing its payload over as the caller's own exact-length copy. */
  takeOne(queue: QueueImpl<M>, staged: boolean): BufferManager.Item<M> | undefined {
    if (queue.size === 0) return undefined
    const slot = queue.head
    const stored = queue.stored[slot]!
    const tier = queue.tiers[slot]
    const length = queue.lengths[slot]!
    const meta = queue.metas[slot] as M
    const enqueuedAt = queue.enqueuedAt[slot]!
    const sequence = queue.taken + queue.dropped
    queue.advance()
    let payload = stored
    if (tier !== undefined) {
      payload = this.copyOut(stored, length)
      this.poolImpl.restore(tier, stored, this.ownerCell, queue.channelCell, staged, undefined)
    }
    const latencyMs = Math.max(0, this.clock.unsafeCurrentTimeMillis() - enqueuedAt)
    queue.countTaken(latencyMs)
    return { stage: queue.stage, channel: queue.channel, sequence, payload, meta, enqueuedAt, latencyMs }
  }

  /** Dequeues the head item for a claim of `claimant` (see `QueueImpl.claims`): there is one. */
  collect(queue: QueueImpl<M>, claimant: Claimant): BufferManager.Item<M> {
    queue.unclaim(claimant)
    const item = this.takeOne(queue, false)
    if (item === undefined) throw new Error("BUG: BufferManager: a claimed item is missing")
    return item
  }

  /** Discards the oldest item, counted as dropped, returning its pool buffer. */
  dropOne(queue: QueueImpl<M>, staged: boolean): boolean {
    if (queue.size === 0) return false
    const slot = queue.head
    const stored = queue.stored[slot]!
    const tier = queue.tiers[slot]
    queue.advance()
    if (tier !== undefined) this.poolImpl.restore(tier, stored, this.ownerCell, queue.channelCell, staged, undefined)
    queue.countDropped(1)
    return true
  }

  held(): number {
    return this.poolImpl.ownerInUse(this.name)
  }

  closeQueues(): void {
    for (const queue of this.ordered) {
      wakeAll(queue.putters)
      wakeAll(queue.takers)
    }
  }

  stats(): BufferManager.Stats {
    const queues = this.ordered.map((queue) => queue.stats())
    let put = 0
    let taken = 0
    let dropped = 0
    let overflowed = 0
    let rejected = 0
    let queued = 0
    for (const queue of queues) {
      put += queue.put
      taken += queue.taken
      dropped += queue.dropped
      overflowed += queue.overflowed
      rejected += queue.rejected
      queued += queue.size
    }
    return {
      name: this.name,
      status: this.status,
      frame: deriveFrame(this.frame),
      state: this.state,
      queues,
      totals: { put, taken, dropped, overflowed, rejected, queued },
      heldBuffers: this.held()
    }
  }

  toJSON(): unknown {
    return { _id: "BufferManager", ...this.stats() }
  }
}

/** @internal */
export const toImpl = <M>(self: BufferManager.BufferManager<any, any, M>): ManagerImpl<M> => self as ManagerImpl<M>

/** @internal */
export const isBufferManager = (u: unknown): u is BufferManager.BufferManager<never, never, unknown> =>
  Predicate.hasProperty(u, TypeId)

const poolFor = (options: BufferManager.Options<string, string> | undefined, resolved: Resolved) =>
  options?.pool ?? pool.unsafeMake({ name: resolved.name })

/** @internal */
export const unsafeMake = <M>(
  options?: BufferManager.Options<string, string>
): BufferManager.BufferManager<any, any, M> => {
  const resolved = resolve(options)
  if (resolved instanceof BufferError.InvalidConfig) throw resolved
  return new ManagerImpl<M>(resolved, poolFor(options, resolved), Clock.make(), BufferLocks.unsafeMake(resolved.name))
}

/** @internal */
export const make = <M>(
  options?: BufferManager.Options<string, string>
): Effect.Effect<BufferManager.BufferManager<any, any, M>, BufferError.InvalidConfig, Scope.Scope> =>
  Effect.gen(function*() {
    const resolved = resolve(options)
    if (resolved instanceof BufferError.InvalidConfig) return yield* Effect.fail(resolved)
    const clock = yield* Effect.clock
    const locks = yield* BufferLocks.make(resolved.name)
    const manager = new ManagerImpl<M>(resolved, poolFor(options, resolved), clock, locks)
    yield* Effect.addFinalizer(() => Effect.orDie(cleanupImpl<M, never, never>(manager, undefined)))
    return manager
  })

// -----------------------------------------------------------------------------
// put / take / poll
// -----------------------------------------------------------------------------

type PutError =
  | BufferError.UnknownQueue
  | BufferError.BufferClosed
  | BufferError.BufferFull
  | BufferError.BufferTooLarge

/**
 * A put that found its queue full under `Backpressure`. It waits for space, uninterruptibly except for the wait
 * itself, against a timer of `timeoutMs` started now (on the fiber's `Clock`). Every outcome is decided in one
 * synchronous step: enqueue if there is space (even when the timer has just fired), else fail if the manager is
 * closed or the timer fired, else wait again. So a put that fails with `BufferFull` has enqueued nothing, and one that
 * is interrupted while it waits enqueues nothing either; a wake-up it cannot use is passed on.
 */
const putSlow = <M>(
  self: ManagerImpl<M>,
  queue: QueueImpl<M>,
  payload: Uint8Array,
  meta: M,
  timeoutMs: number
): Effect.Effect<void, PutError> =>
  Effect.withFiberRuntime<void, PutError>((fiber, status) => {
    const interruptible = RuntimeFlags.interruptible(status.runtimeFlags)
    let expired = false
    const alarm = new Set<() => void>()
    const timer = Effect.interruptible(Effect.zipRight(
      Effect.sleep(Duration.millis(timeoutMs)),
      Effect.sync(() => {
        expired = true
        wakeOne(alarm)
      })
    ))
    const passOn = () => {
      if (queue.size < queue.capacity) wakeOne(queue.putters)
    }
    return Effect.uninterruptibleMask((restore) => {
      const wait = Effect.onInterrupt(
        restore(waitUntil(queue.putters, () => queue.size < queue.capacity || self.status !== OPEN || expired, alarm)),
        () => Effect.sync(passOn)
      )
      const step: Effect.Effect<void, PutError> = Effect.suspend(() => {
        // an interruption that came while the fiber was masked: enqueue nothing, and let the mask's end deliver it
        if (interruptible && isInterrupted(fiber)) {
          passOn()
          return Effect.void
        }
        if (self.status !== OPEN) {
          return Effect.fail(
            new BufferError.BufferClosed({ stage: queue.stage, channel: queue.channel, operation: "put" })
          )
        }
        if (queue.size < queue.capacity) {
          self.enqueue(queue, payload, meta)
          return Effect.void
        }
        if (expired) {
          queue.rejected++
          queue.rejectedCounter.hook.update(1)
          return Effect.fail(
            new BufferError.BufferFull({
              stage: queue.stage,
              channel: queue.channel,
              capacity: queue.capacity,
              policy: "Backpressure",
              waitedMs: timeoutMs
            })
          )
        }
        return Effect.zipRight(wait, step)
      })
      return Effect.flatMap(
        Effect.fork(timer),
        (timerFiber) => Effect.ensuring(step, Fiber.interruptAsFork(timerFiber, fiber.id()))
      )
    })
  })

/** Looks a queue up once per effect (a manager's queues never change), so that running the effect again skips it. */
const finder = <M>(impl: ManagerImpl<M>, stage: string, channel: string) => {
  let found: QueueImpl<M> | undefined
  return (): QueueImpl<M> | BufferError.UnknownQueue => {
    if (found !== undefined) return found
    const queue = impl.lookup(stage, channel)
    if (!(queue instanceof BufferError.UnknownQueue)) found = queue
    return queue
  }
}

const putImpl = <M>(
  self: ManagerImpl<M>,
  stage: string,
  channel: string,
  payload: Uint8Array,
  meta: M
): Effect.Effect<void, PutError> => {
  const find = finder(self, stage, channel)
  return Effect.suspend(() => {
    const queue = find()
    if (queue instanceof BufferError.UnknownQueue) return Effect.fail(queue)
    if (self.status !== OPEN) {
      return Effect.fail(new BufferError.BufferClosed({ stage, channel, operation: "put" }))
    }
    if (payload.length > self.poolImpl.largest) {
      return Effect.fail(new BufferError.BufferTooLarge({ requested: payload.length, largest: self.poolImpl.largest }))
    }
    if (queue.size < queue.capacity) {
      self.enqueue(queue, payload, meta)
      return Effect.void
    }
    queue.overflowed++
    queue.overflowCounter.hook.update(1)
    const policy = queue.policy
    switch (policy._tag) {
      case "DropOldest": {
        self.dropOne(queue, false)
        self.enqueue(queue, payload, meta)
        return Effect.void
      }
      case "Reject": {
        queue.rejected++
        queue.rejectedCounter.hook.update(1)
        return Effect.fail(
          new BufferError.BufferFull({ stage, channel, capacity: queue.capacity, policy: "Reject", waitedMs: 0 })
        )
      }
      case "Backpressure":
        return putSlow(self, queue, payload, meta, policy.timeoutMs)
    }
  })
}

const isManagerFirst = (args: IArguments) => args[0] instanceof ManagerImpl

/** @internal */
export const put = dual(
  isManagerFirst,
  <M>(
    self: BufferManager.BufferManager<any, any, M>,
    stage: string,
    channel: string,
    payload: Uint8Array,
    meta?: M
  ): Effect.Effect<void, PutError> => putImpl(toImpl(self), stage, channel, payload, meta as M)
) as any

const closedTake = (queue: QueueImpl<unknown>) =>
  new BufferError.BufferClosed({ stage: queue.stage, channel: queue.channel, operation: "take" })

/**
 * Claims an item for the calling fiber in one synchronous step (see `QueueImpl.claims`); the caller returns the step
 * that dequeues it (`ManagerImpl.collect`) as the last step of its take or poll. The item then goes from the queue to
 * the caller's continuation in one step, with no interruption point between: a fiber interrupted before that step
 * leaves the item queued, and its claim is released by the next one that needs the item.
 */
const claim = <M>(queue: QueueImpl<M>, fiber: Fiber.RuntimeFiber<any, any>, status: FiberStatus.Running): Claimant => {
  const claimant: Claimant = RuntimeFlags.interruptible(status.runtimeFlags) ? fiber : undefined
  queue.claims.push(claimant)
  return claimant
}

/**
 * One attempt of a take, in one synchronous step: claim an unclaimed item; if every queued item is claimed, let the
 * claimants (which dequeue at their next step, or were interrupted) run and try again; if the queue is empty, fail when
 * the manager is closing or closed, else wait for a put and try again. No mask: an interruption at any point before
 * the dequeue leaves the item queued, and since a put wakes every waiting taker, another taker finds it.
 */
const takeStep = <M>(
  impl: ManagerImpl<M>,
  queue: QueueImpl<M>,
  fiber: Fiber.RuntimeFiber<any, any>,
  status: FiberStatus.Running
): Effect.Effect<BufferManager.Item<M>, BufferError.BufferClosed> => {
  if (queue.unclaimed() > 0) {
    const claimant = claim(queue, fiber, status)
    return Effect.sync(() => impl.collect(queue, claimant))
  }
  if (queue.size > 0) return Effect.zipRight(Effect.yieldNow(), takeAgain(impl, queue))
  if (impl.status !== OPEN) return Effect.fail(closedTake(queue))
  return Effect.zipRight(waitUntil(queue.takers, () => queue.size > 0 || impl.status !== OPEN), takeAgain(impl, queue))
}

const takeAgain = <M>(
  impl: ManagerImpl<M>,
  queue: QueueImpl<M>
): Effect.Effect<BufferManager.Item<M>, BufferError.BufferClosed> =>
  Effect.withFiberRuntime((fiber, status) => takeStep(impl, queue, fiber, status))

/** @internal */
export const take = dual(
  isManagerFirst,
  <M>(
    self: BufferManager.BufferManager<any, any, M>,
    stage: string,
    channel: string
  ): Effect.Effect<BufferManager.Item<M>, BufferError.UnknownQueue | BufferError.BufferClosed> => {
    const impl = toImpl(self)
    const find = finder(impl, stage, channel)
    return Effect.withFiberRuntime((fiber, status) => {
      const queue = find()
      if (queue instanceof BufferError.UnknownQueue) return Effect.fail(queue)
      return takeStep(impl, queue, fiber, status)
    })
  }
) as any

const none = Effect.succeed(Option.none())

/** @internal */
export const poll = dual(
  isManagerFirst,
  <M>(
    self: BufferManager.BufferManager<any, any, M>,
    stage: string,
    channel: string
  ): Effect.Effect<Option.Option<BufferManager.Item<M>>, BufferError.UnknownQueue> => {
    const impl = toImpl(self)
    const find = finder(impl, stage, channel)
    return Effect.withFiberRuntime((fiber, status) => {
      const queue = find()
      if (queue instanceof BufferError.UnknownQueue) return Effect.fail(queue)
      if (queue.unclaimed() === 0) return none
      const claimant = claim(queue, fiber, status)
      return Effect.sync(() => Option.some(impl.collect(queue, claimant)))
    })
  }
) as any

// -----------------------------------------------------------------------------
// flush / cleanup / reopen
// -----------------------------------------------------------------------------

const drainTo = <M, E, R>(
  self: ManagerImpl<M>,
  sink: (item: BufferManager.Item<M>) => Effect.Effect<void, E, R>,
  staged: boolean
): Effect.Effect<number, E, R> =>
  Effect.suspend(() => {
    let flushed = 0
    let index = 0
    const next: Effect.Effect<number, E, R> = Effect.suspend(() => {
      while (index < self.ordered.length) {
        const queue = self.ordered[index]!
        // claimed items belong to the takes and polls that claimed them
        const item = queue.unclaimed() > 0 ? self.takeOne(queue, staged) : undefined
        if (item !== undefined) {
          flushed++
          return Effect.zipRight(sink(item), next)
        }
        index++
      }
      return Effect.succeed(flushed)
    })
    return next
  })

/** @internal */
export const flush = dual(
  2,
  <M, E, R>(
    self: BufferManager.BufferManager<any, any, M>,
    sink: (item: BufferManager.Item<M>) => Effect.Effect<void, E, R>
  ): Effect.Effect<number, E, R> => drainTo(toImpl(self), sink, false)
)

const dropAll = <M>(self: ManagerImpl<M>): number => {
  let dropped = 0
  for (const queue of self.ordered) {
    while (self.dropOne(queue, true)) dropped++
  }
  return dropped
}

const verify = <M>(self: ManagerImpl<M>): BufferError.CleanupIncomplete | undefined => {
  const queued: Record<string, number> = {}
  let empty = true
  for (const queue of self.ordered) {
    if (queue.size > 0) {
      empty = false
      queued[`${queue.stage}/${queue.channel}`] = queue.size
    }
  }
  const held = self.held()
  return empty && held === 0 ? undefined : new BufferError.CleanupIncomplete({ queued, held })
}

const cleanupImpl = <M, E, R>(
  self: ManagerImpl<M>,
  sink: ((item: BufferManager.Item<M>) => Effect.Effect<void, E, R>) | undefined
): Effect.Effect<BufferManager.CleanupReport, E | BufferError.CleanupIncomplete | LockError.LockError, R> =>
  Effect.scoped(
    Effect.gen(function*() {
      yield* self.locks.cleanup
      // whatever happens to the flush (success, a failing sink, interruption), the rest is dropped and counted,
      // and the manager ends closed. Items claimed by takes and polls go to them first: each claimant dequeues at
      // its next step (or was interrupted, which releases its claim).
      let dropped = 0
      const close: Effect.Effect<void> = Effect.suspend(() => {
        if (!self.ordered.every((queue) => queue.settled())) return Effect.zipRight(Effect.yieldNow(), close)
        dropped = dropAll(self)
        self.status = CLOSED
        self.closeQueues()
        return Effect.void
      })
      // Only the wait for the update lock and the flush are interruptible: once the manager is closing, `close` is
      // sure to run, so an interruption cannot leave it closing with items queued.
      const flushed = yield* Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(
          Effect.scoped(Effect.zipRight(
            restore(self.locks.update),
            Effect.sync(() => {
              self.status = CLOSING
              self.closeQueues()
            })
          )),
          Effect.ensuring(
            sink === undefined ? Effect.succeed(Exit.succeed(0)) : restore(Effect.exit(drainTo(self, sink, true))),
            close
          )
        )
      )
      if (Exit.isFailure(flushed)) return yield* Effect.failCause(flushed.cause)
      const incomplete = verify(self)
      if (incomplete !== undefined) return yield* Effect.fail(incomplete)
      return { flushed: flushed.value, dropped }
    })
  )

/** @internal */
export const cleanup = dual(
  isManagerFirst,
  <M, E = never, R = never>(
    self: BufferManager.BufferManager<any, any, M>,
    options?: BufferManager.CleanupOptions<M, E, R>
  ): Effect.Effect<BufferManager.CleanupReport, E | BufferError.CleanupIncomplete | LockError.LockError, R> =>
    cleanupImpl(toImpl(self), options?.sink)
) as any

/** @internal */
export const reopen = <M>(self: BufferManager.BufferManager<any, any, M>): Effect.Effect<void, LockError.LockError> => {
  const impl = toImpl(self)
  return Effect.scoped(Effect.zipRight(
    impl.locks.cleanup,
    Effect.sync(() => {
      impl.status = OPEN
    })
  ))
}

// -----------------------------------------------------------------------------
// update regions
// -----------------------------------------------------------------------------

/** @internal */
export const update = <M>(
  self: BufferManager.BufferManager<any, any, M>
): Effect.Effect<BufferManager.UpdateRegion, LockError.LockError, Scope.Scope> => {
  const impl = toImpl(self)
  return Effect.gen(function*() {
    yield* impl.locks.update
    const region = new RegionImpl(impl)
    yield* Effect.addFinalizer((exit) =>
      Effect.sync(() => {
        region.open = false
        if (Exit.isSuccess(exit)) {
          impl.frame = region.frame
          impl.state = region.state
        }
      })
    )
    return region
  })
}

/** @internal */
export const withUpdate = dual(
  2,
  <M, A, E, R>(
    self: BufferManager.BufferManager<any, any, M>,
    f: (region: BufferManager.UpdateRegion) => Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | LockError.LockError, R> => Effect.scoped(Effect.flatMap(update(self), f))
)

// -----------------------------------------------------------------------------
// sizing
// -----------------------------------------------------------------------------

/** Runs `f` on the update lock, so it never interleaves with an update region's commit. */
const onUpdateLock = <M, A, E>(impl: ManagerImpl<M>, f: () => A | E, isError: (u: A | E) => u is E) =>
  Effect.scoped(Effect.zipRight(
    impl.locks.update,
    Effect.suspend(() => {
      const result = f()
      return isError(result) ? Effect.fail(result) : Effect.succeed(result as A)
    })
  ))

/** @internal */
export const optimize = dual(
  2,
  <M>(
    self: BufferManager.BufferManager<any, any, M>,
    load: BufferManager.LoadSample
  ): Effect.Effect<BufferManager.SizingDecision, LockError.LockError> => {
    const impl = toImpl(self)
    return onUpdateLock<M, BufferManager.SizingDecision, never>(impl, () => {
      const nowMs = impl.clock.unsafeCurrentTimeMillis()
      const decision = Sizing.decideSize({
        frame: impl.frame,
        load,
        lastAdjustmentMs: impl.lastAdjustmentMs,
        nowMs,
        policy: impl.sizingPolicy
      })
      if (decision._tag === "Adjusted") {
        impl.frame = {
          samplesPerFrame: decision.to.samplesPerFrame,
          channelCount: decision.to.channelCount,
          bytesPerSample: decision.to.bytesPerSample,
          sampleRateHz: decision.to.sampleRateHz
        }
        impl.adjustments++
        impl.lastAdjustmentMs = nowMs
        impl.adjustmentCounter.hook.update(1)
      }
      impl.lastDecision = decision
      return decision
    }, (_): _ is never => false)
  }
)

/** @internal */
export const reconfigure = dual(
  2,
  <M>(
    self: BufferManager.BufferManager<any, any, M>,
    config: Partial<BufferManager.FrameConfig>
  ): Effect.Effect<BufferManager.Frame, BufferError.InvalidConfig | LockError.LockError> => {
    const impl = toImpl(self)
    return onUpdateLock<M, BufferManager.Frame, BufferError.InvalidConfig>(impl, () => {
      if (!Predicate.isRecord(config)) return invalid("frame", config, "a partial frame configuration")
      const next = validateFrame(config, impl.frame, impl.poolImpl.largest)
      if (next instanceof BufferError.InvalidConfig) return next
      impl.frame = next
      return deriveFrame(next)
    }, (u): u is BufferError.InvalidConfig => u instanceof BufferError.InvalidConfig)
  }
)

/** @internal */
export const sizing = <M>(self: BufferManager.BufferManager<any, any, M>): Effect.Effect<BufferManager.SizingStats> =>
  Effect.sync(() => {
    const impl = toImpl(self)
    return {
      frame: deriveFrame(impl.frame),
      adjustments: impl.adjustments,
      lastAdjustmentMs: impl.lastAdjustmentMs,
      lastDecision: impl.lastDecision,
      metric: impl.adjustmentCounter.metric
    }
  })

// -----------------------------------------------------------------------------
// getters
// -----------------------------------------------------------------------------

/** @internal */
export const stats = <M>(self: BufferManager.BufferManager<any, any, M>): Effect.Effect<BufferManager.Stats> =>
  Effect.sync(() => toImpl(self).stats())

/** @internal */
export const unsafeStats = <M>(self: BufferManager.BufferManager<any, any, M>): BufferManager.Stats =>
  toImpl(self).stats()

/** @internal */
export const frame = <M>(self: BufferManager.BufferManager<any, any, M>): Effect.Effect<BufferManager.Frame> =>
  Effect.sync(() => deriveFrame(toImpl(self).frame))

/** @internal */
export const state = <M>(
  self: BufferManager.BufferManager<any, any, M>
): Effect.Effect<Readonly<Record<string, unknown>>> => Effect.sync(() => toImpl(self).state)

/** @internal */
export const status = <M>(self: BufferManager.BufferManager<any, any, M>): Effect.Effect<BufferManager.Status> =>
  Effect.sync(() => toImpl(self).status)

/** @internal */
export const metrics = <M>(self: BufferManager.BufferManager<any, any, M>): ReadonlyArray<BufferManager.QueueMetrics> =>
  toImpl(self).ordered.map((queue) => queue.metrics())
