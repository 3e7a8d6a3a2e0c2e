import { type BenchmarkResult, Format, ResultsPage, Table } from "@core-stability/bench"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const miss: BenchmarkResult.BenchmarkResult = {
  id: "locks.contended.vs-semaphore",
  subject: "OrderedLock.withLock | contended",
  baseline: "Semaphore.withPermits(1)",
  unit: "ops/s",
  subjectValue: 90_000,
  baselineValue: 100_000,
  ratio: 0.9,
  direction: "higher",
  target: 1,
  pass: false
}

const reported: BenchmarkResult.BenchmarkResult = {
  ...miss,
  id: "locks.memory",
  unit: "bytes",
  subjectValue: 1234.5,
  baselineValue: 200,
  ratio: 6.17,
  direction: "lower",
  target: null,
  pass: null
}

const environment: ResultsPage.Environment = {
  date: "2026-01-01T00:00:00.000Z",
  node: "v20.20.2",
  cpus: 2,
  cpuModel: "Test CPU",
  platform: "linux x64"
}

describe("Format", () => {
  it("formats values by unit, ratios, targets and verdicts", () => {
    assert.strictEqual(Format.value(412_345, "ops/s"), "412 k")
    assert.strictEqual(Format.value(1_234_567, "ops/s"), "1.23 M")
    assert.strictEqual(Format.value(1234.5, "bytes"), "1,235")
    assert.strictEqual(Format.value(12.345, "ms"), "12.3")
    assert.strictEqual(Format.ratio(0.8999), "0.90")
    assert.strictEqual(Format.target(1.3, "lower"), "<= 1.30")
    assert.strictEqual(Format.target(null, "higher"), "-")
    assert.strictEqual(Format.verdict(miss), "MISS")
    assert.strictEqual(Format.verdict(reported), "-")
  })
})

describe("Table", () => {
  it("renders one aligned row per result and a closing count", () => {
    const lines = Table.render([miss, reported]).split("\n")
    assert.match(lines[0]!, /^id\s+subject\s+baseline\s+unit\s+ratio\s+target\s+result$/)
    assert.match(lines[2]!, /^locks\.contended\.vs-semaphore\s+90 k\s+100 k\s+ops\/s\s+0\.90\s+>= 1\.00\s+MISS$/)
    assert.match(lines[3]!, /^locks\.memory\s+1,235\s+200\s+bytes\s+6\.17\s+-\s+-$/)
    assert.strictEqual(lines.at(-1), "0 passed, 1 missed, 1 reported only")
  })
})

describe("ResultsPage", () => {
  it("renders the environment, a row per result, notes on misses and the named ids not measured", () => {
    const page = ResultsPage.render([miss, reported], {
      environment,
      source: "packages/bench/results/benchmarks.json",
      limits: (id) => id === miss.id ? "Contention hands off through the scheduler." : undefined,
      named: [miss.id, reported.id, "demo.rss-1h"]
    })
    assert.include(page, "- Date: 2026-01-01T00:00:00.000Z")
    assert.include(page, "- Node: v20.20.2")
    assert.include(page, "- CPUs: 2 x Test CPU")
    assert.include(page, "| `locks.contended.vs-semaphore` | OrderedLock.withLock \\| contended |")
    assert.include(page, "- `locks.contended.vs-semaphore`: ratio 0.90, target >= 1.00. Contention hands off")
    assert.include(page, "- `demo.rss-1h`")
    assert.notInclude(page, "- `locks.memory`")
  })

  it("states the noise floor when the A/A benchmark ran", () => {
    const context = { environment, source: "results.json", limits: () => undefined, named: [] }
    const aa = { ...reported, id: "harness.aa", unit: "ops/s" as const, ratio: 1.04 }
    assert.include(
      ResultsPage.render([aa], context),
      "- Noise floor: `harness.aa` (the same loop on both sides) gave 1.04"
    )
    assert.notInclude(ResultsPage.render([miss], context), "Noise floor")
  })

  it.effect("currentEnvironment describes this process", () =>
    Effect.gen(function*() {
      const current = yield* ResultsPage.currentEnvironment
      assert.strictEqual(current.node, process.version)
      assert.isAbove(current.cpus, 0)
    }))
})
