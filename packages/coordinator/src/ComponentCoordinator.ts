/**
 * Components with a dependency-ordered lifecycle, per-component and per-channel resources, fiber supervision and
 * OTP restart policies.
 *
 * - **Components** are registered with an id, dependencies (any iterable; unknown ids, self-dependencies and cycles
 *   fail at registration with the path), a scoped `start` effect, an optional health check, channels and a restart
 *   policy. `startAll` starts them in a topological order and returns it; `stopAll` stops them in the reverse order.
 * - **Lifecycle**: each component runs on its own `StateMachine` over `Presets.Component` of
 *   `@core-stability/state-machine` (`Uninitialized -> Initializing -> Running -> Stopping -> Stopped`, `Error` from
 *   anywhere), with a bounded history. Listeners receive every change after it is committed, outside every lock,
 *   with the error context when a component enters `Error`.
 * - **Resources** are acquire/release pairs allocated by a component (optionally for one of its channels), tracked by
 *   identity, counted against limits per resource type (coordinator-wide, per component, per channel), all or nothing
 *   for a batch, and released newest first whenever the component stops. What is still held at shutdown (a release
 *   that failed) is in the leak report with its owner and allocation site.
 * - **Supervision**: workers forked with `context.fork` live in the component's scope. A worker that fails, dies, or
 *   is interrupted by someone else is seen at once through its fiber's exit observer (no polling); the component moves
 *   to `Error` with the cause and the supervisor applies the restart policy: `one_for_one`, `one_for_all`,
 *   `rest_for_one`, restart types `permanent` / `transient` / `temporary`, a restart intensity (at most N restarts in
 *   a period, else every component is stopped and `join` fails with `RestartIntensityExceeded`), a backoff
 *   `Schedule` (jittered exponential by default), and significant components whose exit stops the group. Workers
 *   that opt in are watched by heartbeat (`heartbeat`; checked every 5,000 ms, hung after 10,000 ms of silence).
 * - **Cleanup**: `cleanupComponent` refuses while running dependents exist unless asked to cascade, and runs through
 *   a `CleanupCoordinator` of `@core-stability/cleanup`, so it returns a `CleanupReport` with a verification per step
 *   (no worker alive, no resource held).
 * - **Health** aggregates the components' checks into `healthy` / `degraded` / `failed`, counting a failure within the
 *   last 300,000 ms against the component.
 *
 * **Locks.** Lifecycle operations (registration, start, stop, restart, the supervisor's actions, each step of a
 * cleanup) are serialised by one `OrderedLock` at level `ComponentCoordinator.component` of the global hierarchy of
 * `@core-stability/locks`; starting and stopping the heartbeat monitor takes the `ComponentCoordinator.thread` lock.
 * No listener and no health check runs under a lock. The seed's other three locks are gone: the resource books, the
 * history and the listener list are updated in single synchronous steps (the JavaScript runtime cannot interleave
 * them), and the history lives in each component's state machine, which has its own lock. Because a start effect runs
 * under the lifecycle lock, it must not call `start`, `stopAll`, `restart` or `cleanupComponent` itself (it fails
 * with `LockRecursion` instead of hanging); workers and listeners may, a worker even on its own component (the call
 * then runs in a fiber of its own, which the worker's interruption does not reach).
 *
 * **What the original did** (origin.md, 2.3): most of its public API was called but never defined, allocation took
 * the component lock twice and deadlocked, threads were matched to components by substring of their names, listeners
 * ran under locks, `cleanup_component` checked no dependents and changed no state. Each of these is a tested property
 * here. Restart semantics follow Erlang/OTP's `supervisor`; the backoff follows Akka's `BackoffSupervisor`.
 *
 * @example
 * ```ts
 * import { ComponentCoordinator } from "@core-stability/coordinator"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const components = yield* ComponentCoordinator.make({ strategy: "rest_for_one", maxRestarts: 3, period: "10 seconds" })
 *   yield* components.register({
 *     id: "capture",
 *     channels: ["left", "right"],
 *     start: (context) =>
 *       Effect.gen(function*() {
 *         yield* context.allocate({
 *           type: "buffer",
 *           channel: "left",
 *           acquire: Effect.sync(() => new Uint8Array(1024)),
 *           release: () => Effect.void
 *         })
 *         yield* context.fork(
 *           Effect.forever(ComponentCoordinator.heartbeat.pipe(Effect.zipRight(Effect.sleep("1 second")))),
 *           { name: "reader", heartbeat: true }
 *         )
 *       })
 *   })
 *   yield* components.register({ id: "processor", dependencies: ["capture"], start: () => Effect.void })
 *   const order = yield* components.startAll // ["capture", "processor"]
 *   const health = yield* components.health // { status: "healthy", ... }
 * }))
 * ```
 *
 * @since 0.1.0
 */
import type { CleanupReport } from "@core-stability/cleanup/CleanupReport"
import type { LockError } from "@core-stability/locks/LockError"
import type { Presets, StateMachine } from "@core-stability/state-machine"
import type { TransitionError } from "@core-stability/state-machine/StateMachineError"
import type { TransitionRecord } from "@core-stability/state-machine/TransitionRecord"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import type { Inspectable } from "effect/Inspectable"
import * as Layer from "effect/Layer"
import type { Pipeable } from "effect/Pipeable"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type {
  AllocationError,
  CleanupFailed,
  DependencyNotRunning,
  ErrorContext,
  HasRunningDependents,
  InvalidOptions,
  RegistrationError,
  ReleaseFailed,
  RestartIntensityExceeded,
  StartFailed,
  UnknownAllocation,
  UnknownComponent
} from "./ComponentError.js"
import * as internal from "./internal/componentCoordinator.js"
import * as ledger from "./internal/resourceLedger.js"

/**
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category symbols
 */
export const AllocationTypeId: unique symbol = ledger.AllocationTypeId

/**
 * @since 0.1.0
 * @category symbols
 */
export type AllocationTypeId = typeof AllocationTypeId

/**
 * A component state: the states of `Presets.Component` (`Uninitialized`, `Idle`, `Initializing`, `Initiating`,
 * `Running`, `Paused`, `Stopping`, `StoppingCapture`, `Stopped`, `Error`).
 *
 * @since 0.1.0
 * @category models
 */
export type ComponentState = Presets.ComponentState

/**
 * What the supervisor restarts when a component ends and is to be restarted (OTP's restart strategies):
 *
 * - `one_for_one`: that component only;
 * - `one_for_all`: every running component (stopped in reverse start order, started in start order);
 * - `rest_for_one`: that component and every running component started after it, which includes all of its
 *   dependents (a start order is a topological order).
 *
 * @since 0.1.0
 * @category models
 */
export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one"

/**
 * When a component that ended is restarted (OTP's child restart types): `permanent` always, `transient` only after
 * an abnormal end (a worker failure, defect, foreign interruption, or a hung worker), `temporary` never. A component
 * ends normally when every worker it forked has completed successfully.
 *
 * @since 0.1.0
 * @category models
 */
export type RestartType = "permanent" | "transient" | "temporary"

/**
 * A component's restart policy.
 *
 * - `type`: see {@link RestartType}; default `permanent`.
 * - `strategy`: what to restart when this component ends; default the coordinator's `strategy`.
 * - `significant`: the component's end (normal, or abnormal with no restart) can stop the group, per the
 *   coordinator's `autoShutdown` (OTP 24's significant children). Only for `transient` and `temporary` components.
 *
 * @since 0.1.0
 * @category models
 */
export interface RestartPolicy {
  readonly type?: RestartType | undefined
  readonly strategy?: Strategy | undefined
  readonly significant?: boolean | undefined
}

/**
 * A health check's verdict.
 *
 * @since 0.1.0
 * @category models
 */
export type HealthStatus = "healthy" | "degraded" | "failed"

/**
 * Options of one worker.
 *
 * - `name`: in error contexts and the leak report; default `worker-N`.
 * - `heartbeat`: watch the worker by heartbeat; it must call {@link heartbeat} more often than `hungAfter`.
 *
 * @since 0.1.0
 * @category models
 */
export interface WorkerOptions {
  readonly name?: string | undefined
  readonly heartbeat?: boolean | undefined
}

/**
 * A resource: how to acquire it and how to release it.
 *
 * - `type`: the resource type limits and quotas count against (e.g. `"buffer"`, `"memory"`).
 * - `channel`: one of the component's channels, or none.
 * - `amount`: units counted against the limits; default 1. A negative or non-finite amount is a defect
 *   (`IllegalArgumentException`): a programming error, not a condition to handle.
 * - `acquire` runs uninterruptibly; `release` is called (and its effect run) only when the allocation is released or
 *   the component stops, never at allocation time. It runs uninterruptibly in a fiber of its own; a release function
 *   that throws is a failed release. A release still running after the coordinator's `shutdownTimeout` (checked by
 *   the heartbeat monitor, so within `shutdownTimeout + heartbeatInterval`) fails with `ReleaseFailed` (cause: a
 *   `TimeoutException`) and stays on the books, flagged; it goes on running, and a later release joins it.
 * - `site`: a label for the leak report; default the captured call site of the allocation.
 *
 * @since 0.1.0
 * @category models
 */
export interface Resource<A, E = never, R = never> {
  readonly type: string
  readonly channel?: string | undefined
  readonly amount?: number | undefined
  readonly acquire: Effect.Effect<A, E, R>
  readonly release: (value: A) => Effect.Effect<unknown, unknown, R>
  readonly site?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace Resource {
  /**
   * @since 0.1.0
   * @category models
   */
  export type Any = Resource<any, any, any>
  /**
   * @since 0.1.0
   * @category models
   */
  export type Value<T> = T extends Resource<infer A, infer _E, infer _R> ? A : never
  /**
   * @since 0.1.0
   * @category models
   */
  export type Error<T> = T extends Resource<infer _A, infer E, infer _R> ? E : never
  /**
   * @since 0.1.0
   * @category models
   */
  export type Context<T> = T extends Resource<infer _A, infer _E, infer R> ? R : never
}

/**
 * A resource held by a component: the handle is the identity (two allocations of equal values are distinct).
 *
 * @since 0.1.0
 * @category models
 */
export interface Allocation<out A> extends Inspectable {
  readonly [AllocationTypeId]: AllocationTypeId
  /** Unique within the coordinator, increasing in allocation order. */
  readonly id: number
  readonly component: string
  readonly channel: string | undefined
  readonly type: string
  readonly amount: number
  /** When it was allocated: epoch ms from the `Clock`. */
  readonly at: number
  readonly value: A
  /** The allocation site (the resource's `site`, or the captured caller), if known. */
  readonly site: string | undefined
}

/**
 * What a component's `start` effect receives.
 *
 * - `fork(worker, options)`: forks a supervised worker into the component's scope. Its failure, defect or foreign
 *   interruption is reported at once; it is interrupted when the component stops (waiting at most the component's
 *   `shutdownTimeout`). Workers do not inherit the locks held by the fiber that forks them.
 * - `allocate` / `allocateAll`: allocations owned by this component (see the coordinator's methods). Once this
 *   incarnation has ended (the component stopped or restarted), they fail with `StaleContext` and acquire nothing; an
 *   acquisition that the end overtakes is released as soon as it returns, and fails the same way.
 * - `generation`: 1 for the first start, then one more per restart.
 *
 * @since 0.1.0
 * @category models
 */
export interface ComponentContext {
  readonly id: string
  readonly channels: ReadonlyArray<string>
  readonly generation: number
  readonly fork: <A, E, R>(
    worker: Effect.Effect<A, E, R>,
    options?: WorkerOptions | undefined
  ) => Effect.Effect<Fiber.RuntimeFiber<A, E>, never, R>
  readonly allocate: <A, E, R>(resource: Resource<A, E, R>) => Effect.Effect<Allocation<A>, E | AllocationError, R>
  readonly allocateAll: <const T extends ReadonlyArray<Resource.Any>>(
    resources: T
  ) => Effect.Effect<
    { readonly [K in keyof T]: Allocation<Resource.Value<T[K]>> },
    Resource.Error<T[number]> | AllocationError,
    Resource.Context<T[number]>
  >
}

/**
 * A component declaration.
 *
 * - `id`: unique, non-empty.
 * - `dependencies`: ids registered before (or in the same `registerAll` batch); any iterable of non-empty strings,
 *   read once (a generator works), but not a string: `dependencies: "capture"` is refused with `InvalidComponent`.
 * - `start`: runs in the component's own scope, closed when the component stops; fork workers with
 *   `context.fork`. Default: nothing to start (a component driven through `transition`).
 * - `healthCheck`: `true` / `"healthy"`, `"degraded"`, or `false` / `"failed"`; a failure or a timeout is `failed`.
 * - `channels`: the channels the component's resources may be tracked under; like `dependencies`, an iterable of
 *   non-empty strings that is not a string.
 * - `restart`: the {@link RestartPolicy}; a `type` or `strategy` that is not one of the values is refused with
 *   `InvalidComponent` (for declarations built from untyped configuration).
 * - `quota`: per resource type, the units this component may hold (overrides the coordinator's `componentQuota`).
 * - `shutdownTimeout`: how long a stop waits for the workers to end after interrupting them (OTP's `shutdown`);
 *   default the coordinator's (5,000 ms). A worker still alive then is left running and listed in the leak report.
 *
 * The effects run with the services of the fiber that registered the component (`R`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ComponentSpec<out E = never, out R = never> {
  readonly id: string
  readonly dependencies?: Iterable<string> | undefined
  readonly start?: ((context: ComponentContext) => Effect.Effect<unknown, E, R>) | undefined
  readonly healthCheck?: Effect.Effect<boolean | HealthStatus, unknown, R> | undefined
  readonly channels?: Iterable<string> | undefined
  readonly restart?: RestartPolicy | undefined
  readonly quota?: Readonly<Record<string, number>> | undefined
  readonly shutdownTimeout?: Duration.DurationInput | undefined
}

/**
 * A change of a component's state, delivered to listeners after the commit. `error` is the error context when `to`
 * is `Error`.
 *
 * @since 0.1.0
 * @category models
 */
export interface StateChange {
  readonly component: string
  readonly from: ComponentState
  readonly to: ComponentState
  /** Epoch ms from the `Clock`. */
  readonly at: number
  readonly reason: string | undefined
  readonly generation: number
  readonly error: ErrorContext | undefined
}

/**
 * Receives state changes.
 *
 * @since 0.1.0
 * @category models
 */
export type Listener = (change: StateChange) => Effect.Effect<void, unknown>

/**
 * The delivery contract of one listener (the same as the state machine's): its own fiber, in commit order, outside
 * every lock, a bounded queue (`capacity`, default 1,024) that drops the oldest (`"sliding"`, default) or the newest
 * (`"dropping"`) notification when full; a failure or defect (a listener function that throws included) is logged
 * and affects nothing else, the listener keeps receiving. A `capacity` that is not a positive integer is a defect
 * (`IllegalArgumentException`) of `subscribe`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListenerOptions {
  readonly name?: string | undefined
  readonly capacity?: number | undefined
  readonly overflow?: "sliding" | "dropping" | undefined
}

/**
 * A snapshot of one component.
 *
 * @since 0.1.0
 * @category models
 */
export interface ComponentInfo {
  readonly id: string
  readonly state: ComponentState
  readonly dependencies: ReadonlyArray<string>
  readonly channels: ReadonlyArray<string>
  readonly restart: { readonly type: RestartType; readonly strategy: Strategy; readonly significant: boolean }
  /** Starts so far (1 after the first start). */
  readonly generation: number
  readonly restarts: number
  readonly failures: number
  readonly lastFailure: { readonly at: number; readonly error: ErrorContext } | undefined
  readonly workers: number
  readonly allocations: number
}

/**
 * One check of a health report. `status` combines the check's verdict with the component's state (`Error` is
 * `failed`) and its recent failures (a failure within the window makes a healthy component `degraded`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckResult {
  readonly component: string
  readonly state: ComponentState
  readonly status: HealthStatus
  /** The check's own verdict, if it has one and ran. */
  readonly check: HealthStatus | undefined
  readonly reason: string | undefined
  readonly lastFailureAt: number | undefined
  readonly durationMs: number
}

/**
 * The aggregate: `healthy` when every result is healthy (or there is none), `failed` when every result failed,
 * `degraded` otherwise. Components that are `Uninitialized` or `Stopped` are not checked.
 *
 * @since 0.1.0
 * @category models
 */
export interface HealthReport {
  readonly status: HealthStatus
  readonly at: number
  readonly checks: ReadonlyArray<CheckResult>
}

/**
 * What is still held: allocations (with owner and site; `releaseFailure` when a release failed) and workers still
 * alive.
 *
 * @since 0.1.0
 * @category models
 */
export interface LeakReport {
  readonly allocations: ReadonlyArray<{
    readonly id: number
    readonly component: string
    readonly channel: string | undefined
    readonly type: string
    readonly amount: number
    readonly at: number
    readonly site: string | undefined
    readonly releaseFailure: string | undefined
  }>
  readonly workers: ReadonlyArray<{
    readonly component: string
    readonly worker: string
    readonly fiber: string
  }>
}

/**
 * How a group ended: stopped by `stopAll` (or the coordinator's scope), or by the end of a significant component.
 *
 * @since 0.1.0
 * @category models
 */
export type Termination =
  | { readonly _tag: "Stopped" }
  | { readonly _tag: "SignificantExit"; readonly component: string }

/**
 * Options of {@link make}. Durations accept any `Duration.DurationInput`; the defaults are in milliseconds.
 *
 * - `name`: the instance key of the coordinator's locks, and log annotations; default `"components"`.
 * - `strategy`: default restart strategy; default `one_for_one`.
 * - `maxRestarts`, `period`: the restart intensity (OTP's `intensity` and `period`): more than `maxRestarts`
 *   restarts within `period` escalate. Default 3 restarts in 5,000 ms.
 * - `backoff`: the delay before each restart of a component, stepped once per restart and reset when the component
 *   had no restart within `period`; when it ends, the supervisor escalates. Default: exponential from 100 ms,
 *   doubling, jittered (x0.8-1.2), capped at 5,000 ms.
 * - `heartbeatInterval` (default 5,000 ms), `hungAfter` (default 10,000 ms): how often heartbeats are checked and
 *   how long a watched worker may stay silent.
 * - `failureWindow`: how long a failure counts against health; default 300,000 ms.
 * - `healthTimeout`: per check; default 5,000 ms.
 * - `limits`: units per resource type for the whole coordinator; `componentQuota`: per component (overridden by a
 *   component's `quota`); `channelQuota`: per channel, over every component. Non-negative integers.
 * - `autoShutdown`: `never` (default), `any_significant`, `all_significant` (OTP's `auto_shutdown`).
 * - `shutdownTimeout`: default for components; 5,000 ms. It also bounds every resource release (see
 *   {@link Resource}).
 *
 * `strategy` and `autoShutdown` are checked at run time too: a value that is not one of theirs fails `make` with
 * `InvalidOptions`.
 * - `historySize`: entries of each component's history; default 100.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly name?: string | undefined
  readonly strategy?: Strategy | undefined
  readonly maxRestarts?: number | undefined
  readonly period?: Duration.DurationInput | undefined
  readonly backoff?: Schedule.Schedule<unknown, unknown> | undefined
  readonly heartbeatInterval?: Duration.DurationInput | undefined
  readonly hungAfter?: Duration.DurationInput | undefined
  readonly failureWindow?: Duration.DurationInput | undefined
  readonly healthTimeout?: Duration.DurationInput | undefined
  readonly limits?: Readonly<Record<string, number>> | undefined
  readonly componentQuota?: Readonly<Record<string, number>> | undefined
  readonly channelQuota?: Readonly<Record<string, number>> | undefined
  readonly autoShutdown?: "never" | "any_significant" | "all_significant" | undefined
  readonly shutdownTimeout?: Duration.DurationInput | undefined
  readonly historySize?: number | undefined
}

/**
 * The coordinator.
 *
 * @since 0.1.0
 * @category models
 */
export interface ComponentCoordinator extends Pipeable, Inspectable {
  readonly [TypeId]: TypeId
  readonly name: string
  /**
   * Registers a component. Fails at once with `InvalidComponent`, `DuplicateComponent`, `UnknownDependency` or
   * `DependencyCycle` (a self-dependency is the cycle `[id, id]`).
   */
  readonly register: <E = never, R = never>(
    spec: ComponentSpec<E, R>
  ) => Effect.Effect<void, RegistrationError | LockError, Exclude<R, Scope.Scope>>
  /** Registers several components, all or none; members may depend on each other in any order (cycles reported). */
  readonly registerAll: <E = never, R = never>(
    specs: Iterable<ComponentSpec<E, R>>
  ) => Effect.Effect<void, RegistrationError | LockError, Exclude<R, Scope.Scope>>
  /**
   * Starts every component that is not running, in start order (a topological order, registration order among
   * independent ones), and returns the ids it started. Stops at the first start that fails (`StartFailed`); the
   * components started before it keep running. Waits for the `cleanupComponent` runs in progress to end; drops the
   * restarts planned before it.
   */
  readonly startAll: Effect.Effect<ReadonlyArray<string>, StartFailed | DependencyNotRunning | LockError>
  /**
   * Stops every running component in reverse start order, releases their resources, and returns the ids stopped.
   * Interrupted while it waits for workers, it leaves that component `Stopping` with its scope open; the next stop
   * (or start) finishes it. Called from a worker, it runs in a fiber of its own (the stop interrupts the worker) and
   * completes even if the worker stops waiting.
   */
  readonly stopAll: Effect.Effect<ReadonlyArray<string>, LockError>
  /**
   * Starts one component whose dependencies are running; does nothing if it is running. An incarnation still attached
   * (after `transition` to `Error` or `Stopped`, or an interrupted stop) is torn down first. Waits while a cleanup of
   * the component or of one of its dependencies runs.
   */
  readonly start: (
    id: string
  ) => Effect.Effect<void, UnknownComponent | StartFailed | DependencyNotRunning | LockError>
  /**
   * Stops the component (its dependents keep running) and starts it again; counts as a restart. Waits while a cleanup
   * of the component or of one of its dependencies runs; a worker may restart its own component.
   */
  readonly restart: (
    id: string
  ) => Effect.Effect<void, UnknownComponent | StartFailed | DependencyNotRunning | LockError>
  /**
   * Stops a component (and, with `cascade`, its running dependents first, newest first), through a
   * `CleanupCoordinator` run with three verified steps per component (`<id>:stop-workers`, `<id>:release`,
   * `<id>:stopped`), and returns the report. Fails with `HasRunningDependents` without `cascade`, and with
   * `CleanupFailed` when a step did not complete (the components concerned are then in `Error`). The dependents check
   * and the marking of the components as being cleaned up are one step under the lifecycle lock: a dependent whose
   * start is in progress is waited for and counts as running. While it runs, starts of its components (and of their
   * dependents) wait for it and the supervisor leaves them alone; restarts planned for them are dropped.
   */
  readonly cleanupComponent: (
    id: string,
    options?: { readonly cascade?: boolean | undefined }
  ) => Effect.Effect<CleanupReport, UnknownComponent | HasRunningDependents | CleanupFailed | LockError>
  /**
   * Moves a component along the `Presets.Component` table (the public transition API; no supervision side effect).
   * A move to `Error` carries a `ComponentFailed` error context with the reason.
   */
  readonly transition: (
    id: string,
    to: ComponentState,
    options?: { readonly reason?: string | undefined }
  ) => Effect.Effect<TransitionRecord<ComponentState>, UnknownComponent | TransitionError | LockError>
  readonly state: (id: string) => Effect.Effect<ComponentState, UnknownComponent>
  /** The component's transitions, oldest first (bounded by `historySize`). */
  readonly history: (
    id: string,
    query?: StateMachine.HistoryQuery | undefined
  ) => Effect.Effect<ReadonlyArray<TransitionRecord<ComponentState>>, UnknownComponent>
  /** Every component, in start order. */
  readonly components: Effect.Effect<ReadonlyArray<ComponentInfo>>
  /** The start order. */
  readonly order: Effect.Effect<ReadonlyArray<string>>
  /** Subscribes a listener for the lifetime of the current scope. */
  readonly subscribe: (
    listener: Listener,
    options?: ListenerOptions | undefined
  ) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Allocates a resource for a component: checks the limits, acquires (uninterruptibly), records. Fails with
   * `UnknownComponent`, `UnknownChannel`, `ResourceLimitExceeded` (nothing acquired) or the acquisition's error.
   */
  readonly allocate: <A, E, R>(
    id: string,
    resource: Resource<A, E, R>
  ) => Effect.Effect<Allocation<A>, E | AllocationError, R>
  /**
   * Allocates several resources for a component, all or none: the limits are checked for the whole batch, and if an
   * acquisition fails the ones already acquired are released, newest first.
   */
  readonly allocateAll: <const T extends ReadonlyArray<Resource.Any>>(
    id: string,
    resources: T
  ) => Effect.Effect<
    { readonly [K in keyof T]: Allocation<Resource.Value<T[K]>> },
    Resource.Error<T[number]> | AllocationError,
    Resource.Context<T[number]>
  >
  /**
   * Releases an allocation. Fails with `UnknownAllocation` (double release, foreign handle; the books are unchanged)
   * or `ReleaseFailed` (the release failed, died, threw, or was still running after `shutdownTimeout`; the allocation
   * stays on the books, flagged, and appears in the leak report).
   */
  readonly release: (allocation: Allocation<unknown>) => Effect.Effect<void, UnknownAllocation | ReleaseFailed>
  /** The component's allocations, oldest first. */
  readonly resources: (id: string) => Effect.Effect<ReadonlyArray<Allocation<unknown>>, UnknownComponent>
  /** Changes (or with `undefined` removes) the coordinator-wide limit of a resource type; for new allocations. */
  readonly setLimit: (type: string, limit: number | undefined) => Effect.Effect<void, InvalidOptions>
  /** What is still held. */
  readonly leakReport: Effect.Effect<LeakReport>
  /** The leak report as a `LeakCheck` probe of `@core-stability/testing` (one line per leak). */
  readonly leakProbe: { readonly name: string; readonly leaks: Effect.Effect<ReadonlyArray<string>> }
  /** Runs every check concurrently (each with `healthTimeout`), outside every lock, and aggregates. */
  readonly health: Effect.Effect<HealthReport>
  /** Waits for the group to end: `stopAll`, an auto-shutdown, or an escalation (the failure). */
  readonly join: Effect.Effect<Termination, RestartIntensityExceeded>
  /**
   * Starts (if stopped) or stops the heartbeat monitor; it runs from `make` on. Besides heartbeats it gives up the
   * releases that have run longer than `shutdownTimeout`: stopped, it does neither.
   */
  readonly monitor: {
    readonly start: Effect.Effect<void, LockError>
    readonly stop: Effect.Effect<void, LockError>
    readonly running: Effect.Effect<boolean>
  }
}

/**
 * The service tag.
 *
 * @since 0.1.0
 * @category services
 */
export const ComponentCoordinator: Context.Tag<ComponentCoordinator, ComponentCoordinator> = internal.tag

/**
 * @since 0.1.0
 * @category guards
 */
export const isComponentCoordinator: (u: unknown) => u is ComponentCoordinator = internal.isComponentCoordinator

/**
 * @since 0.1.0
 * @category guards
 */
export const isAllocation: (u: unknown) => u is Allocation<unknown> = internal.isAllocation

/**
 * Makes a coordinator whose supervisor and heartbeat monitor run in the current scope. Closing the scope stops every
 * component (reverse start order), logs a warning with the leak report if anything is left, then ends the group.
 *
 * Fails with `InvalidOptions` (a negative limit, a non-positive duration, a negative `maxRestarts`, a `strategy` or
 * `autoShutdown` that is not one of their values).
 *
 * @example
 * ```ts
 * import { ComponentCoordinator } from "@core-stability/coordinator"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const components = yield* ComponentCoordinator.make({ limits: { buffer: 32 }, channelQuota: { buffer: 10 } })
 *   yield* components.register({ id: "capture", channels: ["left", "right"] })
 *   yield* components.startAll
 * }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: Options | undefined
) => Effect.Effect<ComponentCoordinator, InvalidOptions, Scope.Scope> = internal.make

/**
 * A layer providing a coordinator; every component stops when the layer is released.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options | undefined): Layer.Layer<ComponentCoordinator, InvalidOptions> =>
  Layer.scoped(ComponentCoordinator, make(options))

/**
 * Records a heartbeat of the current worker (a no-op outside a worker watched by heartbeat). Cheap: one `FiberRef`
 * read and one clock read.
 *
 * @since 0.1.0
 * @category combinators
 */
export const heartbeat: Effect.Effect<void> = internal.heartbeat

/**
 * The leak report as text, one line per leak; empty when nothing is held.
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderLeakReport: (report: LeakReport) => ReadonlyArray<string> = internal.renderLeakReport

/**
 * `coordinator.register(spec)` as a function, piped or direct.
 *
 * @example
 * ```ts
 * import { ComponentCoordinator } from "@core-stability/coordinator"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const components = yield* ComponentCoordinator.make()
 *   yield* components.pipe(ComponentCoordinator.register({ id: "capture" }))
 *   yield* ComponentCoordinator.register(components, { id: "processor", dependencies: ["capture"] })
 * }))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const register: {
  <E = never, R = never>(
    spec: ComponentSpec<E, R>
  ): (self: ComponentCoordinator) => Effect.Effect<void, RegistrationError | LockError, Exclude<R, Scope.Scope>>
  <E = never, R = never>(
    self: ComponentCoordinator,
    spec: ComponentSpec<E, R>
  ): Effect.Effect<void, RegistrationError | LockError, Exclude<R, Scope.Scope>>
} = dual(2, <E, R>(self: ComponentCoordinator, spec: ComponentSpec<E, R>) => self.register(spec))

/**
 * `coordinator.allocate(id, resource)` as a function, piped or direct.
 *
 * @since 0.1.0
 * @category combinators
 */
export const allocate: {
  <A, E, R>(
    id: string,
    resource: Resource<A, E, R>
  ): (self: ComponentCoordinator) => Effect.Effect<Allocation<A>, E | AllocationError, R>
  <A, E, R>(
    self: ComponentCoordinator,
    id: string,
    resource: Resource<A, E, R>
  ): Effect.Effect<Allocation<A>, E | AllocationError, R>
} = dual(
  3,
  <A, E, R>(self: ComponentCoordinator, id: string, resource: Resource<A, E, R>) => self.allocate(id, resource)
)

/**
 * `coordinator.release(allocation)` as a function, piped or direct.
 *
 * @since 0.1.0
 * @category combinators
 */
export const release: {
  (
    allocation: Allocation<unknown>
  ): (self: ComponentCoordinator) => Effect.Effect<void, UnknownAllocation | ReleaseFailed>
  (self: ComponentCoordinator, allocation: Allocation<unknown>): Effect.Effect<void, UnknownAllocation | ReleaseFailed>
} = dual(2, (self: ComponentCoordinator, allocation: Allocation<unknown>) => self.release(allocation))

/**
 * `coordinator.transition(id, to, options)` as a function, piped or direct.
 *
 * @since 0.1.0
 * @category combinators
 */
export const transition: {
  (
    id: string,
    to: ComponentState,
    options?: { readonly reason?: string | undefined }
  ): (
    self: ComponentCoordinator
  ) => Effect.Effect<TransitionRecord<ComponentState>, UnknownComponent | TransitionError | LockError>
  (
    self: ComponentCoordinator,
    id: string,
    to: ComponentState,
    options?: { readonly reason?: string | undefined }
  ): Effect.Effect<TransitionRecord<ComponentState>, UnknownComponent | TransitionError | LockError>
} = dual(
  (args) => isComponentCoordinator(args[0]),
  (self: ComponentCoordinator, id: string, to: ComponentState, options?: { readonly reason?: string | undefined }) =>
    self.transition(id, to, options)
)

/**
 * `coordinator.cleanupComponent(id, options)` as a function, piped or direct.
 *
 * @since 0.1.0
 * @category combinators
 */
export const cleanupComponent: {
  (
    id: string,
    options?: { readonly cascade?: boolean | undefined }
  ): (
    self: ComponentCoordinator
  ) => Effect.Effect<CleanupReport, UnknownComponent | HasRunningDependents | CleanupFailed | LockError>
  (
    self: ComponentCoordinator,
    id: string,
    options?: { readonly cascade?: boolean | undefined }
  ): Effect.Effect<CleanupReport, UnknownComponent | HasRunningDependents | CleanupFailed | LockError>
} = dual(
  (args) => isComponentCoordinator(args[0]),
  (self: ComponentCoordinator, id: string, options?: { readonly cascade?: boolean | undefined }) =>
    self.cleanupComponent(id, options)
)

/**
 * Starts every component of the coordinator in context (see `ComponentCoordinator.startAll`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const startAll: Effect.Effect<
  ReadonlyArray<string>,
  StartFailed | DependencyNotRunning | LockError,
  ComponentCoordinator
> = internal.startAll

/**
 * Stops every component of the coordinator in context (see `ComponentCoordinator.stopAll`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const stopAll: Effect.Effect<ReadonlyArray<string>, LockError, ComponentCoordinator> = internal.stopAll
