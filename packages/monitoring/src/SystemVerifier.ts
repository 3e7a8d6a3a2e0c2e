/**
 * Whole-system checks with a report, and restart verification: the seed's "System Verification" (restart
 * verification, state validation, health checks, component verification, resource tracking).
 *
 * A verifier is composed from what the application has (every source is optional): a `ComponentCoordinator`, the
 * `BufferManager`s, the `ResourcePool`s with their baselines, state machines, the lock registry (the default one
 * unless given), the `MonitoringCoordinator`, and checks of its own. `verify()` runs every check that applies,
 * concurrently (they only read), each with a timeout, and returns a {@link VerificationReport.VerificationReport}.
 *
 * | check | passes when |
 * | --- | --- |
 * | `components` | every component is in its expected state (default `Running`) |
 * | `health` | no component's health is `failed` (`degraded` is reported, not failed: a recovered component stays degraded for the failure window) |
 * | `locks` | every lock holder and every waiter of the registry is a live fiber |
 * | `resources` | no allocation is held by a stopped component or failed to release; every pool's buffers in use, minus those the given buffer managers hold, equal its baseline |
 * | `buffers` | every queue balances: `put = taken + dropped + queued` |
 * | `histories` | in every machine's history (each component's, and the given machines), each committed entry's `from` is the previous committed entry's `to`, and `seq` increases |
 * | `fibers` | no worker of a component outlives its incarnation (a stopped component has none; a running one only its current ones), and no watched fiber of a stopped component is still active |
 *
 * `verifyRestart(target)` restarts one component (`ComponentCoordinator.restart`) or the whole system (`stopAll`
 * then `startAll`) and checks that the targets run again with a new generation, that their resources were
 * re-acquired (the same types, channels and amounts, as new allocations), and that nothing of the old instance is
 * left (no old allocation, no old worker fiber), then runs every check above.
 *
 * Every report is kept (`lastReport`) and handed to the `MonitoringCoordinator` when one is given (its
 * `lastVerification`, served on `GET /debug/verify`). {@link recoveryStep} makes `verify()` the verifying step of a
 * `RecoveryCoordinator`; {@link writeReport} writes a report as JSON through `@effect/platform`'s `FileSystem`.
 *
 * The idea follows the original `SystemVerifier` (origin.md, 2.8: checks in order, each `passed` / `failed` with
 * details, an overall verdict, a JSON report), which could not run at all; restart verification follows its
 * `restart_verify` report, and the lock liveness check follows the fiber-ownership model of `@core-stability/locks`.
 *
 * @example
 * ```ts
 * import { ComponentCoordinator } from "@core-stability/coordinator"
 * import { SystemVerifier, VerificationReport } from "@core-stability/monitoring"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const components = yield* ComponentCoordinator.make()
 *   yield* components.register({ id: "capture", channels: ["left", "right"] })
 *   yield* components.startAll
 *   const verifier = yield* SystemVerifier.make({ components })
 *   const report = yield* verifier.verify()
 *   console.log(VerificationReport.render(report)) // verification: passed (...)
 *   const restart = yield* verifier.verifyRestart(SystemVerifier.component("capture"))
 *   return restart.verdict // "passed"
 * }))
 * ```
 *
 * @since 0.1.0
 */
import type * as BufferManager from "@core-stability/coordinator/BufferManager"
import type * as ComponentCoordinator from "@core-stability/coordinator/ComponentCoordinator"
import type * as ResourcePool from "@core-stability/coordinator/ResourcePool"
import type * as LockRegistry from "@core-stability/locks/LockRegistry"
import type * as RecoveryCoordinator from "@core-stability/recovery/RecoveryCoordinator"
import type { StateMachine } from "@core-stability/state-machine"
import type { TransitionRecord } from "@core-stability/state-machine/TransitionRecord"
import type * as PlatformError from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as internal from "./internal/systemVerifier.js"
import type * as MonitoringCoordinator from "./MonitoringCoordinator.js"
import type { InvalidMonitoringOptions, UnknownCheck, VerificationFailed } from "./MonitoringError.js"
import type { VerificationReport } from "./VerificationReport.js"

/**
 * What a check found: whether it passed, one line per finding (or a summary when it passed), and its typed data.
 *
 * @since 0.1.0
 * @category models
 */
export interface Outcome<out A> {
  readonly passed: boolean
  readonly details: ReadonlyArray<string>
  readonly data: A
}

/**
 * A named check. A failure, defect or timeout of `run` makes the check's status `error` (it could not run); an
 * outcome that did not pass makes it `failed`. At its timeout a run is interrupted and not waited for: a run that
 * ignores its interruption is left to end on its own (see {@link SystemVerifier.abandoned}), and the check is not run
 * again until it has ended (it is reported as an `error` meanwhile).
 *
 * @since 0.1.0
 * @category models
 */
export interface Check<out A = unknown> {
  readonly name: string
  readonly run: Effect.Effect<Outcome<A>, unknown>
}

/**
 * The expected component states: one state (or set) for every component, or per component id (components not
 * listed are expected `Running`).
 *
 * @since 0.1.0
 * @category models
 */
export type ExpectedStates =
  | ComponentCoordinator.ComponentState
  | ReadonlyArray<ComponentCoordinator.ComponentState>
  | Readonly<Record<string, ComponentCoordinator.ComponentState | ReadonlyArray<ComponentCoordinator.ComponentState>>>

/**
 * Buffer counters from elsewhere than a live manager (another process, a recorded snapshot).
 *
 * @since 0.1.0
 * @category models
 */
export interface BufferSource {
  readonly name: string
  readonly stats: Effect.Effect<BufferManager.Stats>
}

/**
 * A history from elsewhere than a state machine (a recorded one, another service's).
 *
 * @since 0.1.0
 * @category models
 */
export interface HistorySource {
  readonly name: string
  readonly history: Effect.Effect<ReadonlyArray<TransitionRecord<string>>>
}

/**
 * A pool and its baseline: the number of buffers in use it should be back to, not counting the
 * buffers held by the verifier's buffer managers. Default: the count in use when the verifier is made.
 *
 * @since 0.1.0
 * @category models
 */
export interface PoolBaseline {
  readonly pool: ResourcePool.ResourcePool
  readonly baseline?: number | undefined
}

/**
 * Options of {@link make}; every source is optional and only the checks that apply run (`locks` always does).
 *
 * - `components`: for `components`, `health`, `resources`, `histories`, `fibers` and restart verification.
 * - `expectedStates`: default `Running` for every component.
 * - `buffers`, `pools`, `machines`: what `buffers`, `resources` and `histories` look at besides the components.
 * - `registry`: the lock registry (default: the one in effect when `verify` runs, the process-wide one unless a
 *   layer provides another).
 * - `monitoring`: its watched fibers are checked, and every report is handed to it.
 * - `checks`: the application's own checks, run with the others.
 * - `checkTimeout`: per check; default 5,000 ms.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly components?: ComponentCoordinator.ComponentCoordinator | undefined
  readonly expectedStates?: ExpectedStates | undefined
  readonly buffers?: ReadonlyArray<BufferManager.BufferManager<never, never, any> | BufferSource> | undefined
  readonly pools?: ReadonlyArray<ResourcePool.ResourcePool | PoolBaseline> | undefined
  readonly machines?: ReadonlyArray<StateMachine.StateMachine<any> | HistorySource> | undefined
  readonly registry?: LockRegistry.Registry | undefined
  readonly monitoring?: MonitoringCoordinator.MonitoringCoordinator | undefined
  readonly checks?: ReadonlyArray<Check> | undefined
  readonly checkTimeout?: Duration.DurationInput | undefined
}

/**
 * What to restart: one component, or the whole system.
 *
 * @since 0.1.0
 * @category models
 */
export type RestartTarget =
  | { readonly _tag: "Component"; readonly id: string }
  | { readonly _tag: "System" }

/**
 * Restart one component.
 *
 * @since 0.1.0
 * @category constructors
 */
export const component = (id: string): RestartTarget => ({ _tag: "Component", id })

/**
 * Restart the whole system (`stopAll`, then `startAll`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const system: RestartTarget = { _tag: "System" }

/**
 * Options of one `verify` run: `only` runs the named checks alone (in report order); a name that is not one of the
 * verifier's `checks` fails the run with `UnknownCheck` before any check runs. An empty list runs no check (verdict
 * `passed`).
 *
 * @since 0.1.0
 * @category models
 */
export interface VerifyOptions {
  readonly only?: ReadonlyArray<string> | undefined
}

/**
 * A check whose run timed out and has not ended yet: it ignored its interruption. `fiber` is the run's fiber id
 * (e.g. `"#12"`).
 *
 * @since 0.1.0
 * @category models
 */
export interface AbandonedCheck {
  readonly check: string
  readonly fiber: string
}

/**
 * The verifier.
 *
 * @since 0.1.0
 * @category models
 */
export interface SystemVerifier {
  /** The names of the checks `verify` runs, in report order. */
  readonly checks: ReadonlyArray<string>
  /**
   * Runs the checks concurrently and returns the report. Never fails without `only`; with `only`, fails with
   * `UnknownCheck` (naming every unknown name and the verifier's checks) when a name is not one of `checks`, so a
   * misspelt name cannot make a verification that checked nothing pass.
   */
  readonly verify: {
    (options?: { readonly only?: undefined } | undefined): Effect.Effect<VerificationReport>
    (options: VerifyOptions): Effect.Effect<VerificationReport, UnknownCheck>
  }
  /**
   * Restarts the target, checks that it came back cleanly (`restart`, `restart-running`, `restart-resources`,
   * `restart-leftovers`), runs every check, and returns the report. Never fails: a refused restart is a failed
   * `restart` check. The restart itself is not subject to `checkTimeout` (interrupting it half-way would leave the
   * component half-stopped); it takes as long as the coordinator's stop and start.
   */
  readonly verifyRestart: (target: RestartTarget) => Effect.Effect<VerificationReport>
  /** The last report of `verify` or `verifyRestart`. */
  readonly lastReport: Effect.Effect<Option.Option<VerificationReport>>
  /**
   * The checks whose run timed out and is still running (it did not stop when interrupted), as `Effect.disconnect`
   * leaves a fiber that ignores its interruption: the timeout bounds the report, not the check. Each is dropped once
   * its run ends.
   */
  readonly abandoned: Effect.Effect<ReadonlyArray<AbandonedCheck>>
}

/**
 * Makes a verifier. Fails with `InvalidMonitoringOptions` for a non-positive `checkTimeout`, duplicate check names,
 * or a negative pool baseline.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: Options) => Effect.Effect<SystemVerifier, InvalidMonitoringOptions> = internal.make

/**
 * The typed data of the `components` check.
 *
 * @since 0.1.0
 * @category models
 */
export interface ComponentStates {
  readonly components: ReadonlyArray<{
    readonly id: string
    readonly state: ComponentCoordinator.ComponentState
    readonly expected: ReadonlyArray<ComponentCoordinator.ComponentState>
  }>
  readonly mismatches: ReadonlyArray<string>
}

/**
 * `components`: every component is in its expected state.
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkComponentStates: (
  components: ComponentCoordinator.ComponentCoordinator,
  expected?: ExpectedStates | undefined
) => Check<ComponentStates> = internal.checkComponentStates

/**
 * `health`: the coordinator's health report has no `failed` component (the data is the report).
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkHealth: (
  components: ComponentCoordinator.ComponentCoordinator
) => Check<ComponentCoordinator.HealthReport> = internal.checkHealth

/**
 * A holder or waiter whose fiber is not alive.
 *
 * @since 0.1.0
 * @category models
 */
export interface OrphanedLock {
  /** `name` or `name:key`. */
  readonly lock: string
  readonly role: "holder" | "waiter"
  readonly fiber: string
  readonly site: string | undefined
}

/**
 * The typed data of the `locks` check: holders and waiters seen, live fibers found, and the orphans.
 *
 * @since 0.1.0
 * @category models
 */
export interface LockLiveness {
  readonly holders: number
  readonly waiters: number
  readonly liveFibers: number
  readonly orphans: ReadonlyArray<OrphanedLock>
}

/**
 * `locks`: every holder and waiter in the registry's snapshot is a live fiber. Live fibers are found from
 * `Fiber.roots` down through each fiber's children; a suspect is confirmed by a second snapshot after a yield (a
 * fiber just forked is registered with its parent asynchronously).
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkLocks: (registry?: LockRegistry.Registry | undefined) => Check<LockLiveness> = internal.checkLocks

/**
 * The typed data of the `resources` check.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResourceAccounting {
  readonly allocations: number
  readonly leaked: ReadonlyArray<ComponentCoordinator.LeakReport["allocations"][number]>
  readonly pools: ReadonlyArray<{
    readonly pool: string
    /** Buffers in use (staged releases included). */
    readonly inUse: number
    /** Of those, held by the given buffer managers. */
    readonly managed: number
    readonly baseline: number
  }>
}

/**
 * `resources`: no allocation of the component coordinator is held by a `Stopped` or `Uninitialized` component or
 * has a failed release, and every pool's buffers in use minus those the buffer managers drawing from it hold equal
 * its baseline (both read in one synchronous step).
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkResources: (sources: {
  readonly components?: ComponentCoordinator.ComponentCoordinator | undefined
  readonly pools?: ReadonlyArray<{ readonly pool: ResourcePool.ResourcePool; readonly baseline: number }> | undefined
  readonly buffers?: ReadonlyArray<BufferManager.BufferManager<never, never, any> | BufferSource> | undefined
}) => Check<ResourceAccounting> = internal.checkResources

/**
 * The typed data of the `buffers` check.
 *
 * @since 0.1.0
 * @category models
 */
export interface BufferBalance {
  readonly queues: number
  readonly unbalanced: ReadonlyArray<{
    readonly manager: string
    readonly stage: string
    readonly channel: string
    readonly put: number
    readonly taken: number
    readonly dropped: number
    readonly queued: number
  }>
}

/**
 * `buffers`: every queue balances, `put = taken + dropped + queued`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkBuffers: (
  buffers: ReadonlyArray<BufferManager.BufferManager<never, never, any> | BufferSource>
) => Check<BufferBalance> = internal.checkBuffers

/**
 * A break in a history: the entry whose `from` is not the previous committed entry's `to`, or whose `seq` does not
 * increase.
 *
 * @since 0.1.0
 * @category models
 */
export interface HistoryBreak {
  readonly machine: string
  readonly seq: number
  readonly reason: string
}

/**
 * The typed data of the `histories` check.
 *
 * @since 0.1.0
 * @category models
 */
export interface HistoryConsistency {
  readonly machines: number
  readonly entries: number
  readonly breaks: ReadonlyArray<HistoryBreak>
}

/**
 * `histories`: in every history (each component's, named `component:<id>`, and the given machines), `seq` strictly
 * increases and each committed entry's `from` is the previous committed entry's `to` (refused attempts are not
 * links of the chain; the oldest kept entry may start anywhere, the history being bounded).
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkHistories: (sources: {
  readonly components?: ComponentCoordinator.ComponentCoordinator | undefined
  readonly machines?: ReadonlyArray<StateMachine.StateMachine<any> | HistorySource> | undefined
}) => Check<HistoryConsistency> = internal.checkHistories

/**
 * A fiber that outlived its component's incarnation.
 *
 * @since 0.1.0
 * @category models
 */
export interface StrayFiber {
  readonly component: string
  readonly state: ComponentCoordinator.ComponentState
  readonly name: string
  readonly fiber: string
  readonly source: "worker" | "watched"
}

/**
 * The typed data of the `fibers` check.
 *
 * @since 0.1.0
 * @category models
 */
export interface FiberLeftovers {
  readonly workers: number
  readonly stray: ReadonlyArray<StrayFiber>
}

/**
 * `fibers`: a stopped component has no live worker and a running one no more than its current incarnation forked
 * (the workers of an older incarnation that ignored their interruption are listed); no fiber watched by the
 * monitoring coordinator for a `Stopped` component is still active.
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkFibers: (sources: {
  readonly components?: ComponentCoordinator.ComponentCoordinator | undefined
  readonly monitoring?: MonitoringCoordinator.MonitoringCoordinator | undefined
}) => Check<FiberLeftovers> = internal.checkFibers

/**
 * The verifying step of a `RecoveryCoordinator`: runs `verify()` and fails with `VerificationFailed` unless the
 * verdict is `passed`. It is a full `Step` (`verify`, phase `Verifying`, 5,000 ms polled every 100 ms, as the
 * original's table) and fits the `verify` handler of `RecoveryCoordinator.fromDefaults`.
 *
 * @example
 * ```ts
 * import { ComponentCoordinator } from "@core-stability/coordinator"
 * import { SystemVerifier } from "@core-stability/monitoring"
 * import { MemoryFileSystem, RecoveryCoordinator, RecoveryLogger } from "@core-stability/recovery"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const components = yield* ComponentCoordinator.make()
 *   yield* components.register({ id: "capture" })
 *   yield* components.startAll
 *   const verifier = yield* SystemVerifier.make({ components })
 *   const recovery = yield* RecoveryCoordinator.make({
 *     logger: yield* RecoveryLogger.make({ directory: "/logs" }),
 *     steps: RecoveryCoordinator.fromDefaults({
 *       "stop-capture": { run: () => Effect.void },
 *       "flush-storage": { run: () => Effect.void },
 *       "reset-monitoring": { run: () => Effect.void },
 *       "check-windows": { run: () => Effect.void },
 *       "initialize-storage": { run: () => Effect.void },
 *       "start-monitoring": { run: () => Effect.void },
 *       "start-capture": { run: () => components.restart("capture") },
 *       "verify": SystemVerifier.recoveryStep(verifier)
 *     })
 *   })
 *   const attempt = yield* recovery.recover("capture", { trigger: "device-lost" })
 *   return attempt.outcome // "Succeeded"
 * })).pipe(Effect.provide(MemoryFileSystem.layer(MemoryFileSystem.unsafeMake())))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const recoveryStep: (
  verifier: SystemVerifier,
  options?: {
    readonly timeout?: Duration.DurationInput | undefined
    readonly poll?: Duration.DurationInput | undefined
  } | undefined
) => RecoveryCoordinator.Step<VerificationFailed> = internal.recoveryStep

/**
 * Writes a report as JSON (`VerificationReport.toJson`) to `path`, creating its directory. Fails with the
 * platform's error.
 *
 * @since 0.1.0
 * @category combinators
 */
export const writeReport: {
  (
    path: string
  ): (report: VerificationReport) => Effect.Effect<void, PlatformError.PlatformError, FileSystem.FileSystem | Path.Path>
  (
    report: VerificationReport,
    path: string
  ): Effect.Effect<void, PlatformError.PlatformError, FileSystem.FileSystem | Path.Path>
} = internal.writeReport
