import { Effect } from "effect"
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import type { Benchmark } from "../../Benchmark.js"
import * as Harness from "../harness.js"

const run = promisify(execFile)

const repository = fileURLToPath(new URL("../../../../../", import.meta.url))
// written by packages/locks/dtslint/cost/measure.mjs: 50 nested acquisitions, typed and plain, otherwise the same code
const fixtures = join(repository, "packages", "locks", "dtslint", "cost", "fixtures")
const config = (kind: "typed" | "plain"): string => join(fixtures, `tsconfig.${kind}.json`)

// The child: what `tsc --noEmit -p <project>` does, through the compiler API, timing its check phase (the checker
// over the whole program, tsc's "Check time") on the child's CPU clock (user + system, the harness's default: time
// spent descheduled on a loaded machine does not count) and on the wall clock. Reading the config, parsing and
// binding are done first and not timed. Prints one JSON line; a type error in the fixture fails it.
const child = `
const ts = require("module").createRequire(process.argv[1])("typescript")
const config = ts.getParsedCommandLineOfConfigFile(process.argv[2], {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\\n")) }
})
const program = ts.createProgram({ rootNames: config.fileNames, options: { ...config.options, noEmit: true } })
const cpu = process.cpuUsage()
const wall = performance.now()
const diagnostics = ts.getPreEmitDiagnostics(program)
const wallMs = performance.now() - wall
const used = process.cpuUsage(cpu)
if (diagnostics.length > 0) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => "\\n" }
  process.stderr.write(ts.formatDiagnostics(diagnostics, host))
  process.exit(1)
}
process.stdout.write(JSON.stringify({ cpuMs: (used.user + used.system) / 1000, wallMs }) + "\\n")
`

// One cold check of a fixture's whole program in a fresh child process, in ms on the given clock.
const checkTime = (kind: "typed" | "plain", clock: Harness.Clock): Effect.Effect<number, Harness.SampleError> =>
  Effect.tryPromise({
    try: async () => {
      const project = config(kind)
      if (!existsSync(project)) {
        throw new Error(`${project} is missing: generate it with node packages/locks/dtslint/cost/measure.mjs`)
      }
      const { stdout } = await run(process.execPath, ["-e", child, join(repository, "package.json"), project], {
        cwd: repository,
        maxBuffer: 16 * 1024 * 1024
      }).catch((error: { readonly stderr?: string; readonly message: string }) => {
        throw new Error(`the type check of ${project} failed:\n${error.stderr || error.message}`)
      })
      const timing = JSON.parse(stdout) as { readonly cpuMs: number; readonly wallMs: number }
      return clock === "cpu" ? timing.cpuMs : timing.wallMs
    },
    catch: (cause) => new Harness.SampleError({ side: kind === "typed" ? "subject" : "baseline", cause })
  })

/** @internal */
export const checkTimeBenchmark: Benchmark = {
  id: "typed-lock-order.check-time",
  subject: "type-check of packages/locks/dtslint/cost/fixtures/tsconfig.typed.json, what tsc --noEmit -p does, " +
    "cold, in a fresh child process: the check phase of the whole program (tsc's Check time: every diagnostic of " +
    "the fixture with 50 nested TypedLock acquisitions, one expression 50 regions deep plus 50 functions each " +
    "locking around the next, and of the locks sources it imports), ms of the child's CPU time; parsing and binding " +
    "are not timed",
  baseline: "the same with tsconfig.plain.json: the same code with plain OrderedLock. Alternating, 3 rounds, median " +
    "of the per-round ratios. The fixture file alone costs more: warm, file-only checks measured 3.09x (uniform) " +
    "and 1.78x (one error type per level) in docs/typed-lock-order.md (Cost)",
  unit: "ms",
  direction: "lower",
  target: 2,
  limits: "Each typed acquisition compares two literal ranks digit by digit and keeps a region marker in the " +
    "effect's type: a constant number of instantiations per acquisition, paid on top of the plain program's check. " +
    "The ratio is of the whole program, whose shared part (the locks sources, Effect's declarations) dilutes it.",
  run: Effect.gen(function*() {
    const settings = yield* Harness.Settings
    const rounds = settings.smoke ? 1 : 3
    const typed: Array<number> = []
    const plain: Array<number> = []
    const ratios: Array<number> = []
    for (let round = 0; round < rounds; round++) {
      // typed first in even rounds, plain first in odd ones (as Harness.compare orders its sides)
      const order = round % 2 === 0 ? (["typed", "plain"] as const) : (["plain", "typed"] as const)
      const values = { typed: 0, plain: 0 }
      for (const kind of order) values[kind] = yield* checkTime(kind, settings.clock)
      typed.push(values.typed)
      plain.push(values.plain)
      ratios.push(values.typed / values.plain)
    }
    return {
      subjectValue: Harness.median(typed),
      baselineValue: Harness.median(plain),
      ratio: Harness.median(ratios)
    }
  })
}

/** @internal */
export const benchmarks: ReadonlyArray<Benchmark> = [checkTimeBenchmark]
