/**
 * The typed errors of `@core-stability/recovery`.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Predicate from "effect/Predicate"

/**
 * A state dump was asked for an attempt that is not in the logger's memory (never recorded, or evicted from the
 * bounded history). The original raised `ValueError` (origin.md, 2.7).
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownAttempt extends Data.TaggedError("UnknownAttempt")<{
  readonly id: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `No recovery attempt "${this.id}" in memory`
  }
}

/**
 * A recovery coordinator was given unusable options: no step, an empty or duplicate step name, an unknown phase, a
 * non-positive timeout or poll interval, duplicate or empty channel names, or a history size below 1.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRecoveryOptions extends Data.TaggedError("InvalidRecoveryOptions")<{
  /** The offending field, e.g. `"steps[2].timeout"`. */
  readonly field: string
  readonly reason: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Invalid recovery options: ${this.field}: ${this.reason}`
  }
}

/**
 * A recovery episode ended `Failed`, for callers that want failure in the error channel (`recoverOrFail`). Holds the
 * failed step and the episode id; the full episode is in the logger under that id.
 *
 * @since 0.1.0
 * @category errors
 */
export class RecoveryFailed extends Data.TaggedError("RecoveryFailed")<{
  readonly component: string
  readonly attempt: string
  /** The required step that failed, with its channel when per channel. */
  readonly step: string | undefined
  readonly reason: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Recovery of "${this.component}" failed (${this.attempt})${
      this.step === undefined ? "" : ` at step ${this.step}`
    }: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isRecoveryError = (u: unknown): u is UnknownAttempt | InvalidRecoveryOptions | RecoveryFailed =>
  Predicate.hasProperty(u, "_tag") &&
  (u._tag === "UnknownAttempt" || u._tag === "InvalidRecoveryOptions" || u._tag === "RecoveryFailed") &&
  u instanceof Error
