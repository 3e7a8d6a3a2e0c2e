import { Mutex } from "async-mutex"
import { Effect } from "effect"
import type { Benchmark } from "../../Benchmark.js"
import * as Harness from "../harness.js"

const semaphoreLoop = (operations: number): Effect.Effect<void> => {
  const semaphore = Effect.unsafeMakeSemaphore(1)
  return Harness.loop(operations, semaphore.withPermits(1)(Effect.void))
}

const mutexLoop = (operations: number): () => Promise<void> => {
  const mutex = new Mutex()
  const noop = (): void => {}
  return async () => {
    for (let i = 0; i < operations; i++) await mutex.runExclusive(noop)
  }
}

/** @internal */
export const aa: Benchmark = {
  id: "harness.aa",
  subject: "Semaphore.withPermits(1)(Effect.void), uncontended, one fiber",
  baseline: "the same, a second instance",
  unit: "ops/s",
  direction: "higher",
  target: null,
  limits: "An A/A run: both sides are identical, so its distance from 1.0 is the noise floor of this run.",
  run: Effect.gen(function*() {
    const operations = yield* Harness.size(500, 50)
    return yield* Harness.compare({
      subject: { run: Harness.runEffect(semaphoreLoop(operations)) },
      baseline: { run: Harness.runEffect(semaphoreLoop(operations)) },
      unit: "ops/s",
      operations
    })
  })
}

/** @internal */
export const semaphoreVsAsyncMutex: Benchmark = {
  id: "harness.semaphore.vs-async-mutex",
  subject: "Effect Semaphore.withPermits(1)(Effect.void), uncontended, one fiber",
  baseline: "async-mutex Mutex.runExclusive(() => {}), awaited in a loop",
  unit: "ops/s",
  direction: "higher",
  target: null,
  limits: "Anchor against anchor: Effect's Semaphore always takes a permit through an async registration.",
  run: Effect.gen(function*() {
    const operations = yield* Harness.size(500, 50)
    return yield* Harness.compare({
      subject: { run: Harness.runEffect(semaphoreLoop(operations)) },
      baseline: { run: mutexLoop(operations) },
      unit: "ops/s",
      operations
    })
  })
}

/** @internal */
export const benchmarks: ReadonlyArray<Benchmark> = [aa, semaphoreVsAsyncMutex]
