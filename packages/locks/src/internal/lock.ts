import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { format, NodeInspectSymbol } from "effect/Inspectable"
import type * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import type * as Scope from "effect/Scope"
import { LockConfig, type Sites } from "../LockConfig.js"
import type { LockError } from "../LockError.js"
import type * as OrderedLock from "../OrderedLock.js"
import type * as OrderedRWLock from "../OrderedRWLock.js"
import * as core from "./core.js"
import * as hierarchy from "./hierarchy.js"
import * as registry from "./registry.js"

/** @internal */
export const TypeId: OrderedLock.TypeId = Symbol.for("@core-stability/locks/OrderedLock") as OrderedLock.TypeId

/** @internal */
export const RWTypeId: OrderedRWLock.TypeId = Symbol.for("@core-stability/locks/OrderedRWLock") as OrderedRWLock.TypeId

abstract class LockBase {
  constructor(readonly state: core.LockState) {}
  get name(): string {
    return this.state.name
  }
  get rank(): number {
    return this.state.rank
  }
  get key(): string | undefined {
    return this.state.key
  }
  pipe(...args: Array<unknown>) {
    return pipeArguments(this, args as unknown as IArguments)
  }
  abstract toJSON(): unknown
  toString() {
    return format(this.toJSON())
  }
  [NodeInspectSymbol]() {
    return this.toJSON()
  }
}

class OrderedLockImpl extends LockBase implements OrderedLock.OrderedLock {
  readonly [TypeId]: OrderedLock.TypeId = TypeId
  toJSON() {
    return { _id: "OrderedLock", name: this.name, rank: this.rank, key: this.key }
  }
}

class OrderedRWLockImpl extends LockBase implements OrderedRWLock.OrderedRWLock {
  readonly [RWTypeId]: OrderedRWLock.TypeId = RWTypeId
  get readers(): OrderedRWLock.ReaderKind {
    return this.state.readerKind
  }
  toJSON() {
    return { _id: "OrderedRWLock", name: this.name, rank: this.rank, key: this.key, readers: this.readers }
  }
}

/** Any lock of this package. */
export type AnyLock = OrderedLock.OrderedLock | OrderedRWLock.OrderedRWLock

/** @internal */
export const stateOf = (lock: AnyLock): core.LockState => (lock as unknown as LockBase).state

/** @internal */
export const isOrderedLock = (u: unknown): u is OrderedLock.OrderedLock =>
  typeof u === "object" && u !== null && TypeId in u

/** @internal */
export const isOrderedRWLock = (u: unknown): u is OrderedRWLock.OrderedRWLock =>
  typeof u === "object" && u !== null && RWTypeId in u

const classOf = (options: OrderedLock.MakeOptions): { readonly name: string; readonly rank: number } => {
  if ("hierarchy" in options) {
    return {
      name: hierarchy.qualifiedName(options.hierarchy, options.level),
      rank: hierarchy.rankOf(options.hierarchy, options.level)
    }
  }
  return { name: options.name, rank: options.rank }
}

const stateFor = (
  options: OrderedLock.UnsafeMakeOptions,
  kind: "exclusive" | "read-write",
  readerKind: core.ReaderKind,
  sitesDefault: Sites
): core.LockState => {
  const cls = classOf(options)
  return core.makeLockState(
    options.registry === undefined ? registry.defaultRegistry : registry.unwrap(options.registry),
    {
      name: cls.name,
      rank: cls.rank,
      key: options.key,
      timeout: options.timeout,
      sites: options.sites ?? sitesDefault
    },
    kind,
    readerKind
  )
}

const pinned = (state: core.LockState): core.LockState => {
  state.cls.pinned = true
  return state
}

/** @internal */
export const unsafeMake = (options: OrderedLock.UnsafeMakeOptions): OrderedLock.OrderedLock =>
  new OrderedLockImpl(pinned(stateFor(options, "exclusive", "queued", LockConfig.defaultValue().sites)))

const stateInContext = (
  options: OrderedLock.MakeOptions,
  kind: "exclusive" | "read-write",
  readerKind: core.ReaderKind
) =>
  Effect.withFiberRuntime<core.LockState>((fiber) =>
    Effect.sync(() =>
      stateFor(
        { ...options, registry: Context.get(fiber.currentContext, registry.LockRegistryTag) },
        kind,
        readerKind,
        Context.get(fiber.currentContext, LockConfig).sites
      )
    )
  )

/**
 * A lock whose class is forgotten by the learned graph (its edges removed, every cached chain validated again) when
 * the last scoped lock of the class is disposed, unless a lock of the class was made without a scope.
 */
const scopedState = (
  options: OrderedLock.MakeOptions,
  kind: "exclusive" | "read-write",
  readerKind: core.ReaderKind
): Effect.Effect<core.LockState, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.map(stateInContext(options, kind, readerKind), (state) => {
      state.cls.scoped++
      return state
    }),
    (state) =>
      Effect.sync(() => {
        state.cls.scoped--
        if (state.cls.scoped === 0 && !state.cls.pinned) state.registry.forgetClass(state.cls)
      })
  )

/** @internal */
export const make = (options: OrderedLock.MakeOptions): Effect.Effect<OrderedLock.OrderedLock> =>
  Effect.map(stateInContext(options, "exclusive", "queued"), (state) => new OrderedLockImpl(pinned(state)))

/** @internal */
export const makeScoped = (
  options: OrderedLock.MakeOptions
): Effect.Effect<OrderedLock.OrderedLock, never, Scope.Scope> =>
  Effect.map(scopedState(options, "exclusive", "queued"), (state) => new OrderedLockImpl(state))

/** @internal */
export const unsafeMakeRW = (options: OrderedRWLock.UnsafeMakeOptions): OrderedRWLock.OrderedRWLock =>
  new OrderedRWLockImpl(
    pinned(stateFor(options, "read-write", options.readers ?? "queued", LockConfig.defaultValue().sites))
  )

/** @internal */
export const makeRW = (options: OrderedRWLock.MakeOptions): Effect.Effect<OrderedRWLock.OrderedRWLock> =>
  Effect.map(
    stateInContext(options, "read-write", options.readers ?? "queued"),
    (state) => new OrderedRWLockImpl(pinned(state))
  )

/** @internal */
export const makeScopedRW = (
  options: OrderedRWLock.MakeOptions
): Effect.Effect<OrderedRWLock.OrderedRWLock, never, Scope.Scope> =>
  Effect.map(scopedState(options, "read-write", options.readers ?? "queued"), (state) => new OrderedRWLockImpl(state))

/** Builds the request of one acquisition; the call site is captured here, when the acquiring effect is built. */
export const request = (
  lock: AnyLock,
  access: core.Access,
  options: OrderedLock.AcquireOptions | undefined,
  entry: core.EntryPoint,
  batch?: object,
  site?: core.Site
): core.Request => {
  const state = stateOf(lock)
  return {
    lock: state,
    access,
    site: site ?? (state.sites === "none" ? undefined : core.captureSite(state.sites, entry)),
    batch,
    gate: options?.nestedUnder === undefined ? undefined : stateOf(options.nestedUnder),
    timeout: options?.timeout === undefined ? undefined : Duration.decode(options.timeout)
  }
}

/** A data-first-or-curried combinator: `f(lock, self, options?)` or `f(lock, options?)(self)`. */
export const lockCombinator = <L, B>(
  body: <A, E, R>(req: core.Request, self: Effect.Effect<A, E, R>) => Effect.Effect<B | A, E | LockError, R>,
  access: core.Access
) =>
  function entry(this: unknown, lock: L & AnyLock, selfOrOptions?: unknown, options?: OrderedLock.AcquireOptions) {
    if (Effect.isEffect(selfOrOptions)) return body(request(lock, access, options, entry), selfOrOptions)
    const req = request(lock, access, selfOrOptions as OrderedLock.AcquireOptions | undefined, entry)
    return <A, E, R>(self: Effect.Effect<A, E, R>) => body(req, self)
  }

/** @internal */
export const withLock = lockCombinator(core.withRequest, "write") as unknown as typeof OrderedLock.withLock

/** @internal */
export const withLockIfAvailable = lockCombinator(
  core.withRequestIfAvailable as <A, E, R>(
    req: core.Request,
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<Option.Option<A>, E | LockError, R>,
  "write"
) as unknown as typeof OrderedLock.withLockIfAvailable

/** @internal */
export const lock = function scopedLock(
  self: AnyLock,
  options?: OrderedLock.AcquireOptions
): Effect.Effect<void, LockError, Scope.Scope> {
  return core.scopedRequest(request(self, "write", options, scopedLock))
}

/** @internal */
export const tryLock = function scopedTryLock(self: AnyLock): Effect.Effect<boolean, LockError, Scope.Scope> {
  return core.scopedRequestIfAvailable(request(self, "write", undefined, scopedTryLock))
}

/** @internal */
export const withLocks = function batch(
  this: unknown,
  locks: Iterable<OrderedLock.LockRequest>,
  selfOrOptions?: unknown,
  options?: OrderedLock.AcquireOptions
) {
  const opts = Effect.isEffect(selfOrOptions) ? options : selfOrOptions as OrderedLock.AcquireOptions | undefined
  const token = {}
  const entries = Array.from(locks, (entry) =>
    isOrderedLock(entry) || isOrderedRWLock(entry)
      ? { lock: entry, mode: "write" as const }
      : { lock: entry.lock as AnyLock, mode: entry.mode })
  // one site for the whole batch
  const sites = entries.some((entry) => stateOf(entry.lock).sites === "stack")
    ? "stack"
    : entries.some((entry) => stateOf(entry.lock).sites === "call-site")
    ? "call-site"
    : "none"
  const site = sites === "none" ? undefined : core.captureSite(sites, batch)
  const reqs = entries.map((entry) => request(entry.lock, entry.mode, opts, batch, token, site)).sort((a, b) =>
    core.canonicalOrder(a.lock, b.lock)
  )
  if (Effect.isEffect(selfOrOptions)) return core.withRequests(reqs, selfOrOptions)
  return <A, E, R>(self: Effect.Effect<A, E, R>) => core.withRequests(reqs, self)
} as unknown as typeof OrderedLock.withLocks

/** @internal */
export const locked = (lock: AnyLock): Effect.Effect<boolean> =>
  Effect.sync(() => {
    const state = stateOf(lock)
    return state.writer !== undefined || state.readers.length > 0
  })

/** @internal */
export const heldByCurrentFiber = (lock: AnyLock): Effect.Effect<boolean> => core.heldByCurrentFiber(stateOf(lock))

/** @internal */
export const withReadLock = lockCombinator(core.withRequest, "read") as unknown as typeof OrderedRWLock.withReadLock

/** @internal */
export const withWriteLock = lockCombinator(core.withRequest, "write") as unknown as typeof OrderedRWLock.withWriteLock

/** @internal */
export const withReadLockIfAvailable = lockCombinator(
  core.withRequestIfAvailable as <A, E, R>(
    req: core.Request,
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<Option.Option<A>, E | LockError, R>,
  "read"
) as unknown as typeof OrderedRWLock.withReadLockIfAvailable

/** @internal */
export const withWriteLockIfAvailable = withLockIfAvailable as unknown as typeof OrderedRWLock.withWriteLockIfAvailable

/** @internal */
export const readLock = function scopedReadLock(
  self: OrderedRWLock.OrderedRWLock,
  options?: OrderedLock.AcquireOptions
): Effect.Effect<void, LockError, Scope.Scope> {
  return core.scopedRequest(request(self, "read", options, scopedReadLock))
}

/** @internal */
export const writeLock = lock as (
  lock: OrderedRWLock.OrderedRWLock,
  options?: OrderedLock.AcquireOptions
) => Effect.Effect<void, LockError, Scope.Scope>

/** @internal */
export const readLocked = (lock: OrderedRWLock.OrderedRWLock): Effect.Effect<number> =>
  Effect.sync(() => stateOf(lock).readers.length)

/** @internal */
export const writeLocked = (lock: OrderedRWLock.OrderedRWLock): Effect.Effect<boolean> =>
  Effect.sync(() => stateOf(lock).writer !== undefined)

export const forkDetached = core.forkDetached
