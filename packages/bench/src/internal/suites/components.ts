import { ComponentCoordinator, type ComponentError } from "@core-stability/coordinator"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import type { Benchmark } from "../../Benchmark.js"
import * as Harness from "../harness.js"
import * as Random from "../random.js"

// The component specs of a random DAG of `count` nodes (the seeded DAG of `Random.randomDag`): component `c<i>`
// depends on the components of its edges and allocates one resource when it starts.
const componentSpecs = (
  dag: ReadonlyArray<ReadonlyArray<number>>
): ReadonlyArray<ComponentCoordinator.ComponentSpec<ComponentError.AllocationError>> =>
  dag.map((dependencies, index) => ({
    id: `c${index}`,
    dependencies: dependencies.map((dependency) => `c${dependency}`),
    start: (context: ComponentCoordinator.ComponentContext) =>
      context.allocate({ type: "r", acquire: Effect.succeed(index), release: () => Effect.void })
  }))

// The Layer graph of the same DAG: one `Layer.scoped(Tag_i, acquireRelease(...))` per node whose effect reads its
// dependencies' tags, provided with the layers of its dependencies. Each node's layer value is built once and shared
// by its dependents, so `Layer.buildWithScope` builds every node once (layers are memoized by reference in a build).
const layerGraph = (dag: ReadonlyArray<ReadonlyArray<number>>): Layer.Layer<unknown> => {
  const tags = dag.map((_, index) => Context.GenericTag<number>(`@core-stability/bench/components/c${index}`))
  const layers: Array<Layer.Layer<unknown>> = []
  dag.forEach((dependencies, index) => {
    const own = Layer.scoped(
      tags[index]!,
      Effect.flatMap(
        Effect.forEach(dependencies, (dependency) => tags[dependency]!),
        () => Effect.acquireRelease(Effect.succeed(index), () => Effect.void)
      )
    ) as Layer.Layer<unknown>
    layers.push(
      dependencies.length === 0
        ? own
        : Layer.provide(
          own,
          Layer.mergeAll(
            ...(dependencies.map((dependency) => layers[dependency]!) as [
              Layer.Layer<unknown>,
              ...Array<Layer.Layer<unknown>>
            ])
          )
        )
    )
  })
  return Layer.mergeAll(...(layers as [Layer.Layer<unknown>, ...Array<Layer.Layer<unknown>>]))
}

/** @internal */
export const vsLayer: Benchmark = {
  id: "components.vs-layer",
  subject: "ComponentCoordinator lifecycle of 1,000 components in a seeded random DAG (up to 3 dependencies each), " +
    "each allocating one resource when it starts: make (extended into a fresh Scope), registerAll, startAll, " +
    "stopAll, Scope.close; all timed",
  baseline: "1,000 Layer.scoped(Tag_i, acquireRelease(succeed(i), void)) layers reading their dependencies' tags, " +
    "composed over the same DAG (each node's layer provided with the merge of its dependencies' layers, all merged; " +
    "memoized, so each is built once): Layer.buildWithScope into a fresh Scope, Scope.close",
  unit: "ops/s",
  direction: "higher",
  target: 0.5,
  limits: "Each component is a supervised lifecycle: registration validates the graph (unknown ids, cycles), every " +
    "component gets its own state machine with a history, start and stop run under the coordinator's ordered lock " +
    "with validated transitions, listener delivery and metrics, its resource goes through the ledger (limits, " +
    "identity, leak report), and it owns a scope of its own; a built layer is one effect and one finalizer.",
  run: Effect.gen(function*() {
    const count = yield* Harness.size(1_000, 20)
    const dag = Random.randomDag(count)
    const specs = componentSpecs(dag)
    const graph = layerGraph(dag)
    let subjectScope = Effect.runSync(Scope.make())
    let baselineScope = Effect.runSync(Scope.make())
    return yield* Harness.compare({
      subject: {
        setup: () => {
          subjectScope = Effect.runSync(Scope.make())
        },
        run: () =>
          Effect.runPromise(Effect.gen(function*() {
            const coordinator = yield* Scope.extend(ComponentCoordinator.make(), subjectScope)
            yield* coordinator.registerAll(specs)
            const started = yield* coordinator.startAll
            if (started.length !== count) return yield* Effect.dieMessage(`started ${started.length} of ${count}`)
            yield* coordinator.stopAll
            yield* Scope.close(subjectScope, Exit.void)
          }))
      },
      baseline: {
        setup: () => {
          baselineScope = Effect.runSync(Scope.make())
        },
        run: () =>
          Effect.runPromise(Effect.gen(function*() {
            yield* Layer.buildWithScope(graph, baselineScope)
            yield* Scope.close(baselineScope, Exit.void)
          }))
      },
      unit: "ops/s",
      operations: count,
      warmupRounds: 2,
      rounds: 15
    })
  })
}

/** @internal */
export const allocVsAcquireRelease: Benchmark = {
  id: "components.alloc.vs-acquire-release",
  subject:
    "coordinator.allocate(\"a\", { type: \"buffer\", acquire: Effect.succeed(1), release: () => Effect.void }) " +
    "then coordinator.release(allocation), one registered component \"a\", one fiber",
  baseline: "Effect.scoped(Effect.acquireRelease(Effect.succeed(1), () => Effect.void)), one fiber",
  unit: "ops/s",
  direction: "higher",
  target: 0.5,
  limits: "An allocation is booked: the component (and channel) is looked up, the limits and quotas are checked, " +
    "the acquisition runs uninterruptibly, the allocation gets an id, a timestamp and a captured call site (for the " +
    "leak report) and is recorded by identity; the release finds it, runs the finalizer and updates the books. " +
    "acquireRelease adds one finalizer to a scope made for it.",
  run: Effect.scoped(
    Effect.gen(function*() {
      const operations = yield* Harness.size(500, 20)
      const coordinator = yield* ComponentCoordinator.make()
      yield* coordinator.register({ id: "a" })
      const resource: ComponentCoordinator.Resource<number> = {
        type: "buffer",
        acquire: Effect.succeed(1),
        release: () => Effect.void
      }
      const subject = Harness.loop(
        operations,
        Effect.flatMap(coordinator.allocate("a", resource), (allocation) => coordinator.release(allocation))
      )
      const baseline = Harness.loop(
        operations,
        Effect.scoped(Effect.acquireRelease(Effect.succeed(1), () => Effect.void))
      )
      return yield* Harness.compare({
        subject: { run: Harness.runEffect(subject) },
        baseline: { run: Harness.runEffect(baseline) },
        unit: "ops/s",
        operations
      })
    }).pipe(Effect.orDie)
  )
}

/** @internal */
export const memory: Benchmark = {
  id: "components.memory",
  subject: "ComponentCoordinator: 1,000 components of the seeded random DAG, each allocating one resource, " +
    "registered and started (registerAll, startAll) in a coordinator made beforehand: retained heap per component",
  baseline: "the same DAG as Layer.scoped layers (see components.vs-layer) built with Layer.buildWithScope: retained " +
    "heap per built layer service",
  unit: "bytes",
  direction: "lower",
  target: null,
  limits: "Reported only. A started component holds its spec, its state machine (lock, stats, a history of up to " +
    "100 transitions), its own scope, its resource's allocation record and its place in the graph and the ledger.",
  run: Effect.gen(function*() {
    const count = yield* Harness.size(1_000, 20)
    const dag = Random.randomDag(count)
    const specs = componentSpecs(dag)
    const graph = layerGraph(dag)
    let subjectScope = Effect.runSync(Scope.make())
    let baselineScope = Effect.runSync(Scope.make())
    let coordinator: ComponentCoordinator.ComponentCoordinator | undefined
    return yield* Harness.memory({
      subject: {
        setup: () =>
          Effect.runPromise(Effect.gen(function*() {
            subjectScope = yield* Scope.make()
            coordinator = yield* Scope.extend(ComponentCoordinator.make(), subjectScope)
          })),
        allocate: () =>
          Effect.runPromise(Effect.gen(function*() {
            const components = coordinator!
            yield* components.registerAll(specs)
            yield* components.startAll
            return components
          })),
        teardown: () => Effect.runPromise(Scope.close(subjectScope, Exit.void))
      },
      baseline: {
        setup: () => {
          baselineScope = Effect.runSync(Scope.make())
        },
        allocate: () => Effect.runPromise(Layer.buildWithScope(graph, baselineScope)),
        teardown: () => Effect.runPromise(Scope.close(baselineScope, Exit.void))
      },
      count
    })
  })
}

/** @internal */
export const benchmarks: ReadonlyArray<Benchmark> = [vsLayer, allocVsAcquireRelease, memory]
