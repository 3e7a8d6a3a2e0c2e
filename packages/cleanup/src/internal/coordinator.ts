import { LockHierarchy, OrderedLock } from "@core-stability/locks"
import type { LockError } from "@core-stability/locks/LockError"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import { NodeInspectSymbol } from "effect/Inspectable"
import * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import type * as Api from "../CleanupCoordinator.js"
import {
  CleanupFailedError,
  CleanupInProgressError,
  DuplicateStepError,
  RegistrationClosedError,
  type RegistrationError
} from "../CleanupError.js"
import type { CleanupPlan } from "../CleanupPlan.js"
import type { CleanupReport } from "../CleanupReport.js"
import type { CleanupResource, CleanupStep } from "../CleanupStep.js"
import * as graph_ from "./graph.js"
import * as phaseMachine from "./phaseMachine.js"
import { makePlan } from "./plan.js"
import { stateNames } from "./report.js"
import { type Run, runSteps } from "./runner.js"

/** @internal */
export const TypeId: Api.TypeId = Symbol.for("@core-stability/cleanup/CleanupCoordinator") as Api.TypeId

/** @internal */
export const tag: Context.Tag<Api.CleanupCoordinator, Api.CleanupCoordinator> = Context.GenericTag(
  "@core-stability/cleanup/CleanupCoordinator"
)

type Lifecycle =
  | { readonly _tag: "Idle" }
  | { readonly _tag: "Running"; readonly run: number; readonly deferred: Deferred.Deferred<CleanupReport> }
  | { readonly _tag: "Finished"; readonly report: CleanupReport }

interface Start {
  readonly _tag: "Start"
  readonly run: number
  readonly nodes: ReadonlyArray<graph_.Node>
  readonly deferred: Deferred.Deferred<CleanupReport>
}

type Decision =
  | { readonly _tag: "Join"; readonly deferred: Deferred.Deferred<CleanupReport> }
  | { readonly _tag: "Done"; readonly report: CleanupReport }
  | Start

interface Locks {
  readonly shutdown: OrderedLock.OrderedLock
  readonly phase: OrderedLock.OrderedLock
  readonly steps: OrderedLock.OrderedLock
  readonly status: OrderedLock.OrderedLock
}

interface Settings {
  readonly concurrency: number
  readonly deadlineMs: number | undefined
  readonly defaults: graph_.Defaults
}

const toMillis = (input: Duration.DurationInput, what: string): number => {
  const millis = graph_.toMillis(input)
  if (millis === undefined) throw new RangeError(`CleanupCoordinator: ${what} is not a duration`)
  return millis
}

const settingsOf = (options: Api.Options | undefined): Settings => {
  const concurrency = options?.concurrency ?? 1
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`CleanupCoordinator: concurrency must be an integer >= 1, got ${concurrency}`)
  }
  const deadlineMs = options?.deadline === undefined ? undefined : toMillis(options.deadline, "deadline")
  if (deadlineMs !== undefined && !(deadlineMs > 0)) {
    throw new RangeError(`CleanupCoordinator: the deadline must be positive, got ${deadlineMs} ms`)
  }
  const timeoutMs = options?.timeout === undefined ? graph_.defaultTimeoutMs : toMillis(options.timeout, "timeout")
  const retries = options?.retries ?? graph_.defaultRetries
  const retryDelayMs = options?.retryDelay === undefined
    ? graph_.defaultRetryDelayMs
    : toMillis(options.retryDelay, "retryDelay")
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw new RangeError(`CleanupCoordinator: the default timeout must be positive and finite`)
  }
  if (!Number.isInteger(retries) || retries < 1) {
    throw new RangeError(`CleanupCoordinator: retries must be an integer >= 1, got ${retries}`)
  }
  if (!(retryDelayMs >= 0) || !Number.isFinite(retryDelayMs)) {
    throw new RangeError(`CleanupCoordinator: the retry delay must be finite and >= 0`)
  }
  return {
    concurrency,
    deadlineMs: deadlineMs === Infinity ? undefined : deadlineMs,
    defaults: { timeoutMs, retries, retryDelayMs }
  }
}

const makeLocks = (key: string | undefined): Effect.Effect<Locks> =>
  Effect.all({
    shutdown: OrderedLock.make({ hierarchy: LockHierarchy.Global, level: "CleanupCoordinator.shutdown", key }),
    phase: OrderedLock.make({ hierarchy: LockHierarchy.Global, level: "CleanupCoordinator.phase", key }),
    steps: OrderedLock.make({ hierarchy: LockHierarchy.Global, level: "CleanupCoordinator.steps", key }),
    status: OrderedLock.make({ hierarchy: LockHierarchy.Global, level: "CleanupCoordinator.status", key })
  })

/** @internal */
export class CoordinatorImpl implements Api.CleanupCoordinator {
  readonly [TypeId]: Api.TypeId = TypeId
  readonly graph = graph_.makeGraph()
  lifecycle: Lifecycle = { _tag: "Idle" }
  runs = 0
  last: Option.Option<CleanupReport> = Option.none()
  live: Run | undefined = undefined

  constructor(
    readonly settings: Settings,
    readonly locks: Locks,
    readonly phases: phaseMachine.PhaseMachine,
    readonly faults: Api.Options["faults"]
  ) {}

  get machine(): Api.CleanupCoordinator["machine"] {
    return this.phases.machine
  }

  pipe(...args: Array<unknown>) {
    return pipeArguments(this, args as unknown as IArguments)
  }

  toJSON() {
    return {
      _id: "CleanupCoordinator",
      state: this.lifecycle._tag,
      runs: this.runs,
      steps: this.graph.nodes.map((node) => node.name)
    }
  }

  toString() {
    return JSON.stringify(this.toJSON())
  }

  [NodeInspectSymbol]() {
    return this.toJSON()
  }

  addDeclarations(
    declarations: ReadonlyArray<graph_.Declaration>
  ): Effect.Effect<void, RegistrationError | LockError> {
    return OrderedLock.withLock(
      this.locks.steps,
      Effect.suspend(() => {
        if (this.lifecycle._tag !== "Idle") {
          return Effect.fail(new RegistrationClosedError({ step: declarations[0]?.name ?? "" }))
        }
        const added = graph_.addAll(this.graph, declarations, this.settings.defaults)
        return Either.isLeft(added) ? Effect.fail(added.left) : Effect.void
      })
    )
  }

  register<E, R>(step: CleanupStep<E, R>): Effect.Effect<void, RegistrationError | LockError, R> {
    return this.registerAll([step])
  }

  registerAll<E, R>(steps: Iterable<CleanupStep<E, R>>): Effect.Effect<void, RegistrationError | LockError, R> {
    return Effect.flatMap(Effect.context<R>(), (context) =>
      this.addDeclarations(Array.from(steps, (step) => ({
        name: step.name,
        phase: step.phase,
        dependsOn: step.dependsOn,
        uses: undefined,
        resource: false,
        run: step.run as Effect.Effect<unknown, unknown>,
        verify: step.verify as Effect.Effect<boolean, unknown> | undefined,
        context: context as Context.Context<never>,
        timeout: step.timeout,
        retries: step.retries,
        retryDelay: step.retryDelay
      }))))
  }

  acquire<A, E, R, E2, R2>(
    resource: CleanupResource<A, E, R, E2, R2>
  ): Effect.Effect<A, E | RegistrationError | LockError, R | R2> {
    return Effect.uninterruptible(Effect.gen(this, function*() {
      if (this.lifecycle._tag !== "Idle") return yield* new RegistrationClosedError({ step: resource.name })
      if (this.graph.byName.has(resource.name)) return yield* new DuplicateStepError({ step: resource.name })
      const context = yield* Effect.context<R2>()
      const value = yield* resource.acquire
      const release = resource.release(value) as Effect.Effect<unknown, unknown>
      yield* this.addDeclarations([{
        name: resource.name,
        phase: resource.phase,
        dependsOn: resource.dependsOn,
        uses: resource.uses,
        resource: true,
        run: release,
        verify: resource.verify === undefined
          ? undefined
          : resource.verify(value) as Effect.Effect<boolean, unknown>,
        context: context as Context.Context<never>,
        timeout: resource.timeout,
        retries: resource.retries,
        retryDelay: resource.retryDelay
      }]).pipe(Effect.onError(() => Effect.orDie(Effect.provide(release, context))))
      return value
    }))
  }

  /**
   * Start, join or return. The caller that decides to start a run also forks it, and the two are one step as far as
   * interruption goes: the decision records the start synchronously, and the fork happens in the uninterruptible
   * continuation that runs whatever the lock section's exit (an interruption landing right after the decision
   * included). Only the waits (for the lock, for the report) are interruptible.
   */
  get shutdown(): Effect.Effect<CleanupReport, LockError> {
    return Effect.suspend(() => {
      let started: Start | undefined
      const decide = this.decide((start) => {
        started = start
      })
      return Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          Effect.exit(restore(OrderedLock.withLock(this.locks.shutdown, decide))),
          (exit): Effect.Effect<CleanupReport, LockError> => {
            const fork = started === undefined ? Effect.void : Effect.asVoid(Effect.forkDaemon(this.execute(started)))
            if (Exit.isFailure(exit)) return Effect.zipRight(fork, Effect.failCause(exit.cause))
            const decision = exit.value
            return decision._tag === "Done"
              ? Effect.succeed(decision.report)
              : Effect.zipRight(fork, restore(Deferred.await(decision.deferred)))
          }
        )
      )
    })
  }

  /**
   * Under the shutdown lock: join the run in progress, return the finished report, or start a run. Starting is one
   * synchronous segment: the lifecycle becomes `Running` and `onStart` learns of it together.
   */
  decide(onStart: (start: Start) => void): Effect.Effect<Decision, LockError> {
    return Effect.suspend((): Effect.Effect<Decision, LockError> => {
      const lifecycle = this.lifecycle
      if (lifecycle._tag === "Running") return Effect.succeed({ _tag: "Join" as const, deferred: lifecycle.deferred })
      if (lifecycle._tag === "Finished") return Effect.succeed({ _tag: "Done" as const, report: lifecycle.report })
      return OrderedLock.withLock(
        this.locks.steps,
        Effect.sync(() => {
          const deferred = Deferred.unsafeMake<CleanupReport>(FiberId.none)
          const run = ++this.runs
          this.lifecycle = { _tag: "Running", run, deferred }
          const start: Start = { _tag: "Start", run, nodes: this.graph.nodes.slice(), deferred }
          onStart(start)
          return start
        })
      )
    })
  }

  /** The run fiber: phase machine to `Initiating`, the steps, phase machine to `Completed` or `Failed`, publish. */
  execute(start: Start): Effect.Effect<void> {
    const phaseErrors: Array<Cause.Cause<unknown>> = []
    const transition = (effect: Effect.Effect<void, unknown>) =>
      OrderedLock.withLock(this.locks.phase, effect).pipe(
        Effect.catchAllCause((cause) => Effect.sync(() => phaseErrors.push(cause)))
      )
    const body = Effect.gen(this, function*() {
      yield* transition(this.phases.initiate)
      const report = yield* runSteps({
        run: start.run,
        nodes: start.nodes,
        concurrency: this.settings.concurrency,
        deadlineMs: this.settings.deadlineMs,
        faults: this.faults,
        enterPhase: (phase) => transition(this.phases.enter(phase))
      }, (run) => {
        this.live = run
      })
      const failed = report.status === "Failed" || phaseErrors.length > 0
      yield* transition(failed ? this.phases.fail : this.phases.complete)
      return withPhaseErrors(report, phaseErrors)
    })
    // forked from an uninterruptible region, so the whole fiber is uninterruptible: the Deferred is always completed
    return Effect.exit(body).pipe(
      Effect.flatMap((exit) => {
        const publish = Effect.sync(() => {
          this.live = undefined
          if (Exit.isSuccess(exit)) {
            this.lifecycle = { _tag: "Finished", report: exit.value }
            this.last = Option.some(exit.value)
          } else {
            this.lifecycle = { _tag: "Idle" }
          }
        })
        // the outcome is published even if the status lock cannot be taken: callers must never wait forever
        return OrderedLock.withLock(this.locks.status, publish).pipe(
          Effect.catchAllCause(() => publish),
          Effect.zipRight(Deferred.done(start.deferred, exit))
        )
      }),
      Effect.uninterruptible
    )
  }

  /**
   * Under the shutdown lock, as one uninterruptible step: the phase machine back to `NotStarted`, the resources the
   * finished run released retired from the graph, registration reopened. An interrupted reset happened entirely or
   * not at all.
   */
  get reset(): Effect.Effect<void, CleanupInProgressError | LockError> {
    return OrderedLock.withLock(
      this.locks.shutdown,
      Effect.suspend((): Effect.Effect<void, CleanupInProgressError | LockError> => {
        const lifecycle = this.lifecycle
        if (lifecycle._tag === "Running") return Effect.fail(new CleanupInProgressError({ run: lifecycle.run }))
        if (lifecycle._tag === "Idle") return Effect.void
        return Effect.uninterruptible(OrderedLock.withLock(
          this.locks.phase,
          Effect.zipRight(
            this.phases.reset,
            OrderedLock.withLock(
              this.locks.steps,
              Effect.sync(() => {
                graph_.removeNodes(this.graph, releasedResources(this.graph, lifecycle.report))
                this.lifecycle = { _tag: "Idle" }
              })
            )
          )
        ))
      })
    )
  }

  get isShutdownRequested(): Effect.Effect<boolean> {
    return Effect.sync(() => this.lifecycle._tag !== "Idle")
  }

  get phase(): Effect.Effect<Api.PhaseState> {
    return this.phases.current
  }

  get plan(): Effect.Effect<CleanupPlan> {
    return Effect.sync(() =>
      makePlan(this.graph.nodes, this.settings.deadlineMs, this.settings.concurrency, this.faults)
    )
  }

  get lastReport(): Effect.Effect<Option.Option<CleanupReport>> {
    return Effect.sync(() => this.last)
  }

  get status(): Effect.Effect<Api.Status, LockError> {
    return Effect.flatMap(this.phases.current, (phase) =>
      OrderedLock.withLock(
        this.locks.status,
        Effect.sync((): Api.Status => {
          const live = this.live
          const lifecycle = this.lifecycle
          const steps: Array<{ readonly name: string; readonly status: Api.LiveStepStatus }> = []
          if (live !== undefined) {
            for (let i = 0; i < live.nodes.length; i++) {
              steps.push({ name: live.nodes[i]!.name, status: stateNames[live.state[i]!]! })
            }
            for (let i = live.nodes.length; i < this.graph.nodes.length; i++) {
              steps.push({ name: this.graph.nodes[i]!.name, status: "Pending" })
            }
          } else if (lifecycle._tag === "Finished") {
            for (const step of lifecycle.report.steps) steps.push({ name: step.name, status: step.status })
          } else {
            for (const node of this.graph.nodes) steps.push({ name: node.name, status: "Pending" })
          }
          const pick = (predicate: (status: Api.LiveStepStatus) => boolean) =>
            steps.filter((step) => predicate(step.status)).map((step) => step.name)
          return {
            run: lifecycle._tag === "Running" ? lifecycle.run : this.runs,
            phase,
            shutdownRequested: lifecycle._tag !== "Idle",
            running: lifecycle._tag === "Running",
            steps,
            completed: pick((status) => status === "Succeeded" || status === "Verified"),
            failed: pick((status) =>
              status === "Failed" || status === "TimedOut" || status === "VerificationFailed" || status === "Skipped"
            ),
            pending: pick((status) => status === "Pending" || status === "Running"),
            elapsedMs: live === undefined
              ? lifecycle._tag === "Finished" ? lifecycle.report.durationMs : 0
              : live.now() - live.startedAt
          }
        })
      ))
  }
}

/**
 * The resource steps whose release a finished run attempted (every status but `Skipped`): a resource is released at
 * most once, so `reset` retires them. A skipped release never ran: the resource is still held and stays registered.
 */
const releasedResources = (graph: graph_.Graph, report: CleanupReport): ReadonlySet<number> => {
  const released = new Set<number>()
  if (graph.resources === 0) return released
  for (const step of report.steps) {
    if (step.status === "Skipped") continue
    const node = graph.byName.get(step.name)
    if (node !== undefined && node.resource) released.add(node.index)
  }
  return released
}

const withPhaseErrors = (report: CleanupReport, errors: ReadonlyArray<Cause.Cause<unknown>>): CleanupReport => {
  if (errors.length === 0) return report
  const joined = errors.reduce((acc, cause) => Cause.parallel(acc, cause))
  return {
    ...report,
    status: "Failed",
    cause: Option.some(
      Option.match(report.cause, { onNone: () => joined, onSome: (cause) => Cause.parallel(cause, joined) })
    )
  }
}

/** @internal */
export const isCleanupCoordinator = (u: unknown): u is Api.CleanupCoordinator => Predicate.hasProperty(u, TypeId)

const makeImpl = (options?: Api.Options): Effect.Effect<CoordinatorImpl> =>
  Effect.suspend(() => {
    const settings = settingsOf(options)
    return Effect.all({
      locks: makeLocks(options?.key),
      phases: phaseMachine.make(options?.machine)
    }).pipe(Effect.map(({ locks, phases }) => new CoordinatorImpl(settings, locks, phases, options?.faults)))
  })

/** @internal */
export const make = (options?: Api.Options): Effect.Effect<Api.CleanupCoordinator, never, Scope.Scope> =>
  Effect.acquireRelease(makeImpl(options), (coordinator) =>
    coordinator.shutdown.pipe(
      Effect.flatMap((report) =>
        report.status === "Failed" ? Effect.die(new CleanupFailedError({ report })) : Effect.void
      ),
      Effect.orDie
    ))

/**
 * A private coordinator: register (all or none), run, return the report whatever its status. Interrupted after
 * registering, it still runs the steps to their end (as closing `make`'s scope would) before it is interrupted.
 *
 * @internal
 */
export const run = <E, R>(
  steps: Iterable<CleanupStep<E, R>>,
  options?: Api.Options
): Effect.Effect<CleanupReport, RegistrationError | LockError, R> =>
  Effect.flatMap(makeImpl(options), (coordinator) =>
    Effect.onInterrupt(
      Effect.zipRight(coordinator.registerAll(steps), coordinator.shutdown),
      () => coordinator.graph.nodes.length === 0 ? Effect.void : Effect.ignore(coordinator.shutdown)
    ))

/** @internal */
export const shutdown: Effect.Effect<CleanupReport, LockError, Api.CleanupCoordinator> = Effect.flatMap(
  tag,
  (coordinator) => coordinator.shutdown
)

/** @internal */
export const isShutdownRequested: Effect.Effect<boolean, never, Api.CleanupCoordinator> = Effect.flatMap(
  tag,
  (coordinator) => coordinator.isShutdownRequested
)
