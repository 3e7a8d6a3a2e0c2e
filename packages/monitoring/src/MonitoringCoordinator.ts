/**
 * The monitoring hub: a periodic health loop, a metrics snapshot, error handling that never fails and triggers
 * recovery by policy, cleanup of every component in reverse dependency order, an awaitable shutdown, and the status
 * of watched fibers.
 *
 * - **Health loop** (`start` / `stop`): runs `checkHealth` at once and then on a `Schedule` (every `interval`,
 *   default 1,000 ms). `stop` interrupts the loop and waits for it, so no check runs after it returns. A check asks
 *   the `ComponentCoordinator` for its health report and looks for hung fibers.
 * - **Errors** (`handleError` / `resetError`): never fail. It records an error context (the error's tag and message, the cause
 *   chain with the root cause last, the fiber, the time, the component's state), counts per component and per
 *   channel, moves the component to `Error`, and triggers a recovery through the `RecoveryCoordinator` when the
 *   policy says so (default: on the third error of a component since its last recovery, as the original did).
 *   `resetError` undoes it: drops the component's kept contexts, moves it `Error -> Stopped` and its recovery
 *   machine `Failed -> Idle`.
 * - **cleanupAll**: `cleanupComponent` for every component in reverse dependency order (every dependent before its
 *   dependencies) as the steps of a `CleanupCoordinator` run, returning its report; a component whose dependent
 *   failed to clean up is skipped, independent ones still run. Concurrent callers join the run in progress.
 * - **shutdown**: awaitable from inside the program (no nested runtime): marks shutdown as requested (readiness
 *   turns false at once), stops the loop, lets recoveries in progress end (no new ones start: a recovery
 *   `handleError` triggered whose episode had not started yet is not started), runs `cleanupAll`, and forgets every
 *   watched fiber. Idempotent; concurrent callers get the same report. The shutdown (like `cleanupAll`) runs in a
 *   fiber of the coordinator's scope: interrupting a caller ends its wait, not the run.
 * - **Fibers** (`watch` / `fork`): `active`, `completed`, `failed` (seen at once, through the fiber's exit
 *   observer, and handed to `handleError` for the fiber's component), `hung` (a heartbeat-watched fiber silent for
 *   `hungAfter`, default 1,500 ms, found by the next health check, so within `hungAfter + interval`). Fibers that
 *   ended are kept for `fibers` and the snapshot up to `fiberHistorySize` (default 100), the oldest forgotten first;
 *   an entry keeps the fiber's id, not the fiber.
 * - **Verification** (`lastVerification`): the last report of a `SystemVerifier` made with this coordinator (it calls
 *   `recordVerification`), also served on `GET /debug/verify`.
 *
 * No lock is held across any call to another service; the coordinator's books are updated in single synchronous
 * steps (the policy decision of `handleError` included: a component's count since its last recovery, the policy and
 * the reset of the count when it triggers are one step, so two concurrent errors cannot both trigger on the same
 * threshold).
 *
 * The idea follows the original `MonitoringCoordinator` (origin.md, 2.6) with the fixes of its weaknesses 33-36:
 * a real, stoppable loop (the original ran one health pass and never another), a `handle_error` that cannot throw
 * (the original always threw), shutdown without a nested event loop, cleanup in reverse *dependency* order (the
 * original used reverse registration order), and fiber status with failure and hang detection. Readiness derived
 * from the shutdown state follows lifecycle.md idea 13.
 *
 * @example
 * ```ts
 * import { ComponentCoordinator } from "@core-stability/coordinator"
 * import { MonitoringCoordinator } from "@core-stability/monitoring"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const components = yield* ComponentCoordinator.make()
 *   yield* components.register({ id: "storage" })
 *   yield* components.register({ id: "capture", dependencies: ["storage"] })
 *   yield* components.startAll
 *   const monitoring = yield* MonitoringCoordinator.make({ components })
 *   yield* monitoring.start
 *   yield* monitoring.handleError(new Error("device lost"), { component: "capture", channel: "left" })
 *   const report = yield* monitoring.shutdown // capture is cleaned up before storage
 *   return report.executionOrder // ["capture", "storage"]
 * }))
 * ```
 *
 * @since 0.1.0
 */
import type { CleanupReport } from "@core-stability/cleanup/CleanupReport"
import type * as BufferManager from "@core-stability/coordinator/BufferManager"
import type * as ComponentCoordinator from "@core-stability/coordinator/ComponentCoordinator"
import type { LockError } from "@core-stability/locks/LockError"
import type * as RecoveryCoordinator from "@core-stability/recovery/RecoveryCoordinator"
import type { ErrorInfo, RecoveryAttempt } from "@core-stability/recovery/RecoveryLogger"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/monitoringCoordinator.js"
import type { InvalidMonitoringOptions } from "./MonitoringError.js"
import type { VerificationReport } from "./VerificationReport.js"

/**
 * What `handleError` recorded.
 *
 * - `tag` / `message`: the error's (`_tag`, else its class name);
 * - `chain`: the error and its causes (the `cause` property of each, or every failure and defect of a `Cause`),
 *   outermost first, the root cause last; at most 16 entries;
 * - `fiber`: the fiber that handled it (e.g. `"#12"`); `at`: epoch ms from the `Clock`;
 * - `state`: the component's state before it moved to `Error` (`undefined` for an unknown component);
 * - `transition`: `"moved"`, `"already"` (it was in `Error`), or why the move was refused;
 * - `recovery`: `"triggered"`, or why not (`"policy"`, `"shutting-down"`, `"no-coordinator"`, or
 *   `"handling-failed"` when a service died while the error was handled: the error is still counted and kept, the
 *   defect is logged).
 *
 * @since 0.1.0
 * @category models
 */
export interface ErrorContext {
  readonly id: number
  readonly component: string
  readonly channel: string | undefined
  readonly tag: string
  readonly message: string
  readonly chain: ReadonlyArray<ErrorInfo>
  readonly fiber: string
  readonly at: number
  readonly state: string | undefined
  readonly transition: string
  readonly recovery: "triggered" | "policy" | "shutting-down" | "no-coordinator" | "handling-failed"
}

/**
 * `handleError`'s result: the context and, when a recovery was triggered, a way to wait for its attempt (`None`
 * when none was triggered, when it was interrupted, or when a shutdown was requested before its episode started).
 *
 * @since 0.1.0
 * @category models
 */
export interface HandledError {
  readonly context: ErrorContext
  readonly awaitRecovery: Effect.Effect<Option.Option<RecoveryAttempt>>
}

/**
 * `resetError`'s result (the original's `reset_error_state`, origin.md 3.6 #9).
 *
 * - `cleared`: the component's error contexts dropped from the kept ones (its counts stay: they are totals);
 * - `state`: the component's state before the reset (`undefined` for an unknown component);
 * - `transition`: `"moved"` (`Error -> Stopped`), `"not-in-error"` (nothing to leave), `"unknown component"`, or
 *   why the move was refused;
 * - `recovery`: `"reset"` (its `Recovery` machine was found in `Failed` and moved to `Idle`), `"not-failed"` (the
 *   usual case: the `RecoveryCoordinator` itself moves a machine `Failed -> Idle` once it has recorded the episode),
 *   `"no-coordinator"`, or why the reset was refused.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResetResult {
  readonly component: string
  readonly cleared: number
  readonly state: string | undefined
  readonly transition: string
  readonly recovery: string
}

/**
 * Decides whether an error triggers a recovery; `errors` counts the component's errors since its last triggered
 * recovery, this one included.
 *
 * @since 0.1.0
 * @category models
 */
export type RecoveryPolicy = (context: ErrorContext, errors: number) => boolean

/**
 * Recover on the `n`-th error of a component since its last recovery (the original recovered after 3 processing
 * errors).
 *
 * @since 0.1.0
 * @category constructors
 */
export const recoverAfter = (n: number): RecoveryPolicy => (_context, errors) => errors >= n

/**
 * Never trigger a recovery.
 *
 * @since 0.1.0
 * @category constructors
 */
export const neverRecover: RecoveryPolicy = () => false

/**
 * Error counts: in total, per component and per channel.
 *
 * @since 0.1.0
 * @category models
 */
export interface ErrorCounts {
  readonly total: number
  readonly byComponent: Readonly<Record<string, number>>
  readonly byChannel: Readonly<Record<string, number>>
}

/**
 * A watched fiber's status.
 *
 * @since 0.1.0
 * @category models
 */
export type FiberState = "active" | "completed" | "failed" | "hung"

/**
 * A watched fiber.
 *
 * @since 0.1.0
 * @category models
 */
export interface FiberStatus {
  /** Sequential from 1 (the original's thread ids). */
  readonly id: number
  readonly name: string
  /** The fiber id, e.g. `"#12"`. */
  readonly fiber: string
  readonly component: string | undefined
  readonly status: FiberState
  readonly heartbeat: boolean
  /** Epoch ms of the last heartbeat (the registration time before the first). */
  readonly lastHeartbeatAt: number
  readonly failure: ErrorInfo | undefined
}

/**
 * Options of `watch` and `fork`: the component whose error a failure or hang is (for `handleError`), and whether the
 * fiber is watched by heartbeat.
 *
 * @since 0.1.0
 * @category models
 */
export interface WatchOptions {
  readonly component?: string | undefined
  readonly channel?: string | undefined
  readonly heartbeat?: boolean | undefined
}

/**
 * The handle of a watched fiber: its id, a heartbeat, and how to stop watching it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Watched {
  readonly id: number
  readonly heartbeat: Effect.Effect<void>
  readonly unwatch: Effect.Effect<void>
}

/**
 * One health check: the components' report, the fibers found hung by it, and when it ran (epoch ms).
 *
 * @since 0.1.0
 * @category models
 */
export interface HealthCheck {
  readonly at: number
  readonly report: ComponentCoordinator.HealthReport
  readonly hung: ReadonlyArray<string>
}

/**
 * The metrics snapshot. Times are epoch ms; memory is in bytes, CPU time in ms (both `undefined` where the runtime
 * has no `process`).
 *
 * @since 0.1.0
 * @category models
 */
export interface MetricsSnapshot {
  readonly at: number
  readonly locks: {
    /** Locks held now, waiters queued now, fibers holding a lock now. */
    readonly held: number
    readonly waiting: number
    readonly holders: number
    /** Totals since start (the `lock_*` counters of `@core-stability/locks`, summed over every lock). */
    readonly acquisitions: number
    readonly contended: number
    readonly timeouts: number
    readonly orderViolations: number
  }
  readonly fibers: { readonly [K in FiberState]: number } & { readonly watched: number; readonly workers: number }
  readonly buffers: ReadonlyArray<{
    readonly manager: string
    readonly stage: string
    readonly channel: string
    readonly queued: number
    readonly capacity: number
    readonly dropped: number
  }>
  readonly resources: {
    readonly allocations: number
    readonly byComponent: Readonly<Record<string, number>>
  }
  readonly memory:
    | {
      readonly heapUsedBytes: number
      readonly heapTotalBytes: number
      readonly rssBytes: number
      readonly externalBytes: number
    }
    | undefined
  readonly cpu: { readonly userMs: number; readonly systemMs: number } | undefined
  readonly errors: ErrorCounts
  readonly health: ComponentCoordinator.HealthStatus | undefined
  readonly recovery: RecoveryCoordinator.Stats | undefined
  readonly shutdownRequested: boolean
}

/**
 * Options of {@link make}.
 *
 * - `components`: the coordinator whose components are checked, moved to `Error` and cleaned up.
 * - `recovery`: where recoveries are triggered; without it, none is.
 * - `buffers`: buffer managers whose levels the snapshot reports.
 * - `interval`: of the health loop; default 1,000 ms. `hungAfter`: heartbeat threshold; default 1,500 ms.
 * - `recoveryPolicy`: default {@link recoverAfter}(3).
 * - `errorHistorySize`: error contexts kept; default 100.
 * - `fiberHistorySize`: watched fibers that ended (`completed` or `failed`) kept for `fibers` and the snapshot, the
 *   oldest forgotten first; default 100 (0 forgets a fiber as soon as it ends; `unwatch` forgets one at once).
 * - `cleanupTimeout`: per component in `cleanupAll`; default 30,000 ms.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly components: ComponentCoordinator.ComponentCoordinator
  readonly recovery?: RecoveryCoordinator.RecoveryCoordinator | undefined
  readonly buffers?: ReadonlyArray<BufferManager.BufferManager<never, never, any>> | undefined
  readonly interval?: Duration.DurationInput | undefined
  readonly hungAfter?: Duration.DurationInput | undefined
  readonly recoveryPolicy?: RecoveryPolicy | undefined
  readonly errorHistorySize?: number | undefined
  readonly fiberHistorySize?: number | undefined
  readonly cleanupTimeout?: Duration.DurationInput | undefined
}

/**
 * The coordinator.
 *
 * @since 0.1.0
 * @category models
 */
export interface MonitoringCoordinator {
  /** Starts the health loop (a check at once, then every `interval`); does nothing if it runs. */
  readonly start: Effect.Effect<void>
  /** Stops the loop and waits for it to end: no check runs after this returns. */
  readonly stop: Effect.Effect<void>
  readonly running: Effect.Effect<boolean>
  /** Runs one health check now. */
  readonly checkHealth: Effect.Effect<HealthCheck>
  readonly lastHealth: Effect.Effect<Option.Option<HealthCheck>>
  /** Health checks run so far. */
  readonly checks: Effect.Effect<number>
  readonly snapshot: Effect.Effect<MetricsSnapshot>
  /** Records, counts, moves to `Error`, triggers recovery by policy. Never fails. */
  readonly handleError: (
    error: unknown,
    options: { readonly component: string; readonly channel?: string | undefined }
  ) => Effect.Effect<HandledError>
  /**
   * Clears a component's error state (the original's `reset_error_state`): drops its kept error contexts and its
   * count towards the recovery policy, moves it `Error -> Stopped` through `ComponentCoordinator.transition` (it is
   * started again by the application or a recovery), and moves its `Recovery` machine `Failed -> Idle` if it is still
   * in `Failed` (through the machine `RecoveryCoordinator.machine` returns). Never fails.
   */
  readonly resetError: (component: string) => Effect.Effect<ResetResult>
  readonly lastError: Effect.Effect<Option.Option<ErrorContext>>
  /** The error contexts kept, oldest first. */
  readonly errors: Effect.Effect<ReadonlyArray<ErrorContext>>
  readonly errorCounts: Effect.Effect<ErrorCounts>
  /**
   * Cleans every component up in reverse dependency order and returns the report (`Failed` when a component's
   * cleanup failed; its dependencies are then `Skipped`). The run happens in a fiber of the coordinator's scope,
   * started by the first caller; every concurrent caller waits for its result, and interrupting a caller ends its
   * wait only. Fails only with the lock errors of the cleanup coordinator.
   */
  readonly cleanupAll: Effect.Effect<CleanupReport, LockError>
  /**
   * Starts the shutdown (in a fiber of the coordinator's scope), or joins the one in progress, or returns the
   * finished one's report. Readiness is false from the first call. Interrupting a caller ends its wait, not the
   * shutdown: the other callers still get the report.
   */
  readonly shutdown: Effect.Effect<CleanupReport, LockError>
  readonly isShutdownRequested: Effect.Effect<boolean>
  /** `true` when no shutdown was requested and the last health check (if any) did not fail. */
  readonly ready: Effect.Effect<boolean>
  /** Watches a fiber. */
  readonly watch: (
    name: string,
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
    options?: WatchOptions | undefined
  ) => Effect.Effect<Watched>
  /** Forks an effect into the coordinator's scope and watches it. */
  readonly fork: <A, E, R>(
    name: string,
    effect: (watched: Watched) => Effect.Effect<A, E, R>,
    options?: WatchOptions | undefined
  ) => Effect.Effect<Watched & { readonly fiber: Fiber.RuntimeFiber<A, E> }, never, R>
  readonly fibers: Effect.Effect<ReadonlyArray<FiberStatus>>
  /** The last system verification handed to {@link MonitoringCoordinator.recordVerification} (served on `GET /debug/verify`). */
  readonly lastVerification: Effect.Effect<Option.Option<VerificationReport>>
  /** Keeps a verification report as the last one; a `SystemVerifier` made with this coordinator calls it. */
  readonly recordVerification: (report: VerificationReport) => Effect.Effect<void>
}

/**
 * The service tag.
 *
 * @since 0.1.0
 * @category services
 */
export const MonitoringCoordinator: Context.Tag<MonitoringCoordinator, MonitoringCoordinator> = internal.tag

/**
 * Makes a coordinator whose loop and background fibers live in the current scope (the loop is not started). Fails
 * with `InvalidMonitoringOptions` for a non-positive `interval`, `hungAfter` or `cleanupTimeout`, an
 * `errorHistorySize` below 1, or a `fiberHistorySize` that is not a non-negative integer.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options: Options
) => Effect.Effect<MonitoringCoordinator, InvalidMonitoringOptions, Scope.Scope> = internal.make

/**
 * A layer providing a coordinator.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<MonitoringCoordinator, InvalidMonitoringOptions> =>
  Layer.scoped(MonitoringCoordinator, make(options))

/**
 * The coordinator's metrics: `monitoring_errors` (counter by `component`, `channel`), `monitoring_health_checks`
 * (counter), `monitoring_healthy` (gauge: 1 healthy, 0.5 degraded, 0 failed), `monitoring_fibers_hung` (counter),
 * `monitoring_fibers_failed` (counter).
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics: {
  readonly errors: Metric.Metric.Counter<number>
  readonly healthChecks: Metric.Metric.Counter<number>
  readonly healthy: Metric.Metric.Gauge<number>
  readonly fibersHung: Metric.Metric.Counter<number>
  readonly fibersFailed: Metric.Metric.Counter<number>
} = internal.metrics
