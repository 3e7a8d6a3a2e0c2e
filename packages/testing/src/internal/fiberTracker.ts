import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberStatus from "effect/FiberStatus"
import * as Option from "effect/Option"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as Supervisor from "effect/Supervisor"

/**
 * A supervisor that follows every fiber forked under it: which are alive, who forked them, which are running right
 * now, and a progress counter that moves whenever a fiber starts, resumes, suspends or ends. Its hooks are plain
 * field updates so it can sit under a seeded scheduler without changing the interleaving.
 *
 * @internal
 */
export class FiberTracker extends Supervisor.AbstractSupervisor<ReadonlyArray<Fiber.RuntimeFiber<any, any>>> {
  readonly live = new Map<Fiber.RuntimeFiber<any, any>, Option.Option<FiberId.Runtime>>()
  readonly running = new Set<Fiber.RuntimeFiber<any, any>>()
  progress = 0

  readonly value: Effect.Effect<ReadonlyArray<Fiber.RuntimeFiber<any, any>>> = Effect.sync(() =>
    Array.from(this.live.keys())
  )

  override onStart<A, E, R>(
    _context: Context.Context<R>,
    _effect: Effect.Effect<A, E, R>,
    parent: Option.Option<Fiber.RuntimeFiber<any, any>>,
    fiber: Fiber.RuntimeFiber<A, E>
  ): void {
    this.live.set(fiber, Option.map(parent, (p) => p.id()))
    this.progress++
  }

  override onEnd<A, E>(_value: Exit.Exit<A, E>, fiber: Fiber.RuntimeFiber<A, E>): void {
    this.live.delete(fiber)
    this.running.delete(fiber)
    this.progress++
  }

  override onResume<A, E>(fiber: Fiber.RuntimeFiber<A, E>): void {
    this.running.add(fiber)
    this.progress++
  }

  override onSuspend<A, E>(fiber: Fiber.RuntimeFiber<A, E>): void {
    this.running.delete(fiber)
    this.progress++
  }

  /** Live fibers that are not running right now. */
  get idle(): boolean {
    for (const fiber of this.running) {
      if (this.live.has(fiber)) return false
    }
    return true
  }
}

const describeStatus = (fiber: Fiber.RuntimeFiber<any, any>, status: FiberStatus.FiberStatus): string => {
  if (FiberStatus.isDone(status)) return "done"
  if (FiberStatus.isRunning(status)) return "running"
  const interruptible = RuntimeFlags.interruptible(status.runtimeFlags) ? "interruptible" : "uninterruptible"
  // Effect 3 reports a fiber that has never suspended in `Effect.async` as suspended with a null `blockingOn`: a
  // fiber forked by `Effect.all` / `Effect.forEach` with concurrency, or by `Effect.race`, whose start is still
  // pending on its scheduler (or never comes, when the forking fiber was interrupted before starting it).
  const blocker: FiberId.FiberId | null | undefined = status.blockingOn
  if (blocker === null || blocker === undefined) {
    return `suspended (${interruptible}), not started: waiting for its scheduler to run it (or for a start that ` +
      "never comes, when the fiber that forked it was interrupted first)"
  }
  // `Effect.async` records the suspended fiber itself as the blocker; only other fibers are worth naming.
  const blockingOn = Array.from(FiberId.ids(blocker)).filter((id) => id !== fiber.id().id)
  const waiting = blockingOn.length === 0
    ? "on an async callback (a Deferred, Semaphore, Queue, sleep or other callback)"
    : `on fiber ${Array.from(blockingOn, (id) => `#${id}`).join(", ")}`
  return `suspended (${interruptible}), waiting ${waiting}`
}

/**
 * How long (real ms) a report waits for a fiber to answer a status request. A fiber answers on its own scheduler;
 * one parked on a scheduler that stopped running tasks never does, and the report must not hang on it.
 *
 * @internal
 */
export const statusTimeoutMillis = 500

/** Succeeds with `onTimeout` after `millis` of real time, whatever the `Clock` (`TestClock` never moves by itself). */
const realTimeout = <A>(millis: number, onTimeout: A): Effect.Effect<A> =>
  Effect.async<A>((resume) => {
    const handle = setTimeout(() => resume(Effect.succeed(onTimeout)), millis)
    return Effect.sync(() => clearTimeout(handle))
  })

/**
 * One line per fiber: id, parent, status, and the span it is in when it has one.
 *
 * @internal
 */
export const describeFiber = (
  fiber: Fiber.RuntimeFiber<any, any>,
  parent: Option.Option<FiberId.Runtime>
): Effect.Effect<string> =>
  Effect.map(
    // Both sides interruptible: reports run in uninterruptible regions, and the race interrupts its loser and waits.
    Effect.raceFirst(
      Effect.interruptible(Effect.map(fiber.status, Option.some)),
      Effect.interruptible(realTimeout(statusTimeoutMillis, Option.none()))
    ),
    (status) => {
      const span = fiber.currentSpan
      const spanText = span !== undefined && span._tag === "Span" ? ` in span "${span.name}"` : ""
      const parentText = Option.match(parent, {
        onNone: () => "",
        onSome: (id) => ` (forked by ${FiberId.threadName(id)})`
      })
      const statusText = Option.match(status, {
        onNone: () =>
          `status unavailable: the fiber did not answer within ${statusTimeoutMillis} ms, so its scheduler is not ` +
          "running its tasks (it yielded or was woken, and waits for a scheduler that stopped)",
        onSome: (status) => describeStatus(fiber, status)
      })
      return `fiber ${FiberId.threadName(fiber.id())}${parentText}${spanText}: ${statusText}`
    }
  )

/**
 * Describes every live fiber of a tracker, oldest first.
 *
 * @internal
 */
export const describeLive = (tracker: FiberTracker): Effect.Effect<Array<string>> =>
  Effect.forEach(Array.from(tracker.live), ([fiber, parent]) => describeFiber(fiber, parent))
