/**
 * The common shape of contract suites: a contract is a list of named checks, each an effect that fails when the
 * implementation under test breaks the contract. `LockContract` and `CleanupContract` build such lists; `suite`
 * registers them as `@effect/vitest` tests (`it.effect`, so `TestClock` is in place).
 *
 * One suite that every implementation of an interface must pass is how async-mutex tests its semaphores
 * (`test/semaphoreSuite.ts`); the checks are plain effects, so a test can also run them itself (for example to show
 * that a broken implementation fails them). Loading this module loads `@effect/vitest`, which only works inside the
 * vitest runner: its examples are therefore shown, not run, by the docs build.
 *
 * This module (like `LockContract` and `CleanupContract`) imports `@effect/vitest`, so it is not in the package's
 * barrel: import it as `@core-stability/testing/Contract`.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import * as internal from "./internal/contract.js"

/**
 * One named check of a contract.
 *
 * @since 0.1.0
 * @category models
 */
export interface Check {
  readonly name: string
  readonly run: Effect.Effect<unknown, unknown>
}

/**
 * A broken contract: which `contract`, which `check`, and what was observed (`detail`).
 *
 * @since 0.1.0
 * @category errors
 */
export interface ContractViolation extends Cause.YieldableError {
  readonly _tag: "ContractViolation"
  readonly contract: string
  readonly check: string
  readonly detail: string
}

/**
 * @since 0.1.0
 * @category errors
 */
export const ContractViolation: new(args: {
  readonly contract: string
  readonly check: string
  readonly detail: string
}) => ContractViolation = internal.ContractViolation

/**
 * @since 0.1.0
 * @category guards
 */
export const isContractViolation: (u: unknown) => u is ContractViolation = internal.isContractViolation

/**
 * Registers checks as a vitest `describe(name)` block with one `it.effect` per check. Call it at the top level of a
 * test file, for example:
 *
 * ```ts
 * import { Effect } from "effect"
 * import { suite } from "@core-stability/testing/Contract"
 *
 * const equals = (actual: number, expected: number) =>
 *   actual === expected ? Effect.void : Effect.fail(`${actual} !== ${expected}`)
 *
 * suite("arithmetic", [
 *   { name: "addition commutes", run: equals(1 + 2, 2 + 1) },
 *   { name: "zero is neutral", run: equals(5 + 0, 5) }
 * ])
 * ```
 *
 * @since 0.1.0
 * @category testing
 */
export const suite: (name: string, checks: ReadonlyArray<Check>) => void = internal.register
