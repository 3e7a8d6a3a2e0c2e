/**
 * The typed errors of the `ComponentCoordinator`.
 *
 * Registration errors (`InvalidComponent`, `DuplicateComponent`, `UnknownDependency`, `DependencyCycle`) fail
 * `register` / `registerAll` at once, so a broken graph never reaches `startAll`: the original accepted unknown
 * dependencies and never looked for cycles (origin.md, 2.3 and section 4, item 23). Resource errors fail an allocation
 * and change nothing (all-or-nothing, item 24). `WorkerFailed` and `WorkerHung` are the error contexts a component
 * enters its `Error` state with; `RestartIntensityExceeded` is the supervisor's escalation (OTP's "reached maximum
 * restart intensity").
 *
 * @since 0.1.0
 */
import type { CleanupReport } from "@core-stability/cleanup/CleanupReport"
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Predicate from "effect/Predicate"

const firstLine = (cause: Cause.Cause<unknown>): string => {
  const line = describe(cause).split("\n")[0] ?? ""
  return line.length > 200 ? `${line.slice(0, 197)}...` : line
}

const describe = (cause: Cause.Cause<unknown>): string => {
  switch (cause._tag) {
    case "Empty":
      return "no cause"
    case "Fail":
      return Predicate.hasProperty(cause.error, "message") ? String(cause.error.message) : String(cause.error)
    case "Die":
      return `defect: ${
        Predicate.hasProperty(cause.defect, "message") ? String(cause.defect.message) : String(cause.defect)
      }`
    case "Interrupt":
      return "interrupted"
    case "Sequential":
    case "Parallel":
      return cause.left._tag === "Empty" ? describe(cause.right) : describe(cause.left)
  }
}

/**
 * A component declaration with an invalid field: an empty id, `dependencies` or `channels` given as a string (a
 * string is an iterable of its characters) or holding something other than non-empty strings, a limit or quota that
 * is not a non-negative integer, a channel named twice, a restart `type` or `strategy` that is not one of the known
 * values, or a permanent component marked significant (OTP forbids it too: a permanent child never exits for good,
 * so it cannot end the group).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidComponent extends Data.TaggedError("InvalidComponent")<{
  /** The component id as given. */
  readonly component: string
  /** What is wrong, in words. */
  readonly reason: string
}> {
  override get message(): string {
    return `Invalid component "${this.component}": ${this.reason}`
  }
}

/**
 * Coordinator options out of range: a negative resource limit (origin.md, 3.3 #1), a non-positive heartbeat interval,
 * a restart intensity below 0, a period that is not positive, a `strategy` or `autoShutdown` that is not one of the
 * known values.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOptions extends Data.TaggedError("InvalidOptions")<{
  /** The offending field, e.g. `"limits.memory"`. */
  readonly field: string
  readonly value: unknown
  readonly reason: string
}> {
  override get message(): string {
    return `Invalid component coordinator option ${this.field} (${String(this.value)}): ${this.reason}`
  }
}

/**
 * A component id that is already registered (or appears twice in one `registerAll` batch).
 *
 * @since 0.1.0
 * @category errors
 */
export class DuplicateComponent extends Data.TaggedError("DuplicateComponent")<{
  readonly component: string
}> {
  override get message(): string {
    return `Component "${this.component}" is already registered`
  }
}

/**
 * A dependency naming no registered component (nor one of the same `registerAll` batch).
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownDependency extends Data.TaggedError("UnknownDependency")<{
  /** The component whose declaration is wrong. */
  readonly component: string
  /** The missing id. */
  readonly dependency: string
}> {
  override get message(): string {
    return `Component "${this.component}" depends on unknown component "${this.dependency}"`
  }
}

/**
 * Dependencies that form a cycle. `path` lists it in dependency direction and ends with its first element:
 * `["a", "b", "a"]` reads "a depends on b, which depends on a"; a self-dependency is `["a", "a"]`.
 *
 * @since 0.1.0
 * @category errors
 */
export class DependencyCycle extends Data.TaggedError("DependencyCycle")<{
  readonly path: ReadonlyArray<string>
}> {
  override get message(): string {
    return `Components form a dependency cycle: ${this.path.join(" -> ")}`
  }
}

/**
 * An operation named a component that is not registered.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownComponent extends Data.TaggedError("UnknownComponent")<{
  readonly component: string
}> {
  override get message(): string {
    return `Component "${this.component}" is not registered`
  }
}

/**
 * `start` of a component one of whose dependencies is not `Running`.
 *
 * @since 0.1.0
 * @category errors
 */
export class DependencyNotRunning extends Data.TaggedError("DependencyNotRunning")<{
  readonly component: string
  readonly dependency: string
  /** The dependency's state. */
  readonly state: string
}> {
  override get message(): string {
    return `Cannot start component "${this.component}": its dependency "${this.dependency}" is ${this.state}`
  }
}

/**
 * A component's start effect failed, died or was interrupted. The component is in its `Error` state and whatever
 * the start effect had acquired in its scope has been released.
 *
 * @since 0.1.0
 * @category errors
 */
export class StartFailed extends Data.TaggedError("StartFailed")<{
  readonly component: string
  readonly cause: Cause.Cause<unknown>
}> {
  override get message(): string {
    return `Component "${this.component}" failed to start: ${firstLine(this.cause)}`
  }
}

/**
 * `cleanupComponent` without `cascade` while components that depend on it are running.
 *
 * @since 0.1.0
 * @category errors
 */
export class HasRunningDependents extends Data.TaggedError("HasRunningDependents")<{
  readonly component: string
  /** The running direct and transitive dependents, in start order. */
  readonly dependents: ReadonlyArray<string>
}> {
  override get message(): string {
    return `Cannot clean up component "${this.component}": running dependents ${
      this.dependents.map((id) => `"${id}"`).join(", ")
    } (pass cascade: true to stop them first)`
  }
}

/**
 * A component cleanup whose run did not complete: a step failed, timed out or failed its verification (a resource
 * still held, a worker still alive). The report says which.
 *
 * @since 0.1.0
 * @category errors
 */
export class CleanupFailed extends Data.TaggedError("CleanupFailed")<{
  readonly component: string
  readonly report: CleanupReport
}> {
  override get message(): string {
    const failed = this.report.steps.filter((step) => step.status !== "Succeeded" && step.status !== "Verified")
    return `Cleanup of component "${this.component}" did not complete: ${
      failed.map((step) => `${step.name} ${step.status}`).join(", ")
    }`
  }
}

/**
 * An allocation that would exceed a limit. `scope` says which: the coordinator-wide limit of the resource type
 * (`"global"`), the component's quota (`"component"`) or the channel's quota (`"channel"`). Nothing was acquired.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResourceLimitExceeded extends Data.TaggedError("ResourceLimitExceeded")<{
  readonly component: string
  readonly channel: string | undefined
  readonly resourceType: string
  readonly scope: "global" | "component" | "channel"
  readonly limit: number
  /** Units of the type held in that scope before the request. */
  readonly held: number
  readonly requested: number
}> {
  override get message(): string {
    const where = this.scope === "global"
      ? "coordinator"
      : this.scope === "component"
      ? `component "${this.component}"`
      : `channel "${this.channel}"`
    return `Resource limit exceeded: ${this.requested} ${this.resourceType} requested by "${this.component}", ${where} holds ${this.held} of ${this.limit}`
  }
}

/**
 * An allocation naming a channel the component did not declare.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownChannel extends Data.TaggedError("UnknownChannel")<{
  readonly component: string
  readonly channel: string
  /** The component's channels. */
  readonly channels: ReadonlyArray<string>
}> {
  override get message(): string {
    return `Component "${this.component}" has no channel "${this.channel}" (channels: ${
      this.channels.length === 0 ? "none" : this.channels.join(", ")
    })`
  }
}

/**
 * An allocation through the `ComponentContext` of an incarnation that has ended or is ending: a worker that outlived
 * its component's stop, or a context kept after its start effect returned and used once the component was stopped or
 * restarted. Nothing was acquired, and the component's current incarnation is unaffected (its allocations would be
 * released when it stops, not when the stale holder is done with them).
 *
 * @since 0.1.0
 * @category errors
 */
export class StaleContext extends Data.TaggedError("StaleContext")<{
  readonly component: string
  /** The generation of the context that was used. */
  readonly generation: number
  /** The generation running now, or `undefined` when the component is not running. */
  readonly current: number | undefined
}> {
  override get message(): string {
    return `Allocation refused: the context of component "${this.component}" generation ${this.generation} is stale (${
      this.current === undefined ? "that incarnation has ended" : `generation ${this.current} runs now`
    })`
  }
}

/**
 * A release of an allocation this coordinator does not hold: released already (a double release), or made by another
 * coordinator. The books are unchanged.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownAllocation extends Data.TaggedError("UnknownAllocation")<{
  /** The allocation's id. */
  readonly allocation: number
  readonly component: string
}> {
  override get message(): string {
    return `Allocation #${this.allocation} of component "${this.component}" is not held (released already, or foreign)`
  }
}

/**
 * A resource's release effect failed, died, or did not complete within the coordinator's `shutdownTimeout` (the
 * cause is then a `TimeoutException`; the release keeps running in its own fiber and takes the allocation off the
 * books if it ends successfully later). The allocation stays on the books, flagged, and shows in the leak report.
 *
 * @since 0.1.0
 * @category errors
 */
export class ReleaseFailed extends Data.TaggedError("ReleaseFailed")<{
  readonly allocation: number
  readonly component: string
  readonly resourceType: string
  readonly cause: Cause.Cause<unknown>
}> {
  override get message(): string {
    return `Release of ${this.resourceType} #${this.allocation} of component "${this.component}" failed: ${
      firstLine(this.cause)
    }`
  }
}

/**
 * The error context of a component whose worker failed, died, or was interrupted by someone other than the
 * coordinator. Delivered to state-change listeners with the move to `Error`.
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkerFailed extends Data.TaggedError("WorkerFailed")<{
  readonly component: string
  readonly worker: string
  /** The worker fiber's id, e.g. `"#42"`. */
  readonly fiber: string
  readonly cause: Cause.Cause<unknown>
}> {
  override get message(): string {
    return `Worker failure: ${this.component}/${this.worker} (fiber ${this.fiber}): ${firstLine(this.cause)}`
  }
}

/**
 * The error context of a component whose worker sent no heartbeat for longer than the hung threshold (default
 * 10,000 ms). The worker was interrupted.
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkerHung extends Data.TaggedError("WorkerHung")<{
  readonly component: string
  readonly worker: string
  readonly fiber: string
  /** Milliseconds since the last heartbeat (or since the worker started, if it never sent one). */
  readonly silentMs: number
  /** The threshold, in milliseconds. */
  readonly hungAfterMs: number
}> {
  override get message(): string {
    return `Worker hung: ${this.component}/${this.worker} (fiber ${this.fiber}) sent no heartbeat for ${this.silentMs} ms (threshold ${this.hungAfterMs} ms)`
  }
}

/**
 * The supervisor's escalation: more restarts than the intensity allows within the period (OTP's `intensity` and
 * `period`), or a backoff schedule that ended. Every component has been stopped; `join` fails with this error.
 *
 * @since 0.1.0
 * @category errors
 */
export class RestartIntensityExceeded extends Data.TaggedError("RestartIntensityExceeded")<{
  /** The component whose failure tipped it over. */
  readonly component: string
  /** The restarts allowed within the period. */
  readonly maxRestarts: number
  /** The period, in milliseconds. */
  readonly periodMs: number
  /** `"intensity"` when too many restarts, `"backoff"` when the backoff schedule ended. */
  readonly reason: "intensity" | "backoff"
  /** The error context of the last failure. */
  readonly failure: ErrorContext
}> {
  override get message(): string {
    return this.reason === "intensity"
      ? `Restart intensity exceeded: more than ${this.maxRestarts} restarts in ${this.periodMs} ms (last failure: ${this.failure.message})`
      : `Restart backoff schedule ended after the failure of "${this.component}" (last failure: ${this.failure.message})`
  }
}

/**
 * What a component entered its `Error` state with.
 *
 * @since 0.1.0
 * @category errors
 */
export type ErrorContext = WorkerFailed | WorkerHung | StartFailed | ComponentFailed

/**
 * The error context of a move to `Error` requested through the public `transition` (or `fail`) API.
 *
 * @since 0.1.0
 * @category errors
 */
export class ComponentFailed extends Data.TaggedError("ComponentFailed")<{
  readonly component: string
  readonly reason: string
}> {
  override get message(): string {
    return `Component "${this.component}" failed: ${this.reason}`
  }
}

/**
 * The errors of `register` / `registerAll`.
 *
 * @since 0.1.0
 * @category errors
 */
export type RegistrationError = InvalidComponent | DuplicateComponent | UnknownDependency | DependencyCycle

/**
 * The errors of an allocation besides the resource's own acquisition error. `StaleContext` only comes from the
 * `allocate` / `allocateAll` of a `ComponentContext` whose incarnation has ended.
 *
 * @since 0.1.0
 * @category errors
 */
export type AllocationError = UnknownComponent | UnknownChannel | ResourceLimitExceeded | StaleContext

/**
 * @since 0.1.0
 * @category guards
 */
export const isErrorContext = (u: unknown): u is ErrorContext =>
  Predicate.isTagged(u, "WorkerFailed") || Predicate.isTagged(u, "WorkerHung") ||
  Predicate.isTagged(u, "StartFailed") || Predicate.isTagged(u, "ComponentFailed")
