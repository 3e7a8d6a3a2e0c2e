import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { execFileSync } from "node:child_process"
import { createServer, type Server } from "node:net"
import { FRAME_SAMPLES } from "../src/Frame.js"
import * as WavInput from "../src/WavInput.js"
import { NodeLayer, noise, readChannels, samplePath, tempDir, wavBytes, writeFixture } from "./utils/wav.js"

const failure = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.flip(effect)

describe("WavInput", () => {
  describe("readHeader", () => {
    it.effect("reads the bundled stereo sample", () =>
      Effect.gen(function*() {
        const header = yield* WavInput.readHeader(samplePath)
        assert.strictEqual(header.channels, 2)
        assert.strictEqual(header.sampleRate, 16000)
        assert.strictEqual(header.blockAlign, 4)
        assert.strictEqual(header.dataOffset, 44)
        assert.strictEqual(header.dataBytes, header.fileBytes - 44)
        assert.strictEqual(header.samplesPerChannel, header.dataBytes / 4)
        assert.isTrue(header.durationMs >= 10_000 && header.durationMs <= 30_000)
        assert.isAtMost(header.fileBytes, 2 * 1024 * 1024)
      }).pipe(Effect.provide(NodeLayer)))

    it.scoped("reads a mono file at an odd sample rate", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const path = yield* writeFixture(dir, "mono.wav", wavBytes(1, 11025, "16", [noise(1001, 1)]))
        const header = yield* WavInput.readHeader(path)
        assert.deepStrictEqual(
          { channels: header.channels, sampleRate: header.sampleRate, samples: header.samplesPerChannel },
          { channels: 1, sampleRate: 11025, samples: 1001 }
        )
      }).pipe(Effect.provide(NodeLayer)))

    it.effect("fails with InputNotFound for a missing file", () =>
      Effect.gen(function*() {
        const error = yield* failure(WavInput.readHeader("/nonexistent/input.wav"))
        assert.strictEqual(error._tag, "InputNotFound")
        assert.strictEqual(error.message, "input file not found: /nonexistent/input.wav")
        assert.isTrue(WavInput.isWavInputError(error))
      }).pipe(Effect.provide(NodeLayer)))

    it.scoped("fails with InputReadError naming what the input is when it is not a regular file", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const fifo = `${dir}/pipe.wav`
        execFileSync("mkfifo", [fifo])
        const socket = `${dir}/socket.wav`
        yield* Effect.acquireRelease(
          Effect.async<Server>((resume) => {
            const server = createServer().listen(socket, () => resume(Effect.succeed(server)))
          }),
          (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
        )
        const cases: Array<[string, string]> = [
          [dir, "a directory"],
          ["/dev/null", "a character device"],
          [fifo, "a FIFO (named pipe)"],
          [socket, "a socket"]
        ]
        for (const [path, what] of cases) {
          const error = yield* failure(WavInput.readHeader(path))
          assert.strictEqual(error._tag, "InputReadError", path)
          assert.strictEqual(error.message, `cannot read input ${path}: it is ${what}, not a file`)
        }
      }).pipe(Effect.provide(NodeLayer)))

    it.scoped("fails with NotAWavFile for text, an empty file, a RIFF file of another form, or no data chunk", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const cases: Array<[string, Uint8Array | string, string]> = [
          ["text.wav", "hello, this is not audio\n", "it starts with \"hell\", not \"RIFF\""],
          ["empty.wav", "", "the file is empty"],
          ["avi.wav", "RIFF\x04\x00\x00\x00AVI ", "it is a RIFF \"AVI \" file, not \"WAVE\""],
          ["nodata.wav", wavBytes(1, 8000, "16", [[1, 2]]).slice(0, 36), "it has no \"data\" chunk"]
        ]
        for (const [name, bytes, reason] of cases) {
          const path = yield* writeFixture(dir, name, bytes)
          const error = yield* failure(WavInput.readHeader(path))
          assert.strictEqual(error._tag, "NotAWavFile", name)
          assert.strictEqual(error.message, `input is not a WAV file: ${path}: ${reason}`)
        }
      }).pipe(Effect.provide(NodeLayer)))

    it.scoped("fails with UnsupportedWavEncoding for every encoding but 16-bit integer PCM", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const cases: Array<[string, Uint8Array, string]> = [
          ["u8.wav", wavBytes(1, 8000, "8", [[128, 129, 130]]), "8-bit integer PCM"],
          ["s24.wav", wavBytes(2, 48000, "24", [[1, 2], [3, 4]]), "24-bit integer PCM"],
          ["s32.wav", wavBytes(1, 48000, "32", [[1, 2]]), "32-bit integer PCM"],
          ["f32.wav", wavBytes(1, 44100, "32f", [[0.5, -0.5]]), "32-bit IEEE float"],
          ["mulaw.wav", wavBytes(1, 8000, "8m", [[1, 2, 3, 4]]), "mu-law"],
          ["alaw.wav", wavBytes(1, 8000, "8a", [[1, 2, 3, 4]]), "A-law"],
          ["adpcm.wav", wavBytes(1, 8000, "4", [noise(1010, 2)]), "IMA ADPCM"],
          ["rifx.wav", wavBytes(1, 8000, "16", [[1, 2]], { container: "RIFX" }), "big-endian RIFX container"],
          ["quad.wav", wavBytes(4, 8000, "16", [[1], [2], [3], [4]]), "16-bit integer PCM with 4 channels"]
        ]
        for (const [name, bytes, encoding] of cases) {
          const path = yield* writeFixture(dir, name, bytes)
          const error = yield* failure(WavInput.readHeader(path))
          assert.strictEqual(error._tag, "UnsupportedWavEncoding", name)
          assert.strictEqual(error._tag === "UnsupportedWavEncoding" && error.encoding, encoding, name)
        }
      }).pipe(Effect.provide(NodeLayer)))

    it.scoped("fails with TruncatedWavFile when the data chunk declares more bytes than the file has", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const whole = wavBytes(2, 16000, "16", [noise(1000, 3), noise(1000, 4)])
        const path = yield* writeFixture(dir, "cut.wav", whole.slice(0, whole.length - 1001))
        const error = yield* failure(WavInput.readHeader(path))
        assert.deepStrictEqual(
          error._tag === "TruncatedWavFile" && [error.chunk, error.declaredBytes, error.availableBytes],
          ["data", 4000, 2999]
        )
        assert.strictEqual(
          error.message,
          `input WAV file is truncated: ${path}: its "data" chunk declares 4000 bytes but only 2999 are present`
        )
      }).pipe(Effect.provide(NodeLayer)))

    it.scoped("fails with TruncatedWavFile when a chunk before the data runs past the end", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const path = yield* writeFixture(dir, "cut-fmt.wav", wavBytes(1, 8000, "16", [[1, 2]]).slice(0, 30))
        const error = yield* failure(WavInput.readHeader(path))
        assert.strictEqual(error._tag, "TruncatedWavFile")
        assert.strictEqual(error._tag === "TruncatedWavFile" && error.chunk, "fmt ")
      }).pipe(Effect.provide(NodeLayer)))
  })

  describe("frames", () => {
    it.effect("cuts the sample into 480-sample frames with consecutive sequence numbers and a short last frame", () =>
      Effect.gen(function*() {
        const header = yield* WavInput.readHeader(samplePath)
        const frames = Chunk.toReadonlyArray(yield* Stream.runCollect(WavInput.frames(header)))
        const expected = readChannels(samplePath).channels
        assert.strictEqual(frames.length, WavInput.frameCount(header.samplesPerChannel))
        assert.strictEqual(frames.length, Math.ceil(header.samplesPerChannel / FRAME_SAMPLES))
        frames.forEach((frame, seq) => {
          assert.strictEqual(frame.seq, seq)
          assert.strictEqual(frame.startSample, seq * FRAME_SAMPLES)
        })
        assert.strictEqual(frames.at(-1)!.length, header.samplesPerChannel - (frames.length - 1) * FRAME_SAMPLES)
        for (let c = 0; c < 2; c++) {
          const joined = new Int16Array(header.samplesPerChannel)
          for (const frame of frames) joined.set(frame.channels[c]!, frame.startSample)
          assert.deepStrictEqual(joined, expected[c])
        }
      }).pipe(Effect.provide(NodeLayer)))

    it.scoped("gives the same frames whatever the read size, and resumes from a sequence number", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const path = yield* writeFixture(dir, "mono.wav", wavBytes(1, 22050, "16", [noise(10_000, 5)]))
        const header = yield* WavInput.readHeader(path)
        const collect = (options: WavInput.FrameOptions) =>
          Effect.map(Stream.runCollect(WavInput.frames(header, options)), Chunk.toReadonlyArray)
        const byOne = yield* collect({ framesPerRead: 1 })
        const byMany = yield* collect({ framesPerRead: 7 })
        const resumed = yield* collect({ fromSeq: 15, framesPerRead: 4 })
        assert.strictEqual(byOne.length, 21)
        assert.deepStrictEqual(byMany, byOne)
        assert.deepStrictEqual(resumed, byOne.slice(15))
        assert.deepStrictEqual(byOne[20]!.channels[0], Int16Array.from(noise(10_000, 5).slice(9600)))
      }).pipe(Effect.provide(NodeLayer)))

    it.scoped("a cursor reports its position and ends with None", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const path = yield* writeFixture(dir, "short.wav", wavBytes(2, 8000, "16", [[1, 2, 3], [4, 5, 6]]))
        const header = yield* WavInput.readHeader(path)
        const cursor = yield* WavInput.openFrames(header)
        assert.strictEqual(cursor.totalFrames, 1)
        const first = yield* cursor.next
        assert.deepStrictEqual(
          Option.map(first, (f) => f.channels),
          Option.some([Int16Array.of(1, 2, 3), Int16Array.of(4, 5, 6)])
        )
        assert.strictEqual(cursor.nextSeq(), 1)
        assert.isTrue(Option.isNone(yield* cursor.next))
      }).pipe(Effect.provide(NodeLayer)))
  })
})
