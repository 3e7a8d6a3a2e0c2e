/**
 * A dry run of shutdown: the order a sequential run takes when every step succeeds, the effective phase of every
 * step, and the share of the total deadline each phase gets. Computing it runs nothing and costs O(V + E). The idea
 * of a shutdown plan that can be inspected before the real thing is "idea 11" of lifecycle.md; the phase budgets
 * follow Akka CoordinatedShutdown's per-phase timeouts.
 *
 * @since 0.1.0
 */
import type { Phase } from "./CleanupStep.js"
import * as internal from "./internal/plan.js"

/**
 * One step in the plan.
 *
 * @since 0.1.0
 * @category models
 */
export interface PlannedStep {
  readonly name: string
  /** The phase the step declared, if any. */
  readonly phase: Phase | undefined
  /** The phase it will run in: the latest of its own and its dependencies' phases. */
  readonly effectivePhase: Phase
  readonly dependsOn: ReadonlyArray<string>
  /** The step timeout, in ms. */
  readonly timeoutMs: number
  /** Verification attempts in all (only used when the step verifies). */
  readonly retries: number
  /** Pause between verification attempts, in ms. */
  readonly retryDelayMs: number
  readonly verifies: boolean
  /** The longest the step can take if every stage times out, in ms. */
  readonly worstCaseMs: number
}

/**
 * One work phase in the plan. `budgetMs` is its share of the total deadline; `deadlineMs` the time from the start of
 * the run by which the phase must be done (budgets are cumulative: time an earlier phase leaves unused carries
 * over). Both are `undefined` without a deadline.
 *
 * @since 0.1.0
 * @category models
 */
export interface PlannedPhase {
  readonly phase: Phase
  readonly steps: ReadonlyArray<string>
  readonly budgetMs: number | undefined
  readonly deadlineMs: number | undefined
}

/**
 * The plan.
 *
 * @since 0.1.0
 * @category models
 */
export interface CleanupPlan {
  /** The sequential order when every step succeeds: phases in order, Kahn's order inside each phase. */
  readonly order: ReadonlyArray<string>
  readonly phases: ReadonlyArray<PlannedPhase>
  /** Every step, in registration order. */
  readonly steps: ReadonlyArray<PlannedStep>
  /** The total deadline in ms, if any. */
  readonly deadlineMs: number | undefined
  /** How many steps may run at once. */
  readonly concurrency: number
}

/**
 * A plain-text rendering of the plan: one line per phase with its budget, then the steps in order.
 *
 * @example
 * ```ts
 * import { CleanupCoordinator, CleanupPlan } from "@core-stability/cleanup"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const coordinator = yield* CleanupCoordinator.make({ deadline: "20 seconds" })
 *   yield* coordinator.register({ name: "stop-capture", phase: "StoppingCapture", run: Effect.void })
 *   yield* Effect.log(CleanupPlan.render(yield* coordinator.plan))
 * })
 * ```
 *
 * @since 0.1.0
 * @category rendering
 */
export const render: (self: CleanupPlan) => string = internal.render
