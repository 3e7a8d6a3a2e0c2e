import * as CleanupCoordinator from "@core-stability/cleanup/CleanupCoordinator"
import * as CleanupError from "@core-stability/cleanup/CleanupError"
import type { CleanupReport } from "@core-stability/cleanup/CleanupReport"
import type { CleanupStep } from "@core-stability/cleanup/CleanupStep"
import * as BufferManager from "@core-stability/coordinator/BufferManager"
import * as LockError from "@core-stability/locks/LockError"
import * as LockRegistry from "@core-stability/locks/LockRegistry"
import type { ErrorInfo, RecoveryAttempt } from "@core-stability/recovery/RecoveryLogger"
import * as StateMachine from "@core-stability/state-machine/StateMachine"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberHandle from "effect/FiberHandle"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Metric from "effect/Metric"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Api from "../MonitoringCoordinator.js"
import { FiberHung, InvalidMonitoringOptions } from "../MonitoringError.js"
import type { VerificationReport } from "../VerificationReport.js"

/** @internal */
export const tag = Context.GenericTag<Api.MonitoringCoordinator>("@core-stability/monitoring/MonitoringCoordinator")

/** @internal */
export const metrics = {
  errors: Metric.counter("monitoring_errors", {
    description: "errors handled, by component and channel",
    incremental: true
  }),
  healthChecks: Metric.counter("monitoring_health_checks", { description: "health checks run", incremental: true }),
  healthy: Metric.gauge("monitoring_healthy", {
    description: "the last health check: 1 healthy, 0.5 degraded, 0 failed"
  }),
  fibersHung: Metric.counter("monitoring_fibers_hung", {
    description: "watched fibers found hung",
    incremental: true
  }),
  fibersFailed: Metric.counter("monitoring_fibers_failed", {
    description: "watched fibers that failed",
    incremental: true
  })
}

/** The `lock_*` counters of `@core-stability/locks`, summed over their tags. */
const lockCounters = {
  acquisitions: "lock_acquisitions",
  contended: "lock_contended_acquisitions",
  timeouts: "lock_timeouts",
  orderViolations: "lock_order_violations"
} as const

const maxChain = 16

const info = (error: unknown): ErrorInfo => {
  if (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string") {
    return { tag: error._tag, message: Predicate.hasProperty(error, "message") ? String(error.message) : error._tag }
  }
  if (error instanceof Error) return { tag: error.name, message: error.message }
  return { tag: typeof error, message: String(error) }
}

/** The error and its causes, outermost first; a `Cause` contributes each failure and defect with their causes. */
const chainOf = (error: unknown): ReadonlyArray<ErrorInfo> => {
  const chain: Array<ErrorInfo> = []
  const seen = new Set<unknown>()
  const follow = (current: unknown): void => {
    while (current !== undefined && current !== null && chain.length < maxChain && !seen.has(current)) {
      seen.add(current)
      if (Cause.isCause(current)) {
        const parts: Array<unknown> = [...Cause.failures(current), ...Cause.defects(current)]
        if (parts.length === 0) chain.push({ tag: "Interrupted", message: "interrupted" })
        for (const part of parts) follow(part)
        return
      }
      chain.push(info(current))
      current = Predicate.hasProperty(current, "cause") ? current.cause : undefined
    }
  }
  follow(error)
  return chain.length === 0 ? [{ tag: "undefined", message: "undefined" }] : chain
}

const toMillis = (
  field: string,
  value: Duration.DurationInput | undefined,
  fallback: number
): Effect.Effect<number, InvalidMonitoringOptions> => {
  if (value === undefined) return Effect.succeed(fallback)
  const decoded = Duration.decodeUnknown(value)
  const ms = Option.isSome(decoded) ? Duration.toMillis(decoded.value) : Number.NaN
  return ms > 0 && Number.isFinite(ms)
    ? Effect.succeed(ms)
    : Effect.fail(new InvalidMonitoringOptions({ field, reason: "must be a positive finite duration" }))
}

interface WatchEntry {
  readonly id: number
  readonly name: string
  /** The fiber's thread name (`"#12"`): the entry does not keep the fiber itself. */
  readonly fiber: string
  readonly component: string | undefined
  readonly channel: string | undefined
  readonly heartbeat: boolean
  lastHeartbeatAt: number
  status: Api.FiberState
  failure: ErrorInfo | undefined
}

type FiberEvent =
  | {
    readonly _tag: "Failed"
    readonly entry: WatchEntry
    readonly component: string
    readonly cause: Cause.Cause<unknown>
  }
  | { readonly _tag: "Hung"; readonly entry: WatchEntry; readonly component: string; readonly error: FiberHung }

/** @internal */
export class MonitoringImpl implements Api.MonitoringCoordinator {
  /** Set when the coordinator's scope starts closing: its fiber sets no longer take fibers. */
  closed = false
  shutdownRequested = false
  checkCount = 0
  last: Api.HealthCheck | undefined = undefined
  errorSeq = 0
  readonly history: Array<Api.ErrorContext> = []
  total = 0
  readonly byComponent = new Map<string, number>()
  readonly byChannel = new Map<string, number>()
  readonly sinceRecovery = new Map<string, number>()
  watchSeq = 0
  readonly watched = new Map<number, WatchEntry>()
  /** The ids of the watched fibers that ended, oldest first (bounded by `fiberHistorySize`). */
  readonly ended = new Set<number>()
  cleanupRun: Deferred.Deferred<CleanupReport, LockError.LockError> | undefined = undefined
  shutdownRun: Deferred.Deferred<CleanupReport, LockError.LockError> | undefined = undefined
  verification: VerificationReport | undefined = undefined

  constructor(
    readonly options: Api.Options,
    readonly intervalMs: number,
    readonly hungAfterMs: number,
    readonly cleanupTimeoutMs: number,
    readonly errorHistorySize: number,
    readonly fiberHistorySize: number,
    readonly policy: Api.RecoveryPolicy,
    readonly loop: FiberHandle.FiberHandle<void, never>,
    readonly background: FiberSet.FiberSet<unknown, unknown>,
    readonly recoveries: FiberSet.FiberSet<Option.Option<RecoveryAttempt>, never>,
    readonly events: Queue.Queue<FiberEvent>
  ) {}

  // ----- health loop -----

  get start(): Effect.Effect<void> {
    return Effect.asVoid(
      FiberHandle.run(
        this.loop,
        Effect.repeat(this.checkHealth, Schedule.spaced(Duration.millis(this.intervalMs))).pipe(Effect.asVoid),
        { onlyIfMissing: true }
      )
    )
  }

  get stop(): Effect.Effect<void> {
    return FiberHandle.clear(this.loop)
  }

  get running(): Effect.Effect<boolean> {
    return Effect.map(Effect.option(FiberHandle.get(this.loop)), Option.isSome)
  }

  get checkHealth(): Effect.Effect<Api.HealthCheck> {
    return Effect.gen(this, function*() {
      const report = yield* this.options.components.health
      const at = yield* Clock.currentTimeMillis
      // every hung fiber is marked and handed to the event loop in one synchronous step: an interruption of the
      // check (`stop`, a caller's timeout) cannot leave a fiber marked hung whose hang was never reported
      const found: Array<FiberHung> = []
      for (const entry of this.watched.values()) {
        if (entry.status !== "active" || !entry.heartbeat) continue
        const silentMs = at - entry.lastHeartbeatAt
        if (silentMs < this.hungAfterMs) continue
        const error = new FiberHung({ name: entry.name, fiber: entry.fiber, silentMs, hungAfterMs: this.hungAfterMs })
        entry.status = "hung"
        entry.failure = { tag: error._tag, message: error.message }
        metrics.fibersHung.unsafeUpdate(1, [])
        if (entry.component !== undefined) {
          Queue.unsafeOffer(this.events, { _tag: "Hung", entry, component: entry.component, error })
        }
        found.push(error)
      }
      for (const error of found) {
        yield* Effect.logWarning(error.message).pipe(Effect.annotateLogs({ fiber: error.fiber }))
      }
      const check: Api.HealthCheck = { at, report, hung: found.map((error) => error.name) }
      this.last = check
      this.checkCount++
      yield* Metric.increment(metrics.healthChecks)
      yield* Metric.set(
        metrics.healthy,
        report.status === "healthy" ? 1 : report.status === "degraded" ? 0.5 : 0
      )
      return check
    })
  }

  get lastHealth(): Effect.Effect<Option.Option<Api.HealthCheck>> {
    return Effect.sync(() => Option.fromNullable(this.last))
  }

  get checks(): Effect.Effect<number> {
    return Effect.sync(() => this.checkCount)
  }

  // ----- errors -----

  handleError(
    error: unknown,
    options: { readonly component: string; readonly channel?: string | undefined }
  ): Effect.Effect<Api.HandledError> {
    const { channel, component } = options
    return Effect.suspend(() => {
      // whether this error was counted towards the recovery policy (by the decision step, or by the fallback)
      let counted = false
      return Effect.gen(this, function*() {
        const at = yield* Clock.currentTimeMillis
        const fiber = FiberId.threadName(yield* Effect.fiberId)
        const chain = chainOf(error)
        // counted first, so that even a handling that dies half-way is counted
        this.total++
        this.byComponent.set(component, (this.byComponent.get(component) ?? 0) + 1)
        if (channel !== undefined) this.byChannel.set(channel, (this.byChannel.get(channel) ?? 0) + 1)
        yield* Metric.increment(
          Metric.tagged(Metric.tagged(metrics.errors, "component", component), "channel", channel ?? "none")
        )
        const state = yield* Effect.option(this.options.components.state(component))
        const head = chain[0]!
        const summary = head.message.length > 0 ? `${head.tag}: ${head.message}` : head.tag
        let transition = "unknown component"
        if (Option.isSome(state)) {
          if (state.value === "Error") transition = "already"
          else {
            const moved = yield* Effect.either(
              this.options.components.transition(component, "Error", { reason: summary })
            )
            transition = moved._tag === "Right" ? "moved" : `refused: ${info(moved.left).message}`
          }
        }
        // The decision, in one synchronous step: the shutdown flag, the component's count since its last recovery
        // (this error included), the policy, and the reset of the count when it triggers. A concurrent error of the
        // same component sees the count before or after it, never half-way: two errors cannot both be "the third".
        const recovery = this.options.recovery
        const decision: Api.ErrorContext["recovery"] = recovery === undefined
          ? "no-coordinator"
          : this.shutdownRequested
          ? "shutting-down"
          : "policy"
        const draft: Api.ErrorContext = {
          id: ++this.errorSeq,
          component,
          channel,
          tag: head.tag,
          message: head.message,
          chain,
          fiber,
          at,
          state: Option.getOrUndefined(state),
          transition,
          recovery: decision
        }
        const errors = (this.sinceRecovery.get(component) ?? 0) + 1
        const trigger = recovery !== undefined && decision === "policy" && this.policy(draft, errors)
        this.sinceRecovery.set(component, trigger ? 0 : errors)
        counted = true
        const context: Api.ErrorContext = trigger ? { ...draft, recovery: "triggered" } : draft
        this.history.push(context)
        if (this.history.length > this.errorHistorySize) this.history.shift()
        // A shutdown requested from here on finds the recovery's fiber in `recoveries` and waits for it; the fiber
        // itself checks the request before it starts the episode (no new recovery starts once shutdown is requested).
        const running = trigger
          ? yield* FiberSet.run(this.recoveries, this.recoverUnlessShuttingDown(recovery, component, head.tag, at))
          : undefined
        yield* Effect.logWarning(`error handled: ${summary}`).pipe(
          Effect.annotateLogs({
            component,
            ...(channel === undefined ? {} : { channel }),
            ...(context.state === undefined ? {} : { state: context.state }),
            recovery: context.recovery
          })
        )
        if (running === undefined) return { context, awaitRecovery: Effect.succeedNone }
        const awaitRecovery: Effect.Effect<Option.Option<RecoveryAttempt>> = Effect.map(
          Fiber.await(running),
          (exit) => Exit.isSuccess(exit) ? exit.value : Option.none()
        )
        return { context, awaitRecovery }
      }).pipe(
        // handling an error must never fail: an unexpected defect is logged and a minimal context returned
        Effect.catchAllCause((cause) =>
          Effect.gen(this, function*() {
            if (!counted) this.sinceRecovery.set(component, (this.sinceRecovery.get(component) ?? 0) + 1)
            const at = yield* Clock.currentTimeMillis
            yield* Effect.logError("monitoring could not fully handle an error", cause)
            const chain = chainOf(error)
            const context: Api.ErrorContext = {
              id: ++this.errorSeq,
              component,
              channel,
              tag: chain[0]!.tag,
              message: chain[0]!.message,
              chain,
              fiber: FiberId.threadName(yield* Effect.fiberId),
              at,
              state: undefined,
              transition: "unknown",
              recovery: "handling-failed"
            }
            this.history.push(context)
            if (this.history.length > this.errorHistorySize) this.history.shift()
            return { context, awaitRecovery: Effect.succeedNone }
          })
        )
      )
    })
  }

  /**
   * The body of a triggered recovery's fiber. A fiber that starts after a shutdown was requested does not start the
   * episode (no new recovery starts once shutdown is requested) and ends with `None`; one that started it before
   * is waited for by the shutdown (it waits for `recoveries` to be empty).
   */
  recoverUnlessShuttingDown(
    recovery: NonNullable<Api.Options["recovery"]>,
    component: string,
    trigger: string,
    occurredAt: number
  ): Effect.Effect<Option.Option<RecoveryAttempt>> {
    return Effect.interruptible(Effect.suspend(() =>
      this.shutdownRequested
        ? Effect.as(
          Effect.logInfo("triggered recovery not started: shutdown requested").pipe(
            Effect.annotateLogs({ component })
          ),
          Option.none()
        )
        : Effect.asSome(recovery.recover(component, { trigger, occurredAt }))
    ))
  }

  resetError(component: string): Effect.Effect<Api.ResetResult> {
    return Effect.gen(this, function*() {
      // the books first, in one synchronous step
      const before = this.history.length
      for (let i = this.history.length - 1; i >= 0; i--) {
        if (this.history[i]!.component === component) this.history.splice(i, 1)
      }
      const cleared = before - this.history.length
      this.sinceRecovery.delete(component)
      const state = yield* Effect.option(this.options.components.state(component))
      let transition = "unknown component"
      if (Option.isSome(state)) {
        if (state.value !== "Error") transition = "not-in-error"
        else {
          const moved = yield* Effect.either(
            this.options.components.transition(component, "Stopped", { reason: "error reset" })
          )
          transition = moved._tag === "Right" ? "moved" : `refused: ${info(moved.left).message}`
        }
      }
      let recovery = "no-coordinator"
      if (this.options.recovery !== undefined) {
        const machine = yield* this.options.recovery.machine(component)
        if ((yield* StateMachine.get(machine)) !== "Failed") recovery = "not-failed"
        else {
          const moved = yield* Effect.either(StateMachine.transitionTo(machine, "Idle", { reason: "error reset" }))
          recovery = moved._tag === "Right" ? "reset" : `refused: ${info(moved.left).message}`
        }
      }
      yield* Effect.logInfo("error state reset").pipe(Effect.annotateLogs({ component, transition, recovery }))
      const result: Api.ResetResult = {
        component,
        cleared,
        state: Option.getOrUndefined(state),
        transition,
        recovery
      }
      return result
    }).pipe(
      // like handleError, a reset never fails: a service dying half-way is logged
      Effect.catchAllCause((cause) =>
        Effect.as(Effect.logError("monitoring could not fully reset an error state", cause), {
          component,
          cleared: 0,
          state: undefined,
          transition: "unknown",
          recovery: "reset-failed"
        })
      )
    )
  }

  get lastError(): Effect.Effect<Option.Option<Api.ErrorContext>> {
    return Effect.sync(() => Option.fromNullable(this.history[this.history.length - 1]))
  }

  get errors(): Effect.Effect<ReadonlyArray<Api.ErrorContext>> {
    return Effect.sync(() => this.history.slice())
  }

  get errorCounts(): Effect.Effect<Api.ErrorCounts> {
    return Effect.sync(() => ({
      total: this.total,
      byComponent: Object.fromEntries(this.byComponent),
      byChannel: Object.fromEntries(this.byChannel)
    }))
  }

  // ----- cleanup and shutdown -----

  /**
   * Runs `effect` once for every concurrent caller, in a fiber of its own in the coordinator's scope: the first call
   * starts it, every caller (the first included) waits for its exit. Interrupting a caller ends its wait only, never
   * the run, so the other callers still get its result; the run is interrupted only when the coordinator's scope
   * closes. With `keep`, the result stays for later callers (shutdown); without, the next call after the run starts
   * a new one. Once the scope is closed there is no fiber to run it in: it runs in the caller's fiber.
   */
  joined(
    get: () => Deferred.Deferred<CleanupReport, LockError.LockError> | undefined,
    set: (deferred: Deferred.Deferred<CleanupReport, LockError.LockError> | undefined) => void,
    effect: Effect.Effect<CleanupReport, LockError.LockError>,
    keep: boolean
  ): Effect.Effect<CleanupReport, LockError.LockError> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        const existing = get()
        if (existing !== undefined) return restore(Deferred.await(existing))
        const deferred = Deferred.unsafeMake<CleanupReport, LockError.LockError>(FiberId.none)
        set(deferred)
        const run = Effect.onExit(Effect.interruptible(effect), (exit) =>
          Effect.suspend(() => {
            if (!keep || Exit.isInterrupted(exit)) set(undefined)
            return Deferred.done(deferred, exit)
          }))
        if (this.closed) return restore(run)
        return Effect.zipRight(FiberSet.run(this.background, run), restore(Deferred.await(deferred)))
      })
    )
  }

  get cleanupAll(): Effect.Effect<CleanupReport, LockError.LockError> {
    return this.joined(
      () => this.cleanupRun,
      (run) => {
        this.cleanupRun = run
      },
      this.runCleanup,
      false
    )
  }

  get runCleanup(): Effect.Effect<CleanupReport, LockError.LockError> {
    const components = this.options.components
    return Effect.scoped(Effect.gen(this, function*() {
      const infos = yield* components.components
      const cleanup = yield* CleanupCoordinator.make({ key: "monitoring:cleanup-all", retries: 1 })
      const steps = infos.map((component): CleanupStep<unknown> => ({
        name: component.id,
        phase: "ReleasingResources",
        // every dependent is cleaned up first: reverse dependency order
        dependsOn: infos.filter((other) => other.dependencies.includes(component.id)).map((other) => other.id),
        timeout: this.cleanupTimeoutMs,
        run: components.cleanupComponent(component.id)
      }))
      yield* cleanup.registerAll(steps).pipe(
        Effect.catchIf((error) => !LockError.isLockError(error), (error) => Effect.die(error))
      )
      return yield* cleanup.shutdown
    })).pipe(
      // the cleanup coordinator's finalizer dies with the report of a failed run: the report is the result
      Effect.catchSomeDefect((defect) =>
        CleanupError.isCleanupFailedError(defect) ? Option.some(Effect.succeed(defect.report)) : Option.none()
      ),
      Effect.tap((report) =>
        report.status === "Completed"
          ? Effect.logInfo("cleanupAll completed")
          : Effect.logWarning("cleanupAll did not complete").pipe(
            Effect.annotateLogs({
              failed: report.steps.filter((step) => step.status !== "Succeeded" && step.status !== "Verified")
                .map((step) => `${step.name} ${step.status}`).join(", ")
            })
          )
      )
    )
  }

  get shutdown(): Effect.Effect<CleanupReport, LockError.LockError> {
    return Effect.suspend(() => {
      this.shutdownRequested = true
      return this.joined(
        () => this.shutdownRun,
        (run) => {
          this.shutdownRun = run
        },
        this.runShutdown,
        true
      )
    })
  }

  get runShutdown(): Effect.Effect<CleanupReport, LockError.LockError> {
    return Effect.gen(this, function*() {
      yield* Effect.logInfo("shutdown requested")
      yield* this.stop
      // the recoveries handleError triggered: each one either started its episode before the request (and is waited
      // for here) or sees the request and does not start it
      yield* FiberSet.awaitEmpty(this.recoveries)
      // and any other episode of the recovery coordinator
      if (this.options.recovery !== undefined) yield* this.options.recovery.awaitIdle
      const report = yield* this.cleanupAll
      this.watched.clear()
      this.ended.clear()
      return report
    })
  }

  get isShutdownRequested(): Effect.Effect<boolean> {
    return Effect.sync(() => this.shutdownRequested)
  }

  get ready(): Effect.Effect<boolean> {
    return Effect.sync(() => !this.shutdownRequested && this.last?.report.status !== "failed")
  }

  // ----- fibers -----

  watch(
    name: string,
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
    options?: Api.WatchOptions
  ): Effect.Effect<Api.Watched> {
    return Effect.map(Clock.currentTimeMillis, (now) => {
      const entry: WatchEntry = {
        id: ++this.watchSeq,
        name,
        fiber: FiberId.threadName(fiber.id()),
        component: options?.component,
        channel: options?.channel,
        heartbeat: options?.heartbeat ?? false,
        lastHeartbeatAt: now,
        status: "active",
        failure: undefined
      }
      this.watched.set(entry.id, entry)
      // the observer keeps the entry, not the other way round: once the fiber ended, nothing here keeps it
      fiber.addObserver((exit) => {
        if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) {
          if (entry.status === "active" || entry.status === "hung") entry.status = "completed"
        } else {
          entry.status = "failed"
          entry.failure = chainOf(exit.cause)[0]!
          metrics.fibersFailed.unsafeUpdate(1, [])
          if (entry.component !== undefined && this.watched.has(entry.id)) {
            Queue.unsafeOffer(this.events, { _tag: "Failed", entry, component: entry.component, cause: exit.cause })
          }
        }
        this.forgetEnded(entry)
      })
      return {
        id: entry.id,
        heartbeat: Effect.flatMap(Clock.currentTimeMillis, (at) =>
          Effect.sync(() => {
            entry.lastHeartbeatAt = at
            if (entry.status === "hung") entry.status = "active"
          })),
        unwatch: Effect.sync(() => {
          this.watched.delete(entry.id)
          this.ended.delete(entry.id)
        })
      }
    })
  }

  /** Keeps an ended fiber's entry among the last `fiberHistorySize` ended ones, forgetting the oldest beyond. */
  forgetEnded(entry: WatchEntry): void {
    if (this.watched.get(entry.id) !== entry) return
    this.ended.add(entry.id)
    while (this.ended.size > this.fiberHistorySize) {
      const oldest = this.ended.values().next().value!
      this.ended.delete(oldest)
      this.watched.delete(oldest)
    }
  }

  fork<A, E, R>(
    name: string,
    effect: (watched: Api.Watched) => Effect.Effect<A, E, R>,
    options?: Api.WatchOptions
  ): Effect.Effect<Api.Watched & { readonly fiber: Fiber.RuntimeFiber<A, E> }, never, R> {
    return Effect.uninterruptible(Effect.gen(this, function*() {
      const ready = yield* Deferred.make<Api.Watched>()
      const fiber = yield* FiberSet.run(
        this.background as FiberSet.FiberSet<A, E>,
        Effect.flatMap(Deferred.await(ready), (watched) => Effect.interruptible(effect(watched)))
      )
      const watched = yield* this.watch(name, fiber as Fiber.RuntimeFiber<unknown, unknown>, options)
      yield* Deferred.succeed(ready, watched)
      return { ...watched, fiber }
    }))
  }

  get fibers(): Effect.Effect<ReadonlyArray<Api.FiberStatus>> {
    return Effect.sync(() =>
      [...this.watched.values()].map((entry) => ({
        id: entry.id,
        name: entry.name,
        fiber: entry.fiber,
        component: entry.component,
        status: entry.status,
        heartbeat: entry.heartbeat,
        lastHeartbeatAt: entry.lastHeartbeatAt,
        failure: entry.failure
      }))
    )
  }

  // ----- verification -----

  get lastVerification(): Effect.Effect<Option.Option<VerificationReport>> {
    return Effect.sync(() => Option.fromNullable(this.verification))
  }

  recordVerification(report: VerificationReport): Effect.Effect<void> {
    return Effect.sync(() => {
      this.verification = report
    })
  }

  /** Hands fiber failures and hangs to `handleError`, in order. */
  get eventLoop(): Effect.Effect<never> {
    return Effect.forever(
      Effect.flatMap(Queue.take(this.events), (event) =>
        Effect.asVoid(
          this.handleError(event._tag === "Failed" ? event.cause : event.error, {
            component: event.component,
            channel: event.entry.channel
          })
        ))
    )
  }

  // ----- snapshot -----

  get snapshot(): Effect.Effect<Api.MetricsSnapshot> {
    return Effect.gen(this, function*() {
      const at = yield* Clock.currentTimeMillis
      const locks = yield* LockRegistry.snapshot()
      const pairs = yield* Metric.snapshot
      const sum = (name: string): number =>
        pairs.reduce((total, pair) => {
          if (pair.metricKey.name !== name || !MetricState.isCounterState(pair.metricState)) return total
          return total + Number(pair.metricState.count)
        }, 0)
      const infos = yield* this.options.components.components
      const buffers = yield* Effect.forEach(
        this.options.buffers ?? [],
        (manager) =>
          Effect.map(BufferManager.stats(manager), (stats) =>
            stats.queues.map((queue) => ({
              manager: stats.name,
              stage: queue.stage,
              channel: queue.channel,
              queued: queue.size,
              capacity: queue.capacity,
              dropped: queue.dropped
            })))
      )
      const fibers = { active: 0, completed: 0, failed: 0, hung: 0 }
      for (const entry of this.watched.values()) fibers[entry.status]++
      const process = (globalThis as {
        readonly process?: {
          readonly memoryUsage?: () => NodeJS.MemoryUsage
          readonly cpuUsage?: () => NodeJS.CpuUsage
        }
      }).process
      const memory = process?.memoryUsage?.()
      const cpu = process?.cpuUsage?.()
      return {
        at,
        locks: {
          held: locks.locks.reduce((total, lock) => total + lock.holders.length, 0),
          waiting: locks.locks.reduce((total, lock) => total + lock.waiters.length, 0),
          holders: locks.fibers.length,
          acquisitions: sum(lockCounters.acquisitions),
          contended: sum(lockCounters.contended),
          timeouts: sum(lockCounters.timeouts),
          orderViolations: sum(lockCounters.orderViolations)
        },
        fibers: {
          ...fibers,
          watched: this.watched.size,
          workers: infos.reduce((total, component) => total + component.workers, 0)
        },
        buffers: buffers.flat(),
        resources: {
          allocations: infos.reduce((total, component) => total + component.allocations, 0),
          byComponent: Object.fromEntries(infos.map((component) => [component.id, component.allocations]))
        },
        memory: memory === undefined ? undefined : {
          heapUsedBytes: memory.heapUsed,
          heapTotalBytes: memory.heapTotal,
          rssBytes: memory.rss,
          externalBytes: memory.external
        },
        cpu: cpu === undefined ? undefined : { userMs: cpu.user / 1000, systemMs: cpu.system / 1000 },
        errors: yield* this.errorCounts,
        health: this.last?.report.status,
        recovery: this.options.recovery === undefined ? undefined : yield* this.options.recovery.stats,
        shutdownRequested: this.shutdownRequested
      }
    })
  }
}

/** @internal */
export const make = (
  options: Api.Options
): Effect.Effect<Api.MonitoringCoordinator, InvalidMonitoringOptions, Scope.Scope> =>
  Effect.gen(function*() {
    const intervalMs = yield* toMillis("interval", options.interval, 1_000)
    const hungAfterMs = yield* toMillis("hungAfter", options.hungAfter, 1_500)
    const cleanupTimeoutMs = yield* toMillis("cleanupTimeout", options.cleanupTimeout, 30_000)
    const errorHistorySize = options.errorHistorySize ?? 100
    if (!Number.isInteger(errorHistorySize) || errorHistorySize < 1) {
      return yield* Effect.fail(
        new InvalidMonitoringOptions({ field: "errorHistorySize", reason: "must be a positive integer" })
      )
    }
    const fiberHistorySize = options.fiberHistorySize ?? 100
    if (!Number.isInteger(fiberHistorySize) || fiberHistorySize < 0) {
      return yield* Effect.fail(
        new InvalidMonitoringOptions({ field: "fiberHistorySize", reason: "must be a non-negative integer" })
      )
    }
    const loop = yield* FiberHandle.make<void, never>()
    const background = yield* FiberSet.make<unknown, unknown>()
    const recoveries = yield* FiberSet.make<Option.Option<RecoveryAttempt>, never>()
    const events = yield* Effect.acquireRelease(Queue.unbounded<FiberEvent>(), Queue.shutdown)
    const monitoring = new MonitoringImpl(
      options,
      intervalMs,
      hungAfterMs,
      cleanupTimeoutMs,
      errorHistorySize,
      fiberHistorySize,
      options.recoveryPolicy ?? ((_context, errors) => errors >= 3),
      loop,
      background,
      recoveries,
      events
    )
    // runs first when the scope closes (finalizers run in reverse order), before the fiber sets close
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        monitoring.closed = true
      })
    )
    yield* FiberSet.run(background, monitoring.eventLoop)
    return monitoring
  })
