import { BenchmarkResult, Registry } from "@core-stability/bench"
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"

describe("Registry", () => {
  it("ids are unique, follow the id grammar, and are either named by an issue or the harness's own", () => {
    const ids = Registry.all.map((benchmark) => benchmark.id)
    assert.strictEqual(new Set(ids).size, ids.length)
    for (const id of ids) {
      assert.isTrue(Schema.is(BenchmarkResult.BenchmarkId)(id), id)
      assert.isTrue(Registry.named.includes(id) || id.startsWith("harness."), id)
    }
  })

  it("every benchmark describes its sides and what limits it, and its target is positive or absent", () => {
    for (const benchmark of Registry.all) {
      assert.isNotEmpty(benchmark.subject, benchmark.id)
      assert.isNotEmpty(benchmark.baseline, benchmark.id)
      assert.isNotEmpty(benchmark.limits, benchmark.id)
      assert.isTrue(benchmark.target === null || benchmark.target > 0, benchmark.id)
    }
  })

  it("select keeps the benchmarks with a matching prefix, in registry order, and all of them without prefixes", () => {
    assert.strictEqual(Registry.select(Registry.all, []), Registry.all)
    const selected = Registry.select(Registry.all, ["harness.semaphore", "harness.aa"])
    assert.deepStrictEqual(selected.map((benchmark) => benchmark.id), [
      "harness.aa",
      "harness.semaphore.vs-async-mutex"
    ])
    assert.deepStrictEqual(Registry.select(Registry.all, ["nothing."]), [])
  })

  it("find looks a benchmark up by id", () => {
    assert.strictEqual(Registry.find("harness.aa")?.id, "harness.aa")
    assert.isUndefined(Registry.find("harness"))
  })
})
