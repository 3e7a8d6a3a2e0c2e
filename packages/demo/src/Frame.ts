/**
 * Frames: the unit of audio that moves through the demo's pipeline.
 *
 * The capture stage reads the input in frames of {@link FRAME_SAMPLES} samples per channel (480 samples, 30 ms at
 * 16 kHz: the `BufferConfig` default of the application the design comes from). Every frame carries a sequence
 * number, so a stage that sees a frame twice (after a recovery re-delivers it) can skip it, and a stage that sees a
 * frame too early knows one was lost.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * Samples per channel in a full frame. The last frame of an input may be shorter.
 *
 * @since 0.1.0
 * @category models
 */
export const FRAME_SAMPLES = 480

/**
 * The speakers of the demo: a stereo input has `left` and `right`, a mono input only `left`.
 *
 * @since 0.1.0
 * @category models
 */
export type ChannelName = "left" | "right"

/**
 * The channels of an input with `count` channels, in file order.
 *
 * @since 0.1.0
 * @category getters
 */
export const channelNames = (count: 1 | 2): ReadonlyArray<ChannelName> => count === 1 ? ["left"] : ["left", "right"]

/**
 * One frame of every channel, as the capture stage reads it.
 *
 * - `seq`: 0-based sequence number; frame `seq` starts at sample `seq * FRAME_SAMPLES`.
 * - `startSample`: index of the frame's first sample in each channel.
 * - `channels`: one array of `length` samples per channel, de-interleaved, in file order.
 *
 * @since 0.1.0
 * @category models
 */
export interface Frame {
  readonly seq: number
  readonly startSample: number
  readonly length: number
  readonly channels: ReadonlyArray<Int16Array>
}

/**
 * The part of a {@link Frame} that belongs to one channel: what the per-channel processor and writer receive.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChannelFrame {
  readonly channel: ChannelName
  readonly seq: number
  readonly startSample: number
  readonly samples: Int16Array
}

/**
 * The channel `index` of a frame, named after its position (0 is `left`, 1 is `right`).
 *
 * @since 0.1.0
 * @category getters
 */
export const channelFrame = (frame: Frame, index: number): ChannelFrame => {
  const samples = frame.channels[index]
  if (samples === undefined) {
    throw new RangeError(`frame ${frame.seq} has no channel ${index}`)
  }
  return { channel: index === 0 ? "left" : "right", seq: frame.seq, startSample: frame.startSample, samples }
}

/**
 * A stage received frame `received` while it still expected frame `expected`: a frame was lost on the way, which
 * the pipeline must never allow. (A frame it has already seen, `received < expected`, is a harmless re-delivery and
 * is skipped instead.)
 *
 * @since 0.1.0
 * @category errors
 */
export class FrameSequenceGap extends Data.TaggedError("FrameSequenceGap")<{
  readonly stage: string
  readonly channel: ChannelName
  readonly expected: number
  readonly received: number
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${this.stage} (${this.channel}): frame ${this.received} arrived while frame ${this.expected} was expected, ` +
      `so ${this.received - this.expected} frame(s) were lost`
  }
}
