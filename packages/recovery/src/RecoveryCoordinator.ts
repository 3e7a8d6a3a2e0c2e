/**
 * Runs recovery episodes on the `Recovery` state machine of `@core-stability/state-machine`, one machine per
 * component: `Idle -> Initiating -> StoppingCapture -> FlushingBuffers -> Reinitializing -> Verifying ->
 * Completed -> Idle`, or `Failed -> Idle`.
 *
 * - **Steps are supplied by the application**: effects per step, and per channel for per-channel steps (each
 *   channel also has its own `RecoveryChannel` machine, moved along with the episode). A step has a phase, a timeout,
 *   whether it is required, an optional rollback and an optional poll interval (the step is retried at that interval
 *   until it succeeds or its timeout expires: the original's verification polled every 100 ms). The default table is
 *   the original's (origin.md, section 1): {@link defaults}, with {@link fromDefaults} to supply the effects.
 * - **Failure**: when a required step fails or times out, the remaining steps are skipped, the steps that succeeded
 *   are rolled back in reverse order (each rollback with its step's timeout), and the machine moves to `Failed`. An
 *   optional step's failure is recorded and the episode goes on.
 * - **Timeouts are upper bounds**: a step (or rollback) runs in its own fiber; at its timeout it is interrupted and
 *   the episode goes on at once, without waiting for it to end (a step that ignores interruption is abandoned, and
 *   listed in `stats.abandoned` until it ends).
 * - **Joining**: concurrent triggers for the same component join the episode in progress (the joiners are counted in
 *   the attempt's `joined`) until its final state (`Completed` or `Failed`) is settled; a trigger after that starts
 *   a new episode, which waits for the previous one to be recorded. Episodes of different components run
 *   concurrently. An episode belongs to the coordinator: interrupting a caller only stops its waiting; closing the
 *   coordinator's scope interrupts episodes in progress, which are recorded as failed without rollback (the step
 *   that was running is `Interrupted`, the rest `Skipped`), and their callers get that attempt.
 * - **User code cannot break an episode**: a step, rollback or machine validator that dies, and a `resources`
 *   sampler that dies, make the episode fail with the defect as its error; a logger whose `record` dies makes
 *   `recover` return the attempt unrecorded (see {@link RecoveryCoordinator}). The machines always return to
 *   `Idle`.
 * - **Every episode** is recorded by the `RecoveryLogger` (states, steps, metrics, outcome) and counted in the
 *   `recovery_episodes` and `recovery_duration_ms` metrics. A step whose `run` returns a `CleanupReport` of
 *   `@core-stability/cleanup` (e.g. `ComponentCoordinator.cleanupComponent`) has it kept as the attempt's cleanup
 *   report (the last one wins).
 *
 * The coordinator holds no lock while a step runs; its books are updated in single synchronous steps.
 *
 * The idea follows the original's `attempt_recovery` (origin.md, section 1: the step table, abort on a required step,
 * rollback of the completed steps in reverse) on the original `RecoveryState` machine (origin.md, 2.1), with a
 * returned report (lifecycle.md idea 6) and joined callers (idea 7).
 *
 * @example
 * ```ts
 * import { MemoryFileSystem, RecoveryCoordinator, RecoveryLogger } from "@core-stability/recovery"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const logger = yield* RecoveryLogger.make({ directory: "/logs" })
 *   const recovery = yield* RecoveryCoordinator.make({
 *     logger,
 *     channels: ["left", "right"],
 *     steps: RecoveryCoordinator.fromDefaults({
 *       "stop-capture": { run: ({ channel }) => Effect.log(`stop ${channel}`) },
 *       "flush-storage": { run: ({ channel }) => Effect.log(`flush ${channel}`) },
 *       "reset-monitoring": { run: () => Effect.void },
 *       "check-windows": { run: () => Effect.void },
 *       "initialize-storage": { run: () => Effect.void },
 *       "start-monitoring": { run: () => Effect.void },
 *       "start-capture": { run: () => Effect.void, rollback: () => Effect.log("capture stopped again") },
 *       "verify": { run: () => Effect.void }
 *     })
 *   })
 *   const attempt = yield* recovery.recover("capture", { trigger: "device-lost" })
 *   return attempt.outcome // "Succeeded"
 * })).pipe(Effect.provide(MemoryFileSystem.layer(MemoryFileSystem.unsafeMake())))
 * ```
 *
 * @since 0.1.0
 */
import type { Channels, Presets, StateMachine } from "@core-stability/state-machine"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/recoveryCoordinator.js"
import type { InvalidRecoveryOptions, RecoveryFailed } from "./RecoveryError.js"
import type { RecoveryAttempt, RecoveryLogger } from "./RecoveryLogger.js"

/**
 * The working phases of an episode, in order (states of `Presets.Recovery`).
 *
 * @since 0.1.0
 * @category models
 */
export type Phase = "StoppingCapture" | "FlushingBuffers" | "Reinitializing" | "Verifying"

/**
 * The phases in the order an episode runs them.
 *
 * @since 0.1.0
 * @category models
 */
export const phases: ReadonlyArray<Phase> = internal.phases

/**
 * What a step's effects receive: the component, the channel (for per-channel steps, else `undefined`), the
 * trigger, the phase and the step name.
 *
 * @since 0.1.0
 * @category models
 */
export interface StepContext {
  readonly component: string
  readonly channel: string | undefined
  readonly trigger: string
  readonly phase: Phase
  readonly step: string
}

/**
 * One recovery step.
 *
 * - `timeout`: per run (per channel for per-channel steps) and per rollback; default 5,000 ms.
 * - `required`: default `true`; a required step's failure aborts the episode.
 * - `perChannel`: run once per configured channel, in channel order; default `false`.
 * - `poll`: retry `run` at this interval until it succeeds or `timeout` expires (for verification).
 * - `rollback`: undoes a succeeded `run` when a later required step fails.
 *
 * @since 0.1.0
 * @category models
 */
export interface Step<out E = unknown, out R = never> {
  readonly name: string
  readonly phase: Phase
  readonly timeout?: Duration.DurationInput | undefined
  readonly required?: boolean | undefined
  readonly perChannel?: boolean | undefined
  readonly poll?: Duration.DurationInput | undefined
  readonly run: (context: StepContext) => Effect.Effect<unknown, E, R>
  readonly rollback?: ((context: StepContext) => Effect.Effect<unknown, unknown, R>) | undefined
}

/**
 * A row of the default table: name, phase, timeout (ms), required, per channel, poll interval (ms).
 *
 * @since 0.1.0
 * @category models
 */
export interface StepDefault {
  readonly name: string
  readonly phase: Phase
  readonly timeoutMs: number
  readonly required: boolean
  readonly perChannel: boolean
  readonly pollMs: number | undefined
}

/**
 * The original's recovery table (origin.md, section 1), mapped onto the machine's phases:
 *
 * | step | phase | timeout | required | per channel |
 * | --- | --- | --- | --- | --- |
 * | `stop-capture` | StoppingCapture | 5,000 ms | yes | yes |
 * | `flush-storage` | FlushingBuffers | 10,000 ms | yes | yes |
 * | `reset-monitoring` | Reinitializing | 5,000 ms | yes | no |
 * | `check-windows` | Reinitializing | 5,000 ms | no | no |
 * | `initialize-storage` | Reinitializing | 5,000 ms | yes | no |
 * | `start-monitoring` | Reinitializing | 5,000 ms | yes | no |
 * | `start-capture` | Reinitializing | 5,000 ms | yes | no |
 * | `verify` | Verifying | 5,000 ms, polled every 100 ms | yes | no |
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: ReadonlyArray<StepDefault & { readonly name: DefaultStepName }> = internal.defaults

/**
 * The names of the default steps.
 *
 * @since 0.1.0
 * @category models
 */
export type DefaultStepName =
  | "stop-capture"
  | "flush-storage"
  | "reset-monitoring"
  | "check-windows"
  | "initialize-storage"
  | "start-monitoring"
  | "start-capture"
  | "verify"

/**
 * The effects of one step, and optional overrides of its table row.
 *
 * @since 0.1.0
 * @category models
 */
export interface Handler<out E = unknown, out R = never> {
  readonly run: (context: StepContext) => Effect.Effect<unknown, E, R>
  readonly rollback?: ((context: StepContext) => Effect.Effect<unknown, unknown, R>) | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly required?: boolean | undefined
  readonly perChannel?: boolean | undefined
  readonly poll?: Duration.DurationInput | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace Handler {
  /**
   * A handler's error type.
   *
   * @since 0.1.0
   * @category models
   */
  export type Error<T> = T extends Handler<infer E, infer _R> ? E : never
  /**
   * A handler's services.
   *
   * @since 0.1.0
   * @category models
   */
  export type Context<T> = T extends Handler<infer _E, infer R> ? R : never
}

/**
 * The default table with the application's effects: a handler for every default step is required (a missing one
 * does not compile); the steps' error and service types are the unions of the handlers'. The `verify` handler is
 * where a system verifier plugs in.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromDefaults: <const H extends { readonly [K in DefaultStepName]: Handler<any, any> }>(
  handlers: H
) => ReadonlyArray<Step<Handler.Error<H[DefaultStepName]>, Handler.Context<H[DefaultStepName]>>> = internal
  .fromDefaults as any

/**
 * Where an episode was triggered from: the trigger (a cause name, e.g. `"buffer-overflow"`) and, if known, when
 * the fault occurred (epoch ms; for the time to detect).
 *
 * @since 0.1.0
 * @category models
 */
export interface Trigger {
  readonly trigger: string
  readonly occurredAt?: number | undefined
}

/**
 * Options of {@link make}.
 *
 * - `logger`: where every episode is recorded.
 * - `steps`: the steps, run in phase order and, within a phase, in the order given.
 * - `channels`: the channels per-channel steps run for; default none (a per-channel step then runs once, with
 *   `channel: undefined`).
 * - `resources`: sampled at the end of each episode (after the steps and rollbacks, before the final state) for the
 *   attempt's metrics; default the process memory (`heapUsedBytes`, `rssBytes`) where available. A sampler that
 *   dies fails the episode (step `"resources"`, no rollback: the steps all ran) and is recorded with no resources.
 * - `historySize`: history entries of each machine; default 100.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<E = unknown, R = never> {
  readonly logger: RecoveryLogger
  readonly steps: ReadonlyArray<Step<E, R>>
  readonly channels?: ReadonlyArray<string> | undefined
  readonly resources?: Effect.Effect<Readonly<Record<string, number>>> | undefined
  readonly historySize?: number | undefined
}

/**
 * A step (or rollback) that was abandoned, at its timeout or because its episode was interrupted, and whose fiber has
 * not ended yet (it does not yield to interruption). `at` is when it was abandoned (epoch ms).
 *
 * @since 0.1.0
 * @category models
 */
export interface AbandonedStep {
  readonly component: string
  readonly step: string
  readonly channel: string | undefined
  readonly kind: "run" | "rollback"
  readonly at: number
}

/**
 * The coordinator's counters: episodes started, triggers that joined one, episodes that succeeded and failed, the
 * components with an episode in progress (from its start until it is recorded and its machines are back to `Idle`),
 * and the abandoned steps still running.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly started: number
  readonly joined: number
  readonly succeeded: number
  readonly failed: number
  readonly inProgress: ReadonlyArray<string>
  readonly abandoned: ReadonlyArray<AbandonedStep>
}

/**
 * The coordinator.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecoveryCoordinator {
  readonly logger: RecoveryLogger
  readonly channels: ReadonlyArray<string>
  /**
   * Runs an episode for the component, or joins the one in progress (until its final state is settled), and returns
   * its recorded attempt (whose `outcome` says whether it succeeded). Never fails: an episode interrupted by the
   * closing of the coordinator's scope returns its attempt recorded as failed. Should the logger's `record` die (a
   * custom logger), the attempt is returned unrecorded: `outcome: "Failed"`, `error` the defect, `seq` 0 and an id
   * ending in `_u<n>` that no logger knows.
   */
  readonly recover: (component: string, trigger: Trigger) => Effect.Effect<RecoveryAttempt>
  /** `recover`, failing with `RecoveryFailed` when the episode failed. */
  readonly recoverOrFail: (component: string, trigger: Trigger) => Effect.Effect<RecoveryAttempt, RecoveryFailed>
  /** The component's `Recovery` machine (made on first use); subscribe to it to watch episodes. */
  readonly machine: (component: string) => Effect.Effect<StateMachine.StateMachine<typeof Presets.Recovery>>
  /** The component's channel machines (`RecoveryChannel`), if channels are configured. */
  readonly channelMachines: (
    component: string
  ) => Effect.Effect<Channels.Channels<string, typeof Presets.RecoveryChannel> | undefined>
  readonly stats: Effect.Effect<Stats>
  /** Waits until no episode is in progress. */
  readonly awaitIdle: Effect.Effect<void>
}

/**
 * The service tag.
 *
 * @since 0.1.0
 * @category services
 */
export const RecoveryCoordinator: Context.Tag<RecoveryCoordinator, RecoveryCoordinator> = internal.tag

/**
 * Makes a coordinator whose episodes run in the current scope. Fails with `InvalidRecoveryOptions` for an empty
 * step list, a duplicate or empty step name, an unknown phase, a non-positive timeout or poll interval, duplicate or
 * empty channel names, or a `historySize` below 1. The steps' effects run with the services of the fiber that makes
 * the coordinator (`R`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <E, R>(
  options: Options<E, R>
) => Effect.Effect<RecoveryCoordinator, InvalidRecoveryOptions, Scope.Scope | R> = internal.make

/**
 * The coordinator's metrics: `recovery_episodes` (counter, by `outcome`), `recovery_duration_ms` (histogram),
 * `recovery_step_failures` (counter, by `step`), `recovery_joined_triggers` (counter).
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics: {
  readonly episodes: Metric.Metric.Counter<number>
  readonly duration: Metric.Metric.Histogram<number>
  readonly stepFailures: Metric.Metric.Counter<number>
  readonly joined: Metric.Metric.Counter<number>
} = internal.metrics
