/**
 * The typed errors of `@core-stability/monitoring`.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type { VerificationReport } from "./VerificationReport.js"

/**
 * A watched fiber sent no heartbeat within the threshold. It is what the monitoring coordinator hands to
 * `handleError` for the fiber's component when it finds the fiber hung (origin.md, section 4, item 36).
 *
 * @since 0.1.0
 * @category errors
 */
export class FiberHung extends Data.TaggedError("FiberHung")<{
  /** The watched fiber's name. */
  readonly name: string
  /** The fiber id, e.g. `"#12"`. */
  readonly fiber: string
  /** Time since the last heartbeat (ms). */
  readonly silentMs: number
  /** The threshold (ms). */
  readonly hungAfterMs: number
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Fiber "${this.name}" (${this.fiber}) sent no heartbeat for ${this.silentMs} ms (threshold ${this.hungAfterMs} ms)`
  }
}

/**
 * A monitoring coordinator was given an unusable option (a non-positive interval or threshold, a history size
 * below 1).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidMonitoringOptions extends Data.TaggedError("InvalidMonitoringOptions")<{
  readonly field: string
  readonly reason: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Invalid monitoring options: ${this.field}: ${this.reason}`
  }
}

/**
 * A system verification did not pass, for callers that want it in the error channel (the verifying step of a
 * recovery, `SystemVerifier.recoveryStep`). Holds the report; `checks` names the checks that failed or could not
 * run.
 *
 * @since 0.1.0
 * @category errors
 */
export class VerificationFailed extends Data.TaggedError("VerificationFailed")<{
  /** The component whose recovery was being verified, if any. */
  readonly component: string | undefined
  readonly verdict: "failed" | "error"
  readonly checks: ReadonlyArray<string>
  readonly report: VerificationReport
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const scope = this.component === undefined ? "" : ` after recovering "${this.component}"`
    return `System verification${scope}: ${this.verdict} (${this.checks.join(", ")})`
  }
}

/**
 * `SystemVerifier.verify({ only })` named checks the verifier does not have. `checks` are the unknown names, `known`
 * the verifier's checks.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownCheck extends Data.TaggedError("UnknownCheck")<{
  readonly checks: ReadonlyArray<string>
  readonly known: ReadonlyArray<string>
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const names = this.checks.map((name) => `"${name}"`).join(", ")
    return `No check named ${names} (the verifier's checks: ${this.known.join(", ")})`
  }
}
