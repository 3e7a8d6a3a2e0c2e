/**
 * The lock engine shared by `OrderedLock` and `OrderedRWLock`.
 *
 * Every lock is a `LockState`: the holders (one writer or several readers) and a FIFO queue of waiters. Every fiber
 * that takes locks in a checking mode has a `FiberLocks`: its own held stack and the holds it inherited from its
 * parent at fork time. An acquisition runs in four steps, all synchronous inside the caller's masked region:
 *
 * 1. `begin`: recursion and upgrade checks (every mode), then the order check against the held stack (`strict` and
 *    `warn`), then the fast path: take the lock when it is free and nobody queues (`grant`).
 * 2. `waitFor` (contended only): a `Waiter` joins the queue inside `Effect.async`; an interrupted or timed-out wait
 *    leaves the queue in the acquisition's masked handler right after (`abandon` / `cancel`), so it is gone before
 *    the failure is seen. `drain` hands the lock over to waiters in FIFO order.
 * 3. `release`: removes the hold from the lock and from its owner's stack, records the hold time, and drains.
 *
 * Deadlock detection plugs in at two points:
 *
 * - `learn` (in `begin`, after the order check, `strict` and `warn` modes): the learned lock-class graph of
 *   `dependencyGraph.ts`. Each fiber keeps the chain-cache node of its held stack (`FiberLocks.chain`, pushed in
 *   `grant` and popped in `release`), so a chain seen before costs one `Map` lookup.
 * - `findWaitCycle` (in `waitFor`, when a fiber is about to queue, every mode): the wait-for graph is exact in these
 *   structures (a waiter knows its fiber and lock, a lock its holders and queue, `waitOf` maps a fiber to its
 *   wait), so a cycle is found the moment the wait that closes it starts.
 * - `beginJoin` / `endJoin` (`DeadlockDetector.join` / `await`): a `JoinWait` is a wait-for edge "joiner -> joinee"
 *   for exactly the duration of the join; `findJoinCycle` checks it when it starts, and lock waits follow it.
 */
import type * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import { LockConfig, type Settings, type Sites } from "../LockConfig.js"
import {
  type AccessMode,
  DeadlockDetected,
  type DependencyLink,
  type HeldLock,
  type JoinWaitLink,
  type LockDescription,
  type LockError,
  LockOrderViolation,
  LockRecursion,
  LockTimeout,
  LockUpgrade,
  type OrderRule,
  PotentialDeadlock,
  type WaitForLink,
  type WaitingRequest
} from "../LockError.js"
import {
  ChainNode,
  ClassNode,
  type Cycle,
  DependencyGraph,
  dependencyType,
  type EdgeOrigin,
  learnedGraph,
  type Step,
  typeNames
} from "./dependencyGraph.js"
import * as metrics from "./metrics.js"

/** A runtime fiber of any type. */
export type AnyFiber = Fiber.RuntimeFiber<unknown, unknown>

/** How a lock state is taken: exclusive locks are always taken for `"write"`. */
export type Access = "read" | "write"

/** `"queued"`: readers queue behind a waiting writer; `"recursive"`: a fiber already reading the class reads on. */
export type ReaderKind = "queued" | "recursive"

// -----------------------------------------------------------------------------
// acquisition sites
// -----------------------------------------------------------------------------

/** Frames kept past the library's entry point: a call site, or a stack. */
const SITE_FRAMES = { "call-site": 4, "stack": 24 } as const
const libraryFrame = /[\\/](?:locks|effect)[\\/](?:src|dist)[\\/]|\(node:|^node:/

const cwdPrefix = typeof process === "object" && typeof process.cwd === "function" ? `${process.cwd()}/` : undefined

const parseFrames = (stack: string | undefined): ReadonlyArray<string> => {
  if (stack === undefined) return []
  const frames: Array<string> = []
  for (const raw of stack.split("\n").slice(1)) {
    const line = raw.trim().replace(/^at /, "").replace("file://", "").replace(/^<anonymous> \((.*)\)$/, "$1")
    if (line.length === 0 || libraryFrame.test(line)) continue
    frames.push(cwdPrefix === undefined ? line : line.replace(cwdPrefix, ""))
  }
  return frames
}

/**
 * Where an acquisition was written: an unformatted V8 stack trace captured when the acquiring effect is built
 * (about 1.5 us), formatted on first use.
 */
export class Site {
  #frames: ReadonlyArray<string> | undefined
  constructor(private readonly trace: { stack?: string }) {}
  /** The user frames (library and Effect frames removed), innermost first. */
  get frames(): ReadonlyArray<string> {
    if (this.#frames === undefined) this.#frames = parseFrames(this.trace.stack)
    return this.#frames
  }
  /** The first user frame, e.g. `src/Account.ts:42:11`. */
  get callSite(): string | undefined {
    return this.frames[0]
  }
}

/**
 * The text of a site: the captured call site, else the span the fiber was in (cheap: a reference kept at
 * acquisition, named only when a report needs it).
 */
export const siteText = (site: Site | undefined, span: Tracer.AnySpan | undefined): string | undefined =>
  site !== undefined ? site.callSite : span !== undefined && span._tag === "Span" ? `span ${span.name}` : undefined

const currentSpan = (context: Context.Context<never>): Tracer.AnySpan | undefined =>
  context.unsafeMap.get(Tracer.ParentSpan.key)

/** A library function a user calls: the frames from it up are the library's. */
export type EntryPoint = (...args: Array<any>) => unknown

/**
 * Captures the stack (unformatted) above `entry`, the library function the user called: V8 skips every frame from
 * `entry` up, so the frames kept are the caller's.
 */
export const captureSite = (sites: "call-site" | "stack", entry: EntryPoint): Site => {
  const trace: { stack?: string } = {}
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = SITE_FRAMES[sites]
  Error.captureStackTrace(trace, entry)
  Error.stackTraceLimit = limit
  return new Site(trace)
}

// -----------------------------------------------------------------------------
// registry and lock classes
// -----------------------------------------------------------------------------

/** A lock class: every lock of one name shares its rank, its metric tags and its node of the learned graph. */
export class LockClass extends ClassNode {
  #tags: Partial<Record<AccessMode, ReadonlyArray<MetricLabel.MetricLabel>>> = {}
  /** Live locks made with `makeScoped`: the class is forgotten when the last one is disposed. */
  scoped = 0
  /** A lock of this class was made without a scope: the class lives as long as its registry. */
  pinned = false
  constructor(name: string, readonly rank: number, graph: DependencyGraph) {
    super(name, graph)
  }
  /** The metric tags of this class for a mode, built once (a stable array keeps the metric hook lookup cached). */
  tags(mode: AccessMode): ReadonlyArray<MetricLabel.MetricLabel> {
    let tags = this.#tags[mode]
    if (tags === undefined) {
      tags = [MetricLabel.make("lock", this.name), MetricLabel.make("mode", mode)]
      this.#tags[mode] = tags
    }
    return tags
  }
}

/** The lock classes of a program and the locks that are held or waited for right now. */
export class Registry {
  readonly classes = new Map<string, LockClass>()
  /**
   * Locks with a holder or a waiter, as an intrusive doubly-linked list (a lock joins when it becomes busy and leaves
   * when it becomes idle: a few pointer writes, no hashing on the acquisition path).
   */
  busy: LockState | undefined = undefined
  /** The learned dependency graph and chain cache of this registry's classes. */
  readonly graph = new DependencyGraph()
  /** Actual deadlocks broken (victims failed with `DeadlockDetected`). */
  deadlocks = 0
  /** The joins made in this registry that are waiting now (`DeadlockDetector.join` / `await`). */
  readonly joins = new Set<JoinWait>()
  /** Join waits recorded as wait-for edges since the registry was made. */
  joinWaits = 0
  #nextId = 0

  /** The class of that name; throws when it exists with another rank (two declarations disagree). */
  lockClass(name: string, rank: number): LockClass {
    const existing = this.classes.get(name)
    if (existing !== undefined) {
      if (existing.rank !== rank) {
        throw new Error(
          `lock class ${name} is declared with rank ${rank}, but it exists with rank ${existing.rank}: ` +
            `build every lock of a program from one hierarchy`
        )
      }
      return existing
    }
    const created = new LockClass(name, rank, this.graph)
    this.classes.set(name, created)
    return created
  }

  nextLockId(): number {
    return this.#nextId++
  }

  /** Forgets a class: its edges leave the learned graph and its name may be declared again with another rank. */
  forgetClass(cls: LockClass): void {
    if (this.classes.get(cls.name) === cls) this.classes.delete(cls.name)
    this.graph.forget(cls)
  }

  markBusy(lock: LockState): void {
    lock.busy = true
    lock.nextBusy = this.busy
    if (this.busy !== undefined) this.busy.prevBusy = lock
    this.busy = lock
  }

  markIdle(lock: LockState): void {
    lock.busy = false
    if (lock.prevBusy === undefined) this.busy = lock.nextBusy
    else lock.prevBusy.nextBusy = lock.nextBusy
    if (lock.nextBusy !== undefined) lock.nextBusy.prevBusy = lock.prevBusy
    lock.prevBusy = undefined
    lock.nextBusy = undefined
  }

  /** The busy locks, most recently busy first. */
  busyLocks(): Array<LockState> {
    const result: Array<LockState> = []
    for (let lock = this.busy; lock !== undefined; lock = lock.nextBusy) result.push(lock)
    return result
  }
}

// -----------------------------------------------------------------------------
// per-fiber held locks
// -----------------------------------------------------------------------------

/**
 * The locks one fiber holds (`held`, oldest first) and the holds it inherited from its parent when it was forked
 * (`inherited`, for order checking only; a released inherited hold is skipped).
 */
export class FiberLocks {
  readonly held: Array<Hold> = []
  /** The chain-cache node of the current stack (inherited then held), when known; rebuilt on demand. */
  chain: ChainNode | undefined = undefined
  /**
   * Bumped whenever the stack changes other than by a push or a pop of its top (an out-of-order release, a compaction
   * of the inherited holds): a chain node saved before the bump (`Hold.prevChain`, `Pending.chain`) names a stack that
   * no longer exists and must not be restored.
   */
  epoch = 0
  /** The queued wait of the fiber, when it waits in a checking mode (a field write instead of a `WeakMap` entry). */
  waiting: Waiter | undefined = undefined
  constructor(public fiber: AnyFiber | undefined, readonly inherited: Array<Hold>) {}
}

const ROOT = new FiberLocks(undefined, [])

/**
 * Fork policy: a child starts with a snapshot of the holds its parent has at fork time (inherited for order checking,
 * never ownership), in a record of its own. When the parent holds nothing (its inherited holds all released), the
 * child gets the immutable `ROOT` sentinel and binds a fresh record on its first acquisition, so forking costs
 * nothing for fibers that do not hold locks. The parent's own record is never shared: its owner may take locks after
 * the fork, which the child must not see (a fiber forked before its parent took a lock does not inherit it).
 */
const forkLocks = (parent: FiberLocks): FiberLocks => {
  if (parent.held.length === 0) {
    const inherited = parent.inherited
    let live = 0
    for (let i = 0; i < inherited.length; i++) if (!inherited[i]!.released) live++
    if (live === 0) return ROOT
  }
  const inherited: Array<Hold> = []
  for (const hold of parent.inherited) if (!hold.released) inherited.push(hold)
  for (const hold of parent.held) inherited.push(hold)
  return new FiberLocks(undefined, inherited)
}

/**
 * The held locks of the current fiber. Join policy: a child's held set never merges into its parent's (`Fiber.join`
 * and `Effect.all` merge FiberRefs by default; this one keeps the parent's value).
 */
export const currentFiberLocks: FiberRef.FiberRef<FiberLocks> = FiberRef.unsafeMake(ROOT, {
  fork: forkLocks,
  join: (parent) => parent
})

/**
 * Forks `self` in a fiber that inherits none of the current fiber's held locks: it starts with the `ROOT` sentinel,
 * as if forked before any lock was taken (one `FiberRef` write in the child, nothing in the parent).
 */
export const forkDetached = <A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<Fiber.RuntimeFiber<A, E>, never, R> =>
  Effect.fork(Effect.zipRight(FiberRef.set(currentFiberLocks, ROOT), self))

/** A label shown next to the fiber id in reports; not inherited by children. */
export const currentFiberName: FiberRef.FiberRef<string | undefined> = FiberRef.unsafeMake<string | undefined>(
  undefined,
  { fork: () => undefined, join: (parent) => parent }
)

/**
 * `FiberRuntime.setFiberRef`: every runtime fiber has it, the public `RuntimeFiber` interface does not list it. It
 * is the synchronous counterpart of `FiberRef.set`, which cannot run inside the synchronous acquisition step.
 */
interface SettableFiber {
  setFiberRef<X>(fiberRef: FiberRef.FiberRef<X>, value: X): void
}

/**
 * The fiber's own record, bound on first use (one `setFiberRef` per fiber, none per acquisition). An unclaimed record
 * is the snapshot `forkLocks` made for this very fiber (never another fiber's record), so claiming it is safe.
 */
export const fiberLocksOf = (fiber: AnyFiber): FiberLocks => {
  const current = fiber.getFiberRef(currentFiberLocks)
  if (current.fiber === fiber) return current
  if (current.fiber === undefined && current !== ROOT) {
    current.fiber = fiber
    return current
  }
  const fresh = new FiberLocks(fiber, [])
  ;(fiber as unknown as SettableFiber).setFiberRef(currentFiberLocks, fresh)
  return fresh
}

/** `#12` or `#12 (name)`. */
export const fiberLabel = (fiber: AnyFiber): string => {
  const id = FiberId.threadName(fiber.id())
  const name = fiber.getFiberRef(currentFiberName)
  return name === undefined ? id : `${id} (${name})`
}

// -----------------------------------------------------------------------------
// locks, holds, waiters
// -----------------------------------------------------------------------------

/** One hold of a lock by a fiber. */
export class Hold {
  released = false
  /**
   * The owner's chain-cache node before this hold was pushed, restored when it is popped if the owner's `epoch` is
   * still `epoch` (the stack below was not changed in the meantime).
   */
  prevChain: ChainNode | undefined = undefined
  epoch = 0
  constructor(
    readonly lock: LockState,
    readonly access: Access,
    readonly fiber: AnyFiber,
    /** The owner's record; `undefined` for holds taken in `"off"` mode. */
    readonly owner: FiberLocks | undefined,
    /** Grant time (ms, from the Clock); `NaN` in `"off"` mode (a number either way keeps the shape monomorphic). */
    readonly since: number,
    readonly site: Site | undefined,
    /** The span the fiber was in when it took the lock. */
    readonly span: Tracer.AnySpan | undefined,
    /** The `withLocks` batch the hold belongs to: same-rank locks of one batch are legal together. */
    readonly batch: object | undefined,
    /** The clock to time the hold with when metrics are on. */
    readonly clock: Clock.Clock | undefined,
    /** A try-lock or a reentrant read: recorded as held (a source of later edges) but it got no edge into itself. */
    readonly noEdgeIn: boolean
  ) {}
}

/** One acquisition request, built once when the acquiring effect is built. */
export interface Request {
  readonly lock: LockState
  readonly access: Access
  readonly site: Site | undefined
  readonly batch: object | undefined
  /** The gate lock this acquisition is nested under (same-rank instances are legal while the gate is held). */
  readonly gate: LockState | undefined
  readonly timeout: Duration.Duration | undefined
}

/** A queued acquisition. */
export class Waiter {
  prev: Waiter | undefined = undefined
  next: Waiter | undefined = undefined
  queued = false
  hold: Hold | undefined = undefined
  /** Set instead of queueing when this wait would close a wait-for cycle. */
  deadlock: DeadlockDetected | undefined = undefined
  resume: ((effect: Effect.Effect<void>) => void) | undefined = undefined
  constructor(readonly pending: Pending, readonly since: number, readonly clock: Clock.Clock) {}
}

/**
 * A join made with `DeadlockDetector.join` / `await`: the wait-for edge "joiner -> joinee", registered in the joiner's
 * registry from the moment the join starts waiting until it ends (success, failure or interruption).
 */
export class JoinWait {
  /** Registered: the edge is in the wait-for graph. */
  active = false
  constructor(
    readonly joiner: AnyFiber,
    readonly joinee: AnyFiber,
    readonly registry: Registry,
    readonly site: Site | undefined,
    readonly span: Tracer.AnySpan | undefined,
    /** When the join started (ms, from the joiner's Clock). */
    readonly since: number
  ) {}
}

/** The state of one lock. */
export class LockState {
  writer: Hold | undefined = undefined
  readonly readers: Array<Hold> = []
  head: Waiter | undefined = undefined
  tail: Waiter | undefined = undefined
  busy = false
  prevBusy: LockState | undefined = undefined
  nextBusy: LockState | undefined = undefined
  constructor(
    readonly registry: Registry,
    readonly id: number,
    readonly cls: LockClass,
    readonly key: string | undefined,
    readonly kind: "exclusive" | "read-write",
    readonly readerKind: ReaderKind,
    readonly timeout: Duration.Duration | undefined,
    readonly sites: Sites
  ) {}

  get name(): string {
    return this.cls.name
  }

  get rank(): number {
    return this.cls.rank
  }

  get label(): string {
    return this.key === undefined ? this.cls.name : `${this.cls.name}[${this.key}]`
  }

  describe(): LockDescription {
    return { name: this.cls.name, key: this.key, rank: this.cls.rank, kind: this.kind }
  }

  modeOf(access: Access): AccessMode {
    return this.kind === "exclusive" ? "exclusive" : access
  }

  get idle(): boolean {
    return this.writer === undefined && this.readers.length === 0 && this.head === undefined
  }

  waiters(): ReadonlyArray<Waiter> {
    const result: Array<Waiter> = []
    for (let w = this.head; w !== undefined; w = w.next) result.push(w)
    return result
  }
}

export const makeLockState = (
  registry: Registry,
  options: {
    readonly name: string
    readonly rank: number
    readonly key?: string | undefined
    readonly timeout?: Duration.DurationInput | undefined
    readonly sites: Sites
  },
  kind: "exclusive" | "read-write",
  readerKind: ReaderKind
): LockState =>
  new LockState(
    registry,
    registry.nextLockId(),
    registry.lockClass(options.name, options.rank),
    options.key,
    kind,
    readerKind,
    options.timeout === undefined ? undefined : Duration.decode(options.timeout),
    options.sites
  )

/** Canonical order: rank, then instance key, then class name, then creation order. */
export const canonicalOrder = (a: LockState, b: LockState): number => {
  if (a.rank !== b.rank) return a.rank - b.rank
  const ka = a.key ?? ""
  const kb = b.key ?? ""
  if (ka !== kb) return ka < kb ? -1 : 1
  if (a.name !== b.name) return a.name < b.name ? -1 : 1
  return a.id - b.id
}

// -----------------------------------------------------------------------------
// reports
// -----------------------------------------------------------------------------

export const describeHold = (hold: Hold, now: number | undefined, inherited: boolean): HeldLock => ({
  lock: hold.lock.describe(),
  mode: hold.lock.modeOf(hold.access),
  fiber: fiberLabel(hold.fiber),
  since: Number.isNaN(hold.since) ? undefined : hold.since,
  heldMs: Number.isNaN(hold.since) || now === undefined ? undefined : now - hold.since,
  site: siteText(hold.site, hold.span),
  inherited
})

export const describeWaiter = (waiter: Waiter, now: number): WaitingRequest => ({
  lock: waiter.pending.req.lock.describe(),
  mode: waiter.pending.req.lock.modeOf(waiter.pending.req.access),
  fiber: fiberLabel(waiter.pending.fiber),
  since: waiter.since,
  waitedMs: now - waiter.since,
  site: siteText(waiter.pending.req.site, waiter.pending.span)
})

/** The holds that count for a fiber's ordering: live inherited ones, then its own, oldest first. */
const heldStack = (owner: FiberLocks | undefined, now: number | undefined): Array<HeldLock> => {
  if (owner === undefined) return []
  const result: Array<HeldLock> = []
  for (const hold of owner.inherited) if (!hold.released) result.push(describeHold(hold, now, true))
  for (const hold of owner.held) result.push(describeHold(hold, now, false))
  return result
}

const holdersOf = (lock: LockState, now: number | undefined): Array<HeldLock> => {
  const result: Array<HeldLock> = []
  if (lock.writer !== undefined) result.push(describeHold(lock.writer, now, false))
  for (const reader of lock.readers) result.push(describeHold(reader, now, false))
  return result
}

// -----------------------------------------------------------------------------
// acquisition
// -----------------------------------------------------------------------------

/** A request that could not be granted synchronously: it waits (or, for try-locks, gives up). */
export class Pending {
  constructor(
    readonly req: Request,
    readonly fiber: AnyFiber,
    readonly owner: FiberLocks | undefined,
    readonly settings: Settings,
    readonly clock: Clock.Clock | undefined,
    readonly span: Tracer.AnySpan | undefined,
    /**
     * Reports to log (one warning each) before waiting: an order violation, and the potential deadlocks found in
     * `"warn"`.
     */
    readonly warning: ReadonlyArray<string> | undefined,
    readonly reentrant: boolean,
    /** The chain-cache node of the held stack plus this request, when the learned graph is on. */
    readonly chain: ChainNode | undefined,
    /** The owner's chain node and epoch when `chain` was found: `chain` is pushed on grant only if both still hold. */
    readonly base: ChainNode | undefined,
    readonly epoch: number
  ) {}
  /** The chain node to push on grant: `chain` if the stack it extends is still the owner's stack, else unknown. */
  get grantChain(): ChainNode | undefined {
    const owner = this.owner
    return owner !== undefined && owner.chain === this.base && owner.epoch === this.epoch ? this.chain : undefined
  }
}

const holdsReadOfClass = (owner: FiberLocks | undefined, cls: LockClass): boolean => {
  if (owner === undefined) return false
  for (const hold of owner.held) if (hold.access === "read" && hold.lock.cls === cls) return true
  return false
}

const canTake = (lock: LockState, access: Access, reentrant: boolean, owner: FiberLocks | undefined): boolean => {
  if (lock.writer !== undefined) return false
  if (access === "write") return lock.readers.length === 0 && lock.head === undefined
  if (lock.head === undefined || reentrant) return true
  return lock.readerKind === "recursive" && holdsReadOfClass(owner, lock.cls)
}

/**
 * Live holds taken in `"off"` mode (no held-stack record to tell their fiber holds something). While there are none,
 * a fiber whose held stack is empty holds no lock at all, so no wait can lead back to it.
 */
let ownerlessHolds = 0

const grant = (
  lock: LockState,
  req: Request,
  fiber: AnyFiber,
  owner: FiberLocks | undefined,
  clock: Clock.Clock | undefined,
  span: Tracer.AnySpan | undefined,
  settings: Settings,
  chain: ChainNode | undefined,
  noEdgeIn: boolean
): Hold => {
  const timed = clock !== undefined && settings.metrics
  const hold = new Hold(
    lock,
    req.access,
    fiber,
    owner,
    clock === undefined ? Number.NaN : clock.unsafeCurrentTimeMillis(),
    req.site,
    span,
    req.batch,
    timed ? clock : undefined,
    noEdgeIn
  )
  if (req.access === "write") lock.writer = hold
  else lock.readers.push(hold)
  if (owner !== undefined) {
    hold.prevChain = owner.chain
    hold.epoch = owner.epoch
    owner.held.push(hold)
    owner.chain = chain
  } else ownerlessHolds++
  if (!lock.busy) lock.registry.markBusy(lock)
  if (timed) metrics.acquisitions.unsafeUpdate(1, lock.cls.tags(lock.modeOf(req.access)))
  return hold
}

const ownHold = (lock: LockState, fiber: AnyFiber): Hold | undefined => {
  if (lock.writer !== undefined && lock.writer.fiber === fiber) return lock.writer
  for (let i = lock.readers.length - 1; i >= 0; i--) {
    const reader = lock.readers[i]!
    if (reader.fiber === fiber) return reader
  }
  return undefined
}

const nowOf = (clock: Clock.Clock | undefined): number | undefined =>
  clock === undefined ? undefined : clock.unsafeCurrentTimeMillis()

/** The rule a request breaks against one held lock, if any. */
const conflictWith = (hold: Hold, req: Request, gateHeld: boolean): OrderRule | undefined => {
  const lock = req.lock
  if (hold.lock === lock) return "held-by-ancestor"
  if (hold.lock.rank > lock.rank) return "rank-inversion"
  if (hold.lock.rank < lock.rank) return undefined
  if (gateHeld || (req.batch !== undefined && hold.batch === req.batch)) return undefined
  if (
    req.access === "read" && hold.access === "read" && lock.readerKind === "recursive" &&
    hold.lock.readerKind === "recursive"
  ) return undefined
  return "same-rank"
}

/** Drops released inherited holds, so a long-lived child does not keep its parent's holds (and fiber) alive. */
const compact = (inherited: Array<Hold>): void => {
  let kept = 0
  for (const hold of inherited) if (!hold.released) inherited[kept++] = hold
  inherited.length = kept
}

/** Checks a request against the fiber's held and inherited locks: the first rule broken and the lock involved. */
export const checkOrder = (
  owner: FiberLocks,
  req: Request
): readonly [OrderRule, Hold | LockState] | undefined => {
  let gateHeld = false
  if (req.gate !== undefined) {
    for (const hold of owner.held) {
      if (hold.lock === req.gate) gateHeld = true
    }
  }
  let released = 0
  for (const hold of owner.inherited) {
    if (hold.released) {
      released++
      continue
    }
    const rule = conflictWith(hold, req, gateHeld)
    if (rule !== undefined) return [rule, hold]
  }
  if (released > 0) {
    compact(owner.inherited)
    owner.chain = undefined
    owner.epoch++
  }
  for (const hold of owner.held) {
    const rule = conflictWith(hold, req, gateHeld)
    if (rule !== undefined) return [rule, hold]
  }
  if (req.gate !== undefined && !gateHeld) return ["gate-not-held", req.gate]
  return undefined
}

/** The outcome of a try-lock that found the lock busy. */
export const NotAvailable: unique symbol = Symbol.for("@core-stability/locks/NotAvailable")

/**
 * Step 1 of an acquisition, synchronous, inside the caller's masked region: checks, then the fast path.
 * `tryOnly` requests never wait, so they skip the order check (a try-lock cannot deadlock) but are recorded as held.
 */
export const begin = (
  fiber: AnyFiber,
  req: Request,
  tryOnly: boolean
): Hold | Pending | LockError | typeof NotAvailable => {
  const context = fiber.currentContext
  const settings = Context.get(context, LockConfig)
  const lock = req.lock
  let reentrant = false
  if (lock.writer !== undefined || lock.readers.length > 0) {
    const previous = ownHold(lock, fiber)
    if (previous !== undefined) {
      if (req.access === "write" && previous.access === "read") return upgradeError(fiber, req, settings)
      if (req.access === "write" || previous.access === "write" || lock.readerKind === "queued") {
        return recursionError(fiber, req, previous, settings)
      }
      reentrant = true
    }
  }
  if (settings.mode === "off") {
    if (canTake(lock, req.access, reentrant, undefined)) {
      return grant(lock, req, fiber, undefined, undefined, undefined, settings, undefined, tryOnly || reentrant)
    }
    return tryOnly
      ? NotAvailable
      : new Pending(
        req,
        fiber,
        undefined,
        settings,
        undefined,
        undefined,
        undefined,
        reentrant,
        undefined,
        undefined,
        0
      )
  }
  const owner = fiberLocksOf(fiber)
  const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
  const span = currentSpan(context)
  let warning: Array<string> | undefined = undefined
  if (!reentrant && !tryOnly) {
    const broken = checkOrder(owner, req)
    if (broken !== undefined) {
      const now = clock.unsafeCurrentTimeMillis()
      const [rule, conflict] = broken
      const error = new LockOrderViolation({
        lock: lock.describe(),
        mode: lock.modeOf(req.access),
        fiber: fiberLabel(fiber),
        site: siteText(req.site, span),
        conflict: conflict instanceof Hold
          ? describeHold(conflict, now, conflict.owner !== owner)
          : conflict.describe(),
        held: heldStack(owner, now),
        rule
      })
      if (settings.metrics) metrics.orderViolations.unsafeUpdate(1, lock.cls.tags(lock.modeOf(req.access)))
      if (settings.mode === "strict") return error
      warning = [error.message]
    }
  }
  let chain: ChainNode | undefined = undefined
  if (settings.detection.potential !== "off") {
    const learned = learn(owner, req, tryOnly || reentrant, fiber, clock, span, settings)
    if (learned instanceof ChainNode) chain = learned
    else if (learned instanceof Reported) {
      chain = learned.chain
      warning = warning === undefined ? learned.messages : [...warning, ...learned.messages]
    } else return learned
  }
  if (warning === undefined && canTake(lock, req.access, reentrant, owner)) {
    return grant(lock, req, fiber, owner, clock, span, settings, chain, tryOnly || reentrant)
  }
  return tryOnly
    ? NotAvailable
    : new Pending(req, fiber, owner, settings, clock, span, warning, reentrant, chain, owner.chain, owner.epoch)
}

const recursionError = (fiber: AnyFiber, req: Request, previous: Hold, settings: Settings): LockRecursion => {
  const clock = settings.mode === "off" ? undefined : Context.get(fiber.currentDefaultServices, Clock.Clock)
  const now = nowOf(clock)
  return new LockRecursion({
    lock: req.lock.describe(),
    mode: req.lock.modeOf(req.access),
    fiber: fiberLabel(fiber),
    site: req.site?.callSite,
    previous: describeHold(previous, now, false),
    held: settings.mode === "off" ? [describeHold(previous, now, false)] : heldStack(fiberLocksOf(fiber), now)
  })
}

const upgradeError = (fiber: AnyFiber, req: Request, settings: Settings): LockUpgrade => {
  const clock = settings.mode === "off" ? undefined : Context.get(fiber.currentDefaultServices, Clock.Clock)
  return new LockUpgrade({
    lock: req.lock.describe(),
    fiber: fiberLabel(fiber),
    site: req.site?.callSite,
    readers: holdersOf(req.lock, nowOf(clock))
  })
}

// -----------------------------------------------------------------------------
// the learned dependency graph (potential deadlocks)
// -----------------------------------------------------------------------------

/** A potential deadlock reported with the `"warn"` reaction: the chain is learned, the message is logged. */
class Reported {
  constructor(readonly chain: ChainNode, readonly messages: Array<string>) {}
}

/**
 * Where and by whom an edge was first seen; the sites are formatted only when a report reads them. It keeps the sites
 * and spans, never the holds (which would keep their fibers alive as long as the graph).
 */
class Origin implements EdgeOrigin {
  constructor(
    readonly fiber: string,
    readonly fromMode: AccessMode,
    readonly toMode: AccessMode,
    readonly fromSiteRef: Site | undefined,
    readonly fromSpan: Tracer.AnySpan | undefined,
    readonly toSiteRef: Site | undefined,
    readonly toSpan: Tracer.AnySpan | undefined,
    readonly at: number
  ) {}
  get fromSite(): string | undefined {
    return siteText(this.fromSiteRef, this.fromSpan)
  }
  get toSite(): string | undefined {
    return siteText(this.toSiteRef, this.toSpan)
  }
}

/**
 * The chain key of one stack entry or request: class, mode, reader kind, no-edge-in (try / reentrant), whether it
 * continues the `withLocks` batch of the entry below it, and (requests only) whether it is nested under a gate.
 */
const entryKey = (
  lock: LockState,
  access: Access,
  noEdgeIn: boolean,
  batch: object | undefined,
  below: Hold | undefined,
  gated: boolean
): number =>
  lock.cls.id * 32 + (access === "read" ? 1 : 0) + (lock.readerKind === "recursive" ? 2 : 0) + (noEdgeIn ? 4 : 0) +
  (batch !== undefined && below !== undefined && below.batch === batch ? 8 : 0) + (gated ? 16 : 0)

/** The chain-cache node of the fiber's stack in the graph's current trie, walking the stack once. */
const rebuildChain = (owner: FiberLocks, graph: DependencyGraph): ChainNode => {
  let node = graph.root
  let below: Hold | undefined = undefined
  for (const hold of owner.inherited) {
    node = node.child(entryKey(hold.lock, hold.access, hold.noEdgeIn, hold.batch, below, false))
    below = hold
  }
  for (const hold of owner.held) {
    node = node.child(entryKey(hold.lock, hold.access, hold.noEdgeIn, hold.batch, below, false))
    below = hold
  }
  owner.chain = node
  return node
}

/** Whether the fiber holds that lock (its own holds only: a gate is held by the fiber that nests under it). */
const holdsLock = (owner: FiberLocks, lock: LockState): boolean => {
  for (const hold of owner.held) if (hold.lock === lock) return true
  return false
}

/** The holds that count for the learned graph, most recent first: the fiber's own, then the inherited ones. */
const topDown = (owner: FiberLocks): Array<Hold> => {
  const result: Array<Hold> = []
  for (let i = owner.held.length - 1; i >= 0; i--) result.push(owner.held[i]!)
  for (let i = owner.inherited.length - 1; i >= 0; i--) result.push(owner.inherited[i]!)
  return result
}

/**
 * The holds the request gets an edge from (lockdep's `check_prevs_add`): walking down from the top of the stack, every
 * held try-lock, then the nearest held lock that is not one (with the rest of its `withLocks` batch), then stop.
 * The locks taken earlier in the same `withLocks` batch are sources too when their class differs from the request's,
 * of batch edges (`isBatchSource`): no two batches contradict each other (each is in canonical order), but a nested
 * acquisition can contradict a batch, so a cycle counts when one of its edges is not a batch edge. A lock of the
 * requested class is no source when the request is nested under a held gate (lockdep's `nest_lock`) or belongs to its
 * batch.
 */
const edgeSources = (owner: FiberLocks, req: Request, gated: boolean): Array<Hold> => {
  const sources: Array<Hold> = []
  let group: object | undefined = undefined
  for (const hold of topDown(owner)) {
    if (hold.released) continue
    if (group !== undefined) {
      if (hold.batch !== group) break
      sources.push(hold)
      continue
    }
    if (req.batch !== undefined && hold.batch === req.batch) {
      if (hold.lock.cls !== req.lock.cls) sources.push(hold)
      continue
    }
    if (gated && hold.lock.cls === req.lock.cls) continue
    sources.push(hold)
    if (hold.noEdgeIn) continue
    if (hold.batch === undefined) break
    group = hold.batch
  }
  return sources
}

/** Whether the edge from `source` to the request is a batch edge: both are members of one `withLocks` batch. */
const isBatchSource = (source: Hold, req: Request): boolean => req.batch !== undefined && source.batch === req.batch

const nextIsRecursive = (req: Request): boolean => req.access === "read" && req.lock.readerKind === "recursive"

const describeLink = (step: Step): DependencyLink => {
  const origin = step.edge.origins[step.type]!
  return {
    from: step.edge.from.name,
    to: step.edge.to.name,
    fromMode: origin.fromMode as AccessMode,
    toMode: origin.toMode as AccessMode,
    type: typeNames[step.type]!,
    fiber: origin.fiber,
    fromSite: origin.fromSite,
    toSite: origin.toSite,
    at: origin.at,
    isNew: false
  }
}

const potentialError = (
  owner: FiberLocks,
  req: Request,
  fiber: AnyFiber,
  cycle: Cycle,
  clock: Clock.Clock,
  span: Tracer.AnySpan | undefined
): PotentialDeadlock => {
  const now = clock.unsafeCurrentTimeMillis()
  const lock = req.lock
  const culprit = topDown(owner).find((hold) => !hold.released && hold.lock.cls === cycle.prev)
  return new PotentialDeadlock({
    lock: lock.describe(),
    mode: lock.modeOf(req.access),
    fiber: fiberLabel(fiber),
    site: siteText(req.site, span),
    kind: cycle.path.length === 0 ? "recursive" : "circular",
    cycle: [
      {
        from: cycle.prev.name,
        to: cycle.next.name,
        fromMode: culprit === undefined ? "exclusive" : culprit.lock.modeOf(culprit.access),
        toMode: lock.modeOf(req.access),
        type: typeNames[cycle.type]!,
        fiber: fiberLabel(fiber),
        fromSite: culprit === undefined ? undefined : siteText(culprit.site, culprit.span),
        toSite: siteText(req.site, span),
        at: now,
        isNew: true
      },
      ...cycle.path.map(describeLink)
    ],
    held: heldStack(owner, now)
  })
}

/**
 * Step 1b (`detection.potential` on): finds the chain "held stack + request" in the chain cache (one lookup from the
 * fiber's current node) and validates it on a miss: the new edges from `edgeSources`, each checked for a strong cycle.
 * Returns the node to push on grant, a `Reported` warning, or the `PotentialDeadlock` to fail with.
 */
const learn = (
  owner: FiberLocks,
  req: Request,
  noEdgeIn: boolean,
  fiber: AnyFiber,
  clock: Clock.Clock,
  span: Tracer.AnySpan | undefined,
  settings: Settings
): ChainNode | Reported | PotentialDeadlock => {
  const lock = req.lock
  const graph = lock.registry.graph
  const inherited = owner.inherited
  if (inherited.length > 0) {
    for (const hold of inherited) {
      if (hold.released) {
        compact(inherited)
        owner.chain = undefined
        owner.epoch++
        break
      }
    }
  }
  let chain = owner.chain
  if (chain === undefined || (chain.root ?? chain) !== graph.root) chain = rebuildChain(owner, graph)
  const held = owner.held
  const top = held.length > 0 ? held[held.length - 1] : inherited[inherited.length - 1]
  const gated = req.gate !== undefined && holdsLock(owner, req.gate)
  const node = chain.child(entryKey(lock, req.access, noEdgeIn, req.batch, top, gated))
  const reaction = settings.detection.potential
  const generation = learnedGraph.generation
  if (node.validated === generation) {
    if (node.failure === undefined) {
      graph.cacheHits++
      return node
    }
    if (reaction === "fail") {
      graph.cacheHits++
      return potentialError(owner, req, fiber, node.failure, clock, span)
    }
  }
  if (node.validated < 0) graph.chains++
  node.validated = generation
  node.failure = undefined
  if (noEdgeIn) return node
  const sources = edgeSources(owner, req, gated)
  const nextR = nextIsRecursive(req)
  // "fail" stops at the first cycle (the edges are not learned); "warn" checks every source, since the edges of all
  // of them are learned below and a cycle closed by one of them would never be checked again
  let messages: Array<string> | undefined = undefined
  for (const source of sources) {
    const type = dependencyType(source.access === "read", nextR)
    const batch = isBatchSource(source, req)
    const edge = source.lock.cls.out.get(lock.cls)
    // known, and as a non-batch edge unless this one is a batch edge too
    if (edge !== undefined && (edge.types & (1 << type)) !== 0 && (batch || (edge.batchOnly & (1 << type)) === 0)) {
      continue
    }
    const cycle = graph.findCycle(source.lock.cls, lock.cls, type, batch)
    if (cycle === undefined) continue
    const signature = graph.signature(cycle)
    const first = !graph.reported.has(signature)
    if (first) {
      graph.reported.add(signature)
      graph.reports++
      if (settings.metrics) metrics.potentialDeadlocks.unsafeUpdate(1, lock.cls.tags(lock.modeOf(req.access)))
    }
    if (reaction === "fail") {
      node.failure = cycle
      return potentialError(owner, req, fiber, cycle, clock, span)
    }
    if (first) (messages ??= []).push(potentialError(owner, req, fiber, cycle, clock, span).message)
  }
  if (sources.length > 0) {
    const label = fiberLabel(fiber)
    const now = clock.unsafeCurrentTimeMillis()
    const toMode = lock.modeOf(req.access)
    for (const source of sources) {
      graph.addEdge(
        source.lock.cls,
        lock.cls,
        dependencyType(source.access === "read", nextR),
        isBatchSource(source, req),
        () =>
          new Origin(label, source.lock.modeOf(source.access), toMode, source.site, source.span, req.site, span, now)
      )
    }
  }
  return messages === undefined ? node : new Reported(node, messages)
}

// -----------------------------------------------------------------------------
// the wait-for graph (actual deadlocks)
// -----------------------------------------------------------------------------

/**
 * The wait of each fiber that waits for a lock in `"off"` mode or joins a fiber (a fiber waits for one thing at a
 * time); a fiber waiting for a lock in a checking mode keeps it in its record (`FiberLocks.waiting`).
 */
const waitingOn = new WeakMap<AnyFiber, Waiter | JoinWait>()

/** The queued lock wait or the join of a fiber, if any. */
const waitOf = (fiber: AnyFiber): Waiter | JoinWait | undefined => {
  const record = fiber.getFiberRef(currentFiberLocks)
  if (record.fiber === fiber && record.waiting !== undefined) return record.waiting
  return waitingOn.get(fiber)
}

/** A fiber another waits for: a holder of the lock, or a request queued ahead of it. */
export type Blocker = Hold | Waiter

export const blockerFiber = (blocker: Blocker): AnyFiber =>
  blocker instanceof Hold ? blocker.fiber : blocker.pending.fiber

/**
 * Whom a request for `lock` waits for, when queued behind `self` (or at the tail when `self` is undefined): a writer
 * waits for every holder and every request ahead (FIFO hand-over); a reader waits for the writer holding the lock and
 * for the writers queued ahead (writer preference), never for other readers.
 */
export const blockersOf = (
  lock: LockState,
  fiber: AnyFiber,
  access: Access,
  self: Waiter | undefined
): Array<Blocker> => {
  const result: Array<Blocker> = []
  if (lock.writer !== undefined && lock.writer.fiber !== fiber) result.push(lock.writer)
  if (access === "write") { for (const reader of lock.readers) if (reader.fiber !== fiber) result.push(reader) }
  for (let w = lock.head; w !== undefined && w !== self; w = w.next) {
    if (w.pending.fiber === fiber) continue
    if (access === "write" || w.pending.req.access === "write") result.push(w)
  }
  return result
}

/** One step of a wait-for path: a lock wait and the blocker it waits for, or a join. */
type WaitStep =
  | { readonly _tag: "Lock"; readonly pending: Pending; readonly blocker: Blocker }
  | { readonly _tag: "Join"; readonly wait: JoinWait }

/**
 * The wait-for cycle the pending request would close by queueing, if any: a depth-first search from its blockers,
 * through the lock waits and joins of the fibers they belong to, back to the requesting fiber. Earlier cycles were
 * broken when they formed, so a new one goes through this wait.
 *
 * Cost, so that a wait starts in O(1) amortised instead of walking the queue (with n fibers queued on one lock, the
 * walk made every wave of n acquisitions O(n^2)):
 * - A cycle comes back to the requester through a lock it holds, or through a join of the requester (it is queued
 *   nowhere yet, so it is nobody's queued-ahead blocker): a requester that holds no lock and that nobody joins cannot
 *   close a cycle, and the search is skipped (one counter read while no join waits anywhere).
 * - A fiber queued on a lock waits on that lock only, so from a lock's queue the only way out is through its holders.
 *   A writer's queued-ahead blockers each wait for a subset of the writer's own blockers: it follows the holders only.
 *   A reader follows the writer holding the lock and the first writer queued ahead of it (which leads to every
 *   holder); the other writers ahead lead to the same holders.
 * - A join has one way out: the joined fiber.
 *
 * Only joins made through `DeadlockDetector.join` / `await` are edges. A suspended fiber's `_asyncBlockingOn` is set
 * by `Fiber.join` / `Fiber.await` to the joined fiber's id, but also by `Deferred.await` to the id of the fiber that
 * created the Deferred, and it stays set while a resume is pending; Effect 3 keeps no reliable record of which fiber
 * joins which. Treating it as a join made false positives (a holder awaiting a Deferred the requester created), so
 * a plain `Fiber.join` is left to the timeout fallback.
 */
const findWaitCycle = (p: Pending): ReadonlyArray<WaitStep> | undefined => {
  if (
    ownerlessHolds === 0 && p.owner !== undefined && p.owner.held.length === 0 &&
    (activeJoins === 0 || !joinedBy.has(p.fiber))
  ) return undefined
  return cycleThrough(p.fiber, p)
}

/** The cycle a join would close by waiting, if any: the search of `findWaitCycle`, starting with the join edge. */
const findJoinCycle = (wait: JoinWait): ReadonlyArray<WaitStep> | undefined => cycleThrough(wait.joiner, wait)

/** A depth-first search from `start` (the victim's new wait, not registered yet) back to `victim`. */
const cycleThrough = (victim: AnyFiber, start: Pending | JoinWait): ReadonlyArray<WaitStep> | undefined => {
  const path: Array<WaitStep> = []
  const visited = new Set<AnyFiber>()
  const visitFiber = (fiber: AnyFiber): boolean => {
    if (fiber === victim) return true
    if (visited.has(fiber)) return false
    visited.add(fiber)
    const wait = waitOf(fiber)
    if (wait === undefined) return false
    if (wait instanceof JoinWait) return wait.active && visitJoin(wait)
    return wait.queued && visitLock(wait.pending, wait)
  }
  const visitLock = (pending: Pending, self: Waiter | undefined): boolean => {
    for (const blocker of cycleBlockers(pending.req.lock, pending.fiber, pending.req.access, self)) {
      path.push({ _tag: "Lock", pending, blocker })
      if (visitFiber(blockerFiber(blocker))) return true
      path.pop()
    }
    return false
  }
  const visitJoin = (wait: JoinWait): boolean => {
    // a joined fiber that has exited waits for nothing: its joiner is about to resume
    if (wait.joinee.unsafePoll() !== null) return false
    path.push({ _tag: "Join", wait })
    if (visitFiber(wait.joinee)) return true
    path.pop()
    return false
  }
  const found = start instanceof JoinWait ? visitJoin(start) : visitLock(start, undefined)
  return found ? path : undefined
}

/** The blockers a cycle search follows (see `findWaitCycle`): the holders, and for a reader one writer queued ahead. */
const cycleBlockers = (lock: LockState, fiber: AnyFiber, access: Access, self: Waiter | undefined): Array<Blocker> => {
  const result: Array<Blocker> = []
  if (lock.writer !== undefined && lock.writer.fiber !== fiber) result.push(lock.writer)
  if (access === "write") {
    for (const reader of lock.readers) if (reader.fiber !== fiber) result.push(reader)
    return result
  }
  for (let w = lock.head; w !== undefined && w !== self; w = w.next) {
    if (w.pending.fiber !== fiber && w.pending.req.access === "write") {
      result.push(w)
      break
    }
  }
  return result
}

/** A lock wait as a wait-for link. */
export const describeWaitStep = (pending: Pending, blocker: Blocker): WaitForLink => {
  const lock = pending.req.lock
  return {
    via: "lock",
    waiter: fiberLabel(pending.fiber),
    mode: lock.modeOf(pending.req.access),
    site: siteText(pending.req.site, pending.span),
    lock: lock.describe(),
    blocker: fiberLabel(blockerFiber(blocker)),
    reason: blocker instanceof Hold ? "holds" : "queued-ahead",
    blockerMode: blocker instanceof Hold
      ? blocker.lock.modeOf(blocker.access)
      : lock.modeOf(blocker.pending.req.access),
    blockerSite: blocker instanceof Hold
      ? siteText(blocker.site, blocker.span)
      : siteText(blocker.pending.req.site, blocker.pending.span)
  }
}

/** A join as a wait-for link. */
export const describeJoin = (wait: JoinWait): JoinWaitLink => ({
  via: "join",
  waiter: fiberLabel(wait.joiner),
  mode: undefined,
  site: siteText(wait.site, wait.span),
  lock: undefined,
  blocker: fiberLabel(wait.joinee),
  reason: "joins",
  blockerMode: undefined,
  blockerSite: undefined
})

const describeStep = (step: WaitStep): WaitForLink =>
  step._tag === "Lock" ? describeWaitStep(step.pending, step.blocker) : describeJoin(step.wait)

/** Without a held stack (`"off"` mode): the victim's holds that the cycle goes through. */
const victimHolds = (victim: AnyFiber, cycle: ReadonlyArray<WaitStep>, now: number): Array<HeldLock> => {
  const result: Array<HeldLock> = []
  for (const step of cycle) {
    if (step._tag === "Lock" && step.blocker instanceof Hold && step.blocker.fiber === victim) {
      result.push(describeHold(step.blocker, now, false))
    }
  }
  return result
}

const deadlockError = (p: Pending, cycle: ReadonlyArray<WaitStep>, clock: Clock.Clock): DeadlockDetected => {
  const now = clock.unsafeCurrentTimeMillis()
  const lock = p.req.lock
  lock.registry.deadlocks++
  if (p.settings.metrics) metrics.deadlocks.unsafeUpdate(1, lock.cls.tags(lock.modeOf(p.req.access)))
  return new DeadlockDetected({
    lock: lock.describe(),
    mode: lock.modeOf(p.req.access),
    joined: undefined,
    fiber: fiberLabel(p.fiber),
    site: siteText(p.req.site, p.span),
    cycle: cycle.map(describeStep),
    held: p.owner === undefined ? victimHolds(p.fiber, cycle, now) : heldStack(p.owner, now)
  })
}

// -----------------------------------------------------------------------------
// joins
// -----------------------------------------------------------------------------

/** Joins waiting now, in every registry: while there are none, no search needs to ask whether a fiber is joined. */
let activeJoins = 0

/** How many joins wait for each fiber now. */
const joinedBy = new WeakMap<AnyFiber, number>()

/** The metric tags of a join victim: it asked for no lock. */
const joinTags: ReadonlyArray<MetricLabel.MetricLabel> = [
  MetricLabel.make("lock", "(join)"),
  MetricLabel.make("mode", "join")
]

/** The victim's own holds: its held stack when it has one, else (`"off"` mode) the holds the cycle goes through. */
const holdsOfVictim = (fiber: AnyFiber, cycle: ReadonlyArray<WaitStep>, now: number): Array<HeldLock> => {
  const record = fiber.getFiberRef(currentFiberLocks)
  return record.fiber === fiber && record.held.length > 0 ? heldStack(record, now) : victimHolds(fiber, cycle, now)
}

const joinDeadlockError = (
  wait: JoinWait,
  cycle: ReadonlyArray<WaitStep>,
  now: number,
  settings: Settings
): DeadlockDetected => {
  wait.registry.deadlocks++
  if (settings.metrics) metrics.deadlocks.unsafeUpdate(1, joinTags)
  return new DeadlockDetected({
    lock: undefined,
    mode: undefined,
    joined: fiberLabel(wait.joinee),
    fiber: fiberLabel(wait.joiner),
    site: siteText(wait.site, wait.span),
    cycle: cycle.map(describeStep),
    held: holdsOfVictim(wait.joiner, cycle, now)
  })
}

/**
 * Starts a join of a fiber that has not exited (synchronously, inside the joiner's masked region): with
 * `detection.actual: "fail"`, the join that would close a wait-for cycle fails instead of waiting (the joiner is the
 * victim, as a lock waiter would be); otherwise the edge "joiner -> joinee" is registered, in every detection mode
 * (so that it shows in the wait-for graph and in timeout reports), and `endJoin` must follow.
 */
export const beginJoin = (
  joiner: AnyFiber,
  joinee: AnyFiber,
  registry: Registry,
  site: Site | undefined
): JoinWait | DeadlockDetected => {
  const context = joiner.currentContext
  const settings = Context.get(context, LockConfig)
  const now = Context.get(joiner.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
  const wait = new JoinWait(joiner, joinee, registry, site, currentSpan(context), now)
  if (settings.detection.actual === "fail") {
    const cycle = findJoinCycle(wait)
    if (cycle !== undefined) return joinDeadlockError(wait, cycle, now, settings)
  }
  wait.active = true
  waitingOn.set(joiner, wait)
  joinedBy.set(joinee, (joinedBy.get(joinee) ?? 0) + 1)
  activeJoins++
  registry.joins.add(wait)
  registry.joinWaits++
  return wait
}

/** Ends a join: its edge leaves the wait-for graph. Idempotent. */
export const endJoin = (wait: JoinWait): void => {
  if (!wait.active) return
  wait.active = false
  if (waitingOn.get(wait.joiner) === wait) waitingOn.delete(wait.joiner)
  const count = joinedBy.get(wait.joinee) ?? 0
  if (count <= 1) joinedBy.delete(wait.joinee)
  else joinedBy.set(wait.joinee, count - 1)
  activeJoins--
  wait.registry.joins.delete(wait)
}

// -----------------------------------------------------------------------------
// waiting
// -----------------------------------------------------------------------------

const enqueue = (lock: LockState, waiter: Waiter): void => {
  const owner = waiter.pending.owner
  if (owner !== undefined) owner.waiting = waiter
  else waitingOn.set(waiter.pending.fiber, waiter)
  waiter.queued = true
  waiter.prev = lock.tail
  if (lock.tail === undefined) lock.head = waiter
  else lock.tail.next = waiter
  lock.tail = waiter
  if (!lock.busy) lock.registry.markBusy(lock)
}

const unlink = (lock: LockState, waiter: Waiter): void => {
  const owner = waiter.pending.owner
  if (owner !== undefined) {
    if (owner.waiting === waiter) owner.waiting = undefined
  } else if (waitingOn.get(waiter.pending.fiber) === waiter) waitingOn.delete(waiter.pending.fiber)
  if (waiter.prev === undefined) lock.head = waiter.next
  else waiter.prev.next = waiter.next
  if (waiter.next === undefined) lock.tail = waiter.prev
  else waiter.next.prev = waiter.prev
  waiter.prev = undefined
  waiter.next = undefined
  waiter.queued = false
}

const settle = (lock: LockState): void => {
  if (lock.busy && lock.idle) lock.registry.markIdle(lock)
}

/** Hands the lock to queued waiters in FIFO order: one writer, or every reader up to the next writer. */
const drain = (lock: LockState): void => {
  while (lock.head !== undefined && lock.writer === undefined) {
    const waiter = lock.head
    const p = waiter.pending
    if (p.req.access === "write" && lock.readers.length > 0) return
    unlink(lock, waiter)
    waiter.hold = grant(lock, p.req, p.fiber, p.owner, p.clock, p.span, p.settings, p.grantChain, p.reentrant)
    if (p.settings.metrics && p.settings.mode !== "off") {
      const tags = lock.cls.tags(lock.modeOf(p.req.access))
      metrics.contended.unsafeUpdate(1, tags)
      metrics.waitTime.unsafeUpdate(waiter.clock.unsafeCurrentTimeMillis() - waiter.since, tags)
    }
    waiter.resume!(Effect.void)
  }
}

/** Leaves the queue (after an interrupted or timed-out wait); a no-op once the waiter was granted or has left. */
const cancel = (waiter: Waiter): void => {
  if (!waiter.queued) return
  const lock = waiter.pending.req.lock
  unlink(lock, waiter)
  drain(lock)
  settle(lock)
}

/** After a failed or interrupted wait: give back what was granted in the meantime, or leave the queue. */
const abandon = (waiter: Waiter): void => {
  if (waiter.hold !== undefined) release(waiter.hold)
  else cancel(waiter)
}

/** How far `waitChain` follows the waits of the blockers (fibers). */
const WAIT_CHAIN_DEPTH = 8

/**
 * The wait-for graph seen from a timed-out waiter, breadth first, a few fibers deep: whom it waits for, whom those
 * wait for (lock waits and joins), and so on. A blocker with no further link runs, or waits on something the graph
 * cannot see.
 */
const waitChain = (waiter: Waiter): Array<WaitForLink> => {
  const links: Array<WaitForLink> = []
  const seen = new Set<AnyFiber>([waiter.pending.fiber])
  let frontier: Array<Waiter | JoinWait> = [waiter]
  for (let depth = 0; depth < WAIT_CHAIN_DEPTH && frontier.length > 0; depth++) {
    const next: Array<Waiter | JoinWait> = []
    const follow = (fiber: AnyFiber): void => {
      if (seen.has(fiber)) return
      seen.add(fiber)
      const wait = waitOf(fiber)
      if (wait !== undefined && (wait instanceof JoinWait ? wait.active : wait.queued)) next.push(wait)
    }
    for (const w of frontier) {
      if (w instanceof JoinWait) {
        links.push(describeJoin(w))
        follow(w.joinee)
        continue
      }
      const p = w.pending
      for (const blocker of blockersOf(p.req.lock, p.fiber, p.req.access, w)) {
        links.push(describeWaitStep(p, blocker))
        follow(blockerFiber(blocker))
      }
    }
    frontier = next
  }
  return links
}

const timeoutError = (waiter: Waiter, timeout: Duration.Duration, chain: ReadonlyArray<WaitForLink>): LockTimeout => {
  const p = waiter.pending
  const lock = p.req.lock
  const now = waiter.clock.unsafeCurrentTimeMillis()
  if (p.settings.metrics && p.settings.mode !== "off") {
    metrics.timeouts.unsafeUpdate(1, lock.cls.tags(lock.modeOf(p.req.access)))
  }
  return new LockTimeout({
    lock: lock.describe(),
    mode: lock.modeOf(p.req.access),
    fiber: fiberLabel(p.fiber),
    site: siteText(p.req.site, p.span),
    timeoutMs: Duration.toMillis(timeout),
    holders: holdersOf(lock, now),
    waiters: lock.waiters().map((w) => describeWaiter(w, now)),
    waitFor: chain
  })
}

type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/**
 * Step 2, for a request that must wait: queue, wait (interruptibly, with the timeout), and continue with the hold.
 * Called synchronously inside the caller's masked region (from `withFiberRuntime`); only the wait itself is restored
 * to interruptible. The wait has no canceller: an interrupted or timed-out wait ends in `abandon` / `cancel` right
 * after, in this fiber's masked region, which leaves the queue (or gives back a hold granted in the meantime).
 * Skipping the canceller saves `Effect.async` its `onInterrupt` wrapper on every contended acquisition.
 */
export const waitFor = <A, E, R>(
  p: Pending,
  restore: Restore,
  then: (hold: Hold) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | LockError, R> => {
  const lock = p.req.lock
  const clock = p.clock ?? Context.get(p.fiber.currentDefaultServices, Clock.Clock)
  const waiter = new Waiter(p, clock.unsafeCurrentTimeMillis(), clock)
  const wait = Effect.async<void>((resume) => {
    if (canTake(lock, p.req.access, p.reentrant, p.owner)) {
      waiter.hold = grant(lock, p.req, p.fiber, p.owner, p.clock, p.span, p.settings, p.grantChain, p.reentrant)
      resume(Effect.void)
      return
    }
    if (p.settings.detection.actual === "fail") {
      const cycle = findWaitCycle(p)
      if (cycle !== undefined) {
        waiter.deadlock = deadlockError(p, cycle, clock)
        resume(Effect.void)
        return
      }
    }
    waiter.resume = resume
    enqueue(lock, waiter)
  })
  const timeout = p.req.timeout ?? lock.timeout ?? p.settings.timeout
  const timed = Duration.isFinite(timeout) ? Effect.asVoid(Effect.timeoutOption(wait, timeout)) : wait
  const logged = p.warning === undefined ? timed : Effect.zipRight(logWarnings(p.warning), timed)
  return Effect.matchCauseEffect(restore(logged), {
    onFailure: afterFailedWait(waiter),
    onSuccess: afterWait(waiter, timeout, then)
  })
}

const logWarnings = (messages: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.forEach(messages, (message) => Effect.logWarning(message), { discard: true })

// The handlers are built by functions, not written inline as properties: a function named after a property gets a
// `__name` call per evaluation under `keepNames` transpilers (tsx), which the source-condition bench runs under.

const afterFailedWait = (waiter: Waiter) => (cause: Cause.Cause<never>): Effect.Effect<never> => {
  abandon(waiter)
  return Effect.failCause(cause)
}

const afterWait = <A, E, R>(
  waiter: Waiter,
  timeout: Duration.Duration,
  then: (hold: Hold) => Effect.Effect<A, E, R>
) =>
(): Effect.Effect<A, E | LockError, R> => {
  if (waiter.hold !== undefined) return then(waiter.hold)
  if (waiter.deadlock !== undefined) return Effect.fail(waiter.deadlock)
  const chain = waitChain(waiter)
  cancel(waiter)
  return Effect.fail(timeoutError(waiter, timeout, chain))
}

// -----------------------------------------------------------------------------
// release
// -----------------------------------------------------------------------------

/** Step 3: gives a hold back. A hold is released exactly once; a second release is a broken invariant (a defect). */
export const release = (hold: Hold): void => {
  if (hold.released) throw new Error(`bad unlock balance: ${hold.lock.label} released twice`)
  hold.released = true
  const lock = hold.lock
  if (hold.access === "write") {
    lock.writer = undefined
  } else {
    lock.readers.splice(lock.readers.lastIndexOf(hold), 1)
  }
  const owner = hold.owner
  if (owner === undefined) ownerlessHolds--
  else {
    const held = owner.held
    if (held[held.length - 1] === hold) {
      held.pop()
      owner.chain = hold.epoch === owner.epoch ? hold.prevChain : undefined
    } else {
      held.splice(held.lastIndexOf(hold), 1)
      owner.chain = undefined
      owner.epoch++
    }
  }
  if (hold.clock !== undefined) {
    metrics.holdTime.unsafeUpdate(
      hold.clock.unsafeCurrentTimeMillis() - hold.since,
      lock.cls.tags(lock.modeOf(hold.access))
    )
  }
  drain(lock)
  settle(lock)
}

// -----------------------------------------------------------------------------
// combinators
// -----------------------------------------------------------------------------

/**
 * Releases the hold when `body` exits, whatever the exit. Called inside the acquisition's masked region, so the
 * handlers run uninterruptibly and need no mask of their own (unlike `Effect.onExit`). One `matchCauseEffect`, no
 * `Exit` value and no extra `flatMap` per acquisition.
 */
const releasing = <A, E, R>(body: Effect.Effect<A, E, R>, hold: Hold): Effect.Effect<A, E, R> =>
  Effect.matchCauseEffect(body, { onFailure: releaseThenFail(hold), onSuccess: releaseThenSucceed(hold) })

// Built by functions rather than inline properties: see `afterWait`.

const releaseThenFail = (hold: Hold) => <E>(cause: Cause.Cause<E>): Effect.Effect<never, E> => {
  release(hold)
  return Effect.failCause(cause)
}

const releaseThenSucceed = (hold: Hold) => <A>(value: A): Effect.Effect<A> => {
  release(hold)
  return Effect.succeed(value)
}

/** `FiberRuntime.currentRuntimeFlags`: every runtime fiber has it, the public `RuntimeFiber` interface does not list it. */
interface FlaggedFiber {
  readonly currentRuntimeFlags: RuntimeFlags.RuntimeFlags
}

/** The `restore` of a region entered from an already uninterruptible caller: nothing to restore. */
const keepMask: Restore = (effect) => effect

/**
 * Runs `self` while holding the request's lock; the lock is released on every exit.
 *
 * The acquiring effect is usually built once and run many times, so everything that depends only on the request, on
 * `self` and on whether the caller was interruptible is built once, lazily, and reused: the masked region is
 * `Effect.uninterruptible(body)` (a reusable primitive, where `Effect.uninterruptibleMask` allocates a flag update and
 * a closure per run) and `restore` is `Effect.interruptible` for an interruptible caller, the identity otherwise (what
 * the mask would hand out). A run allocates the hold and its release handlers.
 */
export const withRequest = <A, E, R>(
  req: Request,
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E | LockError, R> => {
  const build = (restore: Restore): Effect.Effect<A, E | LockError, R> => {
    const restored = restore(self)
    const then = (hold: Hold) => releasing(restored, hold)
    return Effect.withFiberRuntime<A, E | LockError, R>((fiber) => {
      const started = begin(fiber, req, false)
      if (started instanceof Hold) return releasing(restored, started)
      if (started instanceof Pending) return waitFor(started, restore, then)
      return Effect.fail(started as LockError)
    })
  }
  let fromInterruptible: Effect.Effect<A, E | LockError, R> | undefined = undefined
  let fromUninterruptible: Effect.Effect<A, E | LockError, R> | undefined = undefined
  return Effect.withFiberRuntime<A, E | LockError, R>((fiber) => {
    if (RuntimeFlags.interruption((fiber as unknown as FlaggedFiber).currentRuntimeFlags)) {
      return fromInterruptible ??= Effect.uninterruptible(build(Effect.interruptible))
    }
    return fromUninterruptible ??= build(keepMask)
  })
}

/** Runs `self` with several requests taken one after the other (they are already in canonical order). */
export const withRequests = <A, E, R>(
  reqs: ReadonlyArray<Request>,
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E | LockError, R> =>
  reqs.reduceRight<Effect.Effect<A, E | LockError, R>>((inner, req) => withRequest(req, inner), self)

/** Runs `self` only if the lock can be taken at once; `None` otherwise. */
export const withRequestIfAvailable = <A, E, R>(
  req: Request,
  self: Effect.Effect<A, E, R>
): Effect.Effect<Option.Option<A>, E | LockError, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<Option.Option<A>, E | LockError, R>((fiber) => {
      const started = begin(fiber, req, true)
      if (started instanceof Hold) return releasing(Effect.asSome(restore(self)), started)
      if (started === NotAvailable) return Effect.succeed(Option.none())
      return Effect.fail(started as LockError)
    })
  )

const addRelease = (fiber: AnyFiber, hold: Hold): Effect.Effect<void> =>
  Scope.addFinalizer(
    Context.unsafeGet(fiber.currentContext, Scope.Scope),
    Effect.sync(() => release(hold))
  )

/** Takes the lock until the current scope closes. */
export const scopedRequest = (req: Request): Effect.Effect<void, LockError, Scope.Scope> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<void, LockError, Scope.Scope>((fiber) => {
      const started = begin(fiber, req, false)
      if (started instanceof Hold) return addRelease(fiber, started)
      if (started instanceof Pending) {
        return waitFor(started, restore, (hold) => addRelease(fiber, hold))
      }
      return Effect.fail(started as LockError)
    })
  )

/** Takes the lock until the current scope closes if it is free now; `false` otherwise. */
export const scopedRequestIfAvailable = (req: Request): Effect.Effect<boolean, LockError, Scope.Scope> =>
  Effect.uninterruptible(
    Effect.withFiberRuntime<boolean, LockError, Scope.Scope>((fiber) => {
      const started = begin(fiber, req, true)
      if (started instanceof Hold) return Effect.as(addRelease(fiber, started), true)
      if (started === NotAvailable) return Effect.succeed(false)
      return Effect.fail(started as LockError)
    })
  )

/** Whether the current fiber holds the lock (in any mode). */
export const heldByCurrentFiber = (lock: LockState): Effect.Effect<boolean> =>
  Effect.withFiberRuntime((fiber) => Effect.succeed(ownHold(lock, fiber) !== undefined))
