import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Duration, Effect, Exit, Fiber, Ref, TestClock } from "effect"
import * as SeededScheduler from "../src/SeededScheduler.js"

/** Three fibers append their name at each step; the trace is the interleaving. */
const interleaving = Effect.gen(function*() {
  const trace: Array<string> = []
  const worker = (name: string) =>
    Effect.gen(function*() {
      for (let i = 0; i < 3; i++) {
        trace.push(`${name}${i}`)
        yield* Effect.yieldNow()
      }
    })
  yield* Effect.all([worker("a"), worker("b"), worker("c")], { concurrency: "unbounded", discard: true })
  return trace.join(" ")
})

/** Read, then write without an explicit yield: only preemption can split the two. */
const unyieldingRace = Effect.gen(function*() {
  const counter = yield* Ref.make(0)
  const increment = Effect.flatMap(Ref.get(counter), (value) => Ref.set(counter, value + 1))
  yield* Effect.all([increment, increment, increment], { concurrency: "unbounded", discard: true })
  return yield* Ref.get(counter)
})

const seeds = (n: number) => Array.from({ length: n }, (_, i) => i)

describe("SeededScheduler", () => {
  it.effect("the same seed gives the same interleaving", () =>
    Effect.gen(function*() {
      for (const seed of seeds(20)) {
        const first = yield* SeededScheduler.run(interleaving, seed)
        const second = yield* SeededScheduler.run(interleaving, seed)
        assert.strictEqual(second, first, `seed ${seed}`)
      }
    }))

  it.effect("different seeds give different interleavings", () =>
    Effect.gen(function*() {
      const traces = new Set<string>()
      for (const seed of seeds(20)) {
        traces.add(yield* SeededScheduler.run(interleaving, seed))
      }
      assert.isAbove(traces.size, 10)
    }))

  it.effect("the fingerprint identifies the schedule taken", () =>
    Effect.gen(function*() {
      const a = SeededScheduler.unsafeMake(5)
      const b = SeededScheduler.unsafeMake(5)
      const c = SeededScheduler.unsafeMake(6)
      yield* SeededScheduler.runWith(interleaving, a)
      yield* SeededScheduler.runWith(interleaving, b)
      yield* SeededScheduler.runWith(interleaving, c)
      assert.strictEqual(a.fingerprint, b.fingerprint)
      assert.strictEqual(a.steps, b.steps)
      assert.isAbove(a.steps, 9)
      assert.strictEqual(a.pending, 0)
      assert.strictEqual(a.seed, 5)
      assert.isTrue(SeededScheduler.isSeededScheduler(a))
      assert.isFalse(SeededScheduler.isSeededScheduler({}))
    }))

  it.effect("preemption splits read-modify-write sequences that have no yield point", () =>
    Effect.gen(function*() {
      const preempted = new Set<number>()
      const cooperative = new Set<number>()
      for (const seed of seeds(100)) {
        preempted.add(yield* SeededScheduler.run(unyieldingRace, seed))
        cooperative.add(yield* SeededScheduler.run(unyieldingRace, seed, { preemption: false }))
      }
      assert.isTrue(preempted.has(3))
      assert.isAbove(preempted.size, 1, "some seed loses an update")
      assert.deepStrictEqual(Array.from(cooperative), [3])
    }))

  it.effect("works with TestClock inside it.effect", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        const sleeper = yield* Effect.fork(Effect.as(Effect.sleep(Duration.seconds(5)), "woke"))
        yield* TestClock.adjust(Duration.seconds(5))
        return yield* Fiber.join(sleeper)
      })
      assert.strictEqual(yield* SeededScheduler.run(program, 1), "woke")
    }))

  it.live("works with the live clock inside it.live", () =>
    Effect.gen(function*() {
      const latch = yield* Deferred.make<number>()
      const program = Effect.gen(function*() {
        yield* Effect.fork(Effect.zipRight(Effect.sleep(Duration.millis(1)), Deferred.succeed(latch, 7)))
        return yield* Deferred.await(latch)
      })
      assert.strictEqual(yield* SeededScheduler.run(program, 2), 7)
    }))

  it.effect("passes failures through unchanged", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(SeededScheduler.run(Effect.fail("boom"), 3))
      assert.deepStrictEqual(exit, Exit.fail("boom"))
    }))

  it.effect("refuses op budgets below 16 and inverted ranges", () =>
    Effect.gen(function*() {
      const small = yield* Effect.exit(SeededScheduler.make(1, { minOps: 9 }))
      assert.isTrue(Exit.isFailure(small) && Cause.isDie(small.cause))
      assert.include(
        String(Cause.squash((small as Exit.Failure<never, never>).cause)),
        "minOps must be an integer >= 16"
      )
      assert.throws(
        () => SeededScheduler.unsafeMake(1, { minOps: 32, maxOps: 20 }),
        /maxOps must be an integer >= minOps/
      )
      assert.throws(() => SeededScheduler.unsafeMake(1, { stepsPerTurn: 0 }), /stepsPerTurn must be a positive integer/)
      assert.strictEqual(SeededScheduler.minimumOps, 16)
    }))

  it.effect("a livelocked fiber still lets the event loop turn", () =>
    Effect.gen(function*() {
      const spinning = Effect.gen(function*() {
        const stop = yield* Ref.make(false)
        const spinner = yield* Effect.fork(Effect.repeat(Effect.yieldNow(), { while: () => true }))
        yield* Effect.fork(Effect.zipRight(Effect.yieldNow(), Ref.set(stop, true)))
        yield* Effect.repeat(Effect.yieldNow(), { until: () => Ref.get(stop).pipe(Effect.runSync) })
        yield* Fiber.interrupt(spinner)
        return "stopped"
      })
      assert.strictEqual(yield* SeededScheduler.run(spinning, 4, { stepsPerTurn: 50 }), "stopped")
    }))
})
