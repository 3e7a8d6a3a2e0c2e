/**
 * Entry point of the results-page generator: `report.ts <results.json> [<page.md>]` validates a results file against
 * the JSON contract and renders it to `<page.md>` (by default the repository's `docs/benchmarks.md`), with the date,
 * Node version and CPUs of the machine running it: run it right after the benchmarks, on the same machine.
 *
 * @since 0.1.0
 */
import { Console, Effect } from "effect"
import { readFile, writeFile } from "node:fs/promises"
import { relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import * as BenchmarkResult from "./BenchmarkResult.js"
import * as Registry from "./Registry.js"
import * as ResultsPage from "./ResultsPage.js"

const repository = fileURLToPath(new URL("../../../", import.meta.url))

const program = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.gen(function*() {
    const args = argv[0] === "--" ? argv.slice(1) : argv
    const [input, output = resolve(repository, "docs/benchmarks.md")] = args
    if (input === undefined || args.length > 2) {
      yield* Console.error("Usage: report.ts <results.json> [<page.md>]")
      return 2
    }
    const generated = yield* Effect.gen(function*() {
      const text = yield* Effect.tryPromise(() => readFile(input, "utf8"))
      const results = yield* BenchmarkResult.decodeJson(text)
      const environment = yield* ResultsPage.currentEnvironment
      const page = ResultsPage.render(results, {
        environment,
        source: relative(repository, resolve(input)),
        limits: (id) => Registry.find(id)?.limits,
        named: Registry.named
      })
      yield* Effect.tryPromise(() => writeFile(output, page))
      return results.length
    }).pipe(Effect.either)
    if (generated._tag === "Left") {
      yield* Console.error(`could not render ${input} to ${output}: ${generated.left.message}`)
      return 1
    }
    yield* Console.log(`wrote ${output} (${generated.right} results)`)
    return 0
  })

process.exitCode = await Effect.runPromise(program(process.argv.slice(2)))
