/**
 * Dependency-ordered cleanup on Effect `Scope`: named steps with any name, resources released in reverse dependency
 * order, verification after each step, transitive skipping, budgets, a returned report, one run joined by every
 * caller, and reset.
 *
 * Idea sources: Effect's `Scope` (finalizers in reverse order, every one attempted, causes merged), Akka
 * CoordinatedShutdown (phases with timeouts, one run joined by every caller), OTP and systemd (stop in reverse start
 * order), and the original `CleanupCoordinator` (origin.md 2.2), whose weaknesses 17-22 this fixes: any step name;
 * order from the graph alone; errors at registration; transitive skipping with independent steps still running; the
 * real execution order; reset and re-run; no cancelling of unrelated tasks; real interruption of timed-out steps.
 *
 * Locks: the coordinator takes the `CleanupCoordinator` levels of `LockHierarchy.Global` in order (`shutdown` to
 * decide whether to start or join a run and to reset; `phase` around each phase-machine transition; `steps` to
 * register and to snapshot the graph; `status` to publish and read results). No lock is held while a step runs: a
 * run works on a snapshot and its decisions are synchronous.
 *
 * @example
 * ```ts
 * import { CleanupCoordinator, CleanupReport } from "@core-stability/cleanup"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const coordinator = yield* CleanupCoordinator.make({ deadline: "25 seconds" })
 *   yield* coordinator.register({ name: "stop-capture", phase: "StoppingCapture", run: Effect.log("capture stopped") })
 *   yield* coordinator.register({
 *     name: "flush-storage",
 *     phase: "FlushingStorage",
 *     dependsOn: ["stop-capture"],
 *     run: Effect.log("flushed"),
 *     verify: Effect.succeed(true)
 *   })
 *   const report = yield* coordinator.shutdown
 *   yield* Effect.log(CleanupReport.render(report))
 * }))
 * ```
 *
 * @since 0.1.0
 */
import type { LockError } from "@core-stability/locks/LockError"
import type { Presets, StateMachine } from "@core-stability/state-machine"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type { Inspectable } from "effect/Inspectable"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type { Pipeable } from "effect/Pipeable"
import type * as Scope from "effect/Scope"
import type { CleanupInProgressError, RegistrationError } from "./CleanupError.js"
import type * as CleanupFaults from "./CleanupFaults.js"
import type { CleanupPlan } from "./CleanupPlan.js"
import type { CleanupReport, StepStatus } from "./CleanupReport.js"
import type { CleanupResource, CleanupStep } from "./CleanupStep.js"
import * as internal from "./internal/coordinator.js"

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
 * A state of the `CleanupPhase` machine: `NotStarted`, `Initiating`, the four work phases, `Completed`, `Failed`.
 *
 * @since 0.1.0
 * @category models
 */
export type PhaseState = Presets.CleanupPhaseState

/**
 * A step's status while a run is in progress: the report's statuses plus `Pending` and `Running`.
 *
 * @since 0.1.0
 * @category models
 */
export type LiveStepStatus = "Pending" | "Running" | StepStatus

/**
 * A snapshot for diagnostics (the original's `get_cleanup_status`): the run number (0 before the first), the phase,
 * whether shutdown was requested and a run is in progress, every step's live status, the names of completed, failed
 * (any unsuccessful status, skipped included) and pending steps, and the time elapsed in ms (the duration of the
 * last run once it finished).
 *
 * @since 0.1.0
 * @category models
 */
export interface Status {
  readonly run: number
  readonly phase: PhaseState
  readonly shutdownRequested: boolean
  readonly running: boolean
  readonly steps: ReadonlyArray<{ readonly name: string; readonly status: LiveStepStatus }>
  readonly completed: ReadonlyArray<string>
  readonly failed: ReadonlyArray<string>
  readonly pending: ReadonlyArray<string>
  readonly elapsedMs: number
}

/**
 * Options of `make` and `layer`.
 *
 * - `concurrency`: how many independent steps may run at once (default 1: sequential, in a deterministic order).
 * - `deadline`: the total budget of a run (default none). It is split across the work phases in proportion to the
 *   worst case of their steps (timeout plus every verification attempt and pause); budgets are cumulative, so time a
 *   phase leaves unused carries over, and each step gets the smaller of its timeout and what remains of its phase's
 *   budget. `plan` shows the split.
 * - `timeout`, `retries`, `retryDelay`: defaults for steps that do not set them (5 s, 3 attempts, 1 s).
 * - `faults`: a `CleanupFaults` table for tests.
 * - `machine`: a shared `CleanupPhase` machine to drive (default: a new one); other components can watch it.
 * - `key`: the instance key of the coordinator's four locks (for lock reports when there are several coordinators).
 *
 * Invalid options (a concurrency below 1, a non-positive deadline or timeout, retries below 1) are defects.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly concurrency?: number | undefined
  readonly deadline?: Duration.DurationInput | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly retries?: number | undefined
  readonly retryDelay?: Duration.DurationInput | undefined
  readonly faults?: CleanupFaults.CleanupFaults | undefined
  readonly machine?: StateMachine.StateMachine<typeof Presets.CleanupPhase> | undefined
  readonly key?: string | undefined
}

/**
 * The coordinator.
 *
 * @since 0.1.0
 * @category models
 */
export interface CleanupCoordinator extends Pipeable, Inspectable {
  readonly [TypeId]: TypeId
  /**
   * Registers a step; the step runs with the services of the registering fiber (`R`). Fails at once with a
   * `RegistrationError`: `DuplicateStepError`, `UnknownDependencyError`, `DependencyCycleError` (with the cycle's
   * path), `InvalidStepError`, or `RegistrationClosedError` once shutdown was requested (until `reset`). O(1 +
   * dependencies).
   */
  readonly register: <E, R>(step: CleanupStep<E, R>) => Effect.Effect<void, RegistrationError | LockError, R>
  /**
   * Registers several steps atomically: all or none. Steps of the batch may depend on each other in any order, so
   * this is where a cycle can be declared and is reported.
   */
  readonly registerAll: <E, R>(
    steps: Iterable<CleanupStep<E, R>>
  ) => Effect.Effect<void, RegistrationError | LockError, R>
  /**
   * Acquires a resource and registers its release as a step that runs before the steps of the resources it `uses`.
   * Acquisition and registration are one uninterruptible step (an interrupted caller never leaves a resource without
   * its release); if the registration fails after acquiring, the resource is released at once. A resource is
   * released at most once: after a run that started its release (whatever the outcome), `reset` retires the step
   * and frees its name; a release the run skipped stays registered for the next run.
   */
  readonly acquire: <A, E, R, E2, R2>(
    resource: CleanupResource<A, E, R, E2, R2>
  ) => Effect.Effect<A, E | RegistrationError | LockError, R | R2>
  /**
   * Runs the cleanup, or joins the run in progress, or returns the finished run's report: idempotent until `reset`,
   * and every concurrent caller gets the same report. The run belongs to the coordinator: interrupting a caller only
   * stops its waiting, at any point (the caller that starts the run forks it in the same uninterruptible step as
   * the decision to start).
   */
  readonly shutdown: Effect.Effect<CleanupReport, LockError>
  /**
   * Makes a finished (completed or failed) coordinator ready to run again; fails while a run is in progress. Plain
   * steps run again in the next run; resource releases the finished run started are retired (a resource is released
   * at most once), with the order and phases of the remaining steps unchanged. One uninterruptible step: an
   * interrupted reset happened entirely or not at all.
   */
  readonly reset: Effect.Effect<void, CleanupInProgressError | LockError>
  /** `true` from the first `shutdown` until `reset`; components read it to stop taking new work. */
  readonly isShutdownRequested: Effect.Effect<boolean>
  /** The current state of the phase machine. */
  readonly phase: Effect.Effect<PhaseState>
  /** A diagnostic snapshot. */
  readonly status: Effect.Effect<Status, LockError>
  /** The dry run: order, effective phases and budgets, without running anything. */
  readonly plan: Effect.Effect<CleanupPlan>
  /** The report of the last finished run, kept across `reset`. */
  readonly lastReport: Effect.Effect<Option.Option<CleanupReport>>
  /** The `CleanupPhase` machine the coordinator drives; subscribe to it to see phase changes. */
  readonly machine: StateMachine.StateMachine<typeof Presets.CleanupPhase>
}

/**
 * The service tag.
 *
 * @since 0.1.0
 * @category services
 */
export const CleanupCoordinator: Context.Tag<CleanupCoordinator, CleanupCoordinator> = internal.tag

/**
 * @since 0.1.0
 * @category guards
 */
export const isCleanupCoordinator: (u: unknown) => u is CleanupCoordinator = internal.isCleanupCoordinator

/**
 * Makes a coordinator whose cleanup runs when the scope closes (joining a run already in progress). If that run does
 * not complete, the finalizer dies with `CleanupFailedError` (holding the report), so the failure reaches the scope's
 * Exit the way Effect merges finalizer failures; `NodeRuntime.runMain` then exits 1. A caller that wants the report
 * of a failed run as a value, not a defect, uses `run`.
 *
 * @example
 * ```ts
 * import { CleanupCoordinator } from "@core-stability/cleanup"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const coordinator = yield* CleanupCoordinator.make({ concurrency: 4 })
 *   const pool = yield* coordinator.acquire({
 *     name: "pool",
 *     acquire: Effect.succeed({ close: Effect.log("pool closed") }),
 *     release: (pool) => pool.close
 *   })
 *   yield* coordinator.acquire({
 *     name: "repository",
 *     uses: ["pool"],
 *     acquire: Effect.succeed(pool),
 *     release: () => Effect.log("repository closed") // runs before "pool closed"
 *   })
 * }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options | undefined) => Effect.Effect<CleanupCoordinator, never, Scope.Scope> =
  internal.make

/**
 * A one-shot cleanup: makes a private coordinator with `options`, registers `steps` (all or none, as `registerAll`),
 * runs them, and returns the report, whether the run completed or failed. Use it when the caller wants the report
 * rather than a failed scope: unlike closing `make`'s scope, a failed run is not a defect here, only
 * `report.status === "Failed"`.
 *
 * Fails with a `RegistrationError` (the batch was refused as a whole) or a `LockError` (the caller holds a lock the
 * `CleanupCoordinator` levels must not be taken under); in both cases nothing runs. Interrupted after the steps were
 * registered, it still runs them to their end before it ends interrupted, as closing `make`'s scope would.
 *
 * @example
 * ```ts
 * import { CleanupCoordinator } from "@core-stability/cleanup"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const report = yield* CleanupCoordinator.run([
 *     { name: "stop-workers", phase: "StoppingCapture", run: Effect.log("workers stopped") },
 *     { name: "release", phase: "ReleasingResources", dependsOn: ["stop-workers"], run: Effect.fail("busy") }
 *   ], { retries: 1 })
 *   if (report.status === "Failed") yield* Effect.logWarning(`cleanup run ${report.run} failed`)
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const run: <E, R>(
  steps: Iterable<CleanupStep<E, R>>,
  options?: Options | undefined
) => Effect.Effect<CleanupReport, RegistrationError | LockError, R> = internal.run

/**
 * A layer providing a coordinator; its cleanup runs when the layer is released.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options | undefined): Layer.Layer<CleanupCoordinator> =>
  Layer.scoped(CleanupCoordinator, make(options))

/**
 * `coordinator.register(step)` as a function, piped or direct.
 *
 * @since 0.1.0
 * @category combinators
 */
export const register: {
  <E, R>(step: CleanupStep<E, R>): (self: CleanupCoordinator) => Effect.Effect<void, RegistrationError | LockError, R>
  <E, R>(self: CleanupCoordinator, step: CleanupStep<E, R>): Effect.Effect<void, RegistrationError | LockError, R>
} = dual(2, <E, R>(self: CleanupCoordinator, step: CleanupStep<E, R>) => self.register(step))

/**
 * `coordinator.registerAll(steps)` as a function, piped or direct.
 *
 * @since 0.1.0
 * @category combinators
 */
export const registerAll: {
  <E, R>(
    steps: Iterable<CleanupStep<E, R>>
  ): (self: CleanupCoordinator) => Effect.Effect<void, RegistrationError | LockError, R>
  <E, R>(
    self: CleanupCoordinator,
    steps: Iterable<CleanupStep<E, R>>
  ): Effect.Effect<void, RegistrationError | LockError, R>
} = dual(2, <E, R>(self: CleanupCoordinator, steps: Iterable<CleanupStep<E, R>>) => self.registerAll(steps))

/**
 * `coordinator.acquire(resource)` as a function, piped or direct.
 *
 * @since 0.1.0
 * @category combinators
 */
export const acquire: {
  <A, E, R, E2, R2>(
    resource: CleanupResource<A, E, R, E2, R2>
  ): (self: CleanupCoordinator) => Effect.Effect<A, E | RegistrationError | LockError, R | R2>
  <A, E, R, E2, R2>(
    self: CleanupCoordinator,
    resource: CleanupResource<A, E, R, E2, R2>
  ): Effect.Effect<A, E | RegistrationError | LockError, R | R2>
} = dual(
  2,
  <A, E, R, E2, R2>(self: CleanupCoordinator, resource: CleanupResource<A, E, R, E2, R2>) => self.acquire(resource)
)

/**
 * Runs or joins the cleanup of the coordinator in context.
 *
 * @since 0.1.0
 * @category combinators
 */
export const shutdown: Effect.Effect<CleanupReport, LockError, CleanupCoordinator> = internal.shutdown

/**
 * Whether shutdown was requested on the coordinator in context.
 *
 * @since 0.1.0
 * @category getters
 */
export const isShutdownRequested: Effect.Effect<boolean, never, CleanupCoordinator> = internal.isShutdownRequested
