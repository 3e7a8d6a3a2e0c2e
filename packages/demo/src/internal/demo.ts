/**
 * One run of the demo, from validated options to files on disk and an exit code, without any terminal I/O: the CLI
 * adds the progress bar and the printed summary around it, tests call it directly.
 *
 * Order of work, so that bad input never leaves anything behind:
 *
 * 1. validate every input (the fault spec, the WAV header, the output directory) before creating anything;
 * 2. write every output into a staging directory inside `--out`;
 * 3. move the outputs into `--out` when the run ends normally or is interrupted (the WAV files are finalised either
 *    way), or delete the staging directory when it fails.
 *
 * @since 0.1.0
 */
import * as LockHierarchy from "@core-stability/locks/LockHierarchy"
import * as LockRegistry from "@core-stability/locks/LockRegistry"
import type * as VerificationReport from "@core-stability/monitoring/VerificationReport"
import * as FaultInjector from "@core-stability/testing/FaultInjector"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as FaultSpec from "../FaultSpec.js"
import { channelNames, FRAME_SAMPLES } from "../Frame.js"
import * as Vad from "../Vad.js"
import * as WavInput from "../WavInput.js"
import * as WavWriter from "../WavWriter.js"
import * as Checks from "./checks.js"
import * as Pipeline from "./pipeline.js"
import * as Reports from "./reports.js"

/** The signals that stop a run; the exit code is `128 +` the signal number. */
export type StopSignalName = "SIGINT" | "SIGTERM"

/** Exit codes of the demo. */
export const ExitCode = {
  ok: 0,
  checksFailed: 1,
  badInput: 2,
  SIGINT: 130,
  SIGTERM: 143
} as const

/** Completed by the process's signal handlers; a run stops capturing when it is. */
export class StopSignal extends Context.Tag("@core-stability/demo/StopSignal")<
  StopSignal,
  Deferred.Deferred<StopSignalName>
>() {}

/** Options of a run, as the command line gives them. */
export interface DemoOptions {
  readonly input: string
  readonly out: string
  readonly faults: Option.Option<string>
  readonly noFaults: boolean
  readonly seed: number
  readonly realtime: boolean
}

/** A problem with the command line's options that is not about the input file. */
export class InvalidOption
  extends Data.TaggedError("InvalidOption")<{ readonly option: string; readonly reason: string }>
{
  override get message(): string {
    return `${this.option}: ${this.reason}`
  }
}

/** Everything that makes a started run fail (exit code 1), or, for `InvalidOption`, exit code 2. */
export type RunError = Pipeline.RunError | InvalidOption

/** Everything that makes the demo exit with code 2 before it creates any file. */
export type BadInput = WavInput.WavInputError | FaultSpec.InvalidFaultSpec | InvalidOption

/** A run that was validated and can start. */
export interface Plan {
  readonly options: DemoOptions
  readonly header: WavInput.WavHeader
  readonly faultSpec: string | undefined
  readonly faults: ReadonlyArray<FaultSpec.FaultRule>
}

/** What a run did, as written to `report.json`. */
export interface Report {
  readonly status: "completed" | "interrupted"
  readonly signal?: StopSignalName | undefined
  readonly exitCode: number
  readonly input: {
    readonly path: string
    readonly sampleRate: number
    readonly channels: number
    readonly samplesPerChannel: number
    readonly durationMs: number
    readonly frames: number
    readonly frameSamples: number
  }
  readonly options: { readonly realtime: boolean; readonly seed: number }
  readonly faults: {
    readonly spec: string | null
    readonly rules: ReadonlyArray<FaultSpec.FaultRule>
    readonly injected: boolean
    readonly injector: string
    readonly fired: ReadonlyArray<{ readonly point: string; readonly rule: FaultSpec.FaultKind; readonly hit: number }>
  }
  readonly recoveries: {
    readonly count: number
    readonly recovered: number
    readonly mttrMs: { readonly mean: number; readonly max: number } | null
    readonly episodes: ReadonlyArray<Pipeline.RecoveryEpisode>
  }
  readonly components: Pipeline.RunResult["components"]
  readonly startOrder: Pipeline.RunResult["startOrder"]
  readonly history: Pipeline.RunResult["history"]
  readonly cleanup: Pipeline.CleanupSummary
  readonly locks: {
    readonly order: ReadonlyArray<{ readonly rank: number; readonly level: string }>
    readonly statistics: ReadonlyArray<Reports.LockStat>
    readonly heldAtEnd: number
  }
  readonly pipeline: string
  readonly elapsedMs: number
  readonly realtimeFactor: number | null
  readonly framesCaptured: number
  readonly writers: ReadonlyArray<WavWriter.WavWriterSummary>
  readonly segments: Readonly<Record<string, number>>
  readonly queues: ReadonlyArray<Pipeline.QueueCounters>
  readonly buffers: Pipeline.RunResult["buffers"]
  readonly pool: Pipeline.RunResult["pool"]
  readonly leaks: Pipeline.RunResult["leaks"]
  readonly recoveryLog: Pipeline.RunResult["recoveryLog"]
  readonly checks: ReadonlyArray<Checks.Check>
  /** The `SystemVerifier`'s report at the end of the run (also one of the checks). */
  readonly verification: VerificationReport.VerificationReport
  readonly outputs: ReadonlyArray<string>
}

/** The outcome of a run: its report, where the outputs are, and the process's exit code. */
export interface Outcome {
  readonly report: Report
  readonly outDir: string
  readonly exitCode: number
}

const pipelineDescription = "the stages (capture, and per channel a processor and a writer) are components of a " +
  "ComponentCoordinator, each depending on the components it feeds, with one worker each; BufferManager queues " +
  "(capture-<channel> into the processor, processing-<channel> into the writer) connect them, and every frame's " +
  "samples are a ResourcePool buffer from capture until the writer has written them; a failed worker moves its " +
  "component to Error, and a RecoveryCoordinator episode (stop capture, flush buffers, reinitialise = restart on the " +
  "coordinator, verify, then capture resumes) recovers it, recorded by a RecoveryLogger under recovery/; shutdown " +
  "through the CleanupCoordinator; all locks on LockHierarchy.Global"

/** How long a `delay` fault sleeps. */
export const delayFaultMs = 25

/** How long a hit of a fault point may take before its stage counts as hung. */
export const watchdogMs = 250

/** How long a `hang` fault stalls its stage: longer than the watchdog allows. */
export const hangFaultMs = 2 * watchdogMs

const injectorNote = "the testing kit's FaultInjector, seeded with --seed: crash = die, io-error = fail, " +
  `delay = a ${delayFaultMs} ms delay, hang = a ${hangFaultMs} ms stall, longer than the ${watchdogMs} ms ` +
  "watchdog allows (the stage then counts as hung and is recovered)"

/** The demo's fault rules as the testing kit's `FaultInjector` configuration, keyed by point name. */
export const injectorFaults = (rules: ReadonlyArray<FaultSpec.FaultRule>): FaultInjector.Faults =>
  Object.fromEntries(rules.map((rule): [string, FaultInjector.FaultConfig] => {
    const trigger = rule.trigger._tag === "Nth" ? { nth: rule.trigger.n } : { probability: rule.trigger.p }
    switch (rule.kind) {
      case "crash":
        return [rule.point, { kind: "die", error: "crash", ...trigger }]
      case "io-error":
        return [rule.point, { kind: "fail", error: "io-error", ...trigger }]
      case "delay":
        return [rule.point, { kind: "delay", delay: Duration.millis(delayFaultMs), ...trigger }]
      case "hang":
        return [rule.point, { kind: "delay", delay: Duration.millis(hangFaultMs), ...trigger }]
    }
  }))

/**
 * Validates the options before anything is created: the fault spec (unless `--no-faults`), the input file, that the
 * fault points exist for the input's channels, and that `--out` is not an existing non-directory.
 */
export const prepare = (options: DemoOptions): Effect.Effect<Plan, BadInput, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    if (options.noFaults && Option.isSome(options.faults)) {
      return yield* new InvalidOption({ option: "--faults", reason: "cannot be combined with --no-faults" })
    }
    const faultSpec = options.noFaults ? undefined : Option.getOrElse(options.faults, () => FaultSpec.defaultSpec)
    const parsed = faultSpec === undefined ? [] : yield* Either.match(FaultSpec.parse(faultSpec), {
      onLeft: Effect.fail,
      onRight: Effect.succeed
    })
    const header = yield* WavInput.readHeader(options.input)
    const faults = yield* Either.match(FaultSpec.validateFor(parsed, channelNames(header.channels)), {
      onLeft: Effect.fail,
      onRight: Effect.succeed
    })
    const fs = yield* FileSystem.FileSystem
    const outInfo = yield* Effect.option(fs.stat(options.out))
    if (Option.isSome(outInfo) && outInfo.value.type !== "Directory") {
      return yield* new InvalidOption({ option: "--out", reason: `${options.out} exists and is not a directory` })
    }
    return { options, header, faultSpec, faults }
  })

/** The names of every file a run may leave in `--out`. */
export const outputNames = [
  "left.wav",
  "right.wav",
  "segments.json",
  "report.json",
  "report.md",
  "report.html"
] as const

/** The directory of the `RecoveryLogger`'s files in `--out` (attempts, analytics, state dumps). */
export const recoveryDir = "recovery"

/**
 * Runs a validated plan: the pipeline into a staging directory, then the checks, `segments.json` and `report.json`,
 * then the move into `--out`. A completed `stop` signal ends capture early; the run still finalises its outputs and
 * reports `interrupted` with exit code 130 (SIGINT) or 143 (SIGTERM).
 */
export const execute = (
  plan: Plan,
  hooks?: { readonly onProgress?: ((progress: Pipeline.Progress) => Effect.Effect<void>) | undefined }
): Effect.Effect<
  Outcome,
  RunError,
  FileSystem.FileSystem | Path.Path | StopSignal
> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const stop = yield* StopSignal
    const { header, options } = plan
    const outDir = path.resolve(options.out)
    const produced: ReadonlyArray<string> = header.channels === 1
      ? outputNames.filter((name) => name !== "right.wav")
      : outputNames
    const cannotCreate = (error: { readonly message: string }) =>
      new InvalidOption({ option: "--out", reason: `cannot create ${outDir}: ${error.message}` })

    // "A run that fails leaves the directory as it was": one that did not exist is removed again (if still empty).
    const outDirExisted = yield* fs.exists(outDir).pipe(Effect.orElseSucceed(() => false))
    yield* fs.makeDirectory(outDir, { recursive: true }).pipe(Effect.mapError(cannotCreate))
    const staging = yield* Effect.acquireRelease(
      fs.makeTempDirectory({ directory: outDir, prefix: ".demo-staging-" }).pipe(Effect.mapError(cannotCreate)),
      (dir, exit) =>
        Effect.gen(function*() {
          if (Exit.isSuccess(exit) || Exit.isInterrupted(exit)) {
            // The recovery log is a directory: the new one replaces the old one whole.
            const logs = path.join(dir, recoveryDir)
            yield* fs.remove(path.join(outDir, recoveryDir), { recursive: true, force: true })
            if (yield* fs.exists(logs)) {
              yield* fs.rename(logs, path.join(outDir, recoveryDir))
            }
            for (const name of outputNames) {
              const from = path.join(dir, name)
              // An output this run did not produce (no right channel, or a hard interruption before the JSON
              // files) must not be left over from an earlier run.
              if (yield* fs.exists(from)) {
                yield* fs.rename(from, path.join(outDir, name))
              } else {
                yield* fs.remove(path.join(outDir, name), { force: true })
              }
            }
          }
          yield* fs.remove(dir, { recursive: true, force: true })
          if (Exit.isFailure(exit) && !Exit.isInterrupted(exit) && !outDirExisted) {
            yield* Effect.ignore(Effect.gen(function*() {
              if ((yield* fs.readDirectory(outDir)).length === 0) {
                yield* fs.remove(outDir, { recursive: true })
              }
            }))
          }
        }).pipe(Effect.orDie)
    )

    const locksBefore = yield* Reports.lockMetrics
    const result = yield* Pipeline.run({
      header,
      dir: staging,
      realtime: options.realtime,
      shouldStop: Deferred.isDone(stop),
      onProgress: hooks?.onProgress,
      faults: plan.faults,
      watchdogMs
    }).pipe(
      Effect.provide(
        Layer.orDie(FaultInjector.layer({ seed: options.seed, faults: injectorFaults(plan.faults) }))
      )
    )
    const lockStatistics = Reports.lockDelta(locksBefore, yield* Reports.lockMetrics)
    const lockSnapshot = yield* LockRegistry.snapshot()
    const runChecks = Effect.gen(function*() {
      const checks: ReadonlyArray<Checks.Check> = [
        // One pass over the input: each output compared with its channel, and the reference detector pass.
        ...(yield* Checks.outputsMatch(
          header,
          result.channels.map((channel, index) => ({
            index,
            path: path.join(staging, `${channel}.wav`),
            name: `${channel}.wav equals input channel ${index + 1} bit for bit`
          })),
          result.segments,
          Vad.defaultConfig
        )),
        Checks.framesComplete(result),
        Checks.faultsRecovered(result),
        Checks.queuesBalance(result),
        Checks.nothingLeft(result, lockSnapshot),
        Checks.systemVerified(result.verification)
      ]
      return checks
    })
    // The checks read every output back, which takes about as long as the run: a signal skips them too.
    const checked = result.status === "completed"
      ? yield* Effect.raceFirst(Effect.asSome(runChecks), Effect.as(Deferred.await(stop), Option.none()))
      : Option.none()
    const checks = Option.getOrElse(checked, () => [])
    const signalName = Option.isNone(checked) ? yield* Deferred.await(stop) : undefined
    const exitCode = signalName !== undefined
      ? ExitCode[signalName]
      : checks.every((check) => check.ok)
      ? ExitCode.ok
      : ExitCode.checksFailed

    const status = signalName === undefined ? "completed" : "interrupted"
    const segmentsFile = {
      status: result.status === "completed" ? "completed" : "interrupted",
      sampleRate: header.sampleRate,
      frameSamples: FRAME_SAMPLES,
      vad: Vad.defaultConfig,
      channels: result.segments
    }
    yield* writeJson(fs, path.join(staging, "segments.json"), segmentsFile)
    const report: Report = {
      status,
      signal: signalName,
      exitCode,
      input: {
        path: options.input,
        sampleRate: header.sampleRate,
        channels: header.channels,
        samplesPerChannel: header.samplesPerChannel,
        durationMs: header.durationMs,
        frames: result.totalFrames,
        frameSamples: FRAME_SAMPLES
      },
      options: { realtime: options.realtime, seed: options.seed },
      faults: {
        spec: plan.faultSpec ?? null,
        rules: plan.faults,
        injected: plan.faults.length > 0,
        injector: injectorNote,
        fired: result.faultsFired.map((f) => ({ point: f.point, rule: f.rule, hit: f.hit }))
      },
      recoveries: {
        count: result.recoveries.length,
        recovered: result.recoveries.filter((e) => e.recovered).length,
        mttrMs: result.recoveries.length === 0 ? null : {
          mean: result.recoveries.reduce((n, e) => n + e.mttrMs, 0) / result.recoveries.length,
          max: Math.max(...result.recoveries.map((e) => e.mttrMs))
        },
        episodes: result.recoveries
      },
      components: result.components,
      startOrder: result.startOrder,
      history: result.history,
      cleanup: result.cleanup,
      locks: {
        order: LockHierarchy.Global.levels.map((level) => ({ rank: level.rank, level: level.name })),
        statistics: lockStatistics,
        heldAtEnd: lockSnapshot.locks.length
      },
      pipeline: pipelineDescription,
      elapsedMs: result.elapsedMs,
      realtimeFactor: result.elapsedMs > 0 ? header.durationMs / result.elapsedMs : null,
      framesCaptured: result.framesCaptured,
      writers: result.writers.map((w) => ({ ...w, path: path.basename(w.path) })),
      segments: Object.fromEntries(Object.entries(result.segments).map(([channel, list]) => [channel, list.length])),
      queues: result.queues,
      buffers: result.buffers,
      pool: result.pool,
      leaks: result.leaks,
      recoveryLog: result.recoveryLog,
      checks,
      verification: result.verification,
      outputs: [...produced, `${recoveryDir}/`]
    }
    yield* writeJson(fs, path.join(staging, "report.json"), report)
    yield* writeText(fs, path.join(staging, "report.md"), Reports.markdown(report))
    yield* writeText(fs, path.join(staging, "report.html"), Reports.html(report))
    return { report, outDir, exitCode }
  }).pipe(Effect.scoped)

const writeText = (fs: FileSystem.FileSystem, file: string, text: string) =>
  fs.writeFileString(file, text).pipe(
    Effect.mapError((error) => new WavWriter.WavWriteError({ path: file, reason: error.message }))
  )

const writeJson = (fs: FileSystem.FileSystem, file: string, value: unknown) =>
  writeText(fs, file, JSON.stringify(value, null, 2) + "\n")
