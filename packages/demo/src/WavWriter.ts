/**
 * Writing one channel of the demo's output as a mono 16-bit PCM WAV file, frame by frame.
 *
 * The writer writes the canonical 44-byte header (`RIFF` size, `WAVE`, a 16-byte `fmt ` chunk, `data` size) itself,
 * with both sizes 0, appends the samples as they come (buffered, `bufferBytes` at a time), and patches both sizes when
 * it is finalised. Finalising runs when the writer's scope closes too, so even an interrupted run leaves a valid WAV
 * file holding every frame written so far.
 *
 * Writes are idempotent by sequence number: a frame whose `seq` was already written (a re-delivery after a recovery)
 * is skipped, and a frame that arrives early (a lost frame in between) fails with `FrameSequenceGap`.
 *
 * @since 0.1.0
 */
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { FrameSequenceGap } from "./Frame.js"
import type { ChannelFrame, ChannelName } from "./Frame.js"

/**
 * Size of the canonical WAV header the writer produces, in bytes.
 *
 * @since 0.1.0
 * @category models
 */
export const HEADER_BYTES = 44

/**
 * The largest `data` chunk a RIFF file can describe, in bytes (its size fields are 32-bit).
 *
 * @since 0.1.0
 * @category models
 */
export const MAX_DATA_BYTES = 0xffffffff - (HEADER_BYTES - 8)

/**
 * Writing or finalising an output file failed (`reason` says why).
 *
 * @since 0.1.0
 * @category errors
 */
export class WavWriteError extends Data.TaggedError("WavWriteError")<{
  readonly path: string
  readonly reason: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `cannot write ${this.path}: ${this.reason}`
  }
}

/**
 * What a writer has written: `framesWritten` frames with sequence numbers `0 .. framesWritten - 1`, holding
 * `samplesWritten` samples (`dataBytes` bytes), and how many re-delivered frames it skipped.
 *
 * @since 0.1.0
 * @category models
 */
export interface WavWriterSummary {
  readonly path: string
  readonly channel: ChannelName
  readonly sampleRate: number
  readonly framesWritten: number
  readonly samplesWritten: number
  readonly dataBytes: number
  readonly duplicatesSkipped: number
}

/**
 * What {@link WavWriter.write} did with a frame: appended it, or skipped it because its `seq` was already written.
 *
 * @since 0.1.0
 * @category models
 */
export type WriteOutcome = "written" | "duplicate"

/**
 * A streaming writer of one channel.
 *
 * - `nextSeq`: the sequence number the writer expects next (the number of frames written so far).
 * - `write`: appends a frame (see the module docs for sequence handling); fails with {@link WavWriteError} after
 *   `finalize` or on an I/O error. A frame that fits the buffer is appended in one synchronous step, without a lock;
 *   a write that must flush the buffer first, and `finalize`, are serialised by the writer's lock.
 * - `finalize`: flushes, patches the header sizes and syncs the file; later calls return the same summary.
 *
 * @since 0.1.0
 * @category models
 */
export interface WavWriter {
  readonly path: string
  readonly channel: ChannelName
  readonly sampleRate: number
  readonly nextSeq: Effect.Effect<number>
  readonly write: (frame: ChannelFrame) => Effect.Effect<WriteOutcome, FrameSequenceGap | WavWriteError>
  readonly finalize: Effect.Effect<WavWriterSummary, WavWriteError>
}

/**
 * Options of {@link make}.
 *
 * - `path`: the file to create (replaced if it exists).
 * - `channel`: the channel it holds; `sampleRate`: in Hz.
 * - `bufferBytes`: how many bytes of samples to collect before writing them (default 64 KiB).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly path: string
  readonly channel: ChannelName
  readonly sampleRate: number
  readonly bufferBytes?: number | undefined
}

/**
 * The canonical 44-byte header of a 16-bit PCM WAV file whose `data` chunk holds `dataBytes` bytes.
 *
 * @example
 * ```ts
 * import { WavWriter } from "@core-stability/demo"
 *
 * const header = WavWriter.header({ channels: 1, sampleRate: 16000, dataBytes: 960 })
 * console.log(header.length) // 44
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const header = (options: {
  readonly channels: number
  readonly sampleRate: number
  readonly dataBytes: number
}): Uint8Array => {
  const bytes = new Uint8Array(HEADER_BYTES)
  const view = new DataView(bytes.buffer)
  const blockAlign = 2 * options.channels
  const tag = (offset: number, text: string) => {
    for (let i = 0; i < 4; i++) bytes[offset + i] = text.charCodeAt(i)
  }
  tag(0, "RIFF")
  view.setUint32(4, HEADER_BYTES - 8 + options.dataBytes, true)
  tag(8, "WAVE")
  tag(12, "fmt ")
  view.setUint32(16, 16, true)
  view.setUint16(20, 1, true)
  view.setUint16(22, options.channels, true)
  view.setUint32(24, options.sampleRate, true)
  view.setUint32(28, options.sampleRate * blockAlign, true)
  view.setUint16(32, blockAlign, true)
  view.setUint16(34, 16, true)
  tag(36, "data")
  view.setUint32(40, options.dataBytes, true)
  return bytes
}

const describe = (error: PlatformError.PlatformError): string =>
  error._tag === "SystemError" ? error.description ?? error.reason : error.description ?? error.message

const uint32 = (value: number): Uint8Array => {
  const bytes = new Uint8Array(4)
  new DataView(bytes.buffer).setUint32(0, value, true)
  return bytes
}

/**
 * Creates the file `options.path` with an empty WAV header and returns a writer for it. The file is finalised (see
 * {@link WavWriter}) and closed when the scope closes, whatever the reason.
 *
 * Fails with {@link WavWriteError} when the file cannot be created.
 *
 * @example
 * ```ts
 * import { WavWriter } from "@core-stability/demo"
 * import { NodeFileSystem } from "@effect/platform-node"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const writer = yield* WavWriter.make({ path: "out/left.wav", channel: "left", sampleRate: 16000 })
 *   yield* writer.write({ channel: "left", seq: 0, startSample: 0, samples: new Int16Array(480) })
 *   return yield* writer.finalize
 * }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<WavWriter, WavWriteError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const { channel, path, sampleRate } = options
    const bufferBytes = options.bufferBytes ?? 64 * 1024
    if (!Number.isInteger(sampleRate) || sampleRate < 1) {
      return yield* Effect.dieMessage(`sampleRate must be a positive integer, got ${sampleRate}`)
    }
    if (!Number.isInteger(bufferBytes) || bufferBytes < 2) {
      return yield* Effect.dieMessage(`bufferBytes must be an integer of at least 2, got ${bufferBytes}`)
    }
    const fail = (reason: string) => new WavWriteError({ path, reason })
    const io = <A, R>(effect: Effect.Effect<A, PlatformError.PlatformError, R>) =>
      Effect.mapError(effect, (error) => fail(describe(error)))

    const fs = yield* FileSystem.FileSystem
    const file = yield* io(fs.open(path, { flag: "w" }))
    yield* io(file.writeAll(header({ channels: 1, sampleRate, dataBytes: 0 })))

    const lock = yield* Effect.makeSemaphore(1)
    const buffer = new Uint8Array(bufferBytes)
    let buffered = 0
    let dataBytes = 0
    let framesWritten = 0
    let duplicatesSkipped = 0
    let summary: WavWriterSummary | undefined

    const flush: Effect.Effect<void, WavWriteError> = Effect.suspend(() => {
      if (buffered === 0) {
        return Effect.void
      }
      const chunk = buffer.subarray(0, buffered)
      return io(file.writeAll(chunk)).pipe(Effect.tap(() => {
        buffered = 0
      }))
    })

    const append = (bytes: Uint8Array): Effect.Effect<void, WavWriteError> =>
      Effect.suspend(() => {
        if (buffered + bytes.length <= buffer.length) {
          buffer.set(bytes, buffered)
          buffered += bytes.length
          return Effect.void
        }
        return Effect.zipRight(flush, bytes.length <= buffer.length ? append(bytes) : io(file.writeAll(bytes)))
      })

    // The checks of a write that need no I/O: the outcome, or the bytes to append.
    const admit = (frame: ChannelFrame): Effect.Effect<WriteOutcome, FrameSequenceGap | WavWriteError> | Uint8Array => {
      if (summary !== undefined) {
        return Effect.fail(fail(`frame ${frame.seq} arrived after the file was finalised`))
      }
      if (frame.seq < framesWritten) {
        duplicatesSkipped++
        return Effect.succeed<WriteOutcome>("duplicate")
      }
      if (frame.seq > framesWritten) {
        return Effect.fail(
          new FrameSequenceGap({ stage: "writer", channel, expected: framesWritten, received: frame.seq })
        )
      }
      const bytes = new Uint8Array(frame.samples.buffer, frame.samples.byteOffset, frame.samples.byteLength)
      if (dataBytes + bytes.length > MAX_DATA_BYTES) {
        return Effect.fail(fail(`frame ${frame.seq} would take the file past the 4 GiB limit of a RIFF file`))
      }
      return bytes
    }

    // `busy` is true while a fiber is inside the lock (possibly suspended on I/O with `buffer` in use).
    let busy = false
    const locked = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      lock.withPermits(1)(
        Effect.suspend(() => {
          busy = true
          return Effect.ensuring(
            effect,
            Effect.sync(() => {
              busy = false
            })
          )
        })
      )

    const writeLocked = (frame: ChannelFrame): Effect.Effect<WriteOutcome, FrameSequenceGap | WavWriteError> =>
      locked(Effect.suspend((): Effect.Effect<WriteOutcome, FrameSequenceGap | WavWriteError> => {
        const admitted = admit(frame)
        if (!(admitted instanceof Uint8Array)) {
          return admitted
        }
        return Effect.as(
          Effect.tap(append(admitted), () => {
            dataBytes += admitted.length
            framesWritten++
          }),
          "written" as const
        )
      }))

    // The common case takes one synchronous step and no lock: nobody is inside the lock, and the frame fits in the
    // buffer (or is decided without touching it). A synchronous step cannot interleave with another fiber, so it sees
    // and leaves the writer consistent. Anything that needs I/O goes through the lock.
    const write = (frame: ChannelFrame): Effect.Effect<WriteOutcome, FrameSequenceGap | WavWriteError> =>
      Effect.suspend(() => {
        if (busy || frame.samples.byteLength + buffered > buffer.length) {
          return writeLocked(frame)
        }
        const admitted = admit(frame)
        if (!(admitted instanceof Uint8Array)) {
          return admitted
        }
        buffer.set(admitted, buffered)
        buffered += admitted.length
        dataBytes += admitted.length
        framesWritten++
        return Effect.succeed<WriteOutcome>("written")
      })

    const finalize: Effect.Effect<WavWriterSummary, WavWriteError> = locked(Effect.suspend(() => {
      if (summary !== undefined) {
        return Effect.succeed(summary)
      }
      return Effect.gen(function*() {
        yield* flush
        yield* io(file.seek(4, "start"))
        yield* io(file.writeAll(uint32(HEADER_BYTES - 8 + dataBytes)))
        yield* io(file.seek(40, "start"))
        yield* io(file.writeAll(uint32(dataBytes)))
        yield* io(file.seek(HEADER_BYTES + dataBytes, "start"))
        yield* io(file.sync)
        summary = {
          path,
          channel,
          sampleRate,
          framesWritten,
          samplesWritten: dataBytes / 2,
          dataBytes,
          duplicatesSkipped
        }
        return summary
      })
    }))

    yield* Effect.addFinalizer(() => Effect.ignore(finalize))

    return {
      path,
      channel,
      sampleRate,
      nextSeq: Effect.sync(() => framesWritten),
      write,
      finalize
    } satisfies WavWriter
  })
