/**
 * The books of a component coordinator's resources: every allocation by identity, in allocation order, and the units
 * held per resource type globally, per component and per channel. Every method is synchronous: a reservation and its
 * commit happen in one step, so limits hold without a lock.
 */
import type * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { NodeInspectSymbol } from "effect/Inspectable"
import type * as Api from "../ComponentCoordinator.js"
import { ResourceLimitExceeded } from "../ComponentError.js"

/** @internal */
export const AllocationTypeId: Api.AllocationTypeId = Symbol.for(
  "@core-stability/coordinator/ComponentCoordinator/Allocation"
) as Api.AllocationTypeId

/** @internal */
export type Limits = Readonly<Record<string, number>>

/** @internal */
export class AllocationImpl<A = unknown> {
  readonly [AllocationTypeId]: Api.AllocationTypeId = AllocationTypeId
  /** The allocation has been released (or a caller is waiting for its release). */
  released = false
  /** The last release failure, when a release failed or timed out; the allocation stays on the books. */
  releaseFailure: Cause.Cause<unknown> | undefined = undefined
  /** The fiber running the release, while it runs (it may outlive a caller that stopped waiting for it). */
  releasing: Fiber.RuntimeFiber<unknown, unknown> | undefined = undefined
  #site: string | Error | undefined
  constructor(
    readonly id: number,
    readonly component: string,
    readonly channel: string | undefined,
    readonly type: string,
    readonly amount: number,
    readonly at: number,
    readonly value: A,
    readonly releaseEffect: Effect.Effect<unknown, unknown>,
    readonly ledger: Ledger,
    site: string | Error | undefined
  ) {
    this.#site = site
  }
  get site(): string | undefined {
    if (this.#site instanceof Error) this.#site = formatSite(this.#site)
    return this.#site
  }
  toJSON(): unknown {
    return {
      _id: "Allocation",
      id: this.id,
      component: this.component,
      channel: this.channel,
      type: this.type,
      amount: this.amount,
      at: this.at,
      site: this.site
    }
  }
  toString(): string {
    return `Allocation(#${this.id} ${this.type} of ${this.component}${
      this.channel === undefined ? "" : `/${this.channel}`
    })`
  }
  [NodeInspectSymbol](): unknown {
    return this.toJSON()
  }
}

/**
 * The call site of an allocation: a stack capture with a small limit, formatted only when a report reads it.
 *
 * @internal
 */
export const captureSite = (): Error => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 4
  const error = new Error("allocated")
  Error.stackTraceLimit = limit
  return error
}

const formatSite = (error: Error): string | undefined => {
  const frames = (error.stack ?? "").split("\n").slice(1).map((line) => line.trim())
  // skip the frames of this package: the first frame outside it is the caller
  const outside = frames.find((frame) => !frame.includes("/coordinator/src/") && !frame.includes("/coordinator/dist/"))
  return (outside ?? frames[frames.length - 1])?.replace(/^at /, "")
}

const add = (map: Map<string, Map<string, number>>, key: string, type: string, amount: number): void => {
  let inner = map.get(key)
  if (inner === undefined) {
    inner = new Map()
    map.set(key, inner)
  }
  inner.set(type, (inner.get(type) ?? 0) + amount)
}

/** @internal */
export interface Request {
  readonly type: string
  readonly channel: string | undefined
  readonly amount: number
}

/** @internal */
export class Ledger {
  readonly byComponent = new Map<string, Set<AllocationImpl>>()
  readonly totals = new Map<string, number>()
  readonly componentTotals = new Map<string, Map<string, number>>()
  readonly channelTotals = new Map<string, Map<string, number>>()
  private nextId = 1
  constructor(
    readonly limits: Map<string, number>,
    readonly componentQuota: Limits,
    readonly channelQuota: Limits
  ) {}

  /**
   * Reserves every request of a batch, or none: returns the first limit the batch would exceed.
   */
  reserve(
    component: string,
    quota: Limits | undefined,
    requests: ReadonlyArray<Request>
  ): ResourceLimitExceeded | undefined {
    // sum the batch per scope, so two requests of one batch cannot pass a limit together
    const wanted = new Map<string, number>()
    for (const request of requests) {
      const keys = request.channel === undefined
        ? [`g\u0000${request.type}`, `c\u0000${request.type}`]
        : [`g\u0000${request.type}`, `c\u0000${request.type}`, `h\u0000${request.channel}\u0000${request.type}`]
      for (const key of keys) wanted.set(key, (wanted.get(key) ?? 0) + request.amount)
    }
    for (const request of requests) {
      const { channel, type } = request
      const global = this.limits.get(type)
      const heldGlobal = this.totals.get(type) ?? 0
      if (global !== undefined && heldGlobal + wanted.get(`g\u0000${type}`)! > global) {
        return this.exceeded(component, request, "global", global, heldGlobal, wanted.get(`g\u0000${type}`)!)
      }
      const componentLimit = quota?.[type] ?? this.componentQuota[type]
      const heldComponent = this.componentTotals.get(component)?.get(type) ?? 0
      if (componentLimit !== undefined && heldComponent + wanted.get(`c\u0000${type}`)! > componentLimit) {
        return this.exceeded(
          component,
          request,
          "component",
          componentLimit,
          heldComponent,
          wanted.get(`c\u0000${type}`)!
        )
      }
      if (channel !== undefined) {
        const channelLimit = this.channelQuota[type]
        const heldChannel = this.channelTotals.get(channel)?.get(type) ?? 0
        const key = `h\u0000${channel}\u0000${type}`
        if (channelLimit !== undefined && heldChannel + wanted.get(key)! > channelLimit) {
          return this.exceeded(component, request, "channel", channelLimit, heldChannel, wanted.get(key)!)
        }
      }
    }
    for (const request of requests) this.count(component, request, request.amount)
    return undefined
  }

  private exceeded(
    component: string,
    request: Request,
    scope: "global" | "component" | "channel",
    limit: number,
    held: number,
    requested: number
  ): ResourceLimitExceeded {
    return new ResourceLimitExceeded({
      component,
      channel: request.channel,
      resourceType: request.type,
      scope,
      limit,
      held,
      requested
    })
  }

  /** Adds (or, negative, removes) reserved units. */
  count(component: string, request: Request, amount: number): void {
    this.totals.set(request.type, (this.totals.get(request.type) ?? 0) + amount)
    add(this.componentTotals, component, request.type, amount)
    if (request.channel !== undefined) add(this.channelTotals, request.channel, request.type, amount)
  }

  /** Records an acquired resource whose units are already reserved. */
  record<A>(
    component: string,
    request: Request,
    at: number,
    value: A,
    release: Effect.Effect<unknown, unknown>,
    site: string | Error | undefined
  ): AllocationImpl<A> {
    const allocation = new AllocationImpl(
      this.nextId++,
      component,
      request.channel,
      request.type,
      request.amount,
      at,
      value,
      release,
      this,
      site
    )
    let held = this.byComponent.get(component)
    if (held === undefined) {
      held = new Set()
      this.byComponent.set(component, held)
    }
    held.add(allocation)
    return allocation
  }

  /** Takes an allocation off the books (after its release succeeded). */
  remove(allocation: AllocationImpl): void {
    const held = this.byComponent.get(allocation.component)
    if (held === undefined || !held.delete(allocation)) return
    this.count(allocation.component, allocation, -allocation.amount)
  }

  holds(allocation: AllocationImpl): boolean {
    return allocation.ledger === this && this.byComponent.get(allocation.component)?.has(allocation) === true
  }

  /** The component's allocations, newest first (the release order). */
  heldBy(component: string): ReadonlyArray<AllocationImpl> {
    const held = this.byComponent.get(component)
    return held === undefined ? [] : Array.from(held).reverse()
  }

  /** Every allocation, oldest first. */
  all(): ReadonlyArray<AllocationImpl> {
    const result: Array<AllocationImpl> = []
    for (const held of this.byComponent.values()) for (const allocation of held) result.push(allocation)
    return result.sort((a, b) => a.id - b.id)
  }
}
