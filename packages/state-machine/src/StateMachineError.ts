/**
 * The typed errors of `@core-stability/state-machine`.
 *
 * Every rejected operation fails with one of these tagged errors and never throws past the API: a transition that is
 * not in the table, a validator that rejects, fails, throws or times out, an invariant that does not hold after the
 * commit (the state is rolled back first), a lost compare-and-set race, a rollback that has nothing to undo or whose
 * compensation fails, and a transition table that does not validate.
 *
 * The messages keep the wording of the original acceptance suite ("Invalid transition", "Transition validation
 * failed", "State invariants not satisfied") so that logs stay searchable across the port (origin.md, 3.1).
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Predicate from "effect/Predicate"
import { describeCause } from "./internal/describe.js"

/**
 * The attempted transition is not in the machine's table (neither an explicit edge nor a "from any state" rule).
 *
 * @example
 * ```ts
 * import { StateMachineError } from "@core-stability/state-machine"
 *
 * const error = new StateMachineError.InvalidTransition({
 *   machine: "recovery",
 *   channel: undefined,
 *   from: "Idle",
 *   to: "Completed",
 *   allowed: ["Initiating", "Failed"]
 * })
 * console.log(error.message) // Invalid transition: Idle -> Completed (machine "recovery"; allowed: Initiating, Failed)
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidTransition extends Data.TaggedError("InvalidTransition")<{
  /** The machine's name. */
  readonly machine: string
  /** The channel key, for a channel sub-machine. */
  readonly channel: string | undefined
  readonly from: string
  readonly to: string
  /** The targets the table allows from `from`. */
  readonly allowed: ReadonlyArray<string>
}> {
  override get message(): string {
    return `Invalid transition: ${this.from} -> ${this.to} (${where(this)}; allowed: ${
      this.allowed.length === 0 ? "none" : this.allowed.join(", ")
    })`
  }
}

/**
 * A validator of the `(from, to)` pair rejected the transition (returned `false`), failed, or threw, on its last
 * attempt. The state is unchanged. `cause` is the validator's own `Cause` (`undefined` when it returned `false`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ValidationFailed extends Data.TaggedError("ValidationFailed")<{
  readonly machine: string
  readonly channel: string | undefined
  readonly from: string
  readonly to: string
  /** The validator's name. */
  readonly validator: string
  /** Attempts made, retries included (at least 1). */
  readonly attempts: number
  /** What the validator failed or died with; `undefined` when it returned `false`. */
  readonly cause: Cause.Cause<unknown> | undefined
}> {
  override get message(): string {
    return `Transition validation failed: ${this.from} -> ${this.to} (${where(this)}; validator "${this.validator}", ${
      plural(this.attempts, "attempt")
    }): ${this.cause === undefined ? "rejected" : describeCause(this.cause)}`
  }
}

/**
 * A validator of the `(from, to)` pair did not finish within its timeout on its last attempt; it was interrupted. The
 * state is unchanged.
 *
 * @since 0.1.0
 * @category errors
 */
export class ValidationTimeout extends Data.TaggedError("ValidationTimeout")<{
  readonly machine: string
  readonly channel: string | undefined
  readonly from: string
  readonly to: string
  readonly validator: string
  readonly attempts: number
  /** The timeout of one attempt, in milliseconds. */
  readonly timeoutMs: number
}> {
  override get message(): string {
    return `Transition validation timed out: ${this.from} -> ${this.to} (${
      where(this)
    }; validator "${this.validator}"` +
      ` took longer than ${this.timeoutMs} ms, ${plural(this.attempts, "attempt")})`
  }
}

/**
 * An invariant of the target state did not hold after the commit (it returned `false`, failed, threw or timed out). The
 * machine rolled the state back to `from` before failing.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvariantViolated extends Data.TaggedError("InvariantViolated")<{
  readonly machine: string
  readonly channel: string | undefined
  /** The state that was rolled back to. */
  readonly from: string
  /** The state whose invariant failed. */
  readonly to: string
  /** The invariant's name. */
  readonly invariant: string
  /** What the invariant failed or died with; `undefined` when it returned `false`. */
  readonly cause: Cause.Cause<unknown> | undefined
}> {
  override get message(): string {
    return `State invariants not satisfied: invariant "${this.invariant}" of ${this.to} (${where(this)}; ` +
      `rolled back to ${this.from}): ${this.cause === undefined ? "returned false" : describeCause(this.cause)}`
  }
}

/**
 * A compare-and-set transition `transition(from, to)` found the machine in another state than `from`, either when it
 * started or at the commit.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConcurrentModification extends Data.TaggedError("ConcurrentModification")<{
  readonly machine: string
  readonly channel: string | undefined
  /** The state the caller expected. */
  readonly expected: string
  /** The state the machine was in. */
  readonly actual: string
  /** The target of the rejected transition. */
  readonly to: string
}> {
  override get message(): string {
    return `Concurrent modification: expected ${this.expected} but the machine is in ${this.actual} (${
      where(this)
    }; transition to ${this.to} not applied)`
  }
}

/**
 * `rollback()` found no committed transition to undo (none yet, all undone, or the machine was reset since).
 *
 * @since 0.1.0
 * @category errors
 */
export class NothingToRollback extends Data.TaggedError("NothingToRollback")<{
  readonly machine: string
  readonly channel: string | undefined
  /** The current state. */
  readonly state: string
}> {
  override get message(): string {
    return `Nothing to roll back: no committed transition is in effect (${where(this)}; state ${this.state})`
  }
}

/**
 * `rollbackTo(seq)` was given a sequence number that is not a committed transition still in effect: unknown, a failed
 * attempt, a rollback or reset entry, already undone, or older than the undo window (the history size).
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownSequence extends Data.TaggedError("UnknownSequence")<{
  readonly machine: string
  readonly channel: string | undefined
  readonly seq: number
  /** The sequence numbers that can be rolled back to, oldest first. */
  readonly available: ReadonlyArray<number>
}> {
  override get message(): string {
    return `Unknown sequence number ${this.seq}: not a committed transition in effect (${where(this)}; available: ${
      this.available.length === 0 ? "none" : rangeOf(this.available)
    })`
  }
}

/**
 * A compensation failed, threw or timed out while rolling back transition `seq` (`from -> to`). The state stays at
 * `to`: every step undone before this one remains undone.
 *
 * @since 0.1.0
 * @category errors
 */
export class CompensationFailed extends Data.TaggedError("CompensationFailed")<{
  readonly machine: string
  readonly channel: string | undefined
  /** The transition being undone. */
  readonly seq: number
  readonly from: string
  readonly to: string
  /** The compensation's name. */
  readonly compensation: string
  readonly cause: Cause.Cause<unknown>
}> {
  override get message(): string {
    return `Compensation "${this.compensation}" failed while rolling back #${this.seq} ${this.from} -> ${this.to} (${
      where(this)
    }; state stays ${this.to}): ${describeCause(this.cause)}`
  }
}

/**
 * One problem found when a transition table is validated.
 *
 * - `DuplicateState`: a state is listed twice.
 * - `ReservedName`: a state is named `"*"`, which hooks use as the wildcard.
 * - `UnknownInitial`: the initial state is not a state.
 * - `UnknownState`: a table key, a target, a `fromAny` target or a `final` entry is not a state (`where` says which).
 * - `UnreachableState`: no path leads from the initial state to it.
 * - `NoExit`: it has no outgoing transition and is not declared `final`.
 *
 * @since 0.1.0
 * @category models
 */
export type DefinitionProblem =
  | { readonly _tag: "DuplicateState"; readonly state: string }
  | { readonly _tag: "ReservedName"; readonly state: string }
  | { readonly _tag: "UnknownInitial"; readonly state: string }
  | { readonly _tag: "UnknownState"; readonly state: string; readonly where: string }
  | { readonly _tag: "UnreachableState"; readonly state: string }
  | { readonly _tag: "NoExit"; readonly state: string }

/**
 * A transition table failed validation; `problems` lists every problem found, not just the first.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidDefinition extends Data.TaggedError("InvalidDefinition")<{
  /** The definition's name. */
  readonly name: string
  readonly problems: ReadonlyArray<DefinitionProblem>
}> {
  override get message(): string {
    return `Invalid state machine definition "${this.name}": ${this.problems.map(describeProblem).join("; ")}`
  }
}

/**
 * The errors of `transitionTo`.
 *
 * @since 0.1.0
 * @category errors
 */
export type TransitionError = InvalidTransition | ValidationFailed | ValidationTimeout | InvariantViolated

/**
 * The errors of the compare-and-set `transition(from, to)`.
 *
 * @since 0.1.0
 * @category errors
 */
export type CompareAndSetError = TransitionError | ConcurrentModification

/**
 * The errors of `rollback` and `rollbackTo`.
 *
 * @since 0.1.0
 * @category errors
 */
export type RollbackError = NothingToRollback | UnknownSequence | CompensationFailed

/**
 * Health checks of a `HealthGate` did not pass. It is not what an operation fails with: a gate's validator fails with
 * it, so a gated transition fails with `ValidationFailed` whose `cause` holds it and whose message names the
 * components ("Unhealthy: storage (gate ...)"). One entry per failed check, in registration order; `cause` is what
 * the check failed or died with, `undefined` when it returned `false`. The original's `component_failures`
 * (origin.md, 3.1 #16).
 *
 * @since 0.1.0
 * @category errors
 */
export class Unhealthy extends Data.TaggedError("Unhealthy")<{
  /** The gate's name. */
  readonly gate: string
  readonly failures: ReadonlyArray<{ readonly component: string; readonly cause: Cause.Cause<unknown> | undefined }>
}> {
  override get message(): string {
    return `${this.failures.map((f) => f.component).join(", ")} (gate "${this.gate}"; ${
      this.failures.map((f) => `${f.component}: ${f.cause === undefined ? "returned false" : describeCause(f.cause)}`)
        .join("; ")
    })`
  }
}

/**
 * Every error of this package.
 *
 * @since 0.1.0
 * @category errors
 */
export type StateMachineError = CompareAndSetError | RollbackError | InvalidDefinition

const tags: ReadonlySet<string> = new Set([
  "InvalidTransition",
  "ValidationFailed",
  "ValidationTimeout",
  "InvariantViolated",
  "ConcurrentModification",
  "NothingToRollback",
  "UnknownSequence",
  "CompensationFailed",
  "InvalidDefinition"
])

/**
 * Whether a value is one of this package's errors.
 *
 * @since 0.1.0
 * @category guards
 */
export const isStateMachineError = (u: unknown): u is StateMachineError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && tags.has(u._tag) && u instanceof Error

const where = (self: { readonly machine: string; readonly channel: string | undefined }): string =>
  self.channel === undefined ? `machine "${self.machine}"` : `machine "${self.machine}", channel "${self.channel}"`

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`

const rangeOf = (seqs: ReadonlyArray<number>): string =>
  seqs.length === 1 ? `#${seqs[0]}` : `#${seqs[0]}..#${seqs[seqs.length - 1]}`

const describeProblem = (problem: DefinitionProblem): string => {
  switch (problem._tag) {
    case "DuplicateState":
      return `state ${problem.state} is listed twice`
    case "ReservedName":
      return `"*" is reserved for "any state" and cannot name a state`
    case "UnknownInitial":
      return `initial state ${problem.state} is not a state`
    case "UnknownState":
      return `unknown state ${problem.state} in ${problem.where}`
    case "UnreachableState":
      return `state ${problem.state} is unreachable from the initial state`
    case "NoExit":
      return `state ${problem.state} has no exit and is not declared final`
  }
}
