import { type Benchmark, BenchmarkResult, Harness, Runner } from "@core-stability/bench"
import type { Effect } from "effect"
import { describe, expect, test } from "tstyche"

const side: Harness.Side = { run: () => undefined }

describe("Harness", () => {
  test("compare and memory need the Settings and fail with SampleError", () => {
    expect(Harness.compare({ subject: side, baseline: side, unit: "ops/s", operations: 1 })).type.toBe<
      Effect.Effect<Harness.Measurement, Harness.SampleError, Harness.Settings>
    >()
    expect(Harness.memory({ subject: { allocate: () => [] }, baseline: { allocate: () => [] }, count: 1 })).type
      .toBe<Effect.Effect<Harness.Measurement, Harness.SampleError, Harness.Settings>>()
  })

  test("compare times only in the units a clock gives", () => {
    expect(Harness.compare).type.not.toBeCallableWith({ subject: side, baseline: side, unit: "bytes", operations: 1 })
  })

  test("loop keeps the body's error and requirements", () => {
    expect(Harness.loop(3, {} as Effect.Effect<number, "E", "R">)).type.toBe<Effect.Effect<void, "E", "R">>()
  })
})

describe("Runner", () => {
  test("run never fails and needs the Settings", () => {
    expect(Runner.run([] as ReadonlyArray<Benchmark.Benchmark>)).type.toBe<
      Effect.Effect<Runner.Outcome, never, Harness.Settings>
    >()
  })
})

describe("BenchmarkResult", () => {
  test("the contract's direction, unit, target and pass", () => {
    expect<BenchmarkResult.BenchmarkResult["direction"]>().type.toBe<"higher" | "lower">()
    expect<BenchmarkResult.BenchmarkResult["unit"]>().type.toBe<"ops/s" | "ns/op" | "ms" | "us" | "bytes">()
    expect<BenchmarkResult.BenchmarkResult["target"]>().type.toBe<number | null>()
    expect<BenchmarkResult.BenchmarkResult["pass"]>().type.toBe<boolean | null>()
    expect(BenchmarkResult.verdict(1, "higher", null)).type.toBe<boolean | null>()
  })
})
