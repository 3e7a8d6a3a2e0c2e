/**
 * The typed errors of the buffer modules (`ResourcePool` and `BufferManager`).
 *
 * Every failure a caller can act on is one of these tagged errors, with the fields a person needs to diagnose it and
 * a computed `message`. The original implementation returned `None` or `false` for most of them, or defaulted an
 * unknown queue name silently to the left channel (origin.md, 2.4 and 2.5; section 4, items 28 and 30).
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Predicate from "effect/Predicate"

/**
 * A configuration value or an argument is out of range: a tier size that is not a positive integer, tiers not in
 * ascending order, a queue capacity below 1, a negative timeout, a requested size that is not a non-negative integer,
 * a frame with zero samples.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidConfig extends Data.TaggedError("InvalidConfig")<{
  /** Which module rejected the value. */
  readonly module: "ResourcePool" | "BufferManager"
  /** The path of the offending field, e.g. `"tiers[1].size"` or `"stages.capture"`. */
  readonly field: string
  /** The value that was given. */
  readonly value: unknown
  /** What the value must be instead. */
  readonly reason: string
}> {
  override get message(): string {
    return `${this.module}: invalid ${this.field} (${String(this.value)}): ${this.reason}`
  }
}

/**
 * A request of more bytes than the largest tier holds. The original returned `None` here.
 *
 * @since 0.1.0
 * @category errors
 */
export class BufferTooLarge extends Data.TaggedError("BufferTooLarge")<{
  /** The requested size, in bytes. */
  readonly requested: number
  /** The size of the largest tier, in bytes. */
  readonly largest: number
}> {
  override get message(): string {
    return `a buffer of ${this.requested} bytes was requested, but the largest tier holds ${this.largest} bytes`
  }
}

/**
 * Every buffer of the tier that fits the request is in use: the tier's limit counts buffers in use, so this is only
 * raised when no free buffer could be reused either.
 *
 * @since 0.1.0
 * @category errors
 */
export class PoolExhausted extends Data.TaggedError("PoolExhausted")<{
  /** The name of the tier. */
  readonly tier: string
  /** The size of the tier's buffers, in bytes. */
  readonly size: number
  /** The tier's limit: how many of its buffers may be in use at once. */
  readonly limit: number
}> {
  override get message(): string {
    return `all ${this.limit} buffers of tier "${this.tier}" (${this.size} bytes) are in use`
  }
}

/**
 * A release of a buffer the pool does not hold as in use: a second release of the same allocation, a release of a
 * buffer whose release is already pending in a cleanup stage, or a buffer that came from another pool. The pool's
 * books are unchanged. The original matched buffers by content, so a double release freed someone else's buffer.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownBuffer extends Data.TaggedError("UnknownBuffer")<{
  /** Why the buffer is not in use here. */
  readonly reason: "released" | "pending" | "foreign"
}> {
  override get message(): string {
    switch (this.reason) {
      case "released":
        return "the buffer was already released (double release)"
      case "pending":
        return "the buffer's release is already pending in a cleanup stage"
      case "foreign":
        return "the buffer does not belong to this pool"
    }
  }
}

/**
 * A release that names an owner other than the one the buffer was allocated to. The pool's books are unchanged.
 *
 * @since 0.1.0
 * @category errors
 */
export class OwnerMismatch extends Data.TaggedError("OwnerMismatch")<{
  /** The owner the buffer was allocated to (`undefined` for no owner). */
  readonly owner: string | undefined
  /** The owner named by the release. */
  readonly claimed: string
}> {
  override get message(): string {
    return `the buffer belongs to ${this.owner === undefined ? "no owner" : `"${this.owner}"`}, ` +
      `not to "${this.claimed}"`
  }
}

/**
 * The pool still has buffers in use (or with a pending staged release) when it was asked to clear itself. Nothing is
 * forgotten: the buffers stay tracked, and the free buffers were dropped.
 *
 * @since 0.1.0
 * @category errors
 */
export class BuffersInUse extends Data.TaggedError("BuffersInUse")<{
  /** Buffers still in use, per tier name. */
  readonly inUse: Readonly<Record<string, number>>
  /** Buffers still in use, per owner (allocations without an owner are not listed). */
  readonly owners: Readonly<Record<string, number>>
}> {
  override get message(): string {
    const tiers = Object.entries(this.inUse).filter(([, n]) => n > 0).map(([tier, n]) => `${tier}: ${n}`)
    return `buffers still in use (${tiers.join(", ")})`
  }
}

/**
 * A stage or channel name that the manager was not configured with. The original silently used the left channel.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownQueue extends Data.TaggedError("UnknownQueue")<{
  readonly stage: string
  readonly channel: string
  /** The configured stages. */
  readonly stages: ReadonlyArray<string>
  /** The configured channels. */
  readonly channels: ReadonlyArray<string>
}> {
  override get message(): string {
    return `no queue for stage "${this.stage}" and channel "${this.channel}" ` +
      `(stages: ${this.stages.join(", ")}; channels: ${this.channels.join(", ")})`
  }
}

/**
 * A put found its queue full and the queue's overflow policy refused it: `Reject` at once, `Backpressure` after
 * waiting `waitedMs` without space. The overflow is counted.
 *
 * @since 0.1.0
 * @category errors
 */
export class BufferFull extends Data.TaggedError("BufferFull")<{
  readonly stage: string
  readonly channel: string
  /** The queue's capacity, in items. */
  readonly capacity: number
  /** The policy that refused the put. */
  readonly policy: "Reject" | "Backpressure"
  /** How long the put waited for space, in ms (0 for `Reject`). */
  readonly waitedMs: number
}> {
  override get message(): string {
    return `queue ${this.stage}/${this.channel} is full (${this.capacity} items)` +
      (this.policy === "Backpressure" ? `; no space within ${this.waitedMs} ms` : "")
  }
}

/**
 * The manager is closing or closed (after `cleanup`, until `reopen`): a put is refused, and so is a take that finds
 * its queue empty.
 *
 * @since 0.1.0
 * @category errors
 */
export class BufferClosed extends Data.TaggedError("BufferClosed")<{
  readonly stage: string
  readonly channel: string
  /** The refused operation. */
  readonly operation: "put" | "take"
}> {
  override get message(): string {
    return `cannot ${this.operation} on ${this.stage}/${this.channel}: the buffer manager is closed`
  }
}

/**
 * Cleanup's final verification failed: a queue is not empty, or the pool still counts buffers in use for the
 * manager's owner name.
 *
 * @since 0.1.0
 * @category errors
 */
export class CleanupIncomplete extends Data.TaggedError("CleanupIncomplete")<{
  /** Items still queued, per `stage/channel`, for the queues that are not empty. */
  readonly queued: Readonly<Record<string, number>>
  /** Pool buffers the manager's owner name still holds. */
  readonly held: number
}> {
  override get message(): string {
    const queues = Object.entries(this.queued).map(([queue, n]) => `${queue}: ${n}`)
    return `buffer cleanup incomplete: ${queues.length === 0 ? "queues empty" : `queued ${queues.join(", ")}`}, ` +
      `${this.held} pool buffers held`
  }
}

/**
 * An update region was used after the scope that opened it closed.
 *
 * @since 0.1.0
 * @category errors
 */
export class UpdateRegionClosed extends Data.TaggedError("UpdateRegionClosed")<{
  /** The manager's name. */
  readonly manager: string
}> {
  override get message(): string {
    return `the update region of buffer manager "${this.manager}" is closed`
  }
}

/**
 * Any error of the buffer modules.
 *
 * @since 0.1.0
 * @category models
 */
export type BufferError =
  | InvalidConfig
  | BufferTooLarge
  | PoolExhausted
  | UnknownBuffer
  | OwnerMismatch
  | BuffersInUse
  | UnknownQueue
  | BufferFull
  | BufferClosed
  | CleanupIncomplete
  | UpdateRegionClosed

const tags: ReadonlySet<string> = new Set([
  "InvalidConfig",
  "BufferTooLarge",
  "PoolExhausted",
  "UnknownBuffer",
  "OwnerMismatch",
  "BuffersInUse",
  "UnknownQueue",
  "BufferFull",
  "BufferClosed",
  "CleanupIncomplete",
  "UpdateRegionClosed"
])

/**
 * Whether a value is one of the buffer errors.
 *
 * @since 0.1.0
 * @category guards
 */
export const isBufferError = (u: unknown): u is BufferError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && tags.has(u._tag) && u instanceof Error
