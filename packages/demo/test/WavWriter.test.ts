import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import { readFileSync } from "node:fs"
import type { ChannelFrame } from "../src/Frame.js"
import * as WavInput from "../src/WavInput.js"
import * as WavWriter from "../src/WavWriter.js"
import { NodeLayer, noise, readChannels, tempDir } from "./utils/wav.js"

const signal = Int16Array.from(noise(480 * 10, 7))
const frame = (seq: number, length = 480): ChannelFrame => ({
  channel: "left",
  seq,
  startSample: seq * 480,
  samples: signal.slice(seq * 480, seq * 480 + length)
})

/** The RIFF and data sizes a file's header declares, and its size on disk. */
const sizes = (path: string) => {
  const bytes = readFileSync(path)
  return { riff: bytes.readUInt32LE(4), data: bytes.readUInt32LE(40), file: bytes.length }
}

describe("WavWriter", () => {
  it("builds the canonical 44-byte header", () => {
    const header = WavWriter.header({ channels: 2, sampleRate: 48000, dataBytes: 1920 })
    const view = Buffer.from(header)
    assert.strictEqual(header.length, 44)
    assert.strictEqual(view.toString("latin1", 0, 4), "RIFF")
    assert.strictEqual(view.readUInt32LE(4), 36 + 1920)
    assert.strictEqual(view.toString("latin1", 8, 16), "WAVEfmt ")
    assert.deepStrictEqual(
      [view.readUInt16LE(20), view.readUInt16LE(22), view.readUInt32LE(24), view.readUInt32LE(28)],
      [1, 2, 48000, 192000]
    )
    assert.deepStrictEqual([view.readUInt16LE(32), view.readUInt16LE(34)], [4, 16])
    assert.strictEqual(view.toString("latin1", 36, 40), "data")
    assert.strictEqual(view.readUInt32LE(40), 1920)
  })

  it.scoped("writes frames in order and finalises a WAV file that holds exactly them", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = `${dir}/left.wav`
      const writer = yield* WavWriter.make({ path, channel: "left", sampleRate: 16000, bufferBytes: 1000 })
      for (let seq = 0; seq < 9; seq++) {
        assert.strictEqual(yield* writer.write(frame(seq)), "written")
      }
      yield* writer.write(frame(9, 100))
      const summary = yield* writer.finalize
      assert.deepStrictEqual(summary, {
        path,
        channel: "left",
        sampleRate: 16000,
        framesWritten: 10,
        samplesWritten: 4420,
        dataBytes: 8840,
        duplicatesSkipped: 0
      })
      assert.deepStrictEqual(sizes(path), { riff: 36 + 8840, data: 8840, file: 44 + 8840 })
      const read = readChannels(path)
      assert.strictEqual(read.sampleRate, 16000)
      assert.deepStrictEqual(read.channels[0], signal.slice(0, 4420))
      const header = yield* WavInput.readHeader(path)
      assert.strictEqual(header.samplesPerChannel, 4420)
      assert.deepStrictEqual(yield* writer.finalize, summary)
    }).pipe(Effect.provide(NodeLayer)))

  it.scoped("skips a re-delivered frame and refuses a gap", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const writer = yield* WavWriter.make({ path: `${dir}/right.wav`, channel: "right", sampleRate: 8000 })
      yield* writer.write(frame(0))
      yield* writer.write(frame(1))
      assert.strictEqual(yield* writer.write(frame(0)), "duplicate")
      assert.strictEqual(yield* writer.write(frame(1)), "duplicate")
      const gap = yield* Effect.flip(writer.write(frame(3)))
      assert.strictEqual(gap._tag, "FrameSequenceGap")
      assert.deepStrictEqual(
        gap._tag === "FrameSequenceGap" && [gap.stage, gap.channel, gap.expected, gap.received],
        ["writer", "right", 2, 3]
      )
      assert.strictEqual(
        gap.message,
        "writer (right): frame 3 arrived while frame 2 was expected, so 1 frame(s) were lost"
      )
      assert.strictEqual(yield* writer.nextSeq, 2)
      yield* writer.write(frame(2))
      const summary = yield* writer.finalize
      assert.deepStrictEqual([summary.framesWritten, summary.duplicatesSkipped], [3, 2])
      assert.deepStrictEqual(readChannels(`${dir}/right.wav`).channels[0], signal.slice(0, 1440))
      const late = yield* Effect.flip(writer.write(frame(3)))
      assert.strictEqual(late.message, `cannot write ${dir}/right.wav: frame 3 arrived after the file was finalised`)
    }).pipe(Effect.provide(NodeLayer)))

  it.scoped("finalises a valid WAV file with the frames written so far when its scope closes early", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = `${dir}/partial.wav`
      const scope = yield* Scope.make()
      const writer = yield* Scope.extend(WavWriter.make({ path, channel: "left", sampleRate: 16000 }), scope)
      for (let seq = 0; seq < 4; seq++) yield* writer.write(frame(seq))
      // Before the scope closes the header still says 0 bytes: the samples sit in the buffer.
      assert.strictEqual(sizes(path).data, 0)
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(sizes(path), { riff: 36 + 3840, data: 3840, file: 44 + 3840 })
      assert.deepStrictEqual(readChannels(path).channels[0], signal.slice(0, 1920))
    }).pipe(Effect.provide(NodeLayer)))

  it.scoped("finalises the output when the fiber writing it is interrupted", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = `${dir}/interrupted.wav`
      const written = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const writer = yield* WavWriter.make({ path, channel: "left", sampleRate: 16000 })
        yield* writer.write(frame(0))
        yield* writer.write(frame(1))
        yield* Deferred.succeed(written, undefined)
        return yield* Effect.never
      })))
      yield* Deferred.await(written)
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(sizes(path), { riff: 36 + 1920, data: 1920, file: 44 + 1920 })
    }).pipe(Effect.provide(NodeLayer)))

  it.scoped("fails with WavWriteError when the file cannot be created", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const error = yield* Effect.flip(
        WavWriter.make({ path: `${dir}/missing/left.wav`, channel: "left", sampleRate: 16000 })
      )
      assert.strictEqual(error._tag, "WavWriteError")
      assert.include(error.message, `cannot write ${dir}/missing/left.wav`)
    }).pipe(Effect.provide(NodeLayer)))
})
