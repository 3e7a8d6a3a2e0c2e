import { BenchmarkResult } from "@core-stability/bench"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"

const valid: BenchmarkResult.BenchmarkResult = {
  id: "locks.depth8",
  subject: "withLock at held depth 8",
  baseline: "withLock at held depth 1",
  unit: "ns/op",
  subjectValue: 1200,
  baselineValue: 1000,
  ratio: 1.2,
  direction: "lower",
  target: 1.3,
  pass: true
}

const decode = (value: unknown) => Effect.either(BenchmarkResult.decodeJson(JSON.stringify(value)))

describe("BenchmarkResult", () => {
  it("verdict compares in the direction and is null without a target", () => {
    assert.isTrue(BenchmarkResult.verdict(1, "higher", 1))
    assert.isFalse(BenchmarkResult.verdict(0.99, "higher", 1))
    assert.isTrue(BenchmarkResult.verdict(1.3, "lower", 1.3))
    assert.isFalse(BenchmarkResult.verdict(1.31, "lower", 1.3))
    assert.isNull(BenchmarkResult.verdict(5, "higher", null))
  })

  it.effect("round-trips a valid results file", () =>
    Effect.gen(function*() {
      const text = yield* BenchmarkResult.encodeJson([valid, { ...valid, id: "harness.aa", target: null, pass: null }])
      const decoded = yield* BenchmarkResult.decodeJson(text)
      assert.deepStrictEqual(decoded, [valid, { ...valid, id: "harness.aa", target: null, pass: null }])
    }))

  it.effect("rejects a pass that contradicts the ratio and target", () =>
    Effect.gen(function*() {
      assert.isTrue(Either.isLeft(yield* decode([{ ...valid, pass: false }])))
      assert.isTrue(Either.isLeft(yield* decode([{ ...valid, target: null }])))
    }))

  it.effect("rejects unknown fields, missing fields, bad ids, non-finite values and duplicate ids", () =>
    Effect.gen(function*() {
      assert.isTrue(Either.isLeft(yield* decode([{ ...valid, rounds: 12 }])))
      const { ratio: _ratio, ...withoutRatio } = valid
      assert.isTrue(Either.isLeft(yield* decode([withoutRatio])))
      assert.isTrue(Either.isLeft(yield* decode([{ ...valid, id: "Locks" }])))
      assert.isTrue(Either.isLeft(yield* decode([{ ...valid, subjectValue: "fast" }])))
      assert.isTrue(
        Either.isLeft(
          yield* Effect.either(BenchmarkResult.decodeJson(`[${JSON.stringify(valid).replace("1200", "1e999")}]`))
        )
      )
      assert.isTrue(Either.isLeft(yield* decode([valid, valid])))
      assert.isTrue(Either.isLeft(yield* Effect.either(BenchmarkResult.decodeJson("{"))))
    }))
})
