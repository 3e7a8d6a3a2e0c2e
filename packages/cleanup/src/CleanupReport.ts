/**
 * The report a cleanup run returns: per step the status, verification attempts, start, end, duration and cause; the
 * real execution order; per phase the budget and timing; the overall status and duration. No failure is dropped:
 * every step keeps its own cause and `cause` joins the causes of every step that failed by itself (Java's
 * try-with-resources and JS `SuppressedError` keep every cleanup error too; Go's `errgroup` keeps only the first).
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type * as Option from "effect/Option"
import type { Phase } from "./CleanupStep.js"
import * as internal from "./internal/report.js"

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
 * The outcome of one step.
 *
 * - `Succeeded`: the run succeeded and the step has no verification.
 * - `Verified`: the run succeeded and a verification attempt returned `true`.
 * - `Failed`: the run failed (its cause is kept).
 * - `TimedOut`: the run, a verification attempt or the pause between attempts passed its deadline (step timeout,
 *   phase budget or total deadline) and was interrupted.
 * - `VerificationFailed`: every verification attempt returned `false` or failed.
 * - `Skipped`: never started, because a dependency (directly or transitively) did not succeed, or because the budget
 *   had run out by its turn (at or before it).
 *
 * @since 0.1.0
 * @category models
 */
export type StepStatus = "Succeeded" | "Verified" | "Failed" | "TimedOut" | "VerificationFailed" | "Skipped"

/**
 * One step of a run. Times are epoch milliseconds read from the Effect `Clock` (so `TestClock` drives them), with
 * the clock's millisecond resolution. A skipped step has `startedAt === endedAt`, the moment it was skipped.
 *
 * @since 0.1.0
 * @category models
 */
export interface StepReport {
  readonly name: string
  /** The phase the step declared, if any. */
  readonly phase: Phase | undefined
  /** The phase the step ran in: the latest of its own and its dependencies' phases. */
  readonly effectivePhase: Phase
  readonly status: StepStatus
  /** Verification attempts made (0 without verification or when the run did not succeed). */
  readonly attempts: number
  readonly startedAt: number
  readonly endedAt: number
  readonly durationMs: number
  /** Why the step did not succeed; `None` for `Succeeded` and `Verified`. */
  readonly cause: Option.Option<Cause.Cause<unknown>>
}

/**
 * One work phase of a run. `budgetMs` is the phase's share of the total deadline (`undefined` without a deadline);
 * `startedAt`/`endedAt` are epoch ms.
 *
 * @since 0.1.0
 * @category models
 */
export interface PhaseReport {
  readonly phase: Phase
  readonly budgetMs: number | undefined
  readonly startedAt: number
  readonly endedAt: number
  readonly durationMs: number
  /** Names of the steps whose effective phase this is, in registration order. */
  readonly steps: ReadonlyArray<string>
}

/**
 * The report of one run.
 *
 * @since 0.1.0
 * @category models
 */
export interface CleanupReport {
  readonly [TypeId]: TypeId
  /** 1 for the first run, 2 after the first `reset`, ... */
  readonly run: number
  /** `Completed` when every step `Succeeded` or was `Verified`, otherwise `Failed`. */
  readonly status: "Completed" | "Failed"
  readonly startedAt: number
  readonly endedAt: number
  readonly durationMs: number
  /** Every registered step, in registration order. */
  readonly steps: ReadonlyArray<StepReport>
  /** Names of the steps that started, in the order they started (skipped steps are not in it). */
  readonly executionOrder: ReadonlyArray<string>
  readonly phases: ReadonlyArray<PhaseReport>
  /** The causes of every step that failed, timed out, failed verification or missed its budget, in parallel. */
  readonly cause: Option.Option<Cause.Cause<unknown>>
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isCleanupReport: (u: unknown) => u is CleanupReport = internal.isCleanupReport

/**
 * The report of one step by name.
 *
 * @since 0.1.0
 * @category getters
 */
export const step: {
  (name: string): (self: CleanupReport) => Option.Option<StepReport>
  (self: CleanupReport, name: string): Option.Option<StepReport>
} = internal.step

/**
 * The steps that did not end `Succeeded` or `Verified`, in registration order.
 *
 * @since 0.1.0
 * @category getters
 */
export const failures: (self: CleanupReport) => ReadonlyArray<StepReport> = internal.failures

/**
 * A plain-text table of the report: one line per step in execution order (then the skipped ones), with phase,
 * status, attempts, duration and the first line of the cause.
 *
 * @example
 * ```ts
 * import { CleanupCoordinator, CleanupReport } from "@core-stability/cleanup"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const coordinator = yield* CleanupCoordinator.make()
 *   yield* coordinator.register({ name: "close-logs", run: Effect.void })
 *   const report = yield* coordinator.shutdown
 *   yield* Effect.log(CleanupReport.render(report))
 * })
 * ```
 *
 * @since 0.1.0
 * @category rendering
 */
export const render: (self: CleanupReport) => string = internal.render
