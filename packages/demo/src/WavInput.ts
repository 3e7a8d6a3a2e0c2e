/**
 * Reading the demo's input: a 16-bit integer PCM WAV file, mono or stereo, any sample rate.
 *
 * The header is validated with the `wavefile` library (`fmt ` chunk, container and form type). wavefile 11 does not
 * expose where the `data` chunk starts, so this module walks the RIFF chunk headers itself (8 bytes each) to find it,
 * and checks truncation itself: the declared size of the `data` chunk against the bytes the file really has.
 *
 * Samples are never loaded whole: {@link openFrames} reads the `data` chunk from disk in blocks of a few frames, so
 * memory stays flat however long the input is (a 1-hour 48 kHz stereo file is about 690 MB). Samples are viewed as
 * native `Int16Array`s: WAV is little-endian, like every platform Node runs on (x64, arm64).
 *
 * @since 0.1.0
 */
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import wavefile from "wavefile"
import { FRAME_SAMPLES } from "./Frame.js"
import type { Frame } from "./Frame.js"

/**
 * The input file does not exist.
 *
 * @since 0.1.0
 * @category errors
 */
export class InputNotFound extends Data.TaggedError("InputNotFound")<{ readonly path: string }> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `input file not found: ${this.path}`
  }
}

/**
 * The input exists but could not be read (a directory, no permission, an I/O error, or a file that changed while the
 * demo was reading it).
 *
 * @since 0.1.0
 * @category errors
 */
export class InputReadError extends Data.TaggedError("InputReadError")<{
  readonly path: string
  readonly reason: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `cannot read input ${this.path}: ${this.reason}`
  }
}

/**
 * The input is not a WAV file, or its RIFF structure is broken (`reason` says how).
 *
 * @since 0.1.0
 * @category errors
 */
export class NotAWavFile extends Data.TaggedError("NotAWavFile")<{
  readonly path: string
  readonly reason: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `input is not a WAV file: ${this.path}: ${this.reason}`
  }
}

/**
 * The input is a WAV file in an encoding the demo does not read: anything but 16-bit integer PCM with one or two
 * channels (for example 8-bit or 24-bit PCM, 32-bit float, A-law, mu-law, ADPCM, or a big-endian RIFX container).
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsupportedWavEncoding extends Data.TaggedError("UnsupportedWavEncoding")<{
  readonly path: string
  /** What the file holds, e.g. `"8-bit integer PCM"` or `"IMA ADPCM"`. */
  readonly encoding: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `unsupported WAV encoding in ${this.path}: ${this.encoding} (the demo reads 16-bit integer PCM, mono or stereo)`
  }
}

/**
 * The input ends before the end its header declares: the chunk `chunk` declares `declaredBytes` bytes but only
 * `availableBytes` follow it in the file.
 *
 * @since 0.1.0
 * @category errors
 */
export class TruncatedWavFile extends Data.TaggedError("TruncatedWavFile")<{
  readonly path: string
  readonly chunk: string
  readonly declaredBytes: number
  readonly availableBytes: number
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `input WAV file is truncated: ${this.path}: its "${this.chunk}" chunk declares ${this.declaredBytes} bytes ` +
      `but only ${this.availableBytes} are present`
  }
}

/**
 * Every way reading the input can fail.
 *
 * @since 0.1.0
 * @category errors
 */
export type WavInputError = InputNotFound | InputReadError | NotAWavFile | UnsupportedWavEncoding | TruncatedWavFile

const wavInputErrorTags: ReadonlySet<string> = new Set([
  "InputNotFound",
  "InputReadError",
  "NotAWavFile",
  "UnsupportedWavEncoding",
  "TruncatedWavFile"
])

/**
 * Whether `u` is one of the {@link WavInputError}s.
 *
 * @since 0.1.0
 * @category guards
 */
export const isWavInputError = (u: unknown): u is WavInputError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && wavInputErrorTags.has(u._tag)

/**
 * What the demo needs to know about a validated input.
 *
 * - `sampleRate`: samples per second per channel (Hz).
 * - `channels`: 1 or 2; `blockAlign`: bytes per sample frame (`2 * channels`).
 * - `dataOffset`: byte offset of the first sample; `dataBytes`: size of the sample data in bytes.
 * - `samplesPerChannel`: `dataBytes / blockAlign`; `durationMs`: their duration in milliseconds.
 * - `fileBytes`: size of the whole file in bytes.
 *
 * @since 0.1.0
 * @category models
 */
export interface WavHeader {
  readonly path: string
  readonly sampleRate: number
  readonly channels: 1 | 2
  readonly blockAlign: number
  readonly dataOffset: number
  readonly dataBytes: number
  readonly samplesPerChannel: number
  readonly durationMs: number
  readonly fileBytes: number
}

/**
 * The largest header (all chunks before `data`) the reader accepts, in bytes.
 *
 * @since 0.1.0
 * @category models
 */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024

interface FmtChunk {
  readonly audioFormat: number
  readonly numChannels: number
  readonly sampleRate: number
  readonly blockAlign: number
  readonly bitsPerSample: number
  readonly subformat: ReadonlyArray<number>
}

const formatNames: Readonly<Record<number, string>> = {
  0x0002: "Microsoft ADPCM",
  0x0003: "IEEE float",
  0x0006: "A-law",
  0x0007: "mu-law",
  0x0011: "IMA ADPCM",
  0x0031: "GSM 6.10",
  0x0050: "MPEG audio",
  0x0055: "MPEG layer 3 (MP3)"
}

const WAVE_FORMAT_PCM = 0x0001
const WAVE_FORMAT_EXTENSIBLE = 0xfffe

const ascii = (bytes: Uint8Array, start: number, end: number): string =>
  String.fromCharCode(...bytes.subarray(start, end))

const printable = (s: string): string => /^[\x20-\x7e]*$/.test(s) ? `"${s}"` : JSON.stringify(s)

const describeSystemError = (error: PlatformError.PlatformError): string =>
  error._tag === "SystemError"
    ? error.reason === "PermissionDenied"
      ? "permission denied"
      : error.description ?? error.reason
    : error.description ?? error.message

/** What a path that is not a regular file is, in words, for {@link InputReadError}. */
const fileTypeNames: Readonly<Record<FileSystem.File.Type, string>> = {
  File: "a file",
  Directory: "a directory",
  SymbolicLink: "a symbolic link",
  BlockDevice: "a block device",
  CharacterDevice: "a character device",
  FIFO: "a FIFO (named pipe)",
  Socket: "a socket",
  Unknown: "of an unknown file type"
}

/** The encoding a `fmt ` chunk describes, or `undefined` when it is 16-bit integer PCM with one or two channels. */
const unsupportedEncoding = (fmt: FmtChunk): string | undefined => {
  const format = fmt.audioFormat === WAVE_FORMAT_EXTENSIBLE ? (fmt.subformat[0] ?? 0) : fmt.audioFormat
  if (format === 0x0003) {
    return `${fmt.bitsPerSample}-bit IEEE float`
  }
  if (format !== WAVE_FORMAT_PCM) {
    return formatNames[format] ?? `WAVE format tag 0x${format.toString(16).padStart(4, "0")}`
  }
  if (fmt.bitsPerSample !== 16) {
    return `${fmt.bitsPerSample}-bit integer PCM`
  }
  if (fmt.numChannels !== 1 && fmt.numChannels !== 2) {
    return `16-bit integer PCM with ${fmt.numChannels} channels`
  }
  return undefined
}

/**
 * Reads and validates the header of the WAV file at `path` without reading its samples.
 *
 * Fails with {@link InputNotFound} when there is no such file, {@link InputReadError} when it cannot be read,
 * {@link NotAWavFile} when it is not a RIFF/WAVE file or its chunk structure is broken, {@link UnsupportedWavEncoding}
 * for anything but 16-bit integer PCM with one or two channels, and {@link TruncatedWavFile} when a chunk (most often
 * `data`) declares more bytes than the file holds.
 *
 * @example
 * ```ts
 * import { WavInput } from "@core-stability/demo"
 * import { NodeFileSystem } from "@effect/platform-node"
 * import { Effect } from "effect"
 *
 * const header = WavInput.readHeader("assets/sample-stereo.wav").pipe(Effect.provide(NodeFileSystem.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const readHeader = (path: string): Effect.Effect<WavHeader, WavInputError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(path).pipe(
      Effect.mapError((error) =>
        error._tag === "SystemError" && error.reason === "NotFound"
          ? new InputNotFound({ path })
          : new InputReadError({ path, reason: describeSystemError(error) })
      )
    )
    if (info.type !== "File") {
      return yield* new InputReadError({ path, reason: `it is ${fileTypeNames[info.type]}, not a file` })
    }
    const fileBytes = Number(info.size)
    return yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(path, { flag: "r" }).pipe(
        Effect.mapError((error) => new InputReadError({ path, reason: describeSystemError(error) }))
      )
      const riff = new Uint8Array(12)
      const riffBytes = yield* readFully(file, path, 0, riff)
      const container = ascii(riff, 0, Math.min(4, riffBytes))
      if (container === "RIFX") {
        return yield* new UnsupportedWavEncoding({ path, encoding: "big-endian RIFX container" })
      }
      if (container === "RF64") {
        return yield* new UnsupportedWavEncoding({ path, encoding: "RF64 container (files over 4 GiB)" })
      }
      if (container !== "RIFF") {
        return yield* new NotAWavFile({
          path,
          reason: riffBytes === 0 ? "the file is empty" : `it starts with ${printable(container)}, not "RIFF"`
        })
      }
      if (riffBytes < 12) {
        return yield* new NotAWavFile({ path, reason: `the file is only ${fileBytes} bytes, too short for a header` })
      }
      const form = ascii(riff, 8, 12)
      if (form !== "WAVE") {
        return yield* new NotAWavFile({ path, reason: `it is a RIFF ${printable(form)} file, not "WAVE"` })
      }

      // Walk the chunk headers up to the data chunk.
      let offset = 12
      let dataOffset = -1
      let declaredDataBytes = 0
      const chunkHeader = new Uint8Array(8)
      const view = new DataView(chunkHeader.buffer)
      while (dataOffset < 0) {
        const n = yield* readFully(file, path, offset, chunkHeader)
        if (n < 8) {
          return yield* new NotAWavFile({ path, reason: "it has no \"data\" chunk" })
        }
        const id = ascii(chunkHeader, 0, 4)
        const size = view.getUint32(4, true)
        if (id === "data") {
          dataOffset = offset + 8
          declaredDataBytes = size
        } else {
          const next = offset + 8 + size + (size & 1)
          if (offset + 8 + size > fileBytes) {
            return yield* new TruncatedWavFile({
              path,
              chunk: id,
              declaredBytes: size,
              availableBytes: fileBytes - offset - 8
            })
          }
          if (next > MAX_HEADER_BYTES) {
            return yield* new NotAWavFile({
              path,
              reason: `its chunks before "data" take more than ${MAX_HEADER_BYTES} bytes`
            })
          }
          offset = next
        }
      }

      // Hand everything up to the first sample to wavefile: it validates the container and parses "fmt ".
      const headerBytes = new Uint8Array(dataOffset)
      yield* readFully(file, path, 0, headerBytes)
      const fmt = yield* Effect.try({
        try: () => {
          const wav = new wavefile.WaveFile()
          wav.fromBuffer(headerBytes, false)
          return wav.fmt as FmtChunk
        },
        catch: (error) =>
          new NotAWavFile({ path, reason: error instanceof Error ? error.message : "its header cannot be parsed" })
      })
      const encoding = unsupportedEncoding(fmt)
      if (encoding !== undefined) {
        return yield* new UnsupportedWavEncoding({ path, encoding })
      }
      const channels = fmt.numChannels as 1 | 2
      const blockAlign = 2 * channels
      if (fmt.blockAlign !== blockAlign) {
        return yield* new NotAWavFile({
          path,
          reason:
            `its block size is ${fmt.blockAlign} bytes, but ${channels} channel(s) of 16-bit samples take ${blockAlign}`
        })
      }
      if (fmt.sampleRate <= 0) {
        return yield* new NotAWavFile({ path, reason: "its sample rate is 0 Hz" })
      }
      const availableBytes = fileBytes - dataOffset
      if (declaredDataBytes > availableBytes) {
        return yield* new TruncatedWavFile({ path, chunk: "data", declaredBytes: declaredDataBytes, availableBytes })
      }
      if (declaredDataBytes % blockAlign !== 0) {
        return yield* new NotAWavFile({
          path,
          reason: `its "data" chunk holds ${declaredDataBytes} bytes, not a whole number of ${blockAlign}-byte frames`
        })
      }
      const samplesPerChannel = declaredDataBytes / blockAlign
      return {
        path,
        sampleRate: fmt.sampleRate,
        channels,
        blockAlign,
        dataOffset,
        dataBytes: declaredDataBytes,
        samplesPerChannel,
        durationMs: (samplesPerChannel * 1000) / fmt.sampleRate,
        fileBytes
      } satisfies WavHeader
    }))
  })

/** Reads up to `buffer.length` bytes at `offset`, looping over short reads; returns how many bytes were read. */
const readFully = (
  file: FileSystem.File,
  path: string,
  offset: number,
  buffer: Uint8Array
): Effect.Effect<number, InputReadError> =>
  Effect.gen(function*() {
    yield* file.seek(offset, "start")
    let filled = 0
    while (filled < buffer.length) {
      const n = Number(yield* file.read(buffer.subarray(filled)))
      if (n === 0) {
        break
      }
      filled += n
    }
    return filled
  }).pipe(Effect.mapError((error) => new InputReadError({ path, reason: describeSystemError(error) })))

/**
 * Options of {@link openFrames} and {@link frames}.
 *
 * - `fromSeq`: the first frame to read (default 0); a restarted capture resumes from its checkpoint this way.
 * - `frameSamples`: samples per channel in a frame (default {@link FRAME_SAMPLES}, 480).
 * - `framesPerRead`: frames read from disk at once (default 64; about 120 KiB for 480-sample stereo frames).
 *
 * @since 0.1.0
 * @category models
 */
export interface FrameOptions {
  readonly fromSeq?: number | undefined
  readonly frameSamples?: number | undefined
  readonly framesPerRead?: number | undefined
}

/**
 * A reader of an input's frames, in order. One consumer at a time: `next` is not safe to run concurrently.
 *
 * - `totalFrames`: frames in the whole input (the last one may be short).
 * - `nextSeq`: the sequence number the next `next` returns.
 * - `next`: the next frame, or `None` after the last one.
 *
 * @since 0.1.0
 * @category models
 */
export interface FrameCursor {
  readonly header: WavHeader
  readonly frameSamples: number
  readonly totalFrames: number
  readonly nextSeq: () => number
  readonly next: Effect.Effect<Option.Option<Frame>, InputReadError>
}

/**
 * Frames in an input of `samplesPerChannel` samples per channel cut into frames of `frameSamples`.
 *
 * @since 0.1.0
 * @category getters
 */
export const frameCount = (samplesPerChannel: number, frameSamples: number = FRAME_SAMPLES): number =>
  Math.ceil(samplesPerChannel / frameSamples)

/**
 * Opens the input described by `header` and returns a {@link FrameCursor} over its frames. The file stays open until
 * the scope closes. The sample data is read from disk `framesPerRead` frames at a time into one reused buffer and
 * de-interleaved into one array per channel per read; each frame's `Int16Array`s are views into those arrays.
 *
 * Fails with {@link InputReadError} when the file cannot be opened, or later from `next` when it cannot be read or
 * has become shorter than its header says. Dies (a programming error) when `frameSamples` or `framesPerRead` is not
 * a positive integer.
 *
 * @since 0.1.0
 * @category constructors
 */
export const openFrames = (
  header: WavHeader,
  options?: FrameOptions
): Effect.Effect<FrameCursor, InputReadError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const frameSamples = options?.frameSamples ?? FRAME_SAMPLES
    const framesPerRead = options?.framesPerRead ?? 64
    if (!Number.isInteger(frameSamples) || frameSamples < 1) {
      return yield* Effect.dieMessage(`frameSamples must be a positive integer, got ${frameSamples}`)
    }
    if (!Number.isInteger(framesPerRead) || framesPerRead < 1) {
      return yield* Effect.dieMessage(`framesPerRead must be a positive integer, got ${framesPerRead}`)
    }
    const totalFrames = frameCount(header.samplesPerChannel, frameSamples)
    const fs = yield* FileSystem.FileSystem
    const path = header.path
    const file = yield* fs.open(path, { flag: "r" }).pipe(
      Effect.mapError((error) => new InputReadError({ path, reason: describeSystemError(error) }))
    )
    const { blockAlign, channels } = header
    const buffer = new Uint8Array(framesPerRead * frameSamples * blockAlign)
    let nextSeq = Math.min(Math.max(0, options?.fromSeq ?? 0), totalFrames)
    let pending: Array<Frame> = []
    let pendingIndex = 0

    const readBlock = Effect.gen(function*() {
      const firstSeq = nextSeq
      const startSample = firstSeq * frameSamples
      const samples = Math.min(framesPerRead * frameSamples, header.samplesPerChannel - startSample)
      const bytes = samples * blockAlign
      const read = yield* readFully(file, path, header.dataOffset + startSample * blockAlign, buffer.subarray(0, bytes))
      if (read < bytes) {
        return yield* new InputReadError({
          path,
          reason: `the file ended at byte ${header.dataOffset + startSample * blockAlign + read}, ` +
            `before the ${header.dataBytes} bytes of samples its header declares (did it change while being read?)`
        })
      }
      const interleaved = new Int16Array(buffer.buffer, 0, samples * channels)
      // One array per channel for the whole block; each frame is a view into it (few, large allocations).
      const planes: Array<Int16Array> = []
      for (let c = 0; c < channels; c++) {
        const plane = new Int16Array(samples)
        for (let i = 0, j = c; i < samples; i++, j += channels) {
          plane[i] = interleaved[j]!
        }
        planes.push(plane)
      }
      const block: Array<Frame> = []
      for (let start = 0; start < samples; start += frameSamples) {
        const length = Math.min(frameSamples, samples - start)
        block.push({
          seq: firstSeq + block.length,
          startSample: startSample + start,
          length,
          channels: planes.map((plane) => plane.subarray(start, start + length))
        })
      }
      pending = block
      pendingIndex = 0
    })

    const next: Effect.Effect<Option.Option<Frame>, InputReadError> = Effect.suspend(() => {
      if (nextSeq >= totalFrames) {
        return Effect.succeed(Option.none())
      }
      const take = Effect.sync(() => {
        const frame = pending[pendingIndex++]!
        nextSeq = frame.seq + 1
        return Option.some(frame)
      })
      return pendingIndex < pending.length ? take : Effect.zipRight(readBlock, take)
    })

    return {
      header,
      frameSamples,
      totalFrames,
      nextSeq: () => nextSeq,
      next
    } satisfies FrameCursor
  })

/**
 * The frames of the input described by `header`, as a stream (see {@link openFrames}). The file is open while the
 * stream runs.
 *
 * @since 0.1.0
 * @category constructors
 */
export const frames = (
  header: WavHeader,
  options?: FrameOptions
): Stream.Stream<Frame, InputReadError, FileSystem.FileSystem> =>
  Stream.unwrapScoped(Effect.map(openFrames(header, options), (cursor) =>
    Stream.repeatEffectOption(
      Effect.flatMap(
        Effect.mapError(cursor.next, Option.some),
        Option.match({ onNone: () => Effect.fail(Option.none()), onSome: Effect.succeed })
      )
    )))
