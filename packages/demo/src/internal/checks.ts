/**
 * The end-of-run checks the demo can make with what it wires today. Each is computed independently of the pipeline
 * that produced the outputs: the WAV files are read back from disk, the reference segments come from a separate pass
 * of the detector over the input.
 *
 * @since 0.1.0
 */
import type * as LockRegistry from "@core-stability/locks/LockRegistry"
import * as VerificationReport from "@core-stability/monitoring/VerificationReport"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { channelFrame, channelNames } from "../Frame.js"
import * as Vad from "../Vad.js"
import * as WavInput from "../WavInput.js"
import type { RunResult } from "./pipeline.js"

/** One line of the final check list. */
export interface Check {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

const framesPerRead = 256

/**
 * Whether the mono WAV file at `outputPath` holds exactly channel `index` of the input, sample for sample. The output
 * is read back through the same validating reader as the input, so a malformed header fails the check too.
 */
export const channelMatches = (
  input: WavInput.WavHeader,
  index: number,
  outputPath: string,
  name: string
): Effect.Effect<Check, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const output = yield* WavInput.readHeader(outputPath)
    if (output.channels !== 1 || output.sampleRate !== input.sampleRate) {
      return {
        name,
        ok: false,
        detail: `${outputPath} is ${output.channels}-channel at ${output.sampleRate} Hz, ` +
          `expected mono at ${input.sampleRate} Hz`
      }
    }
    if (output.samplesPerChannel !== input.samplesPerChannel) {
      return {
        name,
        ok: false,
        detail: `${outputPath} holds ${output.samplesPerChannel} samples, the input channel ${input.samplesPerChannel}`
      }
    }
    return yield* Effect.scoped(Effect.gen(function*() {
      const expected = yield* WavInput.openFrames(input, { framesPerRead })
      const actual = yield* WavInput.openFrames(output, { framesPerRead })
      while (true) {
        const a = yield* expected.next
        const b = yield* actual.next
        if (Option.isNone(a) || Option.isNone(b)) {
          return { name, ok: true, detail: `${input.samplesPerChannel} samples identical` }
        }
        const want = a.value.channels[index]!
        const got = b.value.channels[0]!
        for (let i = 0; i < want.length; i++) {
          if (want[i] !== got[i]) {
            return {
              name,
              ok: false,
              detail: `first difference at sample ${a.value.startSample + i}: ${got[i]} instead of ${want[i]}`
            }
          }
        }
      }
    }))
  }).pipe(
    Effect.catchAll((error) => Effect.succeed<Check>({ name, ok: false, detail: error.message }))
  )

/**
 * The segments a fault-free, single-pass run of the detector finds in the input: the reference the pipeline's
 * `segments.json` must equal.
 */
export const referenceSegments = (
  input: WavInput.WavHeader,
  config?: Vad.VadConfig | undefined
): Effect.Effect<
  Readonly<Record<string, ReadonlyArray<Vad.Segment>>>,
  WavInput.InputReadError,
  FileSystem.FileSystem
> =>
  Effect.scoped(Effect.gen(function*() {
    const cursor = yield* WavInput.openFrames(input, { framesPerRead })
    const channels = channelNames(input.channels)
    const states = channels.map((channel) => Vad.initial({ channel, sampleRate: input.sampleRate, config }))
    const segments: Record<string, Array<Vad.Segment>> = Object.fromEntries(channels.map((c) => [c, []]))
    while (true) {
      const frame = yield* cursor.next
      if (Option.isNone(frame)) {
        break
      }
      for (let i = 0; i < channels.length; i++) {
        const result = Vad.step(states[i]!, channelFrame(frame.value, i))
        if (Either.isLeft(result)) {
          return yield* Effect.dieMessage(`reference VAD pass: ${result.left.message}`)
        }
        states[i] = result.right.state
        segments[channels[i]!]!.push(...result.right.segments)
      }
    }
    channels.forEach((channel, i) => segments[channel]!.push(...Vad.flush(states[i]!).segments))
    return segments
  }))

/** Whether the pipeline's segments equal the reference pass's, channel by channel. */
export const segmentsMatch = (
  input: WavInput.WavHeader,
  segments: Readonly<Record<string, ReadonlyArray<Vad.Segment>>>,
  config?: Vad.VadConfig | undefined
): Effect.Effect<Check, never, FileSystem.FileSystem> =>
  Effect.map(referenceSegments(input, config), (reference): Check => {
    const name = "segments.json equals a separate fault-free detector pass over the input"
    for (const channel of Object.keys(reference)) {
      const want = JSON.stringify(reference[channel])
      const got = JSON.stringify(segments[channel] ?? [])
      if (want !== got) {
        return { name, ok: false, detail: `${channel} channel differs` }
      }
    }
    const counts = Object.entries(reference).map(([channel, list]) => `${channel} ${list.length}`).join(", ")
    return { name, ok: true, detail: `segments: ${counts}` }
  }).pipe(Effect.catchAll((error) =>
    Effect.succeed<Check>({
      name: "segments.json equals a separate fault-free detector pass over the input",
      ok: false,
      detail: error.message
    })
  ))

/** Whether every writer wrote frames `0 .. totalFrames - 1` exactly once (the writers refuse gaps and skip repeats). */
export const framesComplete = (result: RunResult): Check => {
  const short = result.writers.filter((w) => w.framesWritten !== result.totalFrames)
  return {
    name: "every frame written exactly once per channel",
    ok: short.length === 0 && result.framesCaptured === result.totalFrames,
    detail: short.length === 0
      ? `frames 0..${result.totalFrames - 1} on ${result.writers.map((w) => w.channel).join(" and ")}` +
        `, ${result.writers.reduce((n, w) => n + w.duplicatesSkipped, 0)} re-deliveries skipped`
      : short.map((w) => `${w.channel}: ${w.framesWritten} of ${result.totalFrames} frames`).join(", ")
  }
}

/**
 * Whether every fault that fired was recovered: each crash, I/O error and hang has a recovery episode that verified
 * (a delay only slows its stage down and needs none).
 */
export const faultsRecovered = (result: RunResult): Check => {
  const needRecovery = result.faultsFired.filter((f) => f.rule !== "delay")
  const delays = result.faultsFired.length - needRecovery.length
  const failed = result.recoveries.filter((e) => !e.recovered)
  const ok = failed.length === 0 && result.recoveries.length === needRecovery.length
  return {
    name: "every fault recovered",
    ok,
    detail: ok
      ? `${result.faultsFired.length} fault(s) fired: ${result.recoveries.length} recovered` +
        (result.recoveries.length > 0
          ? ` (${result.recoveries.map((e) => `${e.component} ${e.fault}`).join(", ")})`
          : "") +
        `, ${delays} delay(s) absorbed`
      : `${needRecovery.length} fault(s) needed recovery, ${result.recoveries.length} episode(s), ` +
        `${failed.length} not verified`
  }
}

/**
 * Whether the run left nothing behind: no lock held or awaited (the lock registry's snapshot is empty), every worker
 * settled, the shutdown through the CleanupCoordinator completed (input closed, writers finalised).
 */
export const nothingLeft = (result: RunResult, locks: LockRegistry.LockSnapshot): Check => {
  const unsettled = Object.entries(
    Object.fromEntries(result.history.map((h) => [h.component, h.state]))
  ).filter(([, state]) => state !== "finished" && state !== "stopped")
  const problems = [
    ...(locks.locks.length > 0 ? [`${locks.locks.length} lock(s) still held or awaited`] : []),
    ...unsettled.map(([name, state]) => `${name} is ${state}`),
    ...(result.cleanup.status !== "Completed" ? [`cleanup ${result.cleanup.status}`] : [])
  ]
  return {
    name: "no lock, resource or fiber left",
    ok: problems.length === 0,
    detail: problems.length === 0
      ? `0 locks busy, ${unsettled.length} of ${result.components.length} workers running, cleanup ` +
        `${result.cleanup.executionOrder.join(" -> ")} completed`
      : problems.join("; ")
  }
}

/** Whether every queue's counters balance: put = taken + dropped, and nothing was dropped. */
export const queuesBalance = (result: RunResult): Check => {
  const unbalanced = result.queues.filter((q) => q.put !== q.taken + q.dropped || q.dropped !== 0)
  return {
    name: "queue counters balance (put = taken + dropped, dropped = 0)",
    ok: unbalanced.length === 0,
    detail: unbalanced.length === 0
      ? `${result.queues.length} queues, ${result.queues.reduce((n, q) => n + q.put, 0)} frames through them`
      : unbalanced.map((q) => `${q.name}: put ${q.put}, taken ${q.taken}, dropped ${q.dropped}`).join("; ")
  }
}

/** Whether the `SystemVerifier`'s end-of-run report passed (lock liveness, recovery histories, frame counts). */
export const systemVerified = (report: VerificationReport.VerificationReport): Check => {
  const problems = VerificationReport.problems(report)
  return {
    name: "system verification passed (SystemVerifier)",
    ok: report.verdict === "passed",
    detail: report.verdict === "passed"
      ? `${report.checks.length} checks passed: ${report.checks.map((check) => check.name).join(", ")}`
      : `${report.verdict}: ` +
        problems.map((check) => `${check.name} ${check.status}: ${check.details.join("; ")}`).join("; ")
  }
}
