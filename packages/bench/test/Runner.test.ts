import { Harness, Runner } from "@core-stability/bench"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

describe("Runner", () => {
  it("toResult judges the ratio against the target in the benchmark's direction", () => {
    const benchmark = {
      id: "locks.depth8",
      subject: "depth 8",
      baseline: "depth 1",
      unit: "ns/op" as const,
      direction: "lower" as const,
      target: 1.3,
      limits: "the held-lock stack",
      run: Effect.succeed({ subjectValue: 1, baselineValue: 1, ratio: 1 })
    }
    const result = Runner.toResult(benchmark, { subjectValue: 1400, baselineValue: 1000, ratio: 1.4 })
    assert.strictEqual(result.pass, false)
    assert.strictEqual(Runner.toResult(benchmark, { subjectValue: 1200, baselineValue: 1000, ratio: 1.2 }).pass, true)
  })

  it.effect("collects results, and failures for benchmarks that fail, die or measure a non-finite value", () =>
    Effect.gen(function*() {
      const base = {
        subject: "s",
        baseline: "b",
        unit: "ms" as const,
        direction: "lower" as const,
        target: 2,
        limits: "l"
      }
      const outcome = yield* Runner.run([
        { ...base, id: "harness.ok", run: Effect.succeed({ subjectValue: 3, baselineValue: 2, ratio: 1.5 }) },
        { ...base, id: "harness.failed", run: Effect.fail(new Harness.SampleError({ side: "baseline", cause: "x" })) },
        { ...base, id: "harness.died", run: Effect.die(new Error("setup threw")) },
        { ...base, id: "harness.nan", run: Effect.succeed({ subjectValue: 3, baselineValue: 0, ratio: Infinity }) }
      ]).pipe(Effect.provideService(Harness.Settings, Harness.smoke))
      assert.deepStrictEqual(outcome.results.map((result) => [result.id, result.pass]), [["harness.ok", true]])
      assert.deepStrictEqual(outcome.failures.map((failure) => failure.id), [
        "harness.failed",
        "harness.died",
        "harness.nan"
      ])
      assert.include(outcome.failures[0]!.message, "the baseline failed while sampling: x")
    }))
})
