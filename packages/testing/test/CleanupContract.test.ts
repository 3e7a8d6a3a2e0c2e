import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option, Scope } from "effect"
import type { CleanupStep, ContractCleanup } from "../src/CleanupContract.js"
import { checks, cleanupContractSuite } from "../src/CleanupContract.js"
import * as Contract from "../src/Contract.js"
import * as Explore from "../src/Explore.js"

/** Dependencies first: a step comes after every step it depends on. */
const topologicalOrder = (steps: ReadonlyMap<string, CleanupStep>): Array<CleanupStep> => {
  const order: Array<CleanupStep> = []
  const visited = new Set<string>()
  const visit = (step: CleanupStep) => {
    if (visited.has(step.name)) return
    visited.add(step.name)
    for (const dependency of step.dependsOn) {
      const found = steps.get(dependency)
      if (found !== undefined) visit(found)
    }
    order.push(step)
  }
  steps.forEach(visit)
  return order
}

/**
 * The reference coordinator: steps become finalizers of one `Scope`, added dependencies first, so closing the
 * scope (last added, first run) cleans up dependents first; a scope runs every finalizer whatever the others do.
 */
const scopeCleanup = Effect.sync((): ContractCleanup => {
  const steps = new Map<string, CleanupStep>()
  return {
    register: (step) => Effect.sync(() => void steps.set(step.name, step)),
    run: Effect.gen(function*() {
      const scope = yield* Scope.make()
      for (const step of topologicalOrder(steps)) {
        yield* Scope.addFinalizer(scope, Effect.ignore(Effect.catchAllDefect(step.run, () => Effect.void)))
      }
      yield* Scope.close(scope, Exit.void)
    })
  }
})

cleanupContractSuite("a Scope-based coordinator passes the cleanup contract", scopeCleanup)

/** A concurrent coordinator: each step waits for its dependents' completion signals, all steps start at once. */
const concurrentCleanup = Effect.sync((): ContractCleanup => {
  const steps = new Map<string, CleanupStep>()
  return {
    register: (step) => Effect.sync(() => void steps.set(step.name, step)),
    run: Effect.gen(function*() {
      const done = new Map<string, Effect.Effect<void>>()
      const latches = yield* Effect.forEach(
        steps.keys(),
        (name) => Effect.map(Effect.makeLatch(false), (latch) => [name, latch] as const)
      )
      for (const [name, latch] of latches) done.set(name, latch.await)
      const openOf = new Map(latches)
      yield* Effect.forEach(steps.values(), (step) => {
        const dependents = Array.from(steps.values()).filter((other) => other.dependsOn.includes(step.name))
        return Effect.zipRight(
          Effect.forEach(dependents, (dependent) => done.get(dependent.name)!, { discard: true }),
          Effect.ensuring(Effect.exit(step.run), openOf.get(step.name)!.open)
        )
      }, { concurrency: "unbounded", discard: true })
    })
  }
})

cleanupContractSuite("a concurrent coordinator passes the cleanup contract", concurrentCleanup, { runs: 30, seed: 77 })

const rootFailure = (exit: Exit.Exit<unknown, unknown>): unknown => {
  assert.isTrue(Exit.isFailure(exit))
  const explored = Cause.failureOption((exit as Exit.Failure<unknown, unknown>).cause)
  assert.isTrue(Option.isSome(explored) && Explore.isExploreFailure(explored.value))
  return Option.getOrUndefined(Cause.failureOption((explored as Option.Some<Explore.ExploreFailure>).value.cause))
}

const runCheck = (cleanup: Effect.Effect<ContractCleanup>, name: string) => {
  const check = checks(cleanup, { runs: 20 }).find((c) => c.name.startsWith(name))
  assert.isDefined(check, name)
  return Effect.exit(check!.run)
}

describe("cleanup contract checks catch broken coordinators", () => {
  it.effect("registration order instead of reverse-dependency order fails the ordering checks", () =>
    Effect.gen(function*() {
      const fifo = Effect.sync((): ContractCleanup => {
        const steps: Array<CleanupStep> = []
        return {
          register: (step) => Effect.sync(() => void steps.push(step)),
          run: Effect.forEach(steps, (step) => Effect.exit(step.run), { discard: true })
        }
      })
      const chain = rootFailure(yield* runCheck(fifo, "a chain cleans up dependents first"))
      assert.isTrue(Contract.isContractViolation(chain))
      assert.include((chain as Contract.ContractViolation).detail, "cleaned up in order a, b, c")
      const edges = rootFailure(yield* runCheck(fifo, "every dependent finishes"))
      assert.include((edges as Contract.ContractViolation).detail, `"cache" depends on "db"`)
    }))

  it.effect("stopping at the first failure fails the isolation check", () =>
    Effect.gen(function*() {
      const fragile = Effect.sync((): ContractCleanup => {
        const steps = new Map<string, CleanupStep>()
        return {
          register: (step) => Effect.sync(() => void steps.set(step.name, step)),
          run: Effect.forEach(topologicalOrder(steps).reverse(), (step) => step.run, { discard: true })
        }
      })
      const failure = rootFailure(yield* runCheck(fragile, "a step that fails does not stop the others"))
      assert.isTrue(Contract.isContractViolation(failure))
      assert.include((failure as Contract.ContractViolation).detail, "was attempted 0 time(s)")
    }))
})
