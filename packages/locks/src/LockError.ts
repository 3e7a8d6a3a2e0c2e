/**
 * The typed errors of `@core-stability/locks`. Each carries what a person needs to fix the bug (the requested lock,
 * the held stack with acquisition sites, the rule broken) and renders it in `message`, in the spirit of lockdep's
 * reports ("possible circular locking dependency", "possible recursive locking").
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Predicate from "effect/Predicate"
import * as render from "./internal/render.js"

/**
 * How a lock is taken: `"exclusive"` (an `OrderedLock`), `"read"` or `"write"` (an `OrderedRWLock`).
 *
 * @since 0.1.0
 * @category models
 */
export type AccessMode = "exclusive" | "read" | "write"

/**
 * A lock as it appears in a report.
 *
 * @since 0.1.0
 * @category models
 */
export interface LockDescription {
  /** The lock class name, e.g. `"StateMachine.state"`. */
  readonly name: string
  /** The instance key, when several instances of the class exist. */
  readonly key: string | undefined
  /** The rank in the hierarchy: a fiber takes locks in increasing rank. */
  readonly rank: number
  /** `"exclusive"` or `"read-write"`. */
  readonly kind: "exclusive" | "read-write"
}

/**
 * One held lock in a report: the lock, how it is held, by which fiber, since when and where it was taken.
 *
 * @since 0.1.0
 * @category models
 */
export interface HeldLock {
  readonly lock: LockDescription
  readonly mode: AccessMode
  /** The holder, e.g. `"#12"` or `"#12 (worker-1)"`. */
  readonly fiber: string
  /** When it was taken (ms since the epoch, from the `Clock`); `undefined` for locks taken in `"off"` mode. */
  readonly since: number | undefined
  /** How long it has been held (ms) when the report was made; `undefined` in `"off"` mode. */
  readonly heldMs: number | undefined
  /** The acquisition site (first frame outside the library), when sites are captured. */
  readonly site: string | undefined
  /** `true` when the lock is held by an ancestor fiber and inherited for order checking (never ownership). */
  readonly inherited: boolean
}

/**
 * One queued request in a report.
 *
 * @since 0.1.0
 * @category models
 */
export interface WaitingRequest {
  readonly lock: LockDescription
  readonly mode: AccessMode
  readonly fiber: string
  /** When it started waiting (ms since the epoch). */
  readonly since: number
  /** How long it has waited (ms). */
  readonly waitedMs: number
  readonly site: string | undefined
}

/**
 * The ordering rule an acquisition broke.
 *
 * - `"rank-inversion"`: a lock of higher rank is held (locks are taken lowest rank first).
 * - `"same-rank"`: a different lock of the same rank is held, outside `withLocks` and without a held gate lock.
 * - `"gate-not-held"`: the acquisition is nested under a gate lock that the fiber does not hold.
 * - `"held-by-ancestor"`: an ancestor fiber holds this very lock; the child would wait for its parent.
 *
 * @since 0.1.0
 * @category models
 */
export type OrderRule = "rank-inversion" | "same-rank" | "gate-not-held" | "held-by-ancestor"

/**
 * An acquisition that breaks the declared order. In `"strict"` mode it fails before it waits; in `"warn"` mode it
 * is logged and counted instead. The idea (validate every acquisition against the locks held by the same task)
 * follows Linux lockdep; the declared ranks follow MySQL's LOCK_ORDER.
 *
 * @since 0.1.0
 * @category errors
 */
export class LockOrderViolation extends Data.TaggedError("LockOrderViolation")<{
  /** The lock being taken. */
  readonly lock: LockDescription
  readonly mode: AccessMode
  /** The fiber taking it. */
  readonly fiber: string
  /** Where it is being taken. */
  readonly site: string | undefined
  /** The held lock the request conflicts with (for `"gate-not-held"`: the gate). */
  readonly conflict: HeldLock | LockDescription
  /** Every lock the fiber holds or inherits, oldest first. */
  readonly held: ReadonlyArray<HeldLock>
  readonly rule: OrderRule
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return render.orderViolation(this)
  }
}

/**
 * Taking a lock the fiber already holds (or a read lock whose reader kind forbids re-reading). It fails at once
 * instead of hanging, in every mode. Lockdep calls it "possible recursive locking".
 *
 * @since 0.1.0
 * @category errors
 */
export class LockRecursion extends Data.TaggedError("LockRecursion")<{
  readonly lock: LockDescription
  readonly mode: AccessMode
  readonly fiber: string
  readonly site: string | undefined
  /** The hold the fiber already has on this lock. */
  readonly previous: HeldLock
  readonly held: ReadonlyArray<HeldLock>
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return render.recursion(this)
  }
}

/**
 * A fiber that holds a read lock asked for the write lock of the same `OrderedRWLock`. Upgrading is not supported:
 * two readers that both upgrade would wait for each other forever, so the request fails at once.
 *
 * @since 0.1.0
 * @category errors
 */
export class LockUpgrade extends Data.TaggedError("LockUpgrade")<{
  readonly lock: LockDescription
  readonly fiber: string
  readonly site: string | undefined
  /** Every reader of the lock at the time (the requesting fiber included). */
  readonly readers: ReadonlyArray<HeldLock>
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return render.upgrade(this)
  }
}

/**
 * An acquisition that waited longer than its timeout. By the time this error is seen the request has left the
 * lock's queue (unlike async-mutex issue #54), so the lock's state is already right.
 *
 * @since 0.1.0
 * @category errors
 */
export class LockTimeout extends Data.TaggedError("LockTimeout")<{
  readonly lock: LockDescription
  readonly mode: AccessMode
  readonly fiber: string
  readonly site: string | undefined
  /** The timeout that expired (ms). */
  readonly timeoutMs: number
  /** The holders when it expired: fiber, how long they have held it, where they took it. */
  readonly holders: ReadonlyArray<HeldLock>
  /** The other requests still queued. */
  readonly waiters: ReadonlyArray<WaitingRequest>
  /**
   * The wait-for graph seen from this request when it timed out, a few fibers deep: whom it waited for, whom those
   * wait for, lock waits and `DeadlockDetector.join`s alike. A blocker with no link of its own runs, or waits on
   * something the wait-for graph cannot see (a `Deferred`, a plain `Fiber.join`, a sleep): the waits the timeout is
   * the fallback for.
   */
  readonly waitFor: ReadonlyArray<WaitForLink>
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return render.timeout(this)
  }
}

/**
 * One edge of a learned dependency cycle: a fiber took `to` while holding `from`, first seen in `fiber` at the sites
 * given. `types` are lockdep's dependency types seen for the pair (`EN`, `ER`, `SN`, `SR`: the source held Exclusively
 * or Shared, the target taken as a Non-recursive or Recursive locker).
 *
 * @since 0.1.0
 * @category models
 */
export interface DependencyLink {
  /** Lock class names. */
  readonly from: string
  readonly to: string
  /** How `from` was held and `to` taken when the edge was first seen. */
  readonly fromMode: AccessMode
  readonly toMode: AccessMode
  /** The dependency type of this link in the cycle. */
  readonly type: "EN" | "ER" | "SN" | "SR"
  /** The fiber in which the edge was first seen (for the new edge: the fiber taking the lock now). */
  readonly fiber: string
  /** Where `from` was taken and where `to` was being taken, when sites are captured. */
  readonly fromSite: string | undefined
  readonly toSite: string | undefined
  /** When it was first seen (ms since the epoch, from the Clock). */
  readonly at: number
  /** `true` for the edge the failing (or reported) acquisition would add. */
  readonly isNew: boolean
}

/**
 * An acquisition that would close a cycle in the learned lock-class graph: the orders seen so far, in any fibers and
 * at any times, can deadlock together, even if nothing ever blocked (Linux lockdep's "possible circular locking
 * dependency"; a cycle of one class is its "possible recursive locking"). With the `"fail"` reaction
 * (`LockConfig`'s `detection.potential`) it fails before the acquisition waits; with `"warn"` its message is logged
 * once per cycle.
 *
 * @since 0.1.0
 * @category errors
 */
export class PotentialDeadlock extends Data.TaggedError("PotentialDeadlock")<{
  /** The lock being taken. */
  readonly lock: LockDescription
  readonly mode: AccessMode
  readonly fiber: string
  readonly site: string | undefined
  /** `"recursive"`: a second lock of a class the fiber holds; `"circular"`: a cycle through other classes. */
  readonly kind: "circular" | "recursive"
  /** The cycle: first the new edge (held lock -> requested lock), then the learned path back to the held lock. */
  readonly cycle: ReadonlyArray<DependencyLink>
  /** Every lock the fiber holds or inherits, oldest first. */
  readonly held: ReadonlyArray<HeldLock>
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return render.potentialDeadlock(this)
  }
}

/**
 * One edge of the wait-for graph, either a lock wait or a join (`via`). Both variants have the same fields, so code
 * that only prints them needs no narrowing; narrow on `via` to read `lock` and the modes as defined.
 *
 * @since 0.1.0
 * @category models
 */
export type WaitForLink = LockWaitLink | JoinWaitLink

/**
 * A lock wait: `waiter` waits for `lock` because `blocker` holds it (`"holds"`) or is queued ahead of it
 * (`"queued-ahead"`: FIFO hand-over, and writer preference makes a reader wait for a queued writer).
 *
 * @since 0.1.0
 * @category models
 */
export interface LockWaitLink {
  readonly via: "lock"
  readonly waiter: string
  /** The mode the waiter asked for, and where. */
  readonly mode: AccessMode
  readonly site: string | undefined
  readonly lock: LockDescription
  readonly blocker: string
  readonly reason: "holds" | "queued-ahead"
  /** How the blocker holds or asks for the lock, and where it took or asked for it. */
  readonly blockerMode: AccessMode
  readonly blockerSite: string | undefined
}

/**
 * A join: `waiter` is suspended in `DeadlockDetector.join` / `DeadlockDetector.await` until `blocker`, the joined
 * fiber, exits. A join holds nothing, so it has no lock and no modes; `site` is where the join was called. Joins made
 * with `Fiber.join` / `Fiber.await` are not edges: Effect 3 keeps no reliable record of who joins whom (see
 * `docs/deadlocks.md`).
 *
 * @since 0.1.0
 * @category models
 */
export interface JoinWaitLink {
  readonly via: "join"
  /** The joining fiber. */
  readonly waiter: string
  readonly mode: undefined
  /** Where the join was called. */
  readonly site: string | undefined
  readonly lock: undefined
  /** The joined fiber. */
  readonly blocker: string
  readonly reason: "joins"
  readonly blockerMode: undefined
  readonly blockerSite: undefined
}

/**
 * An actual deadlock, found the moment the wait that closes it starts (no polling, no timeout). The fiber whose wait
 * closed the cycle is the victim: its acquisition (or its `DeadlockDetector.join`) fails with this error instead of
 * waiting, so it can release what it holds, roll back and retry, and every other fiber of the cycle proceeds. The
 * idea follows the exact wait-for graph of database lock managers; parking_lot and Java's `ThreadMXBean` find such
 * cycles later, by polling.
 *
 * The victim's wait is `cycle[0]`: a lock wait (`lock` and `mode` are set, `joined` is `undefined`) or a join
 * (`joined` names the joined fiber, `lock` and `mode` are `undefined`).
 *
 * @since 0.1.0
 * @category errors
 */
export class DeadlockDetected extends Data.TaggedError("DeadlockDetected")<{
  /** The lock the victim asked for; `undefined` when the victim's wait is a join. */
  readonly lock: LockDescription | undefined
  readonly mode: AccessMode | undefined
  /** The fiber the victim was joining, when the victim's wait is a join (`DeadlockDetector.join` / `await`). */
  readonly joined: string | undefined
  /** The victim. */
  readonly fiber: string
  /** Where the victim asked for the lock, or called the join. */
  readonly site: string | undefined
  /** The cycle, starting with the victim's wait and ending with a wait for the victim. */
  readonly cycle: ReadonlyArray<WaitForLink>
  /**
   * The locks the victim holds or inherits, oldest first. Its own holds (`inherited: false`) are released when its
   * failure propagates; inherited holds (`inherited: true`, held by an ancestor) are not, and `message` lists them
   * apart.
   */
  readonly held: ReadonlyArray<HeldLock>
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return render.deadlockDetected(this)
  }
}

/**
 * Every error an acquisition can fail with.
 *
 * @since 0.1.0
 * @category models
 */
export type LockError =
  | LockOrderViolation
  | LockRecursion
  | LockUpgrade
  | LockTimeout
  | PotentialDeadlock
  | DeadlockDetected

/**
 * A hierarchy that cannot be built: a duplicate level name, a duplicate rank where ranks must be unique, an
 * invalid rank, an unknown part in a composition, or contradictory before/after constraints.
 *
 * @since 0.1.0
 * @category errors
 */
export class LockHierarchyError extends Data.TaggedError("LockHierarchyError")<{
  readonly hierarchy: string
  readonly reason: "DuplicateLevel" | "DuplicateRank" | "InvalidRank" | "UnknownPart" | "Contradiction" | "Empty"
  /** The names in conflict (levels, parts, or the cycle of a contradiction in order). */
  readonly conflict: ReadonlyArray<string>
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return render.hierarchyError(this)
  }
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isLockError = (u: unknown): u is LockError =>
  Predicate.isTagged(u, "LockOrderViolation") || Predicate.isTagged(u, "LockRecursion") ||
  Predicate.isTagged(u, "LockUpgrade") || Predicate.isTagged(u, "LockTimeout") ||
  Predicate.isTagged(u, "PotentialDeadlock") || Predicate.isTagged(u, "DeadlockDetected")

/**
 * @since 0.1.0
 * @category guards
 */
export const isLockOrderViolation = (u: unknown): u is LockOrderViolation => u instanceof LockOrderViolation

/**
 * @since 0.1.0
 * @category guards
 */
export const isLockTimeout = (u: unknown): u is LockTimeout => u instanceof LockTimeout

/**
 * @since 0.1.0
 * @category guards
 */
export const isPotentialDeadlock = (u: unknown): u is PotentialDeadlock => u instanceof PotentialDeadlock

/**
 * @since 0.1.0
 * @category guards
 */
export const isDeadlockDetected = (u: unknown): u is DeadlockDetected => u instanceof DeadlockDetected
