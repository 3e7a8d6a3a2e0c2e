/**
 * The typed errors of `@core-stability/cleanup`.
 *
 * Registration errors (`DuplicateStepError`, `UnknownDependencyError`, `DependencyCycleError`, `InvalidStepError`,
 * `RegistrationClosedError`) fail `register`, `registerAll` and `acquire` at once, so a broken graph never reaches a
 * run: the original coordinator left such steps "pending" forever (origin.md, weakness 18). The step errors
 * (`StepTimeoutError`, `VerificationFailedError`, `StepSkippedError`, `DeadlineExceededError`,
 * `InjectedFaultError`) are never thrown at callers: they appear inside the `cause` of a step in a `CleanupReport`.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Predicate from "effect/Predicate"
import type { CleanupReport } from "./CleanupReport.js"

/**
 * A step or resource name that is already registered (or appears twice in one `registerAll` batch).
 *
 * @since 0.1.0
 * @category errors
 */
export class DuplicateStepError extends Data.TaggedError("DuplicateStepError")<{
  /** The name registered twice. */
  readonly step: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Cleanup step "${this.step}" is already registered`
  }
}

/**
 * A `dependsOn` or `uses` entry that names no registered step (nor a step of the same batch).
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownDependencyError extends Data.TaggedError("UnknownDependencyError")<{
  /** The step whose declaration is wrong. */
  readonly step: string
  /** The missing name. */
  readonly dependency: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Cleanup step "${this.step}" depends on unknown step "${this.dependency}"`
  }
}

/**
 * A registration that would close a dependency cycle. `path` lists the cycle in dependency direction and ends with
 * its first element: `["a", "b", "a"]` reads "a depends on b, which depends on a".
 *
 * @since 0.1.0
 * @category errors
 */
export class DependencyCycleError extends Data.TaggedError("DependencyCycleError")<{
  /** The cycle, first element repeated at the end. */
  readonly path: ReadonlyArray<string>
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Cleanup steps form a dependency cycle: ${this.path.join(" -> ")}`
  }
}

/**
 * A step declaration with an invalid field: an empty name, a timeout that is not a positive finite duration, a
 * `retries` count below 1, a negative `retryDelay`, or a phase that is not a work phase of `CleanupPhase`.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidStepError extends Data.TaggedError("InvalidStepError")<{
  /** The step name as given. */
  readonly step: string
  /** What is wrong, in words. */
  readonly reason: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Invalid cleanup step "${this.step}": ${this.reason}`
  }
}

/**
 * A registration after shutdown was requested. Registration opens again after `reset`.
 *
 * @since 0.1.0
 * @category errors
 */
export class RegistrationClosedError extends Data.TaggedError("RegistrationClosedError")<{
  /** The step that could not be registered. */
  readonly step: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Cannot register cleanup step "${this.step}": shutdown was requested (reset the coordinator first)`
  }
}

/**
 * `reset` called while a cleanup run is in progress.
 *
 * @since 0.1.0
 * @category errors
 */
export class CleanupInProgressError extends Data.TaggedError("CleanupInProgressError")<{
  /** The number of the run in progress (1 for the first run). */
  readonly run: number
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Cannot reset the cleanup coordinator while run ${this.run} is in progress`
  }
}

/**
 * Everything `register`, `registerAll` and `acquire` can fail with besides the resource's own acquisition error.
 *
 * @since 0.1.0
 * @category errors
 */
export type RegistrationError =
  | DuplicateStepError
  | UnknownDependencyError
  | DependencyCycleError
  | InvalidStepError
  | RegistrationClosedError

/**
 * A step, a verification attempt or the pause between attempts ran past its deadline and was interrupted.
 * `bound` tells which deadline applied: the step's own `timeout`, the budget of its phase, or the run's total
 * `deadline`.
 *
 * @since 0.1.0
 * @category errors
 */
export class StepTimeoutError extends Data.TaggedError("StepTimeoutError")<{
  /** The step that timed out. */
  readonly step: string
  /** What was running: the step itself, a verification attempt, or the pause between attempts. */
  readonly stage: "run" | "verify" | "retryDelay"
  /** Which deadline expired. */
  readonly bound: "step" | "phase" | "total"
  /** The time the stage was allowed, in ms. */
  readonly timeoutMs: number
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const what = this.stage === "run" ? "step" : this.stage === "verify" ? "verification" : "pause before retry"
    const bound = this.bound === "step" ? "step timeout" : this.bound === "phase" ? "phase budget" : "total deadline"
    return `Cleanup ${what} of "${this.step}" exceeded its ${bound} of ${this.timeoutMs} ms`
  }
}

/**
 * A verification attempt that returned `false`.
 *
 * @since 0.1.0
 * @category errors
 */
export class VerificationFailedError extends Data.TaggedError("VerificationFailedError")<{
  /** The step whose verification failed. */
  readonly step: string
  /** The attempt, counting from 1. */
  readonly attempt: number
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Verification of cleanup step "${this.step}" returned false (attempt ${this.attempt})`
  }
}

/**
 * Why a step was skipped: `dependency` is the direct dependency that did not succeed, `root` the step whose failure
 * started the chain (equal to `dependency` for a direct dependent).
 *
 * @since 0.1.0
 * @category errors
 */
export class StepSkippedError extends Data.TaggedError("StepSkippedError")<{
  /** The skipped step. */
  readonly step: string
  /** The dependency through which the failure reached this step. */
  readonly dependency: string
  /** The step that failed first. */
  readonly root: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return this.dependency === this.root
      ? `Cleanup step "${this.step}" skipped: dependency "${this.dependency}" did not succeed`
      : `Cleanup step "${this.step}" skipped: dependency "${this.dependency}" was skipped after "${this.root}" did not succeed`
  }
}

/**
 * A step that never started because the budget of its phase (or the total deadline) was used up when its turn came:
 * a step whose turn comes at or after its phase deadline has no time left to run. `overdueMs` is 0 when the turn came
 * exactly at the deadline.
 *
 * @since 0.1.0
 * @category errors
 */
export class DeadlineExceededError extends Data.TaggedError("DeadlineExceededError")<{
  /** The step that did not start. */
  readonly step: string
  /** Which budget was exhausted. */
  readonly bound: "phase" | "total"
  /** How long before the step's turn the budget ran out, in ms (to the µs); 0: exactly at its turn. */
  readonly overdueMs: number
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const bound = this.bound === "phase" ? "its phase budget" : "the total deadline"
    const when = this.overdueMs > 0 ? `${this.overdueMs} ms before its turn` : "exactly at its turn"
    return `Cleanup step "${this.step}" not started: ${bound} ran out ${when}`
  }
}

/**
 * The failure produced by a `CleanupFaults` injection.
 *
 * @since 0.1.0
 * @category errors
 */
export class InjectedFaultError extends Data.TaggedError("InjectedFaultError")<{
  /** The step the fault was injected into. */
  readonly step: string
  /** Where the fault struck. */
  readonly target: "run" | "verify"
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Injected fault in the ${this.target === "run" ? "run" : "verification"} of cleanup step "${this.step}"`
  }
}

/**
 * The defect a coordinator's Scope finalizer dies with when the cleanup run it performed or joined did not complete:
 * Effect's Scope merges it into the Exit of the scope, so `NodeRuntime.runMain` and `CleanupMain.runMain` exit 1.
 *
 * @since 0.1.0
 * @category errors
 */
export class CleanupFailedError extends Data.TaggedError("CleanupFailedError")<{
  /** The report of the failed run. */
  readonly report: CleanupReport
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const failed = this.report.steps.filter((step) => step.status !== "Succeeded" && step.status !== "Verified")
    return `Cleanup run ${this.report.run} failed: ${failed.map((step) => `${step.name} (${step.status})`).join(", ")}`
  }
}

/**
 * `true` for a `CleanupFailedError`, for instance a defect in the Exit of a scope that owned a coordinator.
 *
 * @since 0.1.0
 * @category guards
 */
export const isCleanupFailedError = (u: unknown): u is CleanupFailedError =>
  Predicate.isTagged(u, "CleanupFailedError") && u instanceof CleanupFailedError

/**
 * `true` for any registration error.
 *
 * @since 0.1.0
 * @category guards
 */
export const isRegistrationError = (u: unknown): u is RegistrationError =>
  u instanceof DuplicateStepError || u instanceof UnknownDependencyError || u instanceof DependencyCycleError ||
  u instanceof InvalidStepError || u instanceof RegistrationClosedError
