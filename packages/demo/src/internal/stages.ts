/**
 * The pipeline's stage objects, which do not know how they are orchestrated: {@link makeCapture} (the frame source)
 * and {@link makeProcessor} (one channel's voice activity detection).
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type { ChannelFrame, ChannelName, Frame, FrameSequenceGap } from "../Frame.js"
import * as Vad from "../Vad.js"
import * as WavInput from "../WavInput.js"

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
