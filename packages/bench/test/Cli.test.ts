import { BenchmarkResult, Cli, Registry } from "@core-stability/bench"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"

const temporaryDirectory = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "core-stability-bench-"))),
  (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
)

describe("Cli", () => {
  // the CI smoke check: every registered benchmark runs with tiny workloads and the JSON it writes is valid (the
  // typed-lock-order and demo benchmarks run child processes: two type checks, two demo runs over a 5 s file)
  it.scopedLive(
    "a smoke run of every benchmark writes valid JSON with every registered id",
    () =>
      Effect.gen(function*() {
        const directory = yield* temporaryDirectory
        const file = join(directory, "results", "smoke.json")
        const code = yield* Cli.run(["--", "--smoke", "--json", file])
        assert.strictEqual(code, 0)
        const results = yield* BenchmarkResult.decodeJson(yield* Effect.promise(() => readFile(file, "utf8")))
        assert.deepStrictEqual(results.map((result) => result.id), Registry.all.map((benchmark) => benchmark.id))
      }),
    { timeout: 300_000 }
  )

  it.scopedLive("--filter runs only the ids with one of the prefixes", () =>
    Effect.gen(function*() {
      const directory = yield* temporaryDirectory
      const file = join(directory, "filtered.json")
      const code = yield* Cli.run(["--smoke", "--clock", "wall", "--filter", "harness.aa", "--json", file])
      assert.strictEqual(code, 0)
      const results = yield* BenchmarkResult.decodeJson(yield* Effect.promise(() => readFile(file, "utf8")))
      assert.deepStrictEqual(results.map((result) => result.id), ["harness.aa"])
    }))

  it.effect("usage errors and filters that select nothing exit 2, --help and --list exit 0", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Cli.run(["--unknown"]), 2)
      assert.strictEqual(yield* Cli.run(["--json"]), 2)
      assert.strictEqual(yield* Cli.run(["positional"]), 2)
      assert.strictEqual(yield* Cli.run(["--filter", "no-such-area."]), 2)
      assert.strictEqual(yield* Cli.run(["--clock", "sundial"]), 2)
      assert.strictEqual(yield* Cli.run(["--help"]), 0)
      assert.strictEqual(yield* Cli.run(["--list", "--filter", "harness."]), 0)
    }))
})
