/**
 * The end-of-run checks. Each is computed independently of the pipeline
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
import { Buffer } from "node:buffer"
import { channelFrame, channelNames } from "../Frame.js"
import type { Frame } from "../Frame.js"
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

/** An output to compare with one channel of the input: its path, the input channel's index, the check's name. */
export interface ChannelOutput {
  readonly index: number
  readonly path: string
  readonly name: string
}

const sameBytes = (a: Int16Array, b: Int16Array): boolean =>
  a.length === b.length &&
  Buffer.compare(
      new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
      new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
    ) === 0

/**
 * The checks of the outputs against the input, in one pass over the input: for each output, whether the mono WAV file
 * holds exactly its channel of the input, sample for sample (it is read back through the same validating reader as
 * the input, so a malformed header fails its check too); then whether `segments` equal what a separate, fault-free
 * detector pass over the input finds (the detector runs on the same frames as the comparison).
 */
export const outputsMatch = (
  input: WavInput.WavHeader,
  outputs: ReadonlyArray<ChannelOutput>,
  segments: Readonly<Record<string, ReadonlyArray<Vad.Segment>>>,
  config?: Vad.VadConfig | undefined
): Effect.Effect<ReadonlyArray<Check>, never, FileSystem.FileSystem> =>
  Effect.scoped(Effect.gen(function*() {
    const segmentsName = "segments.json equals a separate fault-free detector pass over the input"
    // Per output: its cursor while it still matches, or the check's failure.
    const results: Array<Check | undefined> = outputs.map(() => undefined)
    const cursors: Array<WavInput.FrameCursor | undefined> = []
    for (const [i, output] of outputs.entries()) {
      const opened = yield* Effect.either(Effect.gen(function*() {
        const header = yield* WavInput.readHeader(output.path)
        if (header.channels !== 1 || header.sampleRate !== input.sampleRate) {
          return `${output.path} is ${header.channels}-channel at ${header.sampleRate} Hz, expected mono at ` +
            `${input.sampleRate} Hz`
        }
        if (header.samplesPerChannel !== input.samplesPerChannel) {
          return `${output.path} holds ${header.samplesPerChannel} samples, the input channel ${input.samplesPerChannel}`
        }
        return yield* WavInput.openFrames(header, { framesPerRead })
      }))
      const failure = Either.isLeft(opened)
        ? opened.left.message
        : typeof opened.right === "string"
        ? opened.right
        : undefined
      if (failure !== undefined) results[i] = { name: output.name, ok: false, detail: failure }
      cursors.push(Either.isRight(opened) && typeof opened.right !== "string" ? opened.right : undefined)
    }
    const read = yield* Effect.either(Effect.gen(function*() {
      const cursor = yield* WavInput.openFrames(input, { framesPerRead })
      const detector = referenceDetector(input, config)
      while (true) {
        const frame = yield* cursor.next
        if (Option.isNone(frame)) break
        yield* detector.feed(frame.value)
        for (const [i, output] of outputs.entries()) {
          const outputCursor = cursors[i]
          if (outputCursor === undefined || results[i] !== undefined) continue
          const got = yield* Effect.either(outputCursor.next)
          if (Either.isLeft(got) || Option.isNone(got.right)) {
            results[i] = {
              name: output.name,
              ok: false,
              detail: Either.isLeft(got) ? got.left.message : `${output.path} ended early`
            }
            continue
          }
          const want = frame.value.channels[output.index]!
          const have = got.right.value.channels[0]!
          if (!sameBytes(want, have)) {
            let at = 0
            while (at < want.length && want[at] === have[at]) at++
            results[i] = {
              name: output.name,
              ok: false,
              detail: `first difference at sample ${frame.value.startSample + at}: ${have[at]} instead of ${want[at]}`
            }
          }
        }
      }
      return detector.finish()
    }))
    const channelChecks = outputs.map((output, i): Check =>
      results[i] ??
        (Either.isLeft(read)
          ? { name: output.name, ok: false, detail: read.left.message }
          : { name: output.name, ok: true, detail: `${input.samplesPerChannel} samples identical` })
    )
    return [
      ...channelChecks,
      Either.isLeft(read)
        ? { name: segmentsName, ok: false, detail: read.left.message }
        : compareSegments(read.right, segments)
    ]
  }))

const compareSegments = (
  reference: Readonly<Record<string, ReadonlyArray<Vad.Segment>>>,
  segments: Readonly<Record<string, ReadonlyArray<Vad.Segment>>>
): Check => {
  const name = "segments.json equals a separate fault-free detector pass over the input"
  for (const channel of Object.keys(reference)) {
    if (JSON.stringify(reference[channel]) !== JSON.stringify(segments[channel] ?? [])) {
      return { name, ok: false, detail: `${channel} channel differs` }
    }
  }
  const counts = Object.entries(reference).map(([channel, list]) => `${channel} ${list.length}`).join(", ")
  return { name, ok: true, detail: `segments: ${counts}` }
}

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
    const detector = referenceDetector(input, config)
    while (true) {
      const frame = yield* cursor.next
      if (Option.isNone(frame)) {
        break
      }
      yield* detector.feed(frame.value)
    }
    return detector.finish()
  }))

/** The reference detector: one fresh `Vad` state per channel of the input, fed whole frames. */
const referenceDetector = (input: WavInput.WavHeader, config: Vad.VadConfig | undefined) => {
  const channels = channelNames(input.channels)
  const states = channels.map((channel) => Vad.initial({ channel, sampleRate: input.sampleRate, config }))
  const segments: Record<string, Array<Vad.Segment>> = Object.fromEntries(channels.map((c) => [c, []]))
  return {
    feed: (frame: Frame): Effect.Effect<void> => {
      for (let i = 0; i < channels.length; i++) {
        const result = Vad.step(states[i]!, channelFrame(frame, i))
        if (Either.isLeft(result)) {
          return Effect.dieMessage(`reference VAD pass: ${result.left.message}`)
        }
        states[i] = result.right.state
        segments[channels[i]!]!.push(...result.right.segments)
      }
      return Effect.void
    },
    finish: (): Readonly<Record<string, ReadonlyArray<Vad.Segment>>> => {
      channels.forEach((channel, i) => segments[channel]!.push(...Vad.flush(states[i]!).segments))
      return segments
    }
  }
}

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
 * Whether the run left nothing behind: no lock held or awaited (the lock registry's snapshot is empty), every
 * component `Stopped` in the `ComponentCoordinator` with nothing in its leak report (no allocation, no live worker),
 * no buffer of the `ResourcePool` in use (every frame's sample buffer released by its writer), the `BufferManager`
 * closed holding no buffer, and the shutdown through the CleanupCoordinator completed.
 */
export const nothingLeft = (result: RunResult, locks: LockRegistry.LockSnapshot): Check => {
  const running = result.components.filter((component) => component.state !== "Stopped")
  const problems = [
    ...(locks.locks.length > 0 ? [`${locks.locks.length} lock(s) still held or awaited`] : []),
    ...running.map((component) => `${component.name} is ${component.state}`),
    ...(result.leaks.allocations.length > 0
      ? [`${result.leaks.allocations.length} coordinator allocation(s) still held`]
      : []),
    ...(result.leaks.workers.length > 0 ? [`${result.leaks.workers.length} worker(s) still alive`] : []),
    ...(result.pool.inUse > 0
      ? [`${result.pool.inUse} pool buffer(s) still in use (${JSON.stringify(result.pool.owners)})`]
      : []),
    ...(result.buffers.heldBuffers > 0 ? [`the buffer manager holds ${result.buffers.heldBuffers} buffer(s)`] : []),
    ...(result.buffers.status !== "closed" ? [`the buffer manager is ${result.buffers.status}`] : []),
    ...(result.cleanup.status !== "Completed" ? [`cleanup ${result.cleanup.status}`] : [])
  ]
  const allocations = result.pool.tiers.reduce((n, tier) => n + tier.allocations, 0)
  const peak = result.pool.tiers.reduce((n, tier) => n + tier.peak, 0)
  return {
    name: "no lock, resource or fiber left",
    ok: problems.length === 0,
    detail: problems.length === 0
      ? `0 locks busy; ${result.components.length} components Stopped, 0 allocations and 0 workers left; ` +
        `pool "${result.pool.name}": 0 buffers in use after ${allocations} allocations (peak ${peak}); buffer manager closed, ` +
        `0 buffers held; cleanup ${result.cleanup.executionOrder.join(" -> ")} completed`
      : problems.join("; ")
  }
}

/**
 * Whether every `BufferManager` queue balances and is empty: put = taken + dropped (+ size, which is 0), and nothing
 * was dropped. The counters are the manager's own (`BufferManager.stats`); each channel's end-of-stream marker is
 * one item of each queue.
 */
export const queuesBalance = (result: RunResult): Check => {
  const unbalanced = result.queues.filter((q) =>
    q.put !== q.taken + q.dropped + q.size || q.dropped !== 0 || q.size !== 0
  )
  const items = result.queues.reduce((n, q) => n + q.put, 0)
  return {
    name: "queue counters balance (put = taken + dropped, dropped = 0)",
    ok: unbalanced.length === 0,
    detail: unbalanced.length === 0
      ? `${result.queues.length} BufferManager queues (${result.queues.map((q) => q.name).join(", ")}), ` +
        `${items} items through them (${items - result.queues.length} frames and ${result.queues.length} ` +
        `end-of-stream markers), 0 dropped`
      : unbalanced.map((q) => `${q.name}: put ${q.put}, taken ${q.taken}, dropped ${q.dropped}, queued ${q.size}`)
        .join("; ")
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
