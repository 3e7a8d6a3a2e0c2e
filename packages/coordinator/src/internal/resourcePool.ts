import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Inspectable from "effect/Inspectable"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import * as BufferError from "../BufferError.js"
import type * as ResourcePool from "../ResourcePool.js"
import * as Instruments from "./instruments.js"
import { Model } from "./model.js"

/** @internal */
export const TypeId: ResourcePool.TypeId = Symbol.for("@core-stability/coordinator/ResourcePool") as ResourcePool.TypeId

/** @internal */
export const BufferTypeId: ResourcePool.BufferTypeId = Symbol.for(
  "@core-stability/coordinator/ResourcePool/PooledBuffer"
) as ResourcePool.BufferTypeId

/** @internal */
export const defaultTiers: ReadonlyArray<ResourcePool.TierConfig> = [
  { name: "small", size: 4 * 1024, limit: 1000 },
  { name: "medium", size: 64 * 1024, limit: 500 },
  { name: "large", size: 1024 * 1024, limit: 100 }
]

const LIVE = 0
const PENDING = 1
const RELEASED = 2

/** @internal */
export class Tier {
  /** Free buffers, reused newest first. */
  readonly free: Array<Uint8Array> = []
  allocated = 0
  inUse = 0
  peak = 0
  allocations = 0
  reuses = 0
  releases = 0
  staged = 0
  pending = 0
  readonly allocatedGauge: Instruments.Gauge
  readonly inUseGauge: Instruments.Gauge
  readonly peakGauge: Instruments.Gauge
  readonly reuseCounter: Instruments.Counter

  constructor(readonly name: string, readonly size: number, readonly limit: number, pool: string) {
    const labels = { pool, tier: name }
    this.allocatedGauge = Instruments.gauge("pool_buffers_allocated", "buffers the tier holds, free or in use", labels)
    this.inUseGauge = Instruments.gauge("pool_buffers_in_use", "buffers of the tier in use", labels)
    this.peakGauge = Instruments.gauge("pool_buffers_peak", "most buffers of the tier in use at once", labels)
    this.reuseCounter = Instruments.counter("pool_buffer_reuses", "allocations served by a free buffer", labels)
    this.allocatedGauge.hook.update(0)
    this.inUseGauge.hook.update(0)
    this.peakGauge.hook.update(0)
  }
}

/**
 * A count of buffers held under one accounting key (an owner or a channel). Callers on a hot path resolve their
 * cells once and pass them to every allocation, so accounting costs no map lookup; such a cell is pinned and stays in
 * its map. An unpinned cell (made for one allocation's owner or channel) leaves its map when its count returns to
 * zero, so a pool serving many short-lived owners or channels keeps no counter for each of them.
 *
 * @internal
 */
export interface Cell {
  held: number
  pinned: boolean
  readonly key: string
  readonly cells: Map<string, Cell>
}

class PooledBufferImpl implements ResourcePool.PooledBuffer {
  readonly [BufferTypeId]: ResourcePool.BufferTypeId = BufferTypeId
  state = LIVE
  constructor(
    readonly pool: PoolImpl,
    readonly tierRef: Tier,
    readonly backing: Uint8Array,
    readonly bytes: Uint8Array,
    readonly owner: string | undefined,
    readonly channel: string | undefined,
    readonly ownerCell: Cell | undefined,
    readonly channelCell: Cell | undefined
  ) {}
  get size(): number {
    return this.bytes.length
  }
  get capacity(): number {
    return this.tierRef.size
  }
  get tier(): string {
    return this.tierRef.name
  }
  toJSON(): unknown {
    return {
      _id: "PooledBuffer",
      pool: this.pool.name,
      tier: this.tierRef.name,
      size: this.bytes.length,
      owner: this.owner,
      channel: this.channel,
      state: this.state === LIVE ? "in use" : this.state === PENDING ? "pending release" : "released"
    }
  }
  toString(): string {
    return Inspectable.format(this.toJSON())
  }
  [Inspectable.NodeInspectSymbol](): unknown {
    return this.toJSON()
  }
}

const cellOf = (cells: Map<string, Cell>, key: string | undefined): Cell | undefined => {
  if (key === undefined) return undefined
  let cell = cells.get(key)
  if (cell === undefined) {
    cell = { held: 0, pinned: false, key, cells }
    cells.set(key, cell)
  }
  return cell
}

const pinnedCellOf = (cells: Map<string, Cell>, key: string): Cell => {
  const cell = cellOf(cells, key)!
  cell.pinned = true
  return cell
}

/** An unpinned cell that holds nothing leaves its map. */
const dropIfEmpty = (cell: Cell | undefined): void => {
  if (cell !== undefined && cell.held <= 0 && !cell.pinned && cell.cells.get(cell.key) === cell) {
    cell.cells.delete(cell.key)
  }
}

/** Counts a buffer off a cell. */
const decrement = (cell: Cell | undefined): void => {
  if (cell === undefined) return
  cell.held--
  dropIfEmpty(cell)
}

const heldBy = (cells: Map<string, Cell>): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const [key, cell] of cells) {
    if (cell.held > 0) out[key] = cell.held
  }
  return out
}

/** @internal */
export class PoolImpl extends Model implements ResourcePool.ResourcePool {
  readonly [TypeId]: ResourcePool.TypeId = TypeId
  readonly tierList: ReadonlyArray<Tier>
  readonly owners = new Map<string, Cell>()
  readonly channels = new Map<string, Cell>()
  readonly pendingList: Array<{
    readonly tier: Tier
    readonly backing: Uint8Array
    readonly handle: PooledBufferImpl | undefined
  }> = []
  stageDepth = 0

  constructor(readonly name: string, tiers: ReadonlyArray<ResourcePool.TierConfig>) {
    super()
    this.tierList = tiers.map((tier, i) => new Tier(tier.name ?? `tier${i}`, tier.size, tier.limit, name))
  }

  get tiers(): ReadonlyArray<ResourcePool.Tier> {
    return this.tierList.map((tier) => ({ name: tier.name, size: tier.size, limit: tier.limit }))
  }

  get largest(): number {
    return this.tierList[this.tierList.length - 1]!.size
  }

  tierFor(size: number): Tier | undefined {
    for (const tier of this.tierList) {
      if (size <= tier.size) return tier
    }
    return undefined
  }

  /** The pinned cell of an owner, for a caller that keeps it (it never leaves the map). */
  ownerCell(owner: string): Cell {
    return pinnedCellOf(this.owners, owner)
  }

  /** The pinned cell of a channel, for a caller that keeps it (it never leaves the map). */
  channelCell(channel: string): Cell {
    return pinnedCellOf(this.channels, channel)
  }

  /** Takes a buffer of exactly `size` bytes; zeroes a reused buffer's view when `zero` is set. */
  allocate(
    size: number,
    owner: string | undefined,
    channel: string | undefined,
    zero: boolean
  ): PooledBufferImpl | BufferError.BufferTooLarge | BufferError.PoolExhausted {
    const tier = this.tierFor(size)
    if (tier === undefined) return new BufferError.BufferTooLarge({ requested: size, largest: this.largest })
    const ownerCell = cellOf(this.owners, owner)
    const channelCell = cellOf(this.channels, channel)
    const backing = this.acquire(tier, ownerCell, channelCell)
    if (backing === undefined) {
      dropIfEmpty(ownerCell)
      dropIfEmpty(channelCell)
      return new BufferError.PoolExhausted({ tier: tier.name, size: tier.size, limit: tier.limit })
    }
    const bytes = new Uint8Array(backing.buffer, 0, size)
    if (zero) bytes.fill(0)
    return new PooledBufferImpl(this, tier, backing, bytes, owner, channel, ownerCell, channelCell)
  }

  /**
   * The accounting core, shared with trusted internal callers that need no handle (the BufferManager keeps its
   * buffers in its own ring): takes a free buffer of the tier (newest first) or makes one, unless the tier's limit
   * is in use (`undefined`). The buffer is not zeroed.
   */
  acquire(tier: Tier, ownerCell: Cell | undefined, channelCell: Cell | undefined): Uint8Array | undefined {
    if (tier.inUse >= tier.limit) return undefined
    let backing = tier.free.pop()
    if (backing === undefined) {
      backing = new Uint8Array(tier.size)
      tier.allocated++
      tier.allocatedGauge.hook.update(tier.allocated)
    } else {
      tier.reuses++
      tier.reuseCounter.hook.update(1)
    }
    tier.allocations++
    tier.inUse++
    tier.inUseGauge.hook.update(tier.inUse)
    if (tier.inUse > tier.peak) {
      tier.peak = tier.inUse
      tier.peakGauge.hook.update(tier.peak)
    }
    if (ownerCell !== undefined) ownerCell.held++
    if (channelCell !== undefined) channelCell.held++
    return backing
  }

  /** Returns a buffer taken with `acquire`; a staged return inside an open cleanup stage is deferred. */
  restore(
    tier: Tier,
    backing: Uint8Array,
    ownerCell: Cell | undefined,
    channelCell: Cell | undefined,
    staged: boolean,
    handle: PooledBufferImpl | undefined
  ): void {
    decrement(ownerCell)
    decrement(channelCell)
    if (staged && this.stageDepth > 0) {
      tier.staged++
      tier.pending++
      this.pendingList.push({ tier, backing, handle })
      return
    }
    this.reclaim(tier, backing)
  }

  /** Returns a buffer; inside an open cleanup stage a staged release is deferred until the outermost stage ends. */
  release(
    buffer: ResourcePool.PooledBuffer,
    owner: string | undefined,
    staged: boolean
  ): BufferError.UnknownBuffer | BufferError.OwnerMismatch | undefined {
    if (!(buffer instanceof PooledBufferImpl) || buffer.pool !== this) {
      return new BufferError.UnknownBuffer({ reason: "foreign" })
    }
    if (buffer.state !== LIVE) {
      return new BufferError.UnknownBuffer({ reason: buffer.state === PENDING ? "pending" : "released" })
    }
    if (owner !== undefined && owner !== buffer.owner) {
      return new BufferError.OwnerMismatch({ owner: buffer.owner, claimed: owner })
    }
    const deferred = staged && this.stageDepth > 0
    buffer.state = deferred ? PENDING : RELEASED
    this.restore(buffer.tierRef, buffer.backing, buffer.ownerCell, buffer.channelCell, staged, buffer)
    return undefined
  }

  reclaim(tier: Tier, backing: Uint8Array): void {
    tier.inUse--
    tier.releases++
    tier.free.push(backing)
    tier.inUseGauge.hook.update(tier.inUse)
  }

  enterStage(): void {
    this.stageDepth++
  }

  exitStage(): void {
    this.stageDepth--
    if (this.stageDepth > 0) return
    const pending = this.pendingList.splice(0, this.pendingList.length)
    for (const { backing, handle, tier } of pending) {
      if (handle !== undefined) handle.state = RELEASED
      tier.pending--
      this.reclaim(tier, backing)
    }
  }

  ownerInUse(owner: string): number {
    return this.owners.get(owner)?.held ?? 0
  }

  stats(): ResourcePool.Stats {
    return {
      name: this.name,
      stageDepth: this.stageDepth,
      tiers: this.tierList.map((tier) => ({
        name: tier.name,
        size: tier.size,
        limit: tier.limit,
        allocated: tier.allocated,
        free: tier.free.length,
        inUse: tier.inUse,
        peak: tier.peak,
        allocations: tier.allocations,
        reuses: tier.reuses,
        releases: tier.releases,
        staged: tier.staged,
        pending: tier.pending
      })),
      owners: heldBy(this.owners),
      channels: heldBy(this.channels)
    }
  }

  clear(): BufferError.BuffersInUse | undefined {
    let busy = false
    for (const tier of this.tierList) {
      tier.allocated -= tier.free.length
      tier.free.length = 0
      tier.allocatedGauge.hook.update(tier.allocated)
      if (tier.inUse > 0) busy = true
    }
    if (!busy) return undefined
    return new BufferError.BuffersInUse({
      inUse: Object.fromEntries(this.tierList.map((tier) => [tier.name, tier.inUse])),
      owners: heldBy(this.owners)
    })
  }

  metrics(): ReadonlyArray<ResourcePool.TierMetrics> {
    return this.tierList.map((tier) => ({
      tier: tier.name,
      allocated: tier.allocatedGauge.metric,
      inUse: tier.inUseGauge.metric,
      peak: tier.peakGauge.metric,
      reuses: tier.reuseCounter.metric
    }))
  }

  toJSON(): unknown {
    return { _id: "ResourcePool", ...this.stats() }
  }
}

const isPositiveInteger = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n > 0

const validate = (options: ResourcePool.Options | undefined): BufferError.InvalidConfig | undefined => {
  const invalid = (field: string, value: unknown, reason: string) =>
    new BufferError.InvalidConfig({ module: "ResourcePool", field, value, reason })
  const tiers = options?.tiers ?? defaultTiers
  if (tiers.length === 0) return invalid("tiers", "[]", "at least one tier is required")
  const names = new Set<string>()
  let previous = 0
  for (let i = 0; i < tiers.length; i++) {
    const tier = tiers[i]!
    if (!isPositiveInteger(tier.size)) return invalid(`tiers[${i}].size`, tier.size, "a positive integer (bytes)")
    if (tier.size <= previous) {
      return invalid(`tiers[${i}].size`, tier.size, `sizes must ascend (previous tier: ${previous} bytes)`)
    }
    if (!isPositiveInteger(tier.limit)) return invalid(`tiers[${i}].limit`, tier.limit, "a positive integer (buffers)")
    const name = tier.name ?? `tier${i}`
    if (names.has(name)) return invalid(`tiers[${i}].name`, name, "tier names must be unique")
    names.add(name)
    previous = tier.size
  }
  if (options?.name !== undefined && options.name.length === 0) {
    return invalid("name", "\"\"", "a non-empty string")
  }
  return undefined
}

/** @internal */
export const unsafeMake = (options?: ResourcePool.Options): ResourcePool.ResourcePool => {
  const error = validate(options)
  if (error !== undefined) throw error
  return new PoolImpl(options?.name ?? "pool", options?.tiers ?? defaultTiers)
}

/** @internal */
export const make = (
  options?: ResourcePool.Options
): Effect.Effect<ResourcePool.ResourcePool, BufferError.InvalidConfig> =>
  Effect.suspend(() => {
    const error = validate(options)
    return error === undefined
      ? Effect.succeed(new PoolImpl(options?.name ?? "pool", options?.tiers ?? defaultTiers))
      : Effect.fail(error)
  })

/** @internal */
export const isResourcePool = (u: unknown): u is ResourcePool.ResourcePool => Predicate.hasProperty(u, TypeId)

/** @internal */
export const isPooledBuffer = (u: unknown): u is ResourcePool.PooledBuffer => Predicate.hasProperty(u, BufferTypeId)

/** @internal */
export const toImpl = (self: ResourcePool.ResourcePool): PoolImpl => self as PoolImpl

const checkSize = (size: number): BufferError.InvalidConfig | undefined =>
  Number.isSafeInteger(size) && size >= 0 ?
    undefined :
    new BufferError.InvalidConfig({
      module: "ResourcePool",
      field: "size",
      value: size,
      reason: "a non-negative integer (bytes)"
    })

type AllocateError = BufferError.BufferTooLarge | BufferError.PoolExhausted | BufferError.InvalidConfig

const allocateWith = (
  self: ResourcePool.ResourcePool,
  size: number,
  options: ResourcePool.AllocateOptions | undefined,
  zero: boolean
): Effect.Effect<PooledBufferImpl, AllocateError> =>
  Effect.suspend((): Effect.Effect<PooledBufferImpl, AllocateError> => {
    const invalid = checkSize(size)
    if (invalid !== undefined) return Effect.fail(invalid)
    const result = toImpl(self).allocate(size, options?.owner, options?.channel, zero)
    return result instanceof PooledBufferImpl ? Effect.succeed(result) : Effect.fail(result)
  })

const isPoolFirst = (args: IArguments) => isResourcePool(args[0])

/** @internal */
export const allocate: {
  (size: number, options?: ResourcePool.AllocateOptions): (
    self: ResourcePool.ResourcePool
  ) => Effect.Effect<ResourcePool.PooledBuffer, AllocateError>
  (
    self: ResourcePool.ResourcePool,
    size: number,
    options?: ResourcePool.AllocateOptions
  ): Effect.Effect<ResourcePool.PooledBuffer, AllocateError>
} = dual(
  isPoolFirst,
  (self: ResourcePool.ResourcePool, size: number, options?: ResourcePool.AllocateOptions) =>
    allocateWith(self, size, options, true)
)

/** @internal */
export const allocateFrom: {
  (bytes: Uint8Array, options?: ResourcePool.AllocateOptions): (
    self: ResourcePool.ResourcePool
  ) => Effect.Effect<ResourcePool.PooledBuffer, BufferError.BufferTooLarge | BufferError.PoolExhausted>
  (
    self: ResourcePool.ResourcePool,
    bytes: Uint8Array,
    options?: ResourcePool.AllocateOptions
  ): Effect.Effect<ResourcePool.PooledBuffer, BufferError.BufferTooLarge | BufferError.PoolExhausted>
} = dual(
  isPoolFirst,
  (self: ResourcePool.ResourcePool, bytes: Uint8Array, options?: ResourcePool.AllocateOptions) =>
    Effect.suspend(() => {
      const result = toImpl(self).allocate(bytes.length, options?.owner, options?.channel, false)
      if (!(result instanceof PooledBufferImpl)) return Effect.fail(result)
      result.bytes.set(bytes)
      return Effect.succeed(result)
    })
)

/** @internal */
export const release: {
  (buffer: ResourcePool.PooledBuffer, options?: ResourcePool.ReleaseOptions): (
    self: ResourcePool.ResourcePool
  ) => Effect.Effect<void, BufferError.UnknownBuffer | BufferError.OwnerMismatch>
  (
    self: ResourcePool.ResourcePool,
    buffer: ResourcePool.PooledBuffer,
    options?: ResourcePool.ReleaseOptions
  ): Effect.Effect<void, BufferError.UnknownBuffer | BufferError.OwnerMismatch>
} = dual(
  isPoolFirst,
  (self: ResourcePool.ResourcePool, buffer: ResourcePool.PooledBuffer, options?: ResourcePool.ReleaseOptions) =>
    Effect.suspend(() => {
      const error = toImpl(self).release(buffer, options?.owner, options?.staged === true)
      return error === undefined ? Effect.void : Effect.fail(error)
    })
)

/** @internal */
export const allocateScoped: {
  (size: number, options?: ResourcePool.AllocateOptions): (
    self: ResourcePool.ResourcePool
  ) => Effect.Effect<ResourcePool.PooledBuffer, AllocateError, Scope.Scope>
  (
    self: ResourcePool.ResourcePool,
    size: number,
    options?: ResourcePool.AllocateOptions
  ): Effect.Effect<ResourcePool.PooledBuffer, AllocateError, Scope.Scope>
} = dual(
  isPoolFirst,
  (self: ResourcePool.ResourcePool, size: number, options?: ResourcePool.AllocateOptions) =>
    Effect.acquireRelease(
      allocateWith(self, size, options, true),
      (buffer) => Effect.sync(() => toImpl(self).release(buffer, undefined, true))
    )
)

/** @internal */
export const cleanupStage = (self: ResourcePool.ResourcePool): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => toImpl(self).enterStage()),
    () => Effect.sync(() => toImpl(self).exitStage())
  )

/** @internal */
export const stats = (self: ResourcePool.ResourcePool): Effect.Effect<ResourcePool.Stats> =>
  Effect.sync(() => toImpl(self).stats())

/** @internal */
export const unsafeStats = (self: ResourcePool.ResourcePool): ResourcePool.Stats => toImpl(self).stats()

/** @internal */
export const clear = (self: ResourcePool.ResourcePool): Effect.Effect<void, BufferError.BuffersInUse> =>
  Effect.suspend(() => {
    const error = toImpl(self).clear()
    return error === undefined ? Effect.void : Effect.fail(error)
  })

/** @internal */
export const metrics = (self: ResourcePool.ResourcePool): ReadonlyArray<ResourcePool.TierMetrics> =>
  toImpl(self).metrics()
