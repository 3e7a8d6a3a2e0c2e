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

/** Adds each paragraph as one paragraph of an option's `--help` entry. */
const withDescriptions = (...paragraphs: ReadonlyArray<string>) => <A>(self: Options.Options<A>): Options.Options<A> =>
  paragraphs.reduce((options, paragraph) => Options.withDescription(options, paragraph), self)

const options = {
  input: Options.text("input").pipe(
    Options.withPseudoName("file"),
    withDescriptions(
      "The WAV file to run through the pipeline: 16-bit integer PCM (WAVE_FORMAT_PCM or WAVE_FORMAT_EXTENSIBLE), " +
        "mono or stereo, any sample rate. A stereo file gives two speakers, left and right; a mono file one, left. " +
        "Anything else is refused with one line on stderr and exit code 2, before any file is written.",
      "Default: the bundled two-speaker sample, packages/demo/assets/sample-stereo.wav (16 kHz stereo). " +
        "Example: --input recording.wav"
    ),
    Options.withDefault(defaultInput)
  ),
  out: Options.text("out").pipe(
    Options.withPseudoName("dir"),
    withDescriptions(
      "The directory the outputs go to, created if missing: left.wav and right.wav (each input channel as a mono " +
        "16-bit WAV; no right.wav for a mono input), segments.json (the speech segments per channel), report.json, " +
        "report.md and report.html (what the run did and its checks), and recovery/ (the RecoveryLogger's files: " +
        "one JSON file per recovery attempt, analytics, state dumps). They replace those of an earlier run; a run " +
        "that fails leaves the directory as it was.",
      "Default: out (relative to the working directory). Example: --out /tmp/demo-run"
    ),
    Options.withDefault("out")
  ),
  faults: Options.text("faults").pipe(
    Options.withPseudoName("spec"),
    withDescriptions(
      "The faults to inject: comma-separated rules <point>:<kind>@<trigger>, at most one per point. " +
        "<point> is capture, processor-left, processor-right, writer-left or writer-right (the right channel's " +
        "only for a stereo input). <kind> is crash (the stage's worker dies), io-error (it fails), hang (a " +
        `${Demo.hangFaultMs} ms stall, longer than the ${Demo.watchdogMs} ms watchdog allows) or delay ` +
        `(a ${Demo.delayFaultMs} ms delay). <trigger> is n=<integer from 1> (fires once, on the n-th frame the ` +
        "point's stage handles) or p=<number from 0 to 1> (fires on each frame with that probability, seeded by " +
        "--seed). Every crash, io-error and hang is recovered by a recovery episode; a delay needs none.",
      `Default: ${FaultSpec.defaultSpec} (one fault of each kind). ` +
        "Example: --faults capture:crash@n=10,writer-left:io-error@p=0.01. Cannot be combined with --no-faults."
    ),
    Options.optional
  ),
  seed: Options.text("seed").pipe(
    Options.withPseudoName("n"),
    withDescriptions(
      "The seed of the probabilistic fault triggers (the p= rules of --faults), an integer: the same seed fires " +
        "the same faults at each point.",
      "Default: 42. Example: --seed 7"
    ),
    Options.withDefault("42"),
    Options.mapEffect((text) =>
      /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text))
        ? Effect.succeed(Number(text))
        : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--seed: "${text}" is not an integer`)))
    )
  ),
  realtime: Options.boolean("realtime").pipe(
    withDescriptions(
      "Pace capture to the input's sample rate (one 480-sample frame every 30 ms at 16 kHz), as a live " +
        "microphone would deliver it, instead of reading the input as fast as possible.",
      "Default: off."
    )
  ),
  noFaults: Options.boolean("no-faults").pipe(
    withDescriptions(
      "Inject no faults: the run has no recovery episodes. Cannot be combined with --faults.",
      "Default: off (the default --faults spec is injected)."
    )
  ),
  quiet: Options.boolean("quiet").pipe(
    withDescriptions(
      "Print no progress bar and no summary: only errors and failed checks, on stderr. The exit code still says " +
        "how the run went (0 every check passed, 1 a check or the run failed, 2 bad input or options, 130/143 " +
        "stopped by SIGINT/SIGTERM).",
      "Default: off."
    )
  )
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
      Command.withDescription(HelpDoc.blocks([
        HelpDoc.p(
          "Runs a two-channel audio pipeline (capture, voice activity detection, one WAV writer per channel) over a " +
            "WAV file while injecting faults, recovers from every one, and then checks that every sample arrived " +
            "exactly once."
        ),
        HelpDoc.p(
          "Exit codes: 0 every check passed; 1 a check failed or the run failed; 2 bad input or options (nothing " +
            "written); 130 / 143 stopped by SIGINT / SIGTERM (partial outputs finalised). The first SIGINT or SIGTERM " +
            "stops capture and finalises the outputs; a second stops at once."
        ),
        HelpDoc.p("Details: docs/demo.md.")
      ]))
    )
    const cli = Command.run(command, { name: "core-stability demo", version })
    return yield* cli(argv).pipe(
      Effect.withConsole(cliConsole),
      Effect.zipRight(Ref.get(exitCode)),
      Effect.catchAll(() => Effect.succeed(Demo.ExitCode.badInput))
    )
  })
