/**
 * The `bench` command line: `bench [--filter <prefix>]... [--json <file>] [--smoke] [--clock cpu|wall] [--list]`.
 *
 * @since 0.1.0
 */
import { Clock, Console, Effect } from "effect"
import { mkdir, writeFile } from "node:fs/promises"
import { dirname, resolve } from "node:path"
import { parseArgs } from "node:util"
import type { Benchmark } from "./Benchmark.js"
import * as BenchmarkResult from "./BenchmarkResult.js"
import * as Format from "./Format.js"
import * as Harness from "./Harness.js"
import * as Registry from "./Registry.js"
import * as Runner from "./Runner.js"
import * as Table from "./Table.js"

/**
 * The usage text printed by `--help` and after a usage error.
 *
 * @since 0.1.0
 * @category rendering
 */
export const usage = `Usage: bench [options]

Runs the side-by-side benchmarks, prints a table, and optionally writes the results as JSON.

Options:
  -f, --filter <prefix>  run only ids starting with <prefix> (repeatable, e.g. --filter locks. --filter deadlock.)
  --json <file>          write the results to <file> as a JSON array (see packages/bench/README.md)
  --smoke                few iterations and small workloads: checks that each benchmark runs, measures nothing
  --clock <cpu|wall>     time samples by the process's CPU time (default; robust on a shared machine) or wall time
  --list                 list the benchmark ids and exit
  -h, --help             show this text`

const parse = (argv: ReadonlyArray<string>) =>
  parseArgs({
    // package managers forward a literal `--` separator to the script
    args: argv[0] === "--" ? argv.slice(1) : [...argv],
    options: {
      filter: { type: "string", short: "f", multiple: true, default: [] },
      json: { type: "string" },
      smoke: { type: "boolean", default: false },
      clock: { type: "string", default: "cpu" },
      list: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false }
    },
    strict: true,
    allowPositionals: false
  }).values

const isClock = (clock: string): clock is Harness.Clock => clock === "cpu" || clock === "wall"

const describe = (benchmark: Benchmark): string => `${benchmark.id}: ${benchmark.subject} vs ${benchmark.baseline}`

const listener = (total: number): Runner.Listener => {
  let index = 0
  let started = 0
  const elapsed = Effect.map(Clock.currentTimeMillis, (now) => `${((now - started) / 1000).toFixed(1)} s`)
  return {
    onStart: (benchmark) =>
      Effect.zipRight(
        Effect.map(Clock.currentTimeMillis, (now) => {
          started = now
        }),
        Console.log(`[${++index}/${total}] ${describe(benchmark)}`)
      ),
    onResult: (result) =>
      Effect.flatMap(elapsed, (time) =>
        Console.log(
          `  subject ${Format.value(result.subjectValue, result.unit)}, baseline ${
            Format.value(result.baselineValue, result.unit)
          } ${result.unit}, ratio ${Format.ratio(result.ratio)} (target ${
            Format.target(result.target, result.direction)
          }): ${Format.verdict(result)} in ${time}`
        )),
    onFailure: (failure) =>
      Effect.flatMap(elapsed, (time) => Console.error(`  failed after ${time}: ${failure.message}`))
  }
}

const writeJson = (file: string, results: ReadonlyArray<BenchmarkResult.BenchmarkResult>) =>
  Effect.gen(function*() {
    const text = yield* BenchmarkResult.encodeJson(results)
    const path = resolve(file)
    yield* Effect.tryPromise(async () => {
      await mkdir(dirname(path), { recursive: true })
      await writeFile(path, `${text}\n`)
    })
    return path
  })

/**
 * Runs the command line with `argv` (the arguments after the script) and returns the exit code: 0 when every selected
 * benchmark ran (whether or not it met its target), 1 when one failed or the JSON could not be written, 2 for a usage
 * error or a filter that selects nothing.
 *
 * @example
 * ```ts
 * import { Cli } from "@core-stability/bench"
 * import { Effect } from "effect"
 *
 * // 0 when every selected benchmark ran
 * const exitCode: Effect.Effect<number> = Cli.run(["--smoke", "--filter", "harness."])
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.gen(function*() {
    const parsed = yield* Effect.try(() => parse(argv)).pipe(Effect.either)
    if (parsed._tag === "Left") {
      const reason = parsed.left.error instanceof Error ? parsed.left.error.message : String(parsed.left.error)
      yield* Console.error(`${reason}\n\n${usage}`)
      return 2
    }
    const options = parsed.right
    const clock = options.clock
    if (!isClock(clock)) {
      yield* Console.error(`--clock must be cpu or wall, not ${clock}\n\n${usage}`)
      return 2
    }
    if (options.help) {
      yield* Console.log(usage)
      return 0
    }
    const selected = Registry.select(Registry.all, options.filter)
    if (options.list) {
      yield* Console.log(selected.map(describe).join("\n"))
      return 0
    }
    if (selected.length === 0) {
      yield* Console.error(
        `no benchmark id starts with ${options.filter.join(" or ")}; known ids:\n${
          Registry.all.map((benchmark) => `  ${benchmark.id}`).join("\n")
        }`
      )
      return 2
    }
    const settings = { ...(options.smoke ? Harness.smoke : Harness.full), clock }
    const outcome = yield* Runner.run(selected, listener(selected.length)).pipe(
      Effect.provideService(Harness.Settings, settings)
    )
    yield* Console.log(`\n${Table.render(outcome.results)}`)
    if (options.json !== undefined) {
      const written = yield* writeJson(options.json, outcome.results).pipe(Effect.either)
      if (written._tag === "Left") {
        yield* Console.error(`could not write ${options.json}: ${written.left.message}`)
        return 1
      }
      yield* Console.log(`wrote ${written.right}`)
    }
    if (outcome.failures.length > 0) {
      yield* Console.error(
        `${outcome.failures.length} benchmark(s) failed: ${outcome.failures.map((f) => f.id).join(", ")}`
      )
      return 1
    }
    return 0
  })
