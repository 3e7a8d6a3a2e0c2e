import { CleanupCoordinator, CleanupError } from "@core-stability/cleanup"
import type { CleanupReport } from "@core-stability/cleanup/CleanupReport"
import type { CleanupStep } from "@core-stability/cleanup/CleanupStep"
import { LockHierarchy, OrderedLock } from "@core-stability/locks"
import type { LockError } from "@core-stability/locks/LockError"
import { Definition, Presets, StateMachine } from "@core-stability/state-machine"
import type { TransitionRecord } from "@core-stability/state-machine/TransitionRecord"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberHandle from "effect/FiberHandle"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberSet from "effect/FiberSet"
import { globalValue } from "effect/GlobalValue"
import { NodeInspectSymbol } from "effect/Inspectable"
import * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import type * as Api from "../ComponentCoordinator.js"
import {
  type AllocationError,
  CleanupFailed,
  ComponentFailed,
  DependencyNotRunning,
  type ErrorContext,
  HasRunningDependents,
  InvalidComponent,
  InvalidOptions,
  type RegistrationError,
  ReleaseFailed,
  RestartIntensityExceeded,
  StaleContext,
  StartFailed,
  UnknownAllocation,
  UnknownChannel,
  UnknownComponent,
  WorkerFailed,
  WorkerHung
} from "../ComponentError.js"
import * as graph from "./componentGraph.js"
import { AllocationImpl, AllocationTypeId, captureSite, Ledger, type Limits, type Request } from "./resourceLedger.js"
import * as supervisor from "./supervisor.js"

/** @internal */
export const TypeId: Api.TypeId = Symbol.for("@core-stability/coordinator/ComponentCoordinator") as Api.TypeId

/** @internal */
export const tag: Context.Tag<Api.ComponentCoordinator, Api.ComponentCoordinator> = Context.GenericTag(
  "@core-stability/coordinator/ComponentCoordinator"
)

/** @internal */
export const isComponentCoordinator = (u: unknown): u is Api.ComponentCoordinator => Predicate.hasProperty(u, TypeId)

/** @internal */
export const isAllocation = (u: unknown): u is Api.Allocation<unknown> => Predicate.hasProperty(u, AllocationTypeId)

type State = Api.ComponentState
type Machine = StateMachine.StateMachine<typeof Presets.Component>

// ---------------------------------------------------------------------------------------------------------------
// lifecycle paths over Presets.Component
// ---------------------------------------------------------------------------------------------------------------

const pathCache = new Map<string, ReadonlyArray<State>>()

/**
 * The shortest path from `from` to `to` in the component table that does not pass through `Error` (a stop or a start
 * is not a failure): `Running -> Stopping -> Stopped`, `Stopped -> Initializing`, `Idle -> Stopping -> Stopped`.
 */
const pathTo = (from: State, to: State): ReadonlyArray<State> => {
  const key = `${from}>${to}`
  const cached = pathCache.get(key)
  if (cached !== undefined) return cached
  const previous = new Map<State, State>()
  const queue: Array<State> = [from]
  const seen = new Set<State>([from])
  while (queue.length > 0) {
    const state = queue.shift()!
    if (state === to) break
    for (const next of Definition.targets(Presets.Component, state) as ReadonlyArray<State>) {
      if (seen.has(next) || (next === "Error" && to !== "Error")) continue
      seen.add(next)
      previous.set(next, state)
      queue.push(next)
    }
  }
  const path: Array<State> = []
  if (from !== to && previous.has(to)) {
    for (let state: State = to; state !== from; state = previous.get(state)!) path.unshift(state)
  }
  pathCache.set(key, path)
  return path
}

const runningStates: ReadonlySet<State> = new Set(["Running", "Paused"])
const strategies: ReadonlySet<unknown> = new Set<Api.Strategy>(["one_for_one", "one_for_all", "rest_for_one"])
const restartTypes: ReadonlySet<unknown> = new Set<Api.RestartType>(["permanent", "transient", "temporary"])
const autoShutdowns: ReadonlySet<unknown> = new Set<Resolved["autoShutdown"]>([
  "never",
  "any_significant",
  "all_significant"
])

/**
 * The ids of a `dependencies` or `channels` field, read once (any iterable, a generator included). A string is kept
 * as it is, to be refused: it is an iterable of its characters, never what was meant.
 */
const idsOf = (ids: Iterable<string> | undefined): ReadonlyArray<unknown> | string =>
  ids === undefined ? [] : typeof ids === "string" ? ids : Predicate.isIterable(ids) ? Array.from(ids) : [ids]
const quiescentStates: ReadonlySet<State> = new Set(["Uninitialized", "Stopped"])

// ---------------------------------------------------------------------------------------------------------------
// workers
// ---------------------------------------------------------------------------------------------------------------

interface WorkerRecord {
  readonly component: string
  readonly name: string
  readonly watched: boolean
  lastBeat: number
  hung: boolean
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
}

const currentWorker = globalValue(
  Symbol.for("@core-stability/coordinator/ComponentCoordinator/currentWorker"),
  () => FiberRef.unsafeMake<WorkerRecord | undefined>(undefined)
)

/** @internal */
export const heartbeat: Effect.Effect<void> = Effect.flatMap(
  FiberRef.get(currentWorker),
  (record) =>
    record === undefined ? Effect.void : Effect.map(Clock.currentTimeMillis, (now) => {
      record.lastBeat = now
    })
)

class Incarnation {
  active = true
  forked = 0
  readonly workers = new Set<WorkerRecord>()
  constructor(readonly generation: number, readonly scope: Scope.CloseableScope) {}
}

class Entry {
  generation = 0
  incarnation: Incarnation | undefined = undefined
  restarts = 0
  failures = 0
  lastFailure: { readonly at: number; readonly error: ErrorContext } | undefined = undefined
  lastRestartAt: number | undefined = undefined
  driver: Schedule.ScheduleDriver<unknown, unknown> | undefined = undefined
  /** `cleanupComponent` runs that have this component among their targets. */
  cleanups = 0
  /** Completed when the last of those runs ends; starts of the component wait for it. */
  cleanupDone: Deferred.Deferred<void> | undefined = undefined
  /** Changes when a cleanup begins and ends: a restart planned in another component epoch skips the component. */
  planEpoch = 0
  constructor(
    readonly id: string,
    readonly dependencies: ReadonlyArray<string>,
    readonly channels: ReadonlyArray<string>,
    readonly start: ((context: Api.ComponentContext) => Effect.Effect<unknown, unknown, unknown>) | undefined,
    readonly healthCheck: Effect.Effect<boolean | Api.HealthStatus, unknown, unknown> | undefined,
    readonly type: Api.RestartType,
    readonly strategy: Api.Strategy,
    readonly significant: boolean,
    readonly quota: Limits | undefined,
    readonly shutdownMs: number,
    readonly context: Context.Context<any>,
    readonly machine: Machine
  ) {}
  get state(): State {
    return StateMachine.unsafeGet(this.machine)
  }
}

/** A caller waiting for a release fiber since `since` (ms): `done` gets the fiber's exit, or `None` on timeout. */
interface ReleaseWait {
  readonly since: number
  readonly done: Deferred.Deferred<Option.Option<Exit.Exit<unknown, unknown>>>
}

type Event =
  | { readonly _tag: "Failed"; readonly entry: Entry; readonly generation: number; readonly error: ErrorContext }
  | { readonly _tag: "Exited"; readonly entry: Entry; readonly generation: number }
  | { readonly _tag: "Due"; readonly plan: RestartPlan; readonly allowed: boolean }

interface RestartPlan {
  readonly _tag: "Restart"
  readonly entry: Entry
  readonly ids: ReadonlyArray<string>
  /** The `planEpoch` of each component of `ids` when the restart was planned. */
  readonly planEpochs: ReadonlyArray<number>
  readonly epoch: number
}

type Plan =
  | { readonly _tag: "Done" }
  | RestartPlan
  | { readonly _tag: "Escalate"; readonly error: RestartIntensityExceeded; readonly epoch: number }
  | { readonly _tag: "Shutdown"; readonly component: string; readonly epoch: number }

interface Resolved {
  readonly name: string
  readonly strategy: Api.Strategy
  readonly maxRestarts: number
  readonly periodMs: number
  readonly backoff: Schedule.Schedule<unknown, unknown>
  readonly heartbeatMs: number
  readonly hungAfterMs: number
  readonly failureWindowMs: number
  readonly healthTimeoutMs: number
  readonly limits: Map<string, number>
  readonly componentQuota: Limits
  readonly channelQuota: Limits
  readonly autoShutdown: "never" | "any_significant" | "all_significant"
  readonly shutdownMs: number
  readonly historySize: number
}

const defaultBackoff: Schedule.Schedule<unknown, unknown> = Schedule.exponential(Duration.millis(100)).pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced(Duration.seconds(5)))
)

const firstLine = (error: { readonly message: string }): string => error.message.split("\n")[0] ?? ""

// ---------------------------------------------------------------------------------------------------------------
// the coordinator
// ---------------------------------------------------------------------------------------------------------------

class CoordinatorImpl implements Api.ComponentCoordinator {
  readonly [TypeId]: Api.TypeId = TypeId
  readonly name: string
  readonly entries = new Map<string, Entry>()
  readonly sequence: Array<Entry> = []
  readonly ledger: Ledger
  readonly liveWorkers = new Set<WorkerRecord>()
  /** Callers waiting for a release that did not complete at once; the heartbeat monitor times them out. */
  readonly releaseWaits = new Set<ReleaseWait>()
  listeners: ReadonlyArray<Queue.Queue<Api.StateChange>> = []
  listenerCount = 0
  restartTimes: Array<number> = []
  pending = new Set<string>()
  /** Changes on every `startAll`, `stopAll`, escalation and shutdown: a restart planned in another epoch is dropped. */
  epoch = 0
  closed = false
  termination: Deferred.Deferred<Api.Termination, RestartIntensityExceeded>

  constructor(
    readonly options: Resolved,
    readonly lock: OrderedLock.OrderedLock,
    readonly threadLock: OrderedLock.OrderedLock,
    readonly events: Queue.Queue<Event>,
    readonly runtime: Runtime.Runtime<never>,
    readonly monitorHandle: FiberHandle.FiberHandle<never, never>,
    readonly timers: FiberSet.FiberSet<void, never>,
    termination: Deferred.Deferred<Api.Termination, RestartIntensityExceeded>
  ) {
    this.name = options.name
    this.termination = termination
    this.ledger = new Ledger(options.limits, options.componentQuota, options.channelQuota)
  }

  pipe(...args: Array<unknown>) {
    return pipeArguments(this, args as unknown as IArguments)
  }
  toJSON(): unknown {
    return {
      _id: "ComponentCoordinator",
      name: this.name,
      components: this.sequence.map((entry) => ({ id: entry.id, state: entry.state }))
    }
  }
  toString(): string {
    return `ComponentCoordinator(${this.name}, ${this.sequence.length} components)`
  }
  [NodeInspectSymbol](): unknown {
    return this.toJSON()
  }

  withLifecycle<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | LockError, R> {
    return OrderedLock.withLock(this.lock, effect)
  }

  lookup(id: string): Effect.Effect<Entry, UnknownComponent> {
    const entry = this.entries.get(id)
    return entry === undefined ? Effect.fail(new UnknownComponent({ component: id })) : Effect.succeed(entry)
  }

  /** Forks an effect as a root fiber of the coordinator's runtime: it inherits no lock from the forking fiber. */
  forkClean<A, E>(effect: Effect.Effect<A, E>): Fiber.RuntimeFiber<A, E> {
    return Runtime.runFork(this.runtime)(effect)
  }

  // ----- notifications -----

  publish(change: Api.StateChange): void {
    for (const queue of this.listeners) queue.unsafeOffer(change)
  }

  move(
    entry: Entry,
    to: State,
    reason: string | undefined,
    error?: ErrorContext
  ): Effect.Effect<TransitionRecord<State>, Effect.Effect.Error<ReturnType<typeof StateMachine.transitionTo>>> {
    return Effect.map(
      StateMachine.transitionTo(entry.machine, to as "Stopped", { reason }),
      (record) => {
        this.publish({
          component: entry.id,
          from: record.from,
          to: record.to,
          at: record.at,
          reason,
          generation: entry.generation,
          error
        })
        return record
      }
    )
  }

  /** Moves along the shortest non-error path; a refusal means our own bookkeeping is broken, so it is a defect. */
  moveAlong(entry: Entry, to: State, reason: string): Effect.Effect<void> {
    return Effect.suspend(() => {
      const path = pathTo(entry.state, to)
      return Effect.orDie(Effect.forEach(path, (state) => this.move(entry, state, reason), { discard: true }))
    })
  }

  fail(entry: Entry, error: ErrorContext): Effect.Effect<void> {
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      entry.failures++
      entry.lastFailure = { at: now, error }
      return entry.state === "Error" ? Effect.void : Effect.orDie(this.move(entry, "Error", error.message, error))
    })
  }

  // ----- workers -----

  context(entry: Entry, incarnation: Incarnation): Api.ComponentContext {
    // checked before the limits are reserved and again once the value is acquired: a context whose incarnation has
    // ended (a worker that outlived its stop) never allocates, least of all into the next incarnation
    const stale = (): StaleContext | undefined =>
      entry.incarnation === incarnation && incarnation.active ? undefined : new StaleContext({
        component: entry.id,
        generation: incarnation.generation,
        current: entry.incarnation?.active === true ? entry.incarnation.generation : undefined
      })
    return {
      id: entry.id,
      channels: entry.channels,
      generation: incarnation.generation,
      fork: (worker, options) => this.forkWorker(entry, incarnation, worker, options),
      allocate: (resource) => this.allocateOne(entry.id, resource, resource.site ?? captureSite(), stale),
      allocateAll: (resources) => this.allocateMany(entry.id, resources, captureSite(), stale) as any
    }
  }

  forkWorker<A, E, R>(
    entry: Entry,
    incarnation: Incarnation,
    worker: Effect.Effect<A, E, R>,
    options: Api.WorkerOptions | undefined
  ): Effect.Effect<Fiber.RuntimeFiber<A, E>, never, R> {
    return Effect.flatMap(Effect.context<R>(), (context) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        incarnation.forked++
        const record: WorkerRecord = {
          component: entry.id,
          name: options?.name ?? `worker-${incarnation.forked}`,
          watched: options?.heartbeat === true,
          lastBeat: now,
          hung: false,
          fiber: undefined
        }
        const fiber = this.forkClean(Effect.locally(Effect.provide(worker, context), currentWorker, record))
        record.fiber = fiber as Fiber.RuntimeFiber<unknown, unknown>
        incarnation.workers.add(record)
        this.liveWorkers.add(record)
        fiber.addObserver((exit) => this.onWorkerExit(entry, incarnation, record, exit))
        if (!incarnation.active) fiber.unsafeInterruptAsFork(fiber.id())
        return fiber
      }))
  }

  onWorkerExit(entry: Entry, incarnation: Incarnation, record: WorkerRecord, exit: Exit.Exit<unknown, unknown>): void {
    incarnation.workers.delete(record)
    this.liveWorkers.delete(record)
    if (!incarnation.active || record.hung) return
    if (Exit.isSuccess(exit)) {
      if (incarnation.workers.size === 0) {
        this.events.unsafeOffer({ _tag: "Exited", entry, generation: incarnation.generation })
      }
      return
    }
    this.events.unsafeOffer({
      _tag: "Failed",
      entry,
      generation: incarnation.generation,
      error: new WorkerFailed({
        component: entry.id,
        worker: record.name,
        fiber: `#${record.fiber?.id().id ?? "?"}`,
        cause: exit.cause
      })
    })
  }

  /**
   * Interrupts the incarnation's workers and waits for them at most the component's shutdown timeout. The wait itself
   * is interruptible even inside an uninterruptible region (the coordinator's finalizer), so the timeout always ends
   * it; a worker that ignores its interruption is left running.
   */
  stopWorkers(entry: Entry, incarnation: Incarnation): Effect.Effect<void> {
    return Effect.suspend(() => {
      incarnation.active = false
      const fibers = Array.from(incarnation.workers, (record) => record.fiber!)
      if (fibers.length === 0) return Effect.void
      return Effect.forEach(fibers, Fiber.interruptFork, { discard: true }).pipe(
        Effect.zipRight(Effect.timeoutOption(Effect.interruptible(Fiber.awaitAll(fibers)), entry.shutdownMs)),
        Effect.flatMap((done) =>
          Option.isSome(done) ? Effect.void : Effect.logWarning(
            `component "${entry.id}": ${incarnation.workers.size} worker(s) still alive ${entry.shutdownMs} ms after interruption`
          )
        )
      )
    })
  }

  closeScope(entry: Entry, incarnation: Incarnation): Effect.Effect<void> {
    return Effect.flatMap(
      Effect.exit(Scope.close(incarnation.scope, Exit.void)),
      (exit) =>
        Exit.isSuccess(exit) ? Effect.void : Effect.logWarning(
          `component "${entry.id}": a finalizer of its scope failed`,
          exit.cause
        )
    )
  }

  /**
   * Releases every allocation of the component, newest first, each bounded by the shutdown timeout (a release that is
   * already running is waited for, never started twice); returns the failures (those stay on the books, flagged).
   */
  releaseAll(id: string): Effect.Effect<ReadonlyArray<ReleaseFailed>> {
    return Effect.suspend(() => {
      const failures: Array<ReleaseFailed> = []
      return Effect.as(
        Effect.forEach(
          this.ledger.heldBy(id),
          (allocation) =>
            Effect.catchAll(this.settleRelease(allocation), (error) =>
              Effect.sync(() => {
                failures.push(error)
              })),
          { discard: true }
        ),
        failures
      )
    })
  }

  /**
   * Closes the incarnation's scope and only then detaches it, then releases the component's resources: one
   * uninterruptible step (every wait in it is bounded by the shutdown timeout).
   */
  finishTeardown(entry: Entry, incarnation: Incarnation | undefined): Effect.Effect<void> {
    const release = Effect.flatMap(this.releaseAll(entry.id), (failures) =>
      failures.length === 0
        ? Effect.void
        : Effect.logWarning(`component "${entry.id}": ${failures.length} release(s) failed`, ...failures))
    return Effect.uninterruptible(
      incarnation === undefined ? release : this.closeScope(entry, incarnation).pipe(
        Effect.zipRight(Effect.sync(() => {
          if (entry.incarnation === incarnation) entry.incarnation = undefined
        })),
        Effect.zipRight(release)
      )
    )
  }

  /**
   * Ends the current incarnation: workers, then the start effect's scope, then the resources. The incarnation stays
   * attached until its scope is closed: a stop interrupted while it waits for the workers (a caller's timeout) leaves
   * the component `Stopping` with its incarnation in place, and the next stop, start or cleanup finishes the job.
   */
  teardown(entry: Entry): Effect.Effect<void> {
    return Effect.suspend(() => {
      const incarnation = entry.incarnation
      if (incarnation === undefined) return this.finishTeardown(entry, undefined)
      return Effect.zipRight(this.stopWorkers(entry, incarnation), this.finishTeardown(entry, incarnation))
    })
  }

  /** Stops a component to `Stopped` (through `Stopping`). Under the lifecycle lock. */
  stopOne(entry: Entry, reason: string): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (entry.incarnation !== undefined) entry.incarnation.active = false
      const state = entry.state
      const toStopping = state === "Error" || state === "Initializing" || quiescentStates.has(state)
        ? Effect.void
        : this.moveAlong(entry, "Stopping", reason)
      const toStopped = state === "Uninitialized" ? Effect.void : this.moveAlong(entry, "Stopped", reason)
      return toStopping.pipe(Effect.zipRight(this.teardown(entry)), Effect.zipRight(toStopped))
    })
  }

  /** Starts a component whose dependencies run. Under the lifecycle lock. Returns whether it started. */
  startOne(entry: Entry, reason: string): Effect.Effect<boolean, StartFailed | DependencyNotRunning> {
    return Effect.suspend((): Effect.Effect<boolean, StartFailed | DependencyNotRunning> => {
      const state = entry.state
      if (runningStates.has(state)) return Effect.succeed(false)
      for (const dependency of entry.dependencies) {
        const dependencyState = this.entries.get(dependency)!.state
        if (!runningStates.has(dependencyState)) {
          return Effect.fail(
            new DependencyNotRunning({ component: entry.id, dependency, state: dependencyState })
          )
        }
      }
      // an incarnation still attached (the component was moved to Error or Stopped by `transition`, or a stop was
      // interrupted) is torn down first: its workers, its scope and its resources never outlive the new start
      const previous = entry.incarnation === undefined ? Effect.void : this.teardown(entry)
      const initialize = state === "Idle" || state === "Initiating" || state === "Initializing"
        ? Effect.void
        : this.moveAlong(entry, "Initializing", reason)
      return Effect.flatMap(previous.pipe(Effect.zipRight(initialize), Effect.zipRight(Scope.make())), (scope) => {
        entry.generation++
        const incarnation = new Incarnation(entry.generation, scope)
        entry.incarnation = incarnation
        const start = entry.start
        // suspended: a start function that throws before returning its effect is a StartFailed like any other
        const run = start === undefined
          ? Effect.void
          : Effect.suspend(() => start(this.context(entry, incarnation))).pipe(
            Scope.extend(scope),
            Effect.provide(entry.context)
          ) as Effect.Effect<unknown, unknown>
        return Effect.flatMap(Effect.exit(run), (exit) => {
          if (Exit.isSuccess(exit)) return Effect.as(this.moveAlong(entry, "Running", reason), true)
          const error = new StartFailed({ component: entry.id, cause: exit.cause })
          incarnation.active = false
          return this.fail(entry, error).pipe(
            Effect.zipRight(this.teardown(entry)),
            Effect.zipRight(Effect.fail(error))
          )
        })
      })
    })
  }

  stopAllLocked(reason: string): Effect.Effect<ReadonlyArray<string>> {
    return Effect.suspend(() => {
      this.epoch++
      this.pending.clear()
      const stopped: Array<string> = []
      return Effect.as(
        Effect.forEach(
          this.sequence.slice().reverse(),
          (entry) => {
            const state = entry.state
            if (entry.incarnation === undefined && (quiescentStates.has(state) || state === "Error")) {
              return this.ledger.heldBy(entry.id).length === 0 ? Effect.void : this.teardown(entry)
            }
            stopped.push(entry.id)
            return this.stopOne(entry, reason)
          },
          { discard: true }
        ),
        stopped
      )
    })
  }

  // ----- registration -----

  register<E = never, R = never>(
    spec: Api.ComponentSpec<E, R>
  ): Effect.Effect<void, RegistrationError | LockError, Exclude<R, Scope.Scope>> {
    return this.registerAll([spec])
  }

  registerAll<E = never, R = never>(
    specs: Iterable<Api.ComponentSpec<E, R>>
  ): Effect.Effect<void, RegistrationError | LockError, Exclude<R, Scope.Scope>> {
    return Effect.flatMap(
      Effect.context<Exclude<R, Scope.Scope>>(),
      (context) =>
        this.withLifecycle(Effect.suspend(() => {
          const batch: Array<
            Api.ComponentSpec<E, R> & {
              readonly dependencies: ReadonlyArray<string>
              readonly channels: ReadonlyArray<string>
            }
          > = []
          for (const spec of specs) {
            // each iterable is read once (it may be a generator), then validated
            const dependencies = idsOf(spec.dependencies)
            const channels = idsOf(spec.channels)
            const invalid = this.validate(spec, dependencies, channels)
            if (invalid !== undefined) return Effect.fail(invalid)
            batch.push({
              ...spec,
              dependencies: Array.from(new Set(dependencies as ReadonlyArray<string>)),
              channels: channels as ReadonlyArray<string>
            })
          }
          const ordered = graph.orderBatch(this.entries, batch)
          if (Either.isLeft(ordered)) return Effect.fail(ordered.left)
          return Effect.forEach(ordered.right, (spec) =>
            Effect.map(
              StateMachine.make(Presets.Component, { name: spec.id, historySize: this.options.historySize }),
              (machine) => {
                const entry = new Entry(
                  spec.id,
                  spec.dependencies,
                  spec.channels,
                  spec.start as Entry["start"],
                  spec.healthCheck as Entry["healthCheck"],
                  spec.restart?.type ?? "permanent",
                  spec.restart?.strategy ?? this.options.strategy,
                  spec.restart?.significant ?? false,
                  spec.quota,
                  spec.shutdownTimeout === undefined
                    ? this.options.shutdownMs
                    : Duration.toMillis(spec.shutdownTimeout),
                  context,
                  machine
                )
                this.entries.set(entry.id, entry)
                this.sequence.push(entry)
              }
            ), { discard: true })
        }))
    )
  }

  validate(
    spec: Api.ComponentSpec<unknown, unknown>,
    dependencies: ReadonlyArray<unknown> | string,
    channels: ReadonlyArray<unknown> | string
  ): InvalidComponent | undefined {
    const invalid = (reason: string) => new InvalidComponent({ component: String(spec.id), reason })
    if (typeof spec.id !== "string" || spec.id.length === 0) return invalid("the id must be a non-empty string")
    for (const [field, ids] of [["dependencies", dependencies], ["channels", channels]] as const) {
      if (typeof ids === "string") {
        return invalid(
          `${field} must be an iterable of ids, not a string (a string iterates over its characters): write [${
            JSON.stringify(ids)
          }]`
        )
      }
      const bad = ids.find((id) => typeof id !== "string" || id.length === 0)
      if (bad !== undefined) return invalid(`${field} must hold non-empty strings, got ${JSON.stringify(bad)}`)
    }
    if (new Set(channels).size !== channels.length) return invalid("a channel is named twice")
    const restart = spec.restart
    if (restart?.type !== undefined && !restartTypes.has(restart.type)) {
      return invalid(
        `restart.type must be "permanent", "transient" or "temporary", got ${JSON.stringify(restart.type)}`
      )
    }
    if (restart?.strategy !== undefined && !strategies.has(restart.strategy)) {
      return invalid(
        `restart.strategy must be "one_for_one", "one_for_all" or "rest_for_one", got ${
          JSON.stringify(restart.strategy)
        }`
      )
    }
    if (restart?.significant !== undefined && typeof restart.significant !== "boolean") {
      return invalid(`restart.significant must be a boolean, got ${JSON.stringify(restart.significant)}`)
    }
    for (const [type, limit] of Object.entries(spec.quota ?? {})) {
      if (!Number.isInteger(limit) || limit < 0) return invalid(`quota.${type} must be a non-negative integer`)
    }
    if (spec.restart?.significant === true && (spec.restart.type ?? "permanent") === "permanent") {
      return invalid("a permanent component cannot be significant (make it transient or temporary)")
    }
    if (spec.shutdownTimeout !== undefined && !(Duration.toMillis(spec.shutdownTimeout) >= 0)) {
      return invalid("shutdownTimeout must be a non-negative duration")
    }
    return undefined
  }

  // ----- lifecycle -----

  /**
   * Runs a lifecycle operation for its caller. A worker of this coordinator (or a fiber it forked) may stop its own
   * component, which interrupts it: the operation then runs in a fiber of its own that the interruption does not
   * reach, and the caller awaits it (an interrupted caller stops waiting; the operation completes).
   */
  forCaller<A, E>(operation: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.flatMap(
      FiberRef.get(currentWorker),
      (worker) =>
        worker === undefined ? operation : Effect.flatMap(Fiber.await(this.forkClean(operation)), (exit) => exit)
    )
  }

  /**
   * Runs `body` under the lifecycle lock once no cleanup of the components `busy` names is in progress: a cleanup
   * takes the lock once per step, and a start between two steps would start an incarnation that the next steps then
   * take apart. The check is repeated under the lock; if a cleanup began meanwhile, the lock is let go and the wait
   * starts again.
   */
  whenNotCleaning<A, E>(
    busy: () => Entry | undefined,
    body: Effect.Effect<A, E>
  ): Effect.Effect<A, E | LockError> {
    const attempt: Effect.Effect<A, E | LockError> = Effect.suspend(() => {
      const cleaning = busy()?.cleanupDone
      if (cleaning !== undefined) {
        // a caller that holds the lock (a start effect) must not wait for a cleanup that needs it: it gets the
        // lock's LockRecursion at once instead
        return Effect.flatMap(
          OrderedLock.heldByCurrentFiber(this.lock),
          (held) => held ? this.withLifecycle(body) : Effect.zipRight(Deferred.await(cleaning), attempt)
        )
      }
      return Effect.flatMap(
        this.withLifecycle(
          Effect.suspend(() => busy() === undefined ? Effect.map(body, Option.some) : Effect.succeed(Option.none<A>()))
        ),
        (done) => Option.isSome(done) ? Effect.succeed(done.value) : attempt
      )
    })
    return attempt
  }

  /** The entry or one of its dependencies, if a cleanup of it is in progress. */
  cleaningAround(entry: Entry): Entry | undefined {
    if (entry.cleanups > 0) return entry
    for (const dependency of entry.dependencies) {
      const other = this.entries.get(dependency)!
      if (other.cleanups > 0) return other
    }
    return undefined
  }

  get startAll(): Effect.Effect<ReadonlyArray<string>, StartFailed | DependencyNotRunning | LockError> {
    return this.forCaller(this.whenNotCleaning(
      () => this.sequence.find((entry) => entry.cleanups > 0),
      Effect.gen(this, function*() {
        if (yield* Deferred.isDone(this.termination)) {
          // a new group: a fresh termination and a fresh restart intensity
          this.termination = yield* Deferred.make<Api.Termination, RestartIntensityExceeded>()
          this.restartTimes = []
        }
        // restarts planned before are dropped (their epoch is stale), and so is what they left pending
        this.epoch++
        this.pending.clear()
        const started: Array<string> = []
        for (const entry of this.sequence) {
          if (yield* this.startOne(entry, "startAll")) started.push(entry.id)
        }
        return started
      })
    ))
  }

  get stopAll(): Effect.Effect<ReadonlyArray<string>, LockError> {
    return this.forCaller(this.withLifecycle(Effect.tap(
      this.stopAllLocked("stopAll"),
      () => Deferred.succeed(this.termination, { _tag: "Stopped" })
    )))
  }

  start(id: string) {
    return Effect.flatMap(
      this.lookup(id),
      (entry) =>
        this.forCaller(
          this.whenNotCleaning(() => this.cleaningAround(entry), Effect.asVoid(this.startOne(entry, "start")))
        )
    )
  }

  restart(id: string) {
    return Effect.flatMap(this.lookup(id), (entry) =>
      this.forCaller(this.whenNotCleaning(
        () => this.cleaningAround(entry),
        Effect.suspend(() => {
          entry.restarts++
          return Effect.zipRight(this.stopOne(entry, "restart"), Effect.asVoid(this.startOne(entry, "restart")))
        })
      )))
  }

  transition(id: string, to: State, options?: { readonly reason?: string | undefined }) {
    return Effect.flatMap(this.lookup(id), (entry) =>
      this.withLifecycle(Effect.suspend(() => {
        const reason = options?.reason
        if (to !== "Error") return this.move(entry, to, reason)
        const error = new ComponentFailed({ component: id, reason: reason ?? "marked failed" })
        return Effect.flatMap(Clock.currentTimeMillis, (now) => {
          entry.failures++
          entry.lastFailure = { at: now, error }
          return this.move(entry, to, reason, error)
        })
      })))
  }

  state(id: string) {
    return Effect.map(this.lookup(id), (entry) => entry.state)
  }

  history(id: string, query?: StateMachine.HistoryQuery) {
    return Effect.flatMap(this.lookup(id), (entry) => StateMachine.history(entry.machine, query))
  }

  get components(): Effect.Effect<ReadonlyArray<Api.ComponentInfo>> {
    return Effect.sync(() =>
      this.sequence.map((entry): Api.ComponentInfo => ({
        id: entry.id,
        state: entry.state,
        dependencies: entry.dependencies,
        channels: entry.channels,
        restart: { type: entry.type, strategy: entry.strategy, significant: entry.significant },
        generation: entry.generation,
        restarts: entry.restarts,
        failures: entry.failures,
        lastFailure: entry.lastFailure,
        workers: entry.incarnation?.workers.size ?? 0,
        allocations: this.ledger.heldBy(entry.id).length
      }))
    )
  }

  get order(): Effect.Effect<ReadonlyArray<string>> {
    return Effect.sync(() => this.sequence.map((entry) => entry.id))
  }

  // ----- cleanup -----

  cleanupComponent(id: string, options?: { readonly cascade?: boolean | undefined }) {
    return Effect.flatMap(
      this.lookup(id),
      (entry) =>
        this.forCaller(
          Effect.suspend((): Effect.Effect<CleanupReport, HasRunningDependents | CleanupFailed | LockError> => {
            // the components this run has marked (set in the same synchronous step as the marks): unmarked on every
            // exit, an interruption included
            let marked: ReadonlyArray<Entry> | undefined = undefined
            // the dependents check and the marking are one step under the lifecycle lock: a start of a dependent
            // holds the lock until the dependent runs (and is then seen here), and a start that comes later sees the
            // marks and waits for the cleanup
            const begin = this.withLifecycle(
              Effect.suspend((): Effect.Effect<ReadonlyArray<Entry>, HasRunningDependents> => {
                const ids = this.sequence.map((other) => other.id)
                const dependents = graph.transitiveDependents(id, ids, (other) => this.entries.get(other)!.dependencies)
                  .filter((other) => runningStates.has(this.entries.get(other)!.state))
                if (dependents.length > 0 && options?.cascade !== true) {
                  return Effect.fail(new HasRunningDependents({ component: id, dependents }))
                }
                const targets = [...dependents.slice().reverse(), id].map((other) => this.entries.get(other)!)
                this.beginCleanup(targets)
                marked = targets
                return Effect.succeed(targets)
              })
            )
            const cleanup = (targets: ReadonlyArray<Entry>) =>
              Effect.flatMap(
                CleanupCoordinator.run(this.cleanupSteps(targets), { key: `${this.name}:${id}`, retries: 1 }).pipe(
                  // the steps are generated here: a refused batch is a bug
                  Effect.catchIf(CleanupError.isRegistrationError, Effect.die)
                ),
                (report): Effect.Effect<CleanupReport, CleanupFailed | LockError> =>
                  report.status === "Completed" ? Effect.succeed(report) : this.withLifecycle(Effect.forEach(
                    targets,
                    (target) =>
                      target.state === "Stopped" || target.state === "Error" ? Effect.void : this.fail(
                        target,
                        new ComponentFailed({
                          component: target.id,
                          reason: `cleanup did not complete (run ${report.run})`
                        })
                      ),
                    { discard: true }
                  )).pipe(Effect.zipRight(Effect.fail(new CleanupFailed({ component: entry.id, report }))))
              )
            return Effect.ensuring(
              Effect.flatMap(begin, cleanup),
              Effect.sync(() => {
                if (marked !== undefined) this.endCleanup(marked)
              })
            )
          })
        )
    )
  }

  /**
   * Marks the targets as being cleaned up: starts of them (and of their dependents) wait until the cleanup ends, the
   * supervisor leaves them alone, and the restarts planned for them are dropped.
   */
  beginCleanup(targets: ReadonlyArray<Entry>): void {
    for (const target of targets) {
      if (target.cleanups++ === 0) target.cleanupDone = Deferred.unsafeMake<void>(FiberId.none)
      target.planEpoch++
      this.pending.delete(target.id)
    }
  }

  endCleanup(targets: ReadonlyArray<Entry>): void {
    for (const target of targets) {
      // a restart planned while the cleanup ran is dropped too
      target.planEpoch++
      if (--target.cleanups === 0) {
        const done = target.cleanupDone!
        target.cleanupDone = undefined
        Deferred.unsafeDone(done, Exit.void)
      }
    }
  }

  cleanupSteps(targets: ReadonlyArray<Entry>): ReadonlyArray<CleanupStep<unknown>> {
    const inTargets = new Set(targets.map((target) => target.id))
    return targets.flatMap((target): ReadonlyArray<CleanupStep<unknown>> => {
      const dependents = targets.filter((other) => other.dependencies.includes(target.id) && inTargets.has(other.id))
      return [
        {
          name: `${target.id}:stop-workers`,
          phase: "StoppingCapture",
          dependsOn: dependents.map((other) => `${other.id}:stopped`),
          timeout: target.shutdownMs + 5_000,
          run: this.withLifecycle(Effect.suspend(() => {
            const incarnation = target.incarnation
            if (incarnation !== undefined) incarnation.active = false
            const state = target.state
            const toStopping = state === "Error" || state === "Initializing" || quiescentStates.has(state)
              ? Effect.void
              : this.moveAlong(target, "Stopping", "cleanup")
            if (incarnation === undefined) return toStopping
            // as in `teardown`: the incarnation is detached only once its scope is closed
            return toStopping.pipe(
              Effect.zipRight(this.stopWorkers(target, incarnation)),
              Effect.zipRight(Effect.uninterruptible(Effect.zipRight(
                this.closeScope(target, incarnation),
                Effect.sync(() => {
                  if (target.incarnation === incarnation) target.incarnation = undefined
                })
              )))
            )
          })),
          verify: Effect.sync(() => !Array.from(this.liveWorkers).some((record) => record.component === target.id))
        },
        {
          name: `${target.id}:release`,
          phase: "ReleasingResources",
          dependsOn: [`${target.id}:stop-workers`],
          // each release is bounded by the shutdown timeout
          timeout: this.options.shutdownMs + 5_000,
          run: this.withLifecycle(
            Effect.flatMap(
              this.releaseAll(target.id),
              (failures) => failures.length === 0 ? Effect.void : Effect.fail(failures[0]!)
            )
          ),
          verify: Effect.sync(() => this.ledger.heldBy(target.id).length === 0)
        },
        {
          name: `${target.id}:stopped`,
          phase: "ReleasingResources",
          dependsOn: [`${target.id}:release`],
          run: this.withLifecycle(
            Effect.suspend(() =>
              target.state === "Uninitialized" ? Effect.void : this.moveAlong(target, "Stopped", "cleanup")
            )
          ),
          verify: Effect.sync(() => target.state === "Stopped" || target.state === "Uninitialized")
        }
      ]
    })
  }

  // ----- supervision -----

  /** The supervisor's loop: one event at a time. */
  get supervise(): Effect.Effect<never> {
    return Effect.forever(Effect.flatMap(Queue.take(this.events), (event) =>
      this.handle(event).pipe(
        Effect.catchAllCause((cause) => Effect.logError("component supervisor: handling an event failed", cause))
      )))
  }

  handle(event: Event): Effect.Effect<void, LockError> {
    if (event._tag === "Due") return this.due(event.plan, event.allowed)
    const entry = event.entry
    return Effect.flatMap(
      this.withLifecycle(Effect.suspend(() => {
        const incarnation = entry.incarnation
        if (
          this.closed || incarnation === undefined || incarnation.generation !== event.generation ||
          !incarnation.active || (event._tag === "Exited" && incarnation.workers.size > 0)
        ) return Effect.succeed<Plan>({ _tag: "Done" })
        return this.end(entry, event._tag === "Failed" ? event.error : undefined)
      })),
      (plan) => this.execute(plan)
    )
  }

  /**
   * A component ended (abnormally with `error`, or normally): record it, stop it, and decide. Under the lock.
   */
  end(entry: Entry, error: ErrorContext | undefined): Effect.Effect<Plan> {
    return Effect.gen(this, function*() {
      const live = this.sequence.filter((other) => other === entry || other.incarnation?.active === true).map((other) =>
        other.id
      )
      if (error !== undefined) {
        if (entry.incarnation !== undefined) entry.incarnation.active = false
        yield* this.fail(entry, error)
        yield* this.teardown(entry)
      } else {
        yield* this.stopOne(entry, "exited")
      }
      return yield* this.decide(entry, error, live)
    })
  }

  decide(entry: Entry, error: ErrorContext | undefined, live: ReadonlyArray<string>): Effect.Effect<Plan> {
    return Effect.gen(this, function*() {
      if (entry.cleanups > 0) {
        // a component being cleaned up stays down: its cleanup, not the supervisor, decides how it ends
        this.pending.delete(entry.id)
        return { _tag: "Done" } as const
      }
      if (!supervisor.shouldRestart(entry.type, error !== undefined)) {
        this.pending.delete(entry.id)
        if (entry.significant && this.shouldShutdown(entry)) {
          return { _tag: "Shutdown", component: entry.id, epoch: this.epoch } as const
        }
        return { _tag: "Done" } as const
      }
      const now = yield* Clock.currentTimeMillis
      if (!supervisor.admitRestart(this.restartTimes, now, this.options.maxRestarts, this.options.periodMs)) {
        return {
          _tag: "Escalate",
          epoch: this.epoch,
          error: new RestartIntensityExceeded({
            component: entry.id,
            maxRestarts: this.options.maxRestarts,
            periodMs: this.options.periodMs,
            reason: "intensity",
            failure: error ?? new ComponentFailed({ component: entry.id, reason: "exited normally" })
          })
        } as const
      }
      const affected = new Set(supervisor.affected(entry.strategy, entry.id, live))
      for (const id of this.pending) affected.add(id)
      const ids = this.sequence.filter((other) => affected.has(other.id) && other.cleanups === 0).map((other) =>
        other.id
      )
      for (const id of ids) this.pending.add(id)
      // stop the others, newest first
      for (const other of ids.slice().reverse()) {
        const target = this.entries.get(other)!
        if (target !== entry && target.incarnation !== undefined) yield* this.stopOne(target, `restart of ${entry.id}`)
      }
      const planEpochs = ids.map((id) => this.entries.get(id)!.planEpoch)
      return { _tag: "Restart", entry, ids, planEpochs, epoch: this.epoch } as const
    })
  }

  shouldShutdown(entry: Entry): boolean {
    switch (this.options.autoShutdown) {
      case "never":
        return false
      case "any_significant":
        return true
      case "all_significant":
        return this.sequence.every((other) => !other.significant || other === entry || other.incarnation === undefined)
    }
  }

  execute(plan: Plan): Effect.Effect<void, LockError> {
    switch (plan._tag) {
      case "Done":
        return Effect.void
      case "Escalate":
        return this.withLifecycle(Effect.suspend(() => {
          if (plan.epoch !== this.epoch) return Effect.void
          return Effect.zipRight(this.stopAllLocked("escalation"), Deferred.fail(this.termination, plan.error))
        }))
      case "Shutdown":
        return this.withLifecycle(Effect.suspend(() => {
          if (plan.epoch !== this.epoch) return Effect.void
          return Effect.zipRight(
            this.stopAllLocked(`significant component "${plan.component}" exited`),
            Deferred.succeed(this.termination, { _tag: "SignificantExit", component: plan.component })
          )
        }))
      case "Restart":
        // the backoff runs in its own fiber: the supervisor keeps handling events meanwhile
        return Effect.asVoid(FiberSet.run(
          this.timers,
          Effect.flatMap(
            this.backoff(plan.entry),
            (allowed) => Queue.offer(this.events, { _tag: "Due", plan, allowed })
          )
        ))
    }
  }

  /** A restart whose backoff has passed (or whose backoff schedule ended). */
  due(plan: RestartPlan, allowed: boolean): Effect.Effect<void, LockError> {
    if (allowed) return Effect.flatMap(this.withLifecycle(this.restartSet(plan)), (next) => this.execute(next))
    return this.execute({
      _tag: "Escalate",
      epoch: plan.epoch,
      error: new RestartIntensityExceeded({
        component: plan.entry.id,
        maxRestarts: this.options.maxRestarts,
        periodMs: this.options.periodMs,
        reason: "backoff",
        failure: plan.entry.lastFailure?.error ??
          new ComponentFailed({ component: plan.entry.id, reason: "exited normally" })
      })
    })
  }

  /** Sleeps the component's next backoff delay; `false` when its schedule has ended. */
  backoff(entry: Entry): Effect.Effect<boolean> {
    return Effect.gen(this, function*() {
      const now = yield* Clock.currentTimeMillis
      if (entry.driver === undefined) entry.driver = yield* Schedule.driver(this.options.backoff)
      else if (entry.lastRestartAt !== undefined && now - entry.lastRestartAt > this.options.periodMs) {
        yield* entry.driver.reset
      }
      entry.lastRestartAt = now
      return yield* entry.driver.next(undefined).pipe(Effect.as(true), Effect.orElseSucceed(() => false))
    })
  }

  /** Starts the components of a restart, in start order. Under the lock. */
  restartSet(plan: RestartPlan): Effect.Effect<Plan> {
    return Effect.gen(this, function*() {
      // a plan of another epoch is dropped whole; `pending` was cleared when the epoch changed
      if (this.closed || plan.epoch !== this.epoch) return { _tag: "Done" } as const
      for (let index = 0; index < plan.ids.length; index++) {
        const entry = this.entries.get(plan.ids[index]!)!
        // cleaned up since the plan was made (or being cleaned up): not brought back, and its pending mark (if a newer
        // plan made one) is that plan's
        if (entry.planEpoch !== plan.planEpochs[index]) continue
        this.pending.delete(entry.id)
        if (runningStates.has(entry.state)) continue
        // a dependency is being cleaned up: left stopped, like a member whose dependency is not running
        if (this.cleaningAround(entry) !== undefined) continue
        if (entry.dependencies.some((dependency) => !runningStates.has(this.entries.get(dependency)!.state))) continue
        entry.restarts++
        const started = yield* Effect.either(this.startOne(entry, `restart (${plan.entry.id} ended)`))
        if (Either.isLeft(started)) {
          // the start failed: the component is in Error and stopped; what is left of the set stays pending
          const live = this.sequence.filter((other) => other === entry || other.incarnation?.active === true).map((
            other
          ) => other.id)
          return yield* this.decide(entry, started.left._tag === "StartFailed" ? started.left : undefined, live)
        }
      }
      return { _tag: "Done" } as const
    })
  }

  // ----- heartbeats -----

  get checkHeartbeats(): Effect.Effect<void> {
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        this.checkReleases(now)
        for (const entry of this.sequence) {
          const incarnation = entry.incarnation
          if (incarnation === undefined || !incarnation.active) continue
          for (const record of incarnation.workers) {
            const silentMs = now - record.lastBeat
            if (!record.watched || record.hung || silentMs <= this.options.hungAfterMs) continue
            record.hung = true
            this.events.unsafeOffer({
              _tag: "Failed",
              entry,
              generation: incarnation.generation,
              error: new WorkerHung({
                component: entry.id,
                worker: record.name,
                fiber: `#${record.fiber?.id().id ?? "?"}`,
                silentMs,
                hungAfterMs: this.options.hungAfterMs
              })
            })
          }
        }
      }))
  }

  get monitor(): Api.ComponentCoordinator["monitor"] {
    const loop = Effect.forever(Effect.zipRight(Effect.sleep(this.options.heartbeatMs), this.checkHeartbeats))
    return {
      start: OrderedLock.withLock(
        this.threadLock,
        Effect.asVoid(FiberHandle.run(this.monitorHandle, loop, { onlyIfMissing: true }))
      ),
      stop: OrderedLock.withLock(this.threadLock, FiberHandle.clear(this.monitorHandle)),
      running: Effect.map(Effect.option(FiberHandle.get(this.monitorHandle)), Option.isSome)
    }
  }

  // ----- listeners -----

  subscribe(listener: Api.Listener, options?: Api.ListenerOptions) {
    return Effect.gen(this, function*() {
      const capacity = options?.capacity ?? 1024
      if (!Number.isInteger(capacity) || capacity < 1) {
        return yield* Effect.die(
          new Cause.IllegalArgumentException(`subscribe: capacity must be a positive integer, got ${capacity}`)
        )
      }
      const queue = options?.overflow === "dropping"
        ? yield* Queue.dropping<Api.StateChange>(capacity)
        : yield* Queue.sliding<Api.StateChange>(capacity)
      const name = options?.name ?? `listener-${++this.listenerCount}`
      const fiber = this.forkClean(Effect.forever(Effect.flatMap(Queue.take(queue), (change) =>
        Effect.catchAllCause(
          // suspended: a listener that throws instead of returning an effect is a defect like any other
          Effect.suspend(() => listener(change)),
          (cause) => Effect.logWarning(`component listener "${name}" failed on ${change.component}`, cause)
        ))))
      this.listeners = [...this.listeners, queue]
      yield* Effect.addFinalizer(() =>
        Effect.suspend(() => {
          this.listeners = this.listeners.filter((other) => other !== queue)
          return Effect.zipRight(Fiber.interrupt(fiber), Queue.shutdown(queue))
        })
      )
    })
  }

  // ----- resources -----

  request(
    entry: Entry,
    resource: Api.Resource<unknown, unknown, unknown>
  ): Request | UnknownChannel | Cause.IllegalArgumentException {
    const channel = resource.channel
    if (channel !== undefined && !entry.channels.includes(channel)) {
      return new UnknownChannel({ component: entry.id, channel, channels: entry.channels })
    }
    const amount = resource.amount ?? 1
    if (!(amount >= 0) || !Number.isFinite(amount)) {
      return new Cause.IllegalArgumentException(
        `allocation amount must be a non-negative finite number, got ${amount} (component "${entry.id}")`
      )
    }
    return { type: resource.type, channel, amount }
  }

  allocate<A, E, R>(id: string, resource: Api.Resource<A, E, R>) {
    return this.allocateOne(id, resource, resource.site ?? captureSite())
  }

  allocateOne<A, E, R>(
    id: string,
    resource: Api.Resource<A, E, R>,
    site: string | Error,
    stale?: () => StaleContext | undefined
  ): Effect.Effect<Api.Allocation<A>, E | AllocationError, R> {
    // one uninterruptible step from the reservation on: an interruption never strands reserved units
    return Effect.uninterruptible(Effect.suspend((): Effect.Effect<Api.Allocation<A>, E | AllocationError, R> => {
      const entry = this.entries.get(id)
      if (entry === undefined) return Effect.fail(new UnknownComponent({ component: id }))
      const staleError = stale?.()
      if (staleError !== undefined) return Effect.fail(staleError)
      const request = this.request(entry, resource as Api.Resource<unknown, unknown, unknown>)
      if (request instanceof UnknownChannel) return Effect.fail(request)
      if (Cause.isIllegalArgumentException(request)) return Effect.die(request)
      const exceeded = this.ledger.reserve(id, entry.quota, [request])
      if (exceeded !== undefined) return Effect.fail(exceeded)
      return Effect.matchCauseEffect(resource.acquire, {
        onFailure: (cause) => {
          this.ledger.count(id, request, -request.amount)
          return Effect.failCause(cause)
        },
        onSuccess: (value) => this.commit(id, request, value, resource.release, site, stale)
      })
    }))
  }

  /**
   * Records an acquired value whose units are reserved. The release function is called only when the allocation is
   * released. When the value cannot be recorded (the clock failed, or the context went stale during the
   * acquisition), the reservation is given back and the value released at once, and the allocation fails.
   */
  commit<A, R>(
    id: string,
    request: Request,
    value: A,
    release: (value: A) => Effect.Effect<unknown, unknown, R>,
    site: string | Error,
    stale: (() => StaleContext | undefined) | undefined
  ): Effect.Effect<AllocationImpl<A>, StaleContext, R> {
    return Effect.flatMap(Effect.context<R>(), (context) => {
      const releaseEffect = Effect.provide(Effect.suspend(() => release(value)), context) as Effect.Effect<
        unknown,
        unknown
      >
      return Effect.flatMap(Effect.exit(Clock.currentTimeMillis), (now) => {
        const staleError = stale?.()
        if (Exit.isSuccess(now) && staleError === undefined) {
          return Effect.succeed(this.ledger.record(id, request, now.value, value, releaseEffect, site))
        }
        this.ledger.count(id, request, -request.amount)
        return Effect.zipRight(
          this.awaitRelease(this.forkClean(Effect.uninterruptible(releaseEffect))),
          Exit.isSuccess(now) ? Effect.fail(staleError!) : Effect.failCause(now.cause)
        )
      })
    })
  }

  allocateAll<const T extends ReadonlyArray<Api.Resource.Any>>(
    id: string,
    resources: T
  ): Effect.Effect<
    { readonly [K in keyof T]: Api.Allocation<Api.Resource.Value<T[K]>> },
    Api.Resource.Error<T[number]> | AllocationError,
    Api.Resource.Context<T[number]>
  > {
    // the tuple type of the result follows the input; the implementation works on arrays
    return this.allocateMany(id, resources, captureSite()) as any
  }

  allocateMany(
    id: string,
    resources: ReadonlyArray<Api.Resource.Any>,
    site: Error,
    stale?: () => StaleContext | undefined
  ): Effect.Effect<ReadonlyArray<Api.Allocation<unknown>>, unknown, unknown> {
    return Effect.uninterruptible(
      Effect.suspend((): Effect.Effect<ReadonlyArray<Api.Allocation<unknown>>, unknown, unknown> => {
        const entry = this.entries.get(id)
        if (entry === undefined) return Effect.fail(new UnknownComponent({ component: id }))
        const staleError = stale?.()
        if (staleError !== undefined) return Effect.fail(staleError)
        const requests: Array<Request> = []
        for (const resource of resources) {
          const request = this.request(entry, resource)
          if (request instanceof UnknownChannel) return Effect.fail(request)
          if (Cause.isIllegalArgumentException(request)) return Effect.die(request)
          requests.push(request)
        }
        const exceeded = this.ledger.reserve(id, entry.quota, requests)
        if (exceeded !== undefined) return Effect.fail(exceeded)
        const acquired: Array<AllocationImpl> = []
        // requests[settled..] are reserved, neither recorded nor given back yet
        let settled = 0
        const acquireAll = Effect.forEach(
          resources,
          (resource: Api.Resource.Any, index) =>
            Effect.flatMap(resource.acquire, (value) => {
              settled = index + 1
              return Effect.map(
                this.commit(id, requests[index]!, value, resource.release, resource.site ?? site, stale),
                (allocation) => {
                  acquired.push(allocation)
                  return allocation
                }
              )
            })
        )
        return Effect.catchAllCause(acquireAll, (cause) => {
          for (let rest = settled; rest < requests.length; rest++) {
            this.ledger.count(id, requests[rest]!, -requests[rest]!.amount)
          }
          return Effect.zipRight(
            Effect.forEach(acquired.slice().reverse(), (allocation) => Effect.ignore(this.releaseImpl(allocation)), {
              discard: true
            }),
            Effect.failCause(cause)
          )
        })
      })
    )
  }

  /**
   * Releases an allocation held on the books: refuses a double release, then runs (or joins) the release, bounded by
   * the shutdown timeout.
   */
  releaseImpl(allocation: AllocationImpl): Effect.Effect<void, UnknownAllocation | ReleaseFailed> {
    return Effect.suspend((): Effect.Effect<void, UnknownAllocation | ReleaseFailed> => {
      if (allocation.released || !this.ledger.holds(allocation)) {
        return Effect.fail(new UnknownAllocation({ allocation: allocation.id, component: allocation.component }))
      }
      return this.settleRelease(allocation)
    })
  }

  /**
   * Runs the allocation's release in its own uninterruptible fiber (or joins the one already running) and waits for
   * it, at most the shutdown timeout (see `awaitRelease`). The fiber's end updates the books whenever it comes:
   * success takes the allocation off, failure flags it. A release still running at the timeout fails with a
   * `TimeoutException` cause and stays on the books, flagged; so does one whose caller stopped waiting.
   */
  settleRelease(allocation: AllocationImpl): Effect.Effect<void, ReleaseFailed> {
    return Effect.suspend((): Effect.Effect<void, ReleaseFailed> => {
      if (!this.ledger.holds(allocation)) return Effect.void
      allocation.released = true
      const fiber = allocation.releasing ?? this.startRelease(allocation)
      const failed = (cause: Cause.Cause<unknown>) =>
        new ReleaseFailed({
          allocation: allocation.id,
          component: allocation.component,
          resourceType: allocation.type,
          cause
        })
      const waiting = (): void => {
        // the release goes on without a waiter: a later release or stop joins it
        if (allocation.releasing === fiber) allocation.released = false
      }
      return Effect.onInterrupt(
        Effect.flatMap(this.awaitRelease(fiber), (done) => {
          if (Option.isSome(done)) {
            return Exit.isSuccess(done.value)
              ? Effect.void
              : Effect.fail(failed(done.value.cause))
          }
          const cause = Cause.fail(
            new Cause.TimeoutException(
              `release did not complete within the shutdown timeout of ${this.options.shutdownMs} ms (it is still running)`
            )
          )
          if (allocation.releasing === fiber) allocation.releaseFailure = cause
          waiting()
          return Effect.fail(failed(cause))
        }),
        () => Effect.sync(waiting)
      )
    })
  }

  startRelease(allocation: AllocationImpl): Fiber.RuntimeFiber<unknown, unknown> {
    const fiber = this.forkClean(Effect.uninterruptible(allocation.releaseEffect))
    allocation.releasing = fiber
    fiber.addObserver((exit) => {
      if (allocation.releasing === fiber) allocation.releasing = undefined
      if (Exit.isSuccess(exit)) {
        allocation.released = true
        allocation.releaseFailure = undefined
        this.ledger.remove(allocation)
      } else {
        allocation.released = false
        allocation.releaseFailure = exit.cause
      }
    })
    return fiber
  }

  /**
   * The release fiber's exit, or `None` once it has run for the shutdown timeout. A release that completes at once
   * (the usual case) costs no wait. Otherwise the wait is registered, and ended by the fiber's exit or by the
   * heartbeat monitor, which ends every wait older than the shutdown timeout on each check (so a hung release is
   * given up between `shutdownTimeout` and `shutdownTimeout + heartbeatInterval`). No timer is started and then
   * interrupted per release: the monitor's one sleep serves them all. The wait is interruptible, even inside an
   * uninterruptible region, and deregisters when interrupted.
   */
  awaitRelease(fiber: Fiber.RuntimeFiber<unknown, unknown>): Effect.Effect<Option.Option<Exit.Exit<unknown, unknown>>> {
    const exit = fiber.unsafePoll()
    if (exit !== null) return Effect.succeed(Option.some(exit))
    return Effect.flatMap(Clock.currentTimeMillis, (since) => {
      const wait: ReleaseWait = { since, done: Deferred.unsafeMake(FiberId.none) }
      const observer = (exit: Exit.Exit<unknown, unknown>) => {
        this.releaseWaits.delete(wait)
        Deferred.unsafeDone(wait.done, Exit.succeed(Option.some(exit)))
      }
      this.releaseWaits.add(wait)
      fiber.addObserver(observer)
      return Effect.ensuring(
        Effect.interruptible(Deferred.await(wait.done)),
        Effect.sync(() => {
          this.releaseWaits.delete(wait)
          fiber.removeObserver(observer)
        })
      )
    })
  }

  /** Ends the release waits older than the shutdown timeout (called by the heartbeat monitor). */
  checkReleases(now: number): void {
    for (const wait of this.releaseWaits) {
      if (now - wait.since < this.options.shutdownMs) continue
      this.releaseWaits.delete(wait)
      Deferred.unsafeDone(wait.done, Exit.succeed(Option.none()))
    }
  }

  release(allocation: Api.Allocation<unknown>) {
    return allocation instanceof AllocationImpl
      ? this.releaseImpl(allocation)
      : Effect.fail(new UnknownAllocation({ allocation: allocation.id, component: allocation.component }))
  }

  resources(id: string) {
    return Effect.map(this.lookup(id), (entry) => this.ledger.heldBy(entry.id).slice().reverse())
  }

  setLimit(type: string, limit: number | undefined) {
    return Effect.suspend(() => {
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
        return Effect.fail(
          new InvalidOptions({ field: `limits.${type}`, value: limit, reason: "must be a non-negative integer" })
        )
      }
      if (limit === undefined) this.ledger.limits.delete(type)
      else this.ledger.limits.set(type, limit)
      return Effect.void
    })
  }

  get leakReport(): Effect.Effect<Api.LeakReport> {
    return Effect.sync(() => ({
      allocations: this.ledger.all().map((allocation) => ({
        id: allocation.id,
        component: allocation.component,
        channel: allocation.channel,
        type: allocation.type,
        amount: allocation.amount,
        at: allocation.at,
        site: allocation.site,
        releaseFailure: allocation.releaseFailure === undefined
          ? undefined
          : firstLine({ message: Cause.pretty(allocation.releaseFailure) })
      })),
      workers: Array.from(this.liveWorkers, (record) => ({
        component: record.component,
        worker: record.name,
        fiber: `#${record.fiber?.id().id ?? "?"}`
      }))
    }))
  }

  get leakProbe(): Api.ComponentCoordinator["leakProbe"] {
    return { name: `components:${this.name}`, leaks: Effect.map(this.leakReport, renderLeakReport) }
  }

  // ----- health -----

  get health(): Effect.Effect<Api.HealthReport> {
    return Effect.gen(this, function*() {
      const at = yield* Clock.currentTimeMillis
      const targets = this.sequence.filter((entry) => !quiescentStates.has(entry.state))
      const checks = yield* Effect.forEach(targets, (entry) => this.check(entry, at), { concurrency: "unbounded" })
      const failed = checks.filter((check) => check.status === "failed").length
      const healthy = checks.filter((check) => check.status === "healthy").length
      const status: Api.HealthStatus = healthy === checks.length
        ? "healthy"
        : failed === checks.length
        ? "failed"
        : "degraded"
      return { status, at, checks }
    })
  }

  check(entry: Entry, at: number): Effect.Effect<Api.CheckResult> {
    return Effect.gen(this, function*() {
      const state = entry.state
      const lastFailure = entry.lastFailure
      let check: Api.HealthStatus | undefined = undefined
      let reason: string | undefined = undefined
      if (entry.healthCheck !== undefined && state !== "Error") {
        const exit = yield* Effect.exit(
          Effect.timeoutFail(
            entry.healthCheck.pipe(Effect.provide(entry.context)) as Effect.Effect<boolean | Api.HealthStatus, unknown>,
            {
              duration: this.options.healthTimeoutMs,
              onTimeout: () => `timed out after ${this.options.healthTimeoutMs} ms`
            }
          )
        )
        if (Exit.isSuccess(exit)) {
          check = exit.value === true ? "healthy" : exit.value === false ? "failed" : exit.value
        } else {
          check = "failed"
          const failure = Cause.failureOption(exit.cause)
          reason = Option.isSome(failure) && typeof failure.value === "string"
            ? failure.value
            : firstLine({ message: Cause.pretty(exit.cause) })
        }
      }
      const end = yield* Clock.currentTimeMillis
      let status: Api.HealthStatus = check ?? "healthy"
      if (state === "Error") {
        status = "failed"
        reason = lastFailure?.error.message ?? "in Error"
      } else if (
        status === "healthy" && lastFailure !== undefined && at - lastFailure.at < this.options.failureWindowMs
      ) {
        status = "degraded"
        reason = `failed ${at - lastFailure.at} ms ago: ${lastFailure.error.message}`
      }
      return {
        component: entry.id,
        state,
        status,
        check,
        reason,
        lastFailureAt: lastFailure?.at,
        durationMs: end - at
      }
    })
  }

  get join(): Effect.Effect<Api.Termination, RestartIntensityExceeded> {
    return Effect.suspend(() => Deferred.await(this.termination))
  }

  /** The coordinator's own finalizer: stop everything, report leaks, end the group. */
  get shutdown(): Effect.Effect<void, LockError> {
    return this.withLifecycle(Effect.gen(this, function*() {
      this.closed = true
      yield* this.stopAllLocked("shutdown")
      yield* Deferred.succeed(this.termination, { _tag: "Stopped" })
      const lines = renderLeakReport(yield* this.leakReport)
      if (lines.length > 0) {
        yield* Effect.logWarning(`component coordinator "${this.name}": held at shutdown\n${lines.join("\n")}`)
      }
    }))
  }
}

/** @internal */
export const renderLeakReport = (report: Api.LeakReport): ReadonlyArray<string> => [
  ...report.allocations.map((allocation) =>
    `${allocation.type} #${allocation.id} x${allocation.amount} held by ${allocation.component}${
      allocation.channel === undefined ? "" : `/${allocation.channel}`
    } (allocated at ${allocation.site ?? "unknown site"})${
      allocation.releaseFailure === undefined ? "" : `: release failed: ${allocation.releaseFailure}`
    }`
  ),
  ...report.workers.map((worker) => `worker ${worker.component}/${worker.worker} (fiber ${worker.fiber}) is alive`)
]

const resolve = (options: Api.Options | undefined): Either.Either<Resolved, InvalidOptions> => {
  const invalid = (field: string, value: unknown, reason: string) =>
    Either.left(new InvalidOptions({ field, value, reason }))
  const millis = (field: string, value: Duration.DurationInput | undefined, fallback: number) => {
    const ms = value === undefined ? fallback : Duration.toMillis(value)
    return ms > 0 ? Either.right(ms) : invalid(field, value, "must be a positive duration")
  }
  const limitsOf = (field: string, limits: Limits | undefined): Either.Either<Limits, InvalidOptions> => {
    for (const [type, limit] of Object.entries(limits ?? {})) {
      if (!Number.isInteger(limit) || limit < 0) {
        return invalid(`${field}.${type}`, limit, "must be a non-negative integer")
      }
    }
    return Either.right(limits ?? {})
  }
  return Either.gen(function*() {
    const maxRestarts = options?.maxRestarts ?? 3
    if (!Number.isInteger(maxRestarts) || maxRestarts < 0) {
      return yield* invalid("maxRestarts", maxRestarts, "must be a non-negative integer")
    }
    const historySize = options?.historySize ?? 100
    if (!Number.isInteger(historySize) || historySize < 1) {
      return yield* invalid("historySize", historySize, "must be a positive integer")
    }
    const strategy = options?.strategy ?? "one_for_one"
    if (!strategies.has(strategy)) {
      return yield* invalid("strategy", strategy, `must be "one_for_one", "one_for_all" or "rest_for_one"`)
    }
    const autoShutdown = options?.autoShutdown ?? "never"
    if (!autoShutdowns.has(autoShutdown)) {
      return yield* invalid("autoShutdown", autoShutdown, `must be "never", "any_significant" or "all_significant"`)
    }
    return {
      name: options?.name ?? "components",
      strategy,
      maxRestarts,
      periodMs: yield* millis("period", options?.period, 5_000),
      backoff: options?.backoff ?? defaultBackoff,
      heartbeatMs: yield* millis("heartbeatInterval", options?.heartbeatInterval, 5_000),
      hungAfterMs: yield* millis("hungAfter", options?.hungAfter, 10_000),
      failureWindowMs: yield* millis("failureWindow", options?.failureWindow, 300_000),
      healthTimeoutMs: yield* millis("healthTimeout", options?.healthTimeout, 5_000),
      limits: new Map(Object.entries(yield* limitsOf("limits", options?.limits))),
      componentQuota: yield* limitsOf("componentQuota", options?.componentQuota),
      channelQuota: yield* limitsOf("channelQuota", options?.channelQuota),
      autoShutdown,
      shutdownMs: yield* millis("shutdownTimeout", options?.shutdownTimeout, 5_000),
      historySize
    }
  })
}

/** @internal */
export const make = (options?: Api.Options): Effect.Effect<Api.ComponentCoordinator, InvalidOptions, Scope.Scope> =>
  Effect.gen(function*() {
    const resolved = yield* resolve(options)
    const lock = yield* OrderedLock.make({
      hierarchy: LockHierarchy.Global,
      level: "ComponentCoordinator.component",
      key: resolved.name
    })
    const threadLock = yield* OrderedLock.make({
      hierarchy: LockHierarchy.Global,
      level: "ComponentCoordinator.thread",
      key: resolved.name
    })
    const events = yield* Queue.unbounded<Event>()
    const runtime = yield* Effect.runtime<never>()
    const monitorHandle = yield* FiberHandle.make<never, never>()
    const termination = yield* Deferred.make<Api.Termination, RestartIntensityExceeded>()
    const timers = yield* FiberSet.make<void, never>()
    const coordinator = new CoordinatorImpl(
      resolved,
      lock,
      threadLock,
      events,
      runtime,
      monitorHandle,
      timers,
      termination
    )
    yield* Effect.forkScoped(coordinator.supervise)
    yield* coordinator.monitor.start.pipe(Effect.orDie)
    yield* Effect.addFinalizer(() => Effect.orDie(coordinator.shutdown))
    return coordinator
  })

/** @internal */
export const startAll: Effect.Effect<
  ReadonlyArray<string>,
  StartFailed | DependencyNotRunning | LockError,
  Api.ComponentCoordinator
> = Effect.flatMap(tag, (coordinator) => coordinator.startAll)

/** @internal */
export const stopAll: Effect.Effect<ReadonlyArray<string>, LockError, Api.ComponentCoordinator> = Effect.flatMap(
  tag,
  (coordinator) => coordinator.stopAll
)
