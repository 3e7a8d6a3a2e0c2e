import { BufferManager } from "@core-stability/coordinator"
import { Effect, Queue } from "effect"
import type { Benchmark } from "../../Benchmark.js"
import * as Harness from "../harness.js"

// One manager of one stage (capture, 1,000 items per queue) and one channel (left); the frame one channel of a default
// 30 ms frame (480 samples x 2 bytes).
const manager = () => BufferManager.unsafeMake({ stages: { capture: 1000 }, channels: ["left"] })

const frame = new Uint8Array(960)

/** @internal */
export const vsQueue: Benchmark = {
  id: "buffer.vs-queue",
  subject: "BufferManager.put(bm, \"capture\", \"left\", frame) then take(bm, \"capture\", \"left\"), one fiber; " +
    "bm = unsafeMake({ stages: { capture: 1000 }, channels: [\"left\"] }) built once, frame one reused " +
    "Uint8Array(960)",
  baseline: "Queue.offer(queue, frame) then Queue.take(queue) on a Queue.bounded<Uint8Array>(1000) built once, " +
    "one fiber",
  unit: "ops/s",
  direction: "higher",
  target: 0.5,
  limits: "A put copies the payload into a pooled buffer (tier lookup, identity tracking under the manager's name) " +
    "and updates the queue's counters and metrics; a take hands back an exact-length copy, returns the buffer to " +
    "the pool and records the latency in a histogram. Queue.offer stores the reference.",
  run: Effect.gen(function*() {
    const operations = yield* Harness.size(500, 20)
    const bm = manager()
    const queue = yield* Queue.bounded<Uint8Array>(1000)
    const subject = Harness.loop(
      operations,
      Effect.zipRight(BufferManager.put(bm, "capture", "left", frame), BufferManager.take(bm, "capture", "left"))
    )
    const baseline = Harness.loop(operations, Effect.zipRight(Queue.offer(queue, frame), Queue.take(queue)))
    return yield* Harness.compare({
      subject: { run: Harness.runEffect(subject) },
      baseline: { run: Harness.runEffect(baseline) },
      unit: "ops/s",
      operations
    })
  })
}

const budget = 1_000_000

// Two full collections (global.gc under --expose-gc, which scripts/bench.mjs passes, or V8's flag set at run time):
// without them the heap readings would measure garbage, so their absence fails the benchmark.
const fullCollection = (): void => {
  try {
    Harness.collectGarbage()
  } catch (cause) {
    throw new Error(
      `buffer.memory needs forced garbage collection (run node with --expose-gc, as scripts/bench.mjs does): ${
        cause instanceof Error ? cause.message : String(cause)
      }`
    )
  }
}

// `puts` puts into the manager, with a take of two items after every second put (the queue never holds more than two).
const churn = (
  bm: BufferManager.BufferManager<"capture", "left">,
  puts: number
): Effect.Effect<void, unknown> => {
  const put = BufferManager.put(bm, "capture", "left", frame)
  const take = BufferManager.take(bm, "capture", "left")
  const pair = Effect.zipRight(Effect.zipRight(put, put), Effect.zipRight(take, take))
  return Harness.loop(puts / 2, pair)
}

/** @internal */
export const memory: Benchmark = {
  id: "buffer.memory",
  subject: "heap growth (heapUsed after minus before, each read after two full collections) over 1,000,000 puts of " +
    "a reused 960-byte frame with a take of two items after every second put, after 10,000 warm-up put/take " +
    "pairs; bm = unsafeMake({ stages: { capture: 1000 }, channels: [\"left\"] })",
  baseline: "the budget of the capability issue, 1 MB (1,000,000 bytes) of heap growth; ratio = growth / budget " +
    "(a heap that shrank counts as 0)",
  unit: "bytes",
  direction: "lower",
  target: 1,
  limits: "Growth is what the manager keeps per item after the items are gone: anything above the budget is a leak " +
    "in the books (counters, latency records) or in the pool.",
  run: Effect.gen(function*() {
    const puts = yield* Harness.size(1_000_000, 10_000)
    const warmup = yield* Harness.size(10_000, 100)
    const bm = manager()
    return yield* Effect.tryPromise({
      try: async () => {
        await Effect.runPromise(churn(bm, warmup))
        fullCollection()
        const before = process.memoryUsage().heapUsed
        await Effect.runPromise(churn(bm, puts))
        fullCollection()
        const after = process.memoryUsage().heapUsed
        const growth = Math.max(0, after - before)
        return { subjectValue: growth, baselineValue: budget, ratio: growth / budget }
      },
      catch: (cause) => new Harness.SampleError({ side: "subject", cause })
    })
  })
}

/** @internal */
export const benchmarks: ReadonlyArray<Benchmark> = [vsQueue, memory]
