/**
 * Energy-based voice activity detection, one frame at a time.
 *
 * Each frame's level is its RMS in dBFS (0 dBFS is a full-scale square wave, 32768). Detection has hysteresis:
 *
 * - in silence, a frame at or above `onThresholdDbfs` starts a speech run;
 * - in speech, a frame at or above the lower `offThresholdDbfs` keeps it going (it is "voiced");
 * - a run ends once `hangoverMs` have passed since its last voiced frame; it becomes a segment from its first to the
 *   end of its last voiced frame, kept only if it lasts at least `minSpeechMs`.
 *
 * This is the classic energy detector of telephony with two thresholds and a hangover (the smoothing stage of VADs
 * such as ITU-T G.729 Annex B, with frame energy as the only feature). The detector is a pure function of its state
 * and the next frame: {@link step} decides, the caller runs the effects. The state is a plain, JSON-serialisable value, so a processor can checkpoint it and a
 * recovery can restore it and resume exactly where it stopped.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import { FrameSequenceGap } from "./Frame.js"
import type { ChannelFrame, ChannelName } from "./Frame.js"

/**
 * Tuning of the detector. Levels in dBFS, durations in milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface VadConfig {
  /** A frame at or above this level starts speech. */
  readonly onThresholdDbfs: number
  /** In speech, a frame at or above this level is voiced; must not exceed `onThresholdDbfs`. */
  readonly offThresholdDbfs: number
  /** Speech runs shorter than this are dropped (clicks, breaths). */
  readonly minSpeechMs: number
  /** How long speech may fall silent before the run ends (bridges the gaps between words). */
  readonly hangoverMs: number
}

/**
 * The defaults, tuned on the bundled sample (speech around -27 dBFS RMS over a -54 dBFS noise floor): a 300 ms
 * hangover bridges the gaps between words but not the pause after a sentence, so the sample gives four segments
 * per channel.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultConfig: VadConfig = {
  onThresholdDbfs: -36,
  offThresholdDbfs: -42,
  minSpeechMs: 200,
  hangoverMs: 300
}

/**
 * A stretch of speech on one channel, in samples (`startSample` inclusive, `endSample` exclusive) and in milliseconds
 * (rounded to the nearest ms).
 *
 * @since 0.1.0
 * @category models
 */
export interface Segment {
  readonly channel: ChannelName
  readonly startSample: number
  readonly endSample: number
  readonly startMs: number
  readonly endMs: number
}

/**
 * Where the detector is: in silence, or in a speech run that started at `startSample` and was last voiced up to
 * `lastVoicedEnd` (exclusive).
 *
 * @since 0.1.0
 * @category models
 */
export type VadPhase =
  | { readonly _tag: "Silence" }
  | { readonly _tag: "Speech"; readonly startSample: number; readonly lastVoicedEnd: number }

/**
 * The whole state of a detector for one channel: a plain, JSON-serialisable value (a checkpoint).
 *
 * - `nextSeq`: the frame it expects next; `position`: samples consumed so far.
 *
 * @since 0.1.0
 * @category models
 */
export interface VadState {
  readonly channel: ChannelName
  readonly sampleRate: number
  readonly config: VadConfig
  readonly nextSeq: number
  readonly position: number
  readonly phase: VadPhase
}

/**
 * The level of a frame: its RMS in dBFS, or `-Infinity` for digital silence (or no samples).
 *
 * @since 0.1.0
 * @category utils
 */
export const levelDbfs = (samples: Int16Array): number => {
  if (samples.length === 0) {
    return -Infinity
  }
  let sum = 0
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!
    sum += s * s
  }
  const rms = Math.sqrt(sum / samples.length)
  return rms === 0 ? -Infinity : 20 * Math.log10(rms / 32768)
}

/**
 * A fresh detector for `channel` at `sampleRate` Hz. Dies (a programming error) when the configuration is
 * inconsistent: the off threshold above the on threshold, or a negative duration.
 *
 * @example
 * ```ts
 * import { Vad } from "@core-stability/demo"
 *
 * const state = Vad.initial({ channel: "left", sampleRate: 16000 })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const initial = (options: {
  readonly channel: ChannelName
  readonly sampleRate: number
  readonly config?: VadConfig | undefined
}): VadState => {
  const config = options.config ?? defaultConfig
  if (config.offThresholdDbfs > config.onThresholdDbfs) {
    throw new RangeError(
      `offThresholdDbfs (${config.offThresholdDbfs}) must not exceed onThresholdDbfs (${config.onThresholdDbfs})`
    )
  }
  if (!(config.minSpeechMs >= 0) || !(config.hangoverMs >= 0)) {
    throw new RangeError("minSpeechMs and hangoverMs must be non-negative")
  }
  if (!Number.isInteger(options.sampleRate) || options.sampleRate < 1) {
    throw new RangeError(`sampleRate must be a positive integer, got ${options.sampleRate}`)
  }
  return {
    channel: options.channel,
    sampleRate: options.sampleRate,
    config,
    nextSeq: 0,
    position: 0,
    phase: { _tag: "Silence" }
  }
}

const msToSamples = (ms: number, sampleRate: number): number => Math.round((ms * sampleRate) / 1000)

const samplesToMs = (samples: number, sampleRate: number): number => Math.round((samples * 1000) / sampleRate)

const close = (state: VadState, startSample: number, endSample: number): ReadonlyArray<Segment> =>
  endSample - startSample >= msToSamples(state.config.minSpeechMs, state.sampleRate)
    ? [{
      channel: state.channel,
      startSample,
      endSample,
      startMs: samplesToMs(startSample, state.sampleRate),
      endMs: samplesToMs(endSample, state.sampleRate)
    }]
    : []

/**
 * The result of one {@link step}: the next state and the segments that ended with this frame (zero or one).
 *
 * @since 0.1.0
 * @category models
 */
export interface StepResult {
  readonly state: VadState
  readonly segments: ReadonlyArray<Segment>
}

/**
 * Feeds one frame to the detector. A frame already seen (`seq < nextSeq`, a re-delivery) leaves the state unchanged
 * and yields no segment; a frame that skips ahead (`seq > nextSeq`) fails with `FrameSequenceGap`.
 *
 * @example
 * ```ts
 * import { Vad } from "@core-stability/demo"
 * import { Either } from "effect"
 *
 * const state = Vad.initial({ channel: "left", sampleRate: 16000 })
 * const result = Vad.step(state, { channel: "left", seq: 0, startSample: 0, samples: new Int16Array(480) })
 * console.log(Either.isRight(result)) // true
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const step: {
  (frame: ChannelFrame): (state: VadState) => Either.Either<StepResult, FrameSequenceGap>
  (state: VadState, frame: ChannelFrame): Either.Either<StepResult, FrameSequenceGap>
} = dual(2, (state: VadState, frame: ChannelFrame): Either.Either<StepResult, FrameSequenceGap> => {
  if (frame.seq < state.nextSeq) {
    return Either.right({ state, segments: [] })
  }
  if (frame.seq > state.nextSeq) {
    return Either.left(
      new FrameSequenceGap({ stage: "processor", channel: state.channel, expected: state.nextSeq, received: frame.seq })
    )
  }
  const start = state.position
  const end = start + frame.samples.length
  const level = levelDbfs(frame.samples)
  const advanced = { ...state, nextSeq: state.nextSeq + 1, position: end }
  const phase = state.phase
  if (phase._tag === "Silence") {
    return Either.right({
      state: level >= state.config.onThresholdDbfs
        ? { ...advanced, phase: { _tag: "Speech", startSample: start, lastVoicedEnd: end } }
        : advanced,
      segments: []
    })
  }
  if (level >= state.config.offThresholdDbfs) {
    return Either.right({ state: { ...advanced, phase: { ...phase, lastVoicedEnd: end } }, segments: [] })
  }
  if (end - phase.lastVoicedEnd >= msToSamples(state.config.hangoverMs, state.sampleRate)) {
    return Either.right({
      state: { ...advanced, phase: { _tag: "Silence" } },
      segments: close(state, phase.startSample, phase.lastVoicedEnd)
    })
  }
  return Either.right({ state: advanced, segments: [] })
})

/**
 * Ends the input: closes a speech run still open (as if silence followed) and returns its segment, if long enough.
 *
 * @since 0.1.0
 * @category combinators
 */
export const flush = (state: VadState): StepResult =>
  state.phase._tag === "Speech"
    ? {
      state: { ...state, phase: { _tag: "Silence" } },
      segments: close(state, state.phase.startSample, state.phase.lastVoicedEnd)
    }
    : { state, segments: [] }

/**
 * Runs the detector over a whole sequence of frames of one channel (in order, from seq 0) and returns its segments.
 * The reference that a pipeline's output must equal.
 *
 * @since 0.1.0
 * @category combinators
 */
export const detect = (
  initialState: VadState,
  frames: Iterable<ChannelFrame>
): Either.Either<ReadonlyArray<Segment>, FrameSequenceGap> => {
  const segments: Array<Segment> = []
  let state = initialState
  for (const frame of frames) {
    const result = step(state, frame)
    if (Either.isLeft(result)) {
      return Either.left(result.left)
    }
    state = result.right.state
    segments.push(...result.right.segments)
  }
  segments.push(...flush(state).segments)
  return Either.right(segments)
}
