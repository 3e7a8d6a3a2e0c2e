/**
 * The recovery log: every recovery episode as a structured, persisted record, analytics over them, and state dumps
 * on demand.
 *
 * - **Records** (`record`): an attempt gets a collision-proof id (`recovery_<YYYYmmdd_HHMMSS_mmm>_<session>_<seq>`:
 *   the logger's random session id plus a sequence number, so two attempts in the same millisecond, or of two
 *   processes, never share one), and keeps the trigger, the state sequence, the step outcomes, the metrics, the
 *   cleanup report and the outcome. It is kept in memory first (a bounded history, oldest evicted), then written to
 *   `<directory>/recovery/<id>.json` through `@effect/platform`'s `FileSystem`. A write that fails or takes longer
 *   than `writeTimeout` is logged and counted (`stats.writeFailures`, the `recovery_log_write_failures` metric);
 *   the caller never sees it, and the in-memory record and the analytics are kept and refreshed.
 * - **Files are written atomically**: to a temporary file in the same directory (`.<name>.<token>.tmp`, see
 *   {@link isTemporaryFile}; readers of the directories skip these), then renamed into place. A write that fails or
 *   times out removes its temporary file, so no half-written file is ever left under its final name.
 * - **Analytics**: attempts, successes, failures, success rate (a percentage), duration mean and p95, the common
 *   triggers, state-transition counts (`{ from: { to: count } }`, from consecutive machine states within each
 *   attempt),
 *   time to detect and time to recover (MTTR), the mean resource usage. Written to
 *   `<directory>/analytics/recovery_analytics_<YYYYmmdd>.json` after every record, by one writer at a time that
 *   writes the latest analytics (a record that finds a write in progress leaves its update to that writer); once
 *   every record has returned, the file holds the analytics of every attempt.
 * - **State dumps** (`stateDump`): the attempt, the analytics, the lock snapshot of `@core-stability/locks` and the
 *   components' states, written to `<directory>/debug/state_dump_<id>.json`.
 * - **Retention** (`cleanupOldLogs`): removes files whose *modification* time is older than the given age.
 * - **Structured logs** go through Effect's `Logger`, annotated with the component, channel, state and lock where
 *   known (the fiber is in every log line); {@link layerJson} prints them as JSON lines.
 *
 * Concurrent use is safe: the books are updated in single synchronous steps; attempt files have unique names, and
 * the shared analytics file has a single writer.
 *
 * The idea follows the original `RecoveryLogger` (origin.md, 2.7), with the fixes of its weakness 37 (bounded
 * memory, collision-proof ids, retention by modification time, logging that never throws and always refreshes the
 * analytics, attempts linked to a session) and the recovery analytics of lifecycle.md idea 9 (recoveries by cause,
 * time to detect, time to recover, the last N episodes).
 *
 * @example
 * ```ts
 * import { MemoryFileSystem, RecoveryLogger } from "@core-stability/recovery"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const logger = yield* RecoveryLogger.make({ directory: "/var/log/app" })
 *   const attempt = yield* logger.record({
 *     component: "capture",
 *     trigger: "buffer-overflow",
 *     startedAt: 1_000,
 *     endedAt: 1_250,
 *     states: [{ state: "Initiating", at: 1_000 }, { state: "Completed", at: 1_250 }],
 *     outcome: "Succeeded"
 *   })
 *   const analytics = yield* logger.analytics // totalAttempts 1, successRate 100, ...
 *   return { id: attempt.id, mttr: analytics.timeToRecoverMs.mean }
 * }).pipe(Effect.provide(MemoryFileSystem.layer(MemoryFileSystem.unsafeMake())))
 * ```
 *
 * @since 0.1.0
 */
import type { CleanupReport } from "@core-stability/cleanup/CleanupReport"
import type { ComponentCoordinator } from "@core-stability/coordinator/ComponentCoordinator"
import type { LockSnapshot } from "@core-stability/locks/LockRegistry"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import type * as Option from "effect/Option"
import * as internal from "./internal/recoveryLogger.js"
import type { UnknownAttempt } from "./RecoveryError.js"

/**
 * How an episode ended.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "Succeeded" | "Failed"

/**
 * An error in a serialisable form: its `_tag` (or constructor name) and message.
 *
 * @since 0.1.0
 * @category models
 */
export interface ErrorInfo {
  readonly tag: string
  readonly message: string
}

/**
 * One state an episode went through: the state, the channel (for per-channel states) and when it was entered
 * (epoch ms).
 *
 * @since 0.1.0
 * @category models
 */
export interface StateEntry {
  readonly state: string
  readonly channel?: string | undefined
  readonly at: number
}

/**
 * What happened to one step of an episode:
 *
 * - `Succeeded`; `Failed` (the step failed or died); `TimedOut` (interrupted and abandoned at its timeout);
 * - `Interrupted`: the step was running when the episode was interrupted (the coordinator's scope
 *   closed); its `error` says so;
 * - `Skipped` (not run because an earlier required step failed, or because the episode was interrupted);
 * - `RolledBack` / `RollbackFailed`: a succeeded step whose rollback ran after a later required step failed.
 *
 * @since 0.1.0
 * @category models
 */
export type StepStatus =
  | "Succeeded"
  | "Failed"
  | "TimedOut"
  | "Interrupted"
  | "Skipped"
  | "RolledBack"
  | "RollbackFailed"

/**
 * One step of an episode (per channel for per-channel steps). Times are epoch ms, durations ms.
 *
 * @since 0.1.0
 * @category models
 */
export interface StepRecord {
  readonly step: string
  readonly phase: string
  readonly channel: string | undefined
  readonly required: boolean
  readonly status: StepStatus
  readonly startedAt: number
  readonly durationMs: number
  /** Why the step (or its rollback) did not succeed. */
  readonly error: ErrorInfo | undefined
}

/**
 * The cleanup report of an episode in serialisable form (from a `CleanupReport` of `@core-stability/cleanup`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CleanupSummary {
  readonly run: number
  readonly status: "Completed" | "Failed"
  readonly durationMs: number
  readonly executionOrder: ReadonlyArray<string>
  readonly steps: ReadonlyArray<{
    readonly name: string
    readonly status: string
    readonly durationMs: number
    readonly error: string | undefined
  }>
}

/**
 * What `record` takes. Times are epoch ms from the `Clock`.
 *
 * - `occurredAt`: when the fault happened, if known; `detectedAt`: when it was noticed (default `startedAt`).
 *   Time to detect is `detectedAt - occurredAt`; time to recover (for a success) is `endedAt - (occurredAt ??
 *   detectedAt)`.
 * - `steps`: the step outcomes; `cleanup`: a cleanup report to keep with the attempt.
 * - `resources`: resource usage samples (e.g. `heapUsedBytes`); averaged in the analytics.
 * - `joined`: how many further triggers joined this episode.
 *
 * @since 0.1.0
 * @category models
 */
export interface AttemptInput {
  readonly component: string
  readonly trigger: string
  readonly channels?: ReadonlyArray<string> | undefined
  readonly occurredAt?: number | undefined
  readonly detectedAt?: number | undefined
  readonly startedAt: number
  readonly endedAt: number
  readonly states: ReadonlyArray<StateEntry>
  readonly steps?: ReadonlyArray<StepRecord> | undefined
  readonly cleanup?: CleanupReport | undefined
  readonly resources?: Readonly<Record<string, number>> | undefined
  readonly outcome: Outcome
  readonly error?: ErrorInfo | undefined
  readonly joined?: number | undefined
}

/**
 * A recorded attempt, as kept in memory and written to `recovery/<id>.json`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecoveryAttempt {
  readonly id: string
  /** The logger's session id (links attempts of one run of the program). */
  readonly session: string
  /** 1 for the first attempt of the session, then increasing. */
  readonly seq: number
  readonly component: string
  readonly trigger: string
  readonly channels: ReadonlyArray<string>
  readonly occurredAt: number | undefined
  readonly detectedAt: number
  readonly states: ReadonlyArray<StateEntry>
  readonly steps: ReadonlyArray<StepRecord>
  readonly metrics: {
    readonly startedAt: number
    readonly endedAt: number
    readonly durationMs: number
    readonly timeToDetectMs: number | undefined
    /** For a success only. */
    readonly timeToRecoverMs: number | undefined
    readonly resources: Readonly<Record<string, number>>
  }
  readonly cleanup: CleanupSummary | undefined
  readonly outcome: Outcome
  readonly error: ErrorInfo | undefined
  readonly joined: number
}

/**
 * A mean and 95th percentile in ms, and how many values they cover.
 *
 * @since 0.1.0
 * @category models
 */
export interface Distribution {
  readonly count: number
  readonly mean: number
  readonly p95: number
}

/**
 * The analytics. Counts, rates, means, triggers and transitions cover every attempt recorded since the logger was
 * made; the p95 values cover the attempts still in the in-memory history.
 *
 * @since 0.1.0
 * @category models
 */
export interface Analytics {
  readonly totalAttempts: number
  readonly successes: number
  readonly failures: number
  /** Successes over attempts, in percent (0-100); 0 with no attempt. */
  readonly successRate: number
  readonly durationMs: Distribution
  /** Attempts per trigger, most frequent first (ties by name). */
  readonly commonTriggers: ReadonlyArray<{ readonly trigger: string; readonly count: number }>
  /**
   * `{ from: { to: count } }` over consecutive states within each attempt, counting the recovery machine's states
   * (entries without a channel); the channel machines move in step with it.
   */
  readonly stateTransitions: Readonly<Record<string, Readonly<Record<string, number>>>>
  /** Over attempts that knew when their fault occurred. */
  readonly timeToDetectMs: Distribution
  /** Over successful attempts; its `mean` is the MTTR. */
  readonly timeToRecoverMs: Distribution
  /** Mean of each resource sample over the attempts that reported it. */
  readonly resourceUsage: Readonly<Record<string, number>>
  /** Epoch ms of the last record. */
  readonly updatedAt: number | undefined
}

/**
 * The logger's own books: attempts recorded, kept, evicted; files written and failed writes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly recorded: number
  readonly retained: number
  readonly evicted: number
  readonly writes: number
  readonly writeFailures: number
  readonly lastWriteError: ErrorInfo | undefined
}

/**
 * A state dump: the attempt, the analytics, the lock snapshot, the components' states, and when it was taken.
 *
 * @since 0.1.0
 * @category models
 */
export interface StateDump {
  readonly attempt: RecoveryAttempt
  readonly analytics: Analytics
  readonly locks: LockSnapshot
  readonly components: ReadonlyArray<{
    readonly id: string
    readonly state: string
    readonly generation: number
    readonly failures: number
  }>
  readonly at: number
}

/**
 * Options of {@link make}.
 *
 * - `directory`: where the files go (`recovery/`, `analytics/`, `debug/` are created under it); any path string.
 *   Without it nothing is written.
 * - `historySize`: attempts kept in memory; default 1,000. A positive integer.
 * - `writeTimeout`: per file write; default 5,000 ms.
 * - `session`: the session id; default 8 random hex digits.
 * - `components`: the component coordinator whose states state dumps include.
 *
 * Invalid options (a `historySize` below 1, a non-positive `writeTimeout`) are defects.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly directory?: string | undefined
  readonly historySize?: number | undefined
  readonly writeTimeout?: Duration.DurationInput | undefined
  readonly session?: string | undefined
  readonly components?: ComponentCoordinator | undefined
}

/**
 * The logger.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecoveryLogger {
  readonly session: string
  readonly directory: string | undefined
  /**
   * Records an attempt, writes it and refreshes the analytics file (or leaves that to the write in progress); never
   * fails (write failures are counted).
   */
  readonly record: (input: AttemptInput) => Effect.Effect<RecoveryAttempt>
  /** The attempts in memory, oldest first. */
  readonly attempts: Effect.Effect<ReadonlyArray<RecoveryAttempt>>
  /** The attempt of that id, if it is still in memory (the original's `get_attempt_details`). */
  readonly attempt: (id: string) => Effect.Effect<Option.Option<RecoveryAttempt>>
  readonly analytics: Effect.Effect<Analytics>
  /** `"no_attempts"`, or the outcome of the last attempt. */
  readonly lastStatus: Effect.Effect<"no_attempts" | "success" | "failed">
  readonly stats: Effect.Effect<Stats>
  /**
   * Takes a state dump for an attempt in memory and writes it to `debug/state_dump_<id>.json`; returns the dump and
   * the path (`None` without a directory or when the write failed, which is counted). Fails with `UnknownAttempt`.
   */
  readonly stateDump: (
    id: string
  ) => Effect.Effect<{ readonly dump: StateDump; readonly path: Option.Option<string> }, UnknownAttempt>
  /**
   * Removes the files under the directory whose modification time is more than `maxAge` ago (default 30 days) and
   * returns their paths. Files it cannot inspect or remove are kept and logged.
   */
  readonly cleanupOldLogs: (maxAge?: Duration.DurationInput | undefined) => Effect.Effect<ReadonlyArray<string>>
}

/**
 * The service tag.
 *
 * @since 0.1.0
 * @category services
 */
export const RecoveryLogger: Context.Tag<RecoveryLogger, RecoveryLogger> = internal.tag

/**
 * Makes a logger and creates its directories (a failure is logged and counted; every later write tries again).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: Options | undefined
) => Effect.Effect<RecoveryLogger, never, FileSystem.FileSystem | Path.Path> = internal.make

/**
 * Whether a file name (not a path) is one of the logger's temporary files (`.<name>.<token>.tmp`): a write in
 * progress, or the remains of one that a crash interrupted. Readers of the logger's directories skip them;
 * `cleanupOldLogs` removes them by age like any other file.
 *
 * @example
 * ```ts
 * import { RecoveryLogger } from "@core-stability/recovery"
 *
 * RecoveryLogger.isTemporaryFile(".recovery_20260101_000000_000_ab12cd34_1.json.ab12cd34-1.tmp") // true
 * RecoveryLogger.isTemporaryFile("recovery_20260101_000000_000_ab12cd34_1.json") // false
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isTemporaryFile: (name: string) => boolean = internal.isTemporaryFile

/**
 * A layer providing the {@link RecoveryLogger} service.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options | undefined
): Layer.Layer<RecoveryLogger, never, FileSystem.FileSystem | Path.Path> => Layer.effect(RecoveryLogger, make(options))

/**
 * Replaces the default logger with Effect's JSON logger: one JSON object per line with `message`, `logLevel`,
 * `timestamp`, `annotations` (component, channel, state, lock, attempt), `spans` and `fiberId`. `write` receives
 * each line (default: `console.log`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerJson: (options?: { readonly write?: ((line: string) => void) | undefined }) => Layer.Layer<never> =
  internal.layerJson

/**
 * The annotations of the recovery logs, set on every log of the wrapped effect; `undefined` fields are left out.
 *
 * @since 0.1.0
 * @category combinators
 */
export const annotate: {
  (fields: Annotations): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, fields: Annotations): Effect.Effect<A, E, R>
} = internal.annotate

/**
 * Log annotations: the component, channel, state, lock (a lock description's `name` or `name:key`) and attempt id.
 *
 * @since 0.1.0
 * @category models
 */
export interface Annotations {
  readonly component?: string | undefined
  readonly channel?: string | undefined
  readonly state?: string | undefined
  readonly lock?: string | undefined
  readonly attempt?: string | undefined
}

/**
 * The logger's metrics: `recovery_log_attempts` (counter, by `outcome`), `recovery_log_write_failures` (counter).
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics: {
  readonly attempts: Metric.Metric.Counter<number>
  readonly writeFailures: Metric.Metric.Counter<number>
} = internal.metrics
