import { Harness } from "@core-stability/bench"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"

const settings = { warmupRounds: 1, rounds: 3, clock: "wall" as const, smoke: false }

describe("Harness", () => {
  it("median takes the middle value, or the mean of the two middle ones", () => {
    assert.strictEqual(Harness.median([3, 1, 2]), 2)
    assert.strictEqual(Harness.median([4, 1, 3, 2]), 2.5)
    assert.isNaN(Harness.median([]))
  })

  it("quantile takes the nearest rank", () => {
    const values = Array.from({ length: 100 }, (_, index) => 100 - index)
    assert.strictEqual(Harness.quantile(values, 0.99), 99)
    assert.strictEqual(Harness.quantile(values, 0.5), 50)
    assert.strictEqual(Harness.quantile(values, 1), 100)
    assert.strictEqual(Harness.quantile([7], 0.99), 7)
    assert.isNaN(Harness.quantile([], 0.5))
  })

  it.live("latency runs each side's operation the given number of times per round, after its setup", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      const measurement = yield* Harness.latency({
        subject: { setup: () => calls.push("setup"), operation: Effect.sync(() => calls.push("subject")) },
        baseline: { operation: Effect.sync(() => calls.push("baseline")) },
        operations: 3,
        percentile: 0.99
      }).pipe(Effect.provideService(Harness.Settings, settings))
      assert.deepStrictEqual(calls.slice(0, 8), [
        "setup",
        "subject",
        "subject",
        "subject",
        "baseline",
        "baseline",
        "baseline",
        "baseline"
      ])
      assert.strictEqual(calls.filter((call) => call === "subject").length, (1 + 3) * 3)
      assert.isTrue(measurement.subjectValue >= 0 && measurement.baselineValue >= 0)
    }))

  it.live("compare alternates the sides over warm-up and measured rounds and runs setup before every sample", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      const measurement = yield* Harness.compare({
        subject: { setup: () => calls.push("subject setup"), run: () => calls.push("subject") },
        baseline: { run: () => calls.push("baseline") },
        unit: "ops/s",
        operations: 10
      }).pipe(Effect.provideService(Harness.Settings, settings))
      const runs = calls.filter((call) => !call.endsWith("setup"))
      assert.deepStrictEqual(runs, [
        "subject",
        "baseline",
        "baseline",
        "subject",
        "subject",
        "baseline",
        "baseline",
        "subject"
      ])
      assert.strictEqual(calls.filter((call) => call === "subject setup").length, 4)
      assert.strictEqual(calls[0], "subject setup")
      assert.isTrue(measurement.subjectValue > 0 && measurement.baselineValue > 0 && measurement.ratio > 0)
    }))

  it.live("compare fails with a SampleError naming the side that threw", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Harness.compare({
          subject: { run: () => undefined },
          baseline: {
            run: () => {
              throw new Error("boom")
            }
          },
          unit: "ns/op",
          operations: 1
        }).pipe(Effect.provideService(Harness.Settings, settings))
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        assert.include(String(exit.cause), "baseline")
        assert.include(String(exit.cause), "boom")
      }
    }))

  it.live("memory reports retained bytes per instance, larger for larger instances", () =>
    Effect.gen(function*() {
      const measurement = yield* Harness.memory({
        subject: { allocate: (count) => Array.from({ length: count }, () => new Array<number>(64).fill(1)) },
        baseline: { allocate: (count) => Array.from({ length: count }, () => ({ a: 1 })) },
        count: 10_000
      }).pipe(Effect.provideService(Harness.Settings, Harness.smoke))
      assert.isAbove(measurement.subjectValue, 64 * 4)
      assert.isBelow(measurement.baselineValue, 64 * 4)
      assert.isAbove(measurement.ratio, 1)
    }))

  it.live("memory runs setup before the first heap reading and teardown after the second, and does not count setup", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      let container: Array<unknown> = []
      const side = (name: string): Harness.MemorySide => ({
        setup: () => {
          events.push(`${name}:setup`)
          // a large container made in setup: not per instance, so not counted
          container = Array.from({ length: 100_000 }, () => ({ a: 1 }))
        },
        allocate: (count) => {
          events.push(`${name}:allocate`)
          return Array.from({ length: count }, () => ({ b: container.length }))
        },
        teardown: () => {
          events.push(`${name}:teardown`)
          container = []
        }
      })
      const measurement = yield* Harness.memory({ subject: side("s"), baseline: side("b"), count: 1_000 }).pipe(
        Effect.provideService(Harness.Settings, Harness.smoke)
      )
      // smoke: one round, subject first
      assert.deepStrictEqual(events, ["s:setup", "s:allocate", "s:teardown", "b:setup", "b:allocate", "b:teardown"])
      // the 100,000 objects made in setup would be over 1,000 bytes per instance if they were counted
      assert.isBelow(measurement.subjectValue, 1_000)
      assert.isAbove(measurement.subjectValue, 0)
    }))

  it.effect("size picks the smoke workload in a smoke run and the full one otherwise", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Effect.provideService(Harness.size(1000, 10), Harness.Settings, Harness.smoke), 10)
      assert.strictEqual(yield* Effect.provideService(Harness.size(1000, 10), Harness.Settings, Harness.full), 1000)
    }))

  it.effect("loop runs its body the given number of times", () =>
    Effect.gen(function*() {
      let count = 0
      yield* Harness.loop(
        7,
        Effect.sync(() => {
          count++
        })
      )
      assert.strictEqual(count, 7)
    }))
})
