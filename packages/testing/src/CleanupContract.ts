/**
 * The cleanup-ordering contract suite: every dependency-ordered cleanup implementation, ours or a user's, must pass
 * it.
 *
 * A cleanup coordinator is anything that lets steps be registered with the names of the steps they depend on and
 * then runs them all. Checks:
 *
 * - reverse-dependency order: a step finishes before any step it depends on starts (a chain `a <- b <- c` runs
 *   `c, b, a`; a six-step service graph keeps every edge over `runs` seeds of the seeded scheduler, so concurrent
 *   coordinators are exercised too);
 * - failure isolation: a step that fails, or dies, does not stop the others (its dependencies and dependents
 *   included);
 * - every step is attempted exactly once.
 *
 * Every check runs under the deadlock watchdog. The ordering rule is the one of Effect's `Scope` (finalizers run in
 * reverse order of acquisition) and systemd's `After=`/`Requires=` stop ordering, generalised to a dependency graph.
 *
 * Import it as `@core-stability/testing/CleanupContract` (it is not in the barrel because it imports
 * `@effect/vitest`).
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Contract from "./Contract.js"
import * as internal from "./internal/cleanupContract.js"

/**
 * The failure of a step the suite makes fail (or die with).
 *
 * @since 0.1.0
 * @category errors
 */
export interface StepFailed extends Cause.YieldableError {
  readonly _tag: "StepFailed"
  readonly step: string
}

/**
 * @since 0.1.0
 * @category errors
 */
export const StepFailed: new(args: { readonly step: string }) => StepFailed = internal.StepFailed

/**
 * @since 0.1.0
 * @category guards
 */
export const isStepFailed: (u: unknown) => u is StepFailed = internal.isStepFailed

/**
 * A step as the suite registers it: `dependsOn` names steps this one uses, which must therefore be cleaned up after
 * it.
 *
 * @since 0.1.0
 * @category models
 */
export interface CleanupStep {
  readonly name: string
  readonly dependsOn: ReadonlyArray<string>
  readonly run: Effect.Effect<void, StepFailed>
}

/**
 * The structural coordinator the suite tests: `register` adds a step (the suite registers dependencies before their
 * dependents), `run` runs every registered step once. `run` may fail when steps failed (the suite ignores its
 * result and checks what ran); `X` is the error `register` may add.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContractCleanup<X = never> {
  readonly register: (step: CleanupStep) => Effect.Effect<void, X>
  readonly run: Effect.Effect<unknown, unknown>
}

/**
 * Options of the suite: `runs` (default 100) and `seed` (default 0) for the explored checks, and the watchdog's
 * `idle` (default 2 seconds, real time).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly runs?: number | undefined
  readonly seed?: number | undefined
  readonly idle?: Duration.DurationInput | undefined
}

/**
 * The suite's checks as effects. `makeCleanup` is run once per run, so each run gets a fresh coordinator.
 *
 * @since 0.1.0
 * @category testing
 */
export const checks: <X>(
  makeCleanup: Effect.Effect<ContractCleanup<X>, unknown, Scope.Scope>,
  options?: Options
) => ReadonlyArray<Contract.Check> = internal.checks

/**
 * Registers the cleanup contract as a vitest `describe(name)` block. Call it at the top level of a test file.
 *
 * For example, at the top level of `test/MyCoordinator.test.ts` (the suite registers vitest tests, so this is not
 * a standalone program and the docs build does not run it):
 *
 * ```ts
 * import { Effect } from "effect"
 * import { cleanupContractSuite } from "@core-stability/testing/CleanupContract"
 * import type { ContractCleanup } from "@core-stability/testing/CleanupContract"
 *
 * declare const makeCoordinator: Effect.Effect<ContractCleanup>
 *
 * cleanupContractSuite("my coordinator", makeCoordinator, { runs: 100 })
 * ```
 *
 * @since 0.1.0
 * @category testing
 */
export const cleanupContractSuite: <X>(
  name: string,
  makeCleanup: Effect.Effect<ContractCleanup<X>, unknown, Scope.Scope>,
  options?: Options
) => void = internal.cleanupContractSuite
