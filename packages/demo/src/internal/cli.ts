/**
 * The `demo` command line: options, validation, the progress bar, and the printed summary. Returns the process's
 * exit code; `bin.ts` owns the process (signals, exit).
 *
 * @since 0.1.0
 */
import * as VerificationReport from "@core-stability/monitoring/VerificationReport"
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import { fileURLToPath } from "node:url"
import * as FaultSpec from "../FaultSpec.js"
import * as Demo from "./demo.js"
import * as ProgressBar from "./progress.js"

/** The bundled two-speaker sample, the default `--input`. */
export const defaultInput = fileURLToPath(new URL("../../assets/sample-stereo.wav", import.meta.url))

/** The version `--version` prints. */
export const version = "0.1.0"

const options = {
  input: Options.text("input").pipe(
    Options.withPseudoName("file"),
    Options.withDescription("16-bit PCM WAV file to run through the pipeline, mono or stereo, any sample rate"),
    Options.withDefault(defaultInput)
  ),
  out: Options.text("out").pipe(
    Options.withPseudoName("dir"),
    Options.withDescription("directory for left.wav, right.wav, segments.json and report.json"),
    Options.withDefault("out")
  ),
  faults: Options.text("faults").pipe(
    Options.withPseudoName("spec"),
    Options.withDescription(
      `faults to inject, <point>:<kind>@<trigger>[,...] (default: ${FaultSpec.defaultSpec}); ` +
        "each one fired is recovered by a recovery episode"
    ),
    Options.optional
  ),
  seed: Options.text("seed").pipe(
    Options.withPseudoName("n"),
    Options.withDescription("seed for probabilistic fault triggers (an integer)"),
    Options.withDefault("42"),
    Options.mapEffect((text) =>
      /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text))
        ? Effect.succeed(Number(text))
        : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--seed: "${text}" is not an integer`)))
    )
  ),
  realtime: Options.boolean("realtime").pipe(
    Options.withDescription("pace capture to real time instead of running as fast as possible")
  ),
  noFaults: Options.boolean("no-faults").pipe(Options.withDescription("inject no faults")),
  quiet: Options.boolean("quiet").pipe(Options.withDescription("print nothing but errors and failed checks"))
}

type Parsed = Command.Command.ParseConfig<typeof options>

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

const summary = (plan: Demo.Plan, outcome: Demo.Outcome): ReadonlyArray<string> => {
  const { report } = outcome
  const lines = [
    report.status === "completed"
      ? `processed ${report.framesCaptured} frames per channel in ${seconds(report.elapsedMs)}` +
        (report.realtimeFactor === null ? "" : ` (${report.realtimeFactor.toFixed(0)}x real time)`)
      : report.framesCaptured === report.input.frames
      ? `interrupted by ${report.signal} during the checks; the outputs are complete`
      : `interrupted by ${report.signal} after ${report.framesCaptured} of ${report.input.frames} frames; ` +
        "partial outputs finalised",
    `segments: ${Object.entries(report.segments).map(([channel, n]) => `${channel} ${n}`).join(", ")}`,
    `outputs in ${outcome.outDir}: ${report.outputs.join(", ")}`
  ]
  if (plan.faultSpec !== undefined) {
    lines.push(
      `faults: ${plan.faults.length} rule(s) ${plan.faultSpec}: ${report.faults.fired.length} fired, ` +
        `${report.recoveries.count} recovery episode(s)` +
        (report.recoveries.mttrMs === null
          ? ""
          : `, MTTR mean ${report.recoveries.mttrMs.mean.toFixed(1)} ms, max ${report.recoveries.mttrMs.max} ms`)
    )
    for (const episode of report.recoveries.episodes) {
      lines.push(
        `  #${episode.id} ${episode.component} ${episode.fault} at frame ${episode.seq ?? "-"}: ` +
          `${episode.recovered ? "recovered" : "NOT recovered"} in ${episode.mttrMs} ms ` +
          `(${episode.steps.map((step) => step.name).join(" -> ")})`
      )
    }
    if (report.recoveries.count > 0) {
      lines.push(
        `recovery log: ${report.recoveryLog.stats.recorded} attempt(s) in ${report.recoveryLog.directory}/recovery/, ` +
          `analytics in ${report.recoveryLog.directory}/analytics/ (RecoveryLogger session ${report.recoveryLog.session})`
      )
    }
  }
  lines.push(
    `shutdown: CleanupCoordinator ${report.cleanup.status.toLowerCase()} in ${report.cleanup.durationMs} ms ` +
      `(${report.cleanup.executionOrder.join(", ")})`
  )
  if (report.checks.length > 0) {
    lines.push("checks:")
    for (const check of report.checks) {
      lines.push(`  ${check.ok ? "PASS" : "FAIL"}  ${check.name}: ${check.detail}`)
    }
    const failed = report.checks.filter((check) => !check.ok).length
    lines.push(
      failed === 0 ? `all ${report.checks.length} checks passed` : `${failed} of ${report.checks.length} checks failed`
    )
  } else {
    lines.push("checks: skipped, the run was interrupted")
  }
  lines.push(...VerificationReport.render(report.verification).split("\n"))
  return lines
}

const describeInput = (plan: Demo.Plan): string => {
  const { header } = plan
  return `demo: ${plan.options.input} (${header.channels === 2 ? "stereo" : "mono"}, ${header.sampleRate} Hz, ` +
    `${seconds(header.durationMs)})`
}

/** Joins what a console call prints into one line: the CLI library's errors span lines and end with a blank one. */
const oneLine = (args: ReadonlyArray<unknown>): string =>
  args.map(String).join(" ").split("\n").map((line) => line.trim()).filter((line) => line !== "").join(" ")

const execute = (parsed: Parsed, exitCode: Ref.Ref<number>) =>
  Effect.gen(function*() {
    const prepared = yield* Effect.either(Demo.prepare(parsed))
    if (prepared._tag === "Left") {
      yield* Console.error(`demo: ${prepared.left.message}`)
      return yield* Ref.set(exitCode, Demo.ExitCode.badInput)
    }
    const plan = prepared.right
    if (!parsed.quiet) {
      yield* Console.log(describeInput(plan))
    }
    // The bar lives only as long as the run, so it is finished before the summary is printed.
    const outcome = yield* Effect.either(
      parsed.quiet
        ? Demo.execute(plan)
        : Effect.scoped(Effect.flatMap(ProgressBar.make, (onProgress) => Demo.execute(plan, { onProgress })))
    )
    if (outcome._tag === "Left") {
      yield* Console.error(`demo: ${outcome.left.message}`)
      return yield* Ref.set(
        exitCode,
        outcome.left._tag === "InvalidOption" ? Demo.ExitCode.badInput : Demo.ExitCode.checksFailed
      )
    }
    const lines = summary(plan, outcome.right)
    if (!parsed.quiet) {
      yield* Console.log(lines.join("\n"))
    } else {
      for (const check of outcome.right.report.checks.filter((c) => !c.ok)) {
        yield* Console.error(`FAIL  ${check.name}: ${check.detail}`)
      }
      const verification = outcome.right.report.verification
      if (verification.verdict !== "passed") {
        yield* Console.error(VerificationReport.render(verification))
      }
    }
    yield* Ref.set(exitCode, outcome.right.exitCode)
  })

/**
 * Runs the command line `argv` (as `process.argv`) and returns the exit code: 0 when every check passed, 1 when a
 * check failed or the run failed, 2 for bad input or options, 130/143 when SIGINT/SIGTERM stopped the run.
 */
export const run = (
  argv: ReadonlyArray<string>
): Effect.Effect<number, never, CliApp.CliApp.Environment | FileSystem.FileSystem | Path.Path | Demo.StopSignal> =>
  Effect.gen(function*() {
    const exitCode = yield* Ref.make<number>(Demo.ExitCode.ok)
    // The CLI library prints parse errors itself; give them the demo's one-line "demo: ..." form.
    const console = yield* Effect.console
    const cliConsole: Console.Console = { ...console, error: (...args) => console.error(`demo: ${oneLine(args)}`) }
    const command = Command.make(
      "demo",
      options,
      (parsed) => Effect.withConsole(execute(parsed, exitCode), console)
    ).pipe(
      Command.withDescription(
        "Runs a two-channel audio pipeline (capture, voice activity detection, WAV writers) over a WAV file and " +
          "checks that every sample arrives."
      )
    )
    const cli = Command.run(command, { name: "core-stability demo", version })
    return yield* cli(argv).pipe(
      Effect.withConsole(cliConsole),
      Effect.zipRight(Ref.get(exitCode)),
      Effect.catchAll(() => Effect.succeed(Demo.ExitCode.badInput))
    )
  })
