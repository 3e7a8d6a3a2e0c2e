import { CleanupCoordinator, type CleanupStep } from "@core-stability/cleanup"
import { Effect, Exit, Scope } from "effect"
import type { Benchmark } from "../../Benchmark.js"
import * as Harness from "../harness.js"
import * as Random from "../random.js"

// `count` no-op steps; step i depends on up to 3 distinct earlier steps picked at random (a random DAG).
const randomDag = (count: number): ReadonlyArray<CleanupStep.CleanupStep> =>
  Random.randomDag(count).map((dependencies, index) => ({
    name: `step-${index}`,
    dependsOn: new Set(dependencies.map((dependency) => `step-${dependency}`)),
    run: Effect.void
  }))

// A coordinator with the steps registered, in a scope of its own (closed after the sample), and its shutdown.
const coordinatorSide = (steps: ReadonlyArray<CleanupStep.CleanupStep>): Harness.Side => {
  let scope = Effect.runSync(Scope.make())
  let shutdown: Effect.Effect<unknown, unknown> = Effect.void
  return {
    setup: () =>
      Effect.runPromise(Effect.gen(function*() {
        scope = yield* Scope.make()
        const coordinator = yield* Scope.extend(CleanupCoordinator.make(), scope)
        yield* coordinator.registerAll(steps)
        shutdown = coordinator.shutdown
      })),
    run: () => Effect.runPromise(shutdown),
    teardown: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** @internal */
export const vsScope: Benchmark = {
  id: "cleanup.vs-scope",
  subject: "CleanupCoordinator shutdown of 1,000 no-op steps in a random DAG (up to 3 dependencies each), " +
    "concurrency 1, registered beforehand",
  baseline: "Scope.close of a scope with 1,000 no-op finalizers",
  unit: "ops/s",
  direction: "higher",
  target: 0.33,
  limits: "Each step is supervised work: a worker takes it from the ready queue, records its start and deadline " +
    "(the watchdog enforces timeouts), runs it to an Exit and records the outcome for the report, and the phase " +
    "machine makes a validated transition per phase; a Scope finalizer is one effect in a list.",
  run: Effect.gen(function*() {
    const steps = yield* Harness.size(1_000, 20)
    const dag = randomDag(steps)
    let scope = Effect.runSync(Scope.make())
    return yield* Harness.compare({
      subject: coordinatorSide(dag),
      baseline: {
        setup: () =>
          Effect.runPromise(Effect.gen(function*() {
            scope = yield* Scope.make()
            for (let index = 0; index < steps; index++) yield* Scope.addFinalizer(scope, Effect.void)
          })),
        run: () => Effect.runPromise(Scope.close(scope, Exit.void))
      },
      unit: "ops/s",
      operations: steps,
      warmupRounds: 5,
      rounds: 30
    })
  })
}

/** @internal */
export const growth: Benchmark = {
  id: "cleanup.growth",
  subject: "CleanupCoordinator shutdown of 10,000 no-op steps in a random DAG (up to 3 dependencies each)",
  baseline: "the same with 1,000 steps",
  unit: "ms",
  direction: "lower",
  target: 12,
  limits: "Ordering is linear in steps and edges, but the cost per step rises with the run's size: the per-step " +
    "records of a 10,000-step run (states, timings, report entries) outgrow the young generation, and garbage " +
    "collection is the largest single item in a CPU profile of that run.",
  run: Effect.gen(function*() {
    const small = yield* Harness.size(1_000, 10)
    const large = small * 10
    return yield* Harness.compare({
      subject: coordinatorSide(randomDag(large)),
      baseline: coordinatorSide(randomDag(small)),
      unit: "ms",
      operations: 1,
      warmupRounds: 2,
      rounds: 10
    })
  })
}

/** @internal */
export const benchmarks: ReadonlyArray<Benchmark> = [vsScope, growth]
