import { BenchmarkResult, Cli, Registry } from "@core-stability/bench"
import { assert, describe, it } from "@effect/vitest"
import type { Console } from "effect"
import { Effect } from "effect"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"

const temporaryDirectory = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "core-stability-bench-"))),
  (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
)

/** Runs the command line with a console that records what it prints instead of printing it. */
const runCaptured = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const stdout: Array<string> = []
    const stderr: Array<string> = []
    const console = yield* Effect.console
    const recording: Console.Console = {
      ...console,
      log: (...args) => Effect.sync(() => void stdout.push(args.join(" "))),
      error: (...args) => Effect.sync(() => void stderr.push(args.join(" ")))
    }
    const code = yield* Effect.withConsole(Cli.run(argv), recording)
    return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n") }
  })

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

  it.effect("usage errors and empty filters exit 2 with the reason on stderr; --help and --list exit 0", () =>
    Effect.gen(function*() {
      const unknown = yield* runCaptured(["--unknown"])
      assert.deepStrictEqual([unknown.code, unknown.stdout], [2, ""])
      assert.include(unknown.stderr, "'--unknown'")
      assert.include(unknown.stderr, Cli.usage)
      const noValue = yield* runCaptured(["--json"])
      assert.deepStrictEqual([noValue.code, noValue.stdout], [2, ""])
      assert.include(noValue.stderr, "--json")
      const positional = yield* runCaptured(["positional"])
      assert.deepStrictEqual([positional.code, positional.stdout], [2, ""])
      assert.include(positional.stderr, "'positional'")
      const nothing = yield* runCaptured(["--filter", "no-such-area."])
      assert.deepStrictEqual([nothing.code, nothing.stdout], [2, ""])
      assert.isTrue(nothing.stderr.startsWith("no benchmark id starts with no-such-area.; known ids:\n"))
      const clock = yield* runCaptured(["--clock", "sundial"])
      assert.deepStrictEqual(
        [clock.code, clock.stdout, clock.stderr],
        [2, "", `--clock must be cpu or wall, not sundial\n\n${Cli.usage}`]
      )
      const help = yield* runCaptured(["--help"])
      assert.deepStrictEqual([help.code, help.stdout, help.stderr], [0, Cli.usage, ""])
      const list = yield* runCaptured(["--list", "--filter", "harness."])
      assert.deepStrictEqual([list.code, list.stderr], [0, ""])
      assert.isTrue(list.stdout.split("\n").every((line) => line.startsWith("harness.")), list.stdout)
    }))
})
