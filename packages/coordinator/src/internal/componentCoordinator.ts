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

type Event =
  | { readonly _tag: "Failed"; readonly entry: Entry; readonly generation: number; readonly error: ErrorContext }
  | { readonly _tag: "Exited"; readonly entry: Entry; readonly generation: number }
  | { readonly _tag: "Due"; readonly plan: RestartPlan; readonly allowed: boolean }

interface RestartPlan {
  readonly _tag: "Restart"
  readonly entry: Entry
  readonly ids: ReadonlyArray<string>
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
    return {
      id: entry.id,
      channels: entry.channels,
      generation: incarnation.generation,
      fork: (worker, options) => this.forkWorker(entry, incarnation, worker, options),
      allocate: (resource) => this.allocateOne(entry.id, resource, resource.site ?? captureSite()),
      allocateAll: (resources) => this.allocateMany(entry.id, resources, captureSite()) as any
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

  /** Interrupts the incarnation's workers and waits for them at most the component's shutdown timeout. */
  stopWorkers(entry: Entry, incarnation: Incarnation): Effect.Effect<void> {
    return Effect.suspend(() => {
      incarnation.active = false
      const fibers = Array.from(incarnation.workers, (record) => record.fiber!)
      if (fibers.length === 0) return Effect.void
      return Effect.forEach(fibers, Fiber.interruptFork, { discard: true }).pipe(
        Effect.zipRight(Effect.timeoutOption(Fiber.awaitAll(fibers), entry.shutdownMs)),
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

  /** Releases every allocation of the component, newest first; returns the failures (those stay on the books). */
  releaseAll(id: string): Effect.Effect<ReadonlyArray<ReleaseFailed>> {
    return Effect.suspend(() => {
      const failures: Array<ReleaseFailed> = []
      return Effect.as(
        Effect.forEach(
          this.ledger.heldBy(id),
          (allocation) =>
            allocation.released ?
              Effect.void :
              Effect.catchAll(this.releaseImpl(allocation), (error) =>
                Effect.sync(() => {
                  if (error._tag === "ReleaseFailed") failures.push(error)
                })),
          { discard: true }
        ),
        failures
      )
    })
  }

  /** Ends the current incarnation: workers, then the start effect's scope, then the resources. */
  teardown(entry: Entry): Effect.Effect<void> {
    return Effect.suspend(() => {
      const incarnation = entry.incarnation
      entry.incarnation = undefined
      const release = Effect.flatMap(this.releaseAll(entry.id), (failures) =>
        failures.length === 0
          ? Effect.void
          : Effect.logWarning(`component "${entry.id}": ${failures.length} release(s) failed`, ...failures))
      if (incarnation === undefined) return release
      return this.stopWorkers(entry, incarnation).pipe(
        Effect.zipRight(this.closeScope(entry, incarnation)),
        Effect.zipRight(release)
      )
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
      const initialize = state === "Idle" || state === "Initiating" || state === "Initializing"
        ? Effect.void
        : this.moveAlong(entry, "Initializing", reason)
      return Effect.flatMap(Effect.zipRight(initialize, Scope.make()), (scope) => {
        entry.generation++
        const incarnation = new Incarnation(entry.generation, scope)
        entry.incarnation = incarnation
        const run = entry.start === undefined
          ? Effect.void
          : entry.start(this.context(entry, incarnation)).pipe(
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
          const batch: Array<Api.ComponentSpec<E, R> & { readonly dependencies: ReadonlyArray<string> }> = []
          for (const spec of specs) {
            const invalid = this.validate(spec)
            if (invalid !== undefined) return Effect.fail(invalid)
            batch.push({ ...spec, dependencies: Array.from(new Set(spec.dependencies ?? [])) })
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
                  Array.from(spec.channels ?? []),
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

  validate(spec: Api.ComponentSpec<unknown, unknown>): InvalidComponent | undefined {
    const invalid = (reason: string) => new InvalidComponent({ component: String(spec.id), reason })
    if (typeof spec.id !== "string" || spec.id.length === 0) return invalid("the id must be a non-empty string")
    const channels = Array.from(spec.channels ?? [])
    if (new Set(channels).size !== channels.length) return invalid("a channel is named twice")
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

  get startAll(): Effect.Effect<ReadonlyArray<string>, StartFailed | DependencyNotRunning | LockError> {
    return this.withLifecycle(Effect.gen(this, function*() {
      if (yield* Deferred.isDone(this.termination)) {
        // a new group: a fresh termination and a fresh restart intensity
        this.termination = yield* Deferred.make<Api.Termination, RestartIntensityExceeded>()
        this.restartTimes = []
      }
      this.epoch++
      const started: Array<string> = []
      for (const entry of this.sequence) {
        if (yield* this.startOne(entry, "startAll")) started.push(entry.id)
      }
      return started
    }))
  }

  get stopAll(): Effect.Effect<ReadonlyArray<string>, LockError> {
    return this.withLifecycle(Effect.tap(
      this.stopAllLocked("stopAll"),
      () => Deferred.succeed(this.termination, { _tag: "Stopped" })
    ))
  }

  start(id: string) {
    return Effect.flatMap(this.lookup(id), (entry) => this.withLifecycle(Effect.asVoid(this.startOne(entry, "start"))))
  }

  restart(id: string) {
    return Effect.flatMap(this.lookup(id), (entry) =>
      this.withLifecycle(Effect.suspend(() => {
        entry.restarts++
        return Effect.zipRight(this.stopOne(entry, "restart"), Effect.asVoid(this.startOne(entry, "restart")))
      })))
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
        Effect.suspend((): Effect.Effect<CleanupReport, HasRunningDependents | CleanupFailed | LockError> => {
          const ids = this.sequence.map((other) => other.id)
          const dependents = graph.transitiveDependents(id, ids, (other) => this.entries.get(other)!.dependencies)
            .filter((other) => runningStates.has(this.entries.get(other)!.state))
          if (dependents.length > 0 && options?.cascade !== true) {
            return Effect.fail(new HasRunningDependents({ component: id, dependents }))
          }
          const targets = [...dependents.slice().reverse(), id].map((other) => this.entries.get(other)!)
          return Effect.flatMap(
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
        })
    )
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
            return toStopping.pipe(
              Effect.zipRight(this.stopWorkers(target, incarnation)),
              Effect.zipRight(this.closeScope(target, incarnation)),
              Effect.zipRight(Effect.sync(() => {
                target.incarnation = undefined
              }))
            )
          })),
          verify: Effect.sync(() => !Array.from(this.liveWorkers).some((record) => record.component === target.id))
        },
        {
          name: `${target.id}:release`,
          phase: "ReleasingResources",
          dependsOn: [`${target.id}:stop-workers`],
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
      const ids = this.sequence.filter((other) => affected.has(other.id)).map((other) => other.id)
      for (const id of ids) this.pending.add(id)
      // stop the others, newest first
      for (const other of ids.slice().reverse()) {
        const target = this.entries.get(other)!
        if (target !== entry && target.incarnation !== undefined) yield* this.stopOne(target, `restart of ${entry.id}`)
      }
      return { _tag: "Restart", entry, ids, epoch: this.epoch } as const
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
      if (this.closed || plan.epoch !== this.epoch) return { _tag: "Done" } as const
      for (const id of plan.ids) {
        const entry = this.entries.get(id)!
        this.pending.delete(id)
        if (runningStates.has(entry.state)) continue
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
      const queue = options?.overflow === "dropping"
        ? yield* Queue.dropping<Api.StateChange>(capacity)
        : yield* Queue.sliding<Api.StateChange>(capacity)
      const name = options?.name ?? `listener-${++this.listenerCount}`
      const fiber = this.forkClean(Effect.forever(Effect.flatMap(Queue.take(queue), (change) =>
        Effect.catchAllCause(
          listener(change),
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
    site: string | Error
  ): Effect.Effect<Api.Allocation<A>, E | AllocationError, R> {
    return Effect.suspend((): Effect.Effect<Api.Allocation<A>, E | AllocationError, R> => {
      const entry = this.entries.get(id)
      if (entry === undefined) return Effect.fail(new UnknownComponent({ component: id }))
      const request = this.request(entry, resource as Api.Resource<unknown, unknown, unknown>)
      if (request instanceof UnknownChannel) return Effect.fail(request)
      if (Cause.isIllegalArgumentException(request)) return Effect.die(request)
      const exceeded = this.ledger.reserve(id, entry.quota, [request])
      if (exceeded !== undefined) return Effect.fail(exceeded)
      return Effect.uninterruptible(Effect.matchCauseEffect(resource.acquire, {
        onFailure: (cause) => {
          this.ledger.count(id, request, -request.amount)
          return Effect.failCause(cause)
        },
        onSuccess: (value) =>
          Effect.flatMap(
            Effect.context<R>(),
            (context) =>
              Effect.map(Clock.currentTimeMillis, (now) =>
                this.ledger.record(
                  id,
                  request,
                  now,
                  value,
                  Effect.provide(resource.release(value), context),
                  site
                ) as Api.Allocation<A>)
          )
      }))
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
    site: Error
  ): Effect.Effect<ReadonlyArray<Api.Allocation<unknown>>, unknown, unknown> {
    return Effect.suspend((): Effect.Effect<ReadonlyArray<Api.Allocation<unknown>>, unknown, unknown> => {
      const entry = this.entries.get(id)
      if (entry === undefined) return Effect.fail(new UnknownComponent({ component: id }))
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
      const acquireAll = Effect.forEach(resources, (resource, index) =>
        Effect.matchCauseEffect(resource.acquire, {
          onFailure: (cause) => {
            for (let rest = index; rest < requests.length; rest++) {
              this.ledger.count(id, requests[rest]!, -requests[rest]!.amount)
            }
            return Effect.failCause(cause)
          },
          onSuccess: (value) =>
            Effect.flatMap(Effect.context<unknown>(), (context) =>
              Effect.map(Clock.currentTimeMillis, (now) => {
                const allocation = this.ledger.record(
                  id,
                  requests[index]!,
                  now,
                  value,
                  Effect.provide(resource.release(value), context) as Effect.Effect<unknown, unknown>,
                  resource.site ?? site
                )
                acquired.push(allocation)
                return allocation
              }))
        }))
      return Effect.uninterruptible(Effect.catchAllCause(acquireAll, (cause) =>
        Effect.zipRight(
          Effect.forEach(acquired.slice().reverse(), (allocation) => Effect.ignore(this.releaseImpl(allocation)), {
            discard: true
          }),
          Effect.failCause(cause)
        )))
    })
  }

  releaseImpl(allocation: AllocationImpl): Effect.Effect<void, UnknownAllocation | ReleaseFailed> {
    return Effect.suspend((): Effect.Effect<void, UnknownAllocation | ReleaseFailed> => {
      if (allocation.released || !this.ledger.holds(allocation)) {
        return Effect.fail(new UnknownAllocation({ allocation: allocation.id, component: allocation.component }))
      }
      allocation.released = true
      return Effect.uninterruptible(Effect.matchCauseEffect(allocation.releaseEffect, {
        onFailure: (cause) => {
          allocation.released = false
          allocation.releaseFailure = cause
          return Effect.fail(
            new ReleaseFailed({
              allocation: allocation.id,
              component: allocation.component,
              resourceType: allocation.type,
              cause
            })
          )
        },
        onSuccess: () =>
          Effect.sync(() => {
            allocation.releaseFailure = undefined
            this.ledger.remove(allocation)
          })
      }))
    })
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
    return {
      name: options?.name ?? "components",
      strategy: options?.strategy ?? "one_for_one",
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
      autoShutdown: options?.autoShutdown ?? "never",
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
