/**
 * The demo's pipeline in its current, single-process form: capture -> per-channel processor -> per-channel writer,
 * each stage an Effect fiber, connected by bounded queues.
 *
 * The stages are built from three stage objects that do not know how they are orchestrated (a frame source, a
 * processor step, a writer step), so a supervisor can replace {@link run}'s wiring without touching them:
 *
 * - {@link makeCapture}: the next frame, optionally paced to real time, resumable from any sequence number;
 * - {@link makeProcessor}: one channel's voice activity detection with a checkpoint/restore of its state;
 * - `WavWriter`: one channel's output, idempotent by sequence number.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { channelFrame, channelNames } from "../Frame.js"
import type { ChannelFrame, ChannelName, Frame, FrameSequenceGap } from "../Frame.js"
import * as Vad from "../Vad.js"
import * as WavInput from "../WavInput.js"
import * as WavWriter from "../WavWriter.js"

/**
 * The capture stage's frame source: `next` yields frames in order (paced to real time if asked), `None` at the end.
 */
export interface Capture {
  readonly totalFrames: number
  readonly nextSeq: () => number
  readonly next: Effect.Effect<Option.Option<Frame>, WavInput.InputReadError>
}

/**
 * Opens the input for capture from frame `fromSeq`. With `realtime`, frame `k` is released no earlier than
 * `k - fromSeq` frame durations after the first one (480 samples at 16 kHz: 30 ms), as a sound card would.
 */
export const makeCapture = (
  header: WavInput.WavHeader,
  options: { readonly realtime: boolean; readonly fromSeq?: number | undefined }
): Effect.Effect<Capture, WavInput.InputReadError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const cursor = yield* WavInput.openFrames(header, { fromSeq: options.fromSeq })
    if (!options.realtime) {
      return { totalFrames: cursor.totalFrames, nextSeq: cursor.nextSeq, next: cursor.next }
    }
    const frameMs = (cursor.frameSamples * 1000) / header.sampleRate
    const firstSeq = cursor.nextSeq()
    let startedAt: number | undefined
    const next = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      if (startedAt === undefined) {
        startedAt = now
      }
      const due = startedAt + (cursor.nextSeq() - firstSeq) * frameMs
      if (due > now) {
        yield* Effect.sleep(due - now)
      }
      return yield* cursor.next
    })
    return { totalFrames: cursor.totalFrames, nextSeq: cursor.nextSeq, next }
  })

/**
 * One channel's processor: voice activity detection over its frames.
 *
 * - `process`: feeds a frame (re-deliveries are ignored) and returns the segments it closed;
 * - `finish`: closes a segment still open at the end of the input;
 * - `checkpoint` / `restore`: the detector's state as a plain value, for a restart to resume from;
 * - `segments`: every segment found so far, in order.
 */
export interface Processor {
  readonly channel: ChannelName
  readonly process: (frame: ChannelFrame) => Effect.Effect<ReadonlyArray<Vad.Segment>, FrameSequenceGap>
  readonly finish: Effect.Effect<ReadonlyArray<Vad.Segment>>
  readonly checkpoint: Effect.Effect<Vad.VadState>
  readonly restore: (state: Vad.VadState) => Effect.Effect<void>
  readonly segments: Effect.Effect<ReadonlyArray<Vad.Segment>>
}

/** A processor for `channel` starting from a fresh detector. */
export const makeProcessor = (
  channel: ChannelName,
  sampleRate: number,
  config?: Vad.VadConfig | undefined
): Effect.Effect<Processor> =>
  Effect.gen(function*() {
    const state = yield* Ref.make(Vad.initial({ channel, sampleRate, config }))
    const found = yield* Ref.make<ReadonlyArray<Vad.Segment>>([])
    const record = (segments: ReadonlyArray<Vad.Segment>) =>
      segments.length === 0
        ? Effect.succeed(segments)
        : Effect.as(Ref.update(found, (all) => [...all, ...segments]), segments)
    return {
      channel,
      process: (frame) =>
        Ref.modify(
          state,
          (current): readonly [Either.Either<ReadonlyArray<Vad.Segment>, FrameSequenceGap>, Vad.VadState] => {
            const result = Vad.step(current, frame)
            return Either.isLeft(result)
              ? [Either.left(result.left), current]
              : [Either.right(result.right.segments), result.right.state]
          }
        ).pipe(Effect.flatMap((result) => Either.match(result, { onLeft: Effect.fail, onRight: record }))),
      finish: Ref.modify(state, (current) => {
        const result = Vad.flush(current)
        return [result.segments, result.state] as const
      }).pipe(Effect.flatMap(record)),
      checkpoint: Ref.get(state),
      restore: (restored) => Ref.set(state, restored),
      segments: Ref.get(found)
    }
  })

/** Frames put into and taken out of one bounded queue; `dropped` counts frames a full queue refused (never here). */
export interface QueueCounters {
  readonly name: string
  readonly capacity: number
  readonly put: number
  readonly taken: number
  readonly dropped: number
}

/** The lifecycle of a stage fiber in this pipeline. */
export type StageStatus = "waiting" | "running" | "finished" | "stopped"

/** A snapshot of a running pipeline, for a progress display. */
export interface Progress {
  readonly totalFrames: number
  readonly captured: number
  readonly written: Readonly<Record<string, number>>
  readonly segments: Readonly<Record<string, number>>
  readonly stages: Readonly<Record<string, StageStatus>>
}

/** Options of {@link run}. */
export interface RunOptions {
  readonly header: WavInput.WavHeader
  /** Directory the outputs (`left.wav`, `right.wav`) are written to; it must exist. */
  readonly dir: string
  readonly realtime: boolean
  /** Polled before each frame; once it yields `true` capture stops, and the frames captured are still written. */
  readonly shouldStop?: Effect.Effect<boolean> | undefined
  /** Frames each queue holds (default 64). */
  readonly queueCapacity?: number | undefined
  readonly vadConfig?: Vad.VadConfig | undefined
  /** Called every `progressIntervalMs` (default 100 ms) while the pipeline runs, and once at the end. */
  readonly onProgress?: ((progress: Progress) => Effect.Effect<void>) | undefined
  readonly progressIntervalMs?: number | undefined
}

/** What a run produced. `status` is `stopped` when `shouldStop` ended capture before the end of the input. */
export interface RunResult {
  readonly status: "completed" | "stopped"
  readonly channels: ReadonlyArray<ChannelName>
  readonly totalFrames: number
  readonly framesCaptured: number
  readonly writers: ReadonlyArray<WavWriter.WavWriterSummary>
  readonly segments: Readonly<Record<string, ReadonlyArray<Vad.Segment>>>
  readonly queues: ReadonlyArray<QueueCounters>
  readonly elapsedMs: number
}

interface CountedQueue {
  readonly name: string
  readonly capacity: number
  readonly queue: Queue.Queue<Option.Option<ChannelFrame>>
  put: number
  taken: number
}

const makeQueue = (name: string, capacity: number): Effect.Effect<CountedQueue> =>
  Effect.map(Queue.bounded<Option.Option<ChannelFrame>>(capacity), (queue) => ({
    name,
    capacity,
    queue,
    put: 0,
    taken: 0
  }))

const offer = (q: CountedQueue, item: Option.Option<ChannelFrame>) =>
  Effect.map(Queue.offer(q.queue, item), () => {
    if (Option.isSome(item)) q.put++
  })

const take = (q: CountedQueue) =>
  Effect.map(Queue.take(q.queue), (item) => {
    if (Option.isSome(item)) q.taken++
    return item
  })

/**
 * Runs the pipeline over the input described by `header`, writing `left.wav` (and `right.wav` for a stereo input)
 * into `dir`. Every writer is finalised when the run ends, however it ends, so the files are valid WAV files even
 * after an interruption.
 */
export const run = (
  options: RunOptions
): Effect.Effect<
  RunResult,
  WavInput.InputReadError | WavWriter.WavWriteError | FrameSequenceGap,
  FileSystem.FileSystem
> =>
  Effect.scoped(Effect.gen(function*() {
    const { header } = options
    const startedAt = yield* Clock.currentTimeMillis
    const channels = channelNames(header.channels)
    const capacity = options.queueCapacity ?? 64
    const capture = yield* makeCapture(header, { realtime: options.realtime })
    const stages: Record<string, StageStatus> = { capture: "waiting" }
    const lanes = yield* Effect.forEach(channels, (channel) =>
      Effect.gen(function*() {
        stages[`processor-${channel}`] = "waiting"
        stages[`writer-${channel}`] = "waiting"
        return {
          channel,
          processor: yield* makeProcessor(channel, header.sampleRate, options.vadConfig),
          writer: yield* WavWriter.make({
            path: `${options.dir}/${channel}.wav`,
            channel,
            sampleRate: header.sampleRate
          }),
          toProcessor: yield* makeQueue(`capture-${channel}`, capacity),
          toWriter: yield* makeQueue(`processor-${channel}`, capacity),
          segmentCount: 0
        }
      }))
    let captured = 0
    let stopped = false

    const captureStage = Effect.gen(function*() {
      stages.capture = "running"
      while (true) {
        if (options.shouldStop !== undefined && (yield* options.shouldStop)) {
          stopped = true
          break
        }
        const frame = yield* capture.next
        if (Option.isNone(frame)) {
          break
        }
        for (let i = 0; i < lanes.length; i++) {
          yield* offer(lanes[i]!.toProcessor, Option.some(channelFrame(frame.value, i)))
        }
        captured++
      }
      for (const lane of lanes) {
        yield* offer(lane.toProcessor, Option.none())
      }
      stages.capture = stopped ? "stopped" : "finished"
    })

    const processorStage = (lane: typeof lanes[number]) =>
      Effect.gen(function*() {
        stages[`processor-${lane.channel}`] = "running"
        while (true) {
          const item = yield* take(lane.toProcessor)
          if (Option.isNone(item)) {
            break
          }
          lane.segmentCount += (yield* lane.processor.process(item.value)).length
          yield* offer(lane.toWriter, item)
        }
        lane.segmentCount += (yield* lane.processor.finish).length
        yield* offer(lane.toWriter, Option.none())
        stages[`processor-${lane.channel}`] = stopped ? "stopped" : "finished"
      })

    const writerStage = (lane: typeof lanes[number]) =>
      Effect.gen(function*() {
        stages[`writer-${lane.channel}`] = "running"
        while (true) {
          const item = yield* take(lane.toWriter)
          if (Option.isNone(item)) {
            break
          }
          yield* lane.writer.write(item.value)
        }
        stages[`writer-${lane.channel}`] = stopped ? "stopped" : "finished"
      })

    const progress = Effect.gen(function*() {
      const written: Record<string, number> = {}
      const segments: Record<string, number> = {}
      for (const lane of lanes) {
        written[lane.channel] = yield* lane.writer.nextSeq
        segments[lane.channel] = lane.segmentCount
      }
      return { totalFrames: capture.totalFrames, captured, written, segments, stages: { ...stages } } satisfies Progress
    })
    const report = options.onProgress
    if (report !== undefined) {
      yield* Effect.forkScoped(
        Effect.flatMap(progress, report).pipe(
          Effect.repeat(Schedule.spaced(options.progressIntervalMs ?? 100))
        )
      )
    }

    yield* Effect.all(
      [captureStage, ...lanes.map(processorStage), ...lanes.map(writerStage)],
      { concurrency: "unbounded", discard: true }
    )
    const writers = yield* Effect.forEach(lanes, (lane) => lane.writer.finalize)
    if (report !== undefined) {
      yield* Effect.flatMap(progress, report)
    }
    const segments: Record<string, ReadonlyArray<Vad.Segment>> = {}
    for (const lane of lanes) {
      segments[lane.channel] = yield* lane.processor.segments
    }
    const queues = lanes.flatMap((lane) => [lane.toProcessor, lane.toWriter]).map((q): QueueCounters => ({
      name: q.name,
      capacity: q.capacity,
      put: q.put,
      taken: q.taken,
      dropped: 0
    }))
    return {
      status: stopped ? "stopped" : "completed",
      channels,
      totalFrames: capture.totalFrames,
      framesCaptured: captured,
      writers,
      segments,
      queues,
      elapsedMs: (yield* Clock.currentTimeMillis) - startedAt
    } satisfies RunResult
  }))
