import { describe, it } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberStatus from "effect/FiberStatus"
import * as Predicate from "effect/Predicate"
import type * as Contract from "../Contract.js"

/** @internal */
export class ContractViolation extends Data.TaggedError("ContractViolation")<{
  readonly contract: string
  readonly check: string
  readonly detail: string
}> {
  override get message(): string {
    return `${this.contract} contract, "${this.check}": ${this.detail}`
  }
}

/** @internal */
export const isContractViolation = (u: unknown): u is Contract.ContractViolation =>
  Predicate.isTagged(u, "ContractViolation")

/** @internal */
export const ensure = (
  contract: string,
  check: string,
  condition: boolean,
  detail: () => string
): Effect.Effect<void, Contract.ContractViolation> =>
  condition ? Effect.void : Effect.fail(new ContractViolation({ contract, check, detail: detail() }))

/**
 * Yields until a fiber is suspended (waiting on something), so a test can line waiters up in a known order without
 * sleeping. Gives up after `limit` yields with `false`.
 *
 * @internal
 */
export const awaitSuspended = (fiber: Fiber.RuntimeFiber<unknown, unknown>, limit = 10_000): Effect.Effect<boolean> =>
  Effect.flatMap(fiber.status, (status) => {
    if (FiberStatus.isSuspended(status)) return Effect.succeed(true)
    if (FiberStatus.isDone(status) || limit === 0) return Effect.succeed(false)
    return Effect.zipRight(Effect.yieldNow(), awaitSuspended(fiber, limit - 1))
  })

/** @internal */
export const register = (name: string, checks: ReadonlyArray<Contract.Check>): void => {
  describe(name, () => {
    for (const check of checks) {
      it.effect(check.name, () => check.run)
    }
  })
}
