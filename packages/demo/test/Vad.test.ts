import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import type { ChannelFrame } from "../src/Frame.js"
import * as Vad from "../src/Vad.js"

const rate = 16000

/** A square wave of amplitude `amplitude` (its RMS level is `20 log10(amplitude / 32768)` dBFS). */
const square = (amplitude: number, length = 480): Int16Array =>
  Int16Array.from({ length }, (_, i) => (i % 2 === 0 ? amplitude : -amplitude))

/** Frames of 480 samples from runs of `[frames, amplitude]`. */
const framesOf = (runs: ReadonlyArray<readonly [number, number]>): Array<ChannelFrame> => {
  const frames: Array<ChannelFrame> = []
  for (const [count, amplitude] of runs) {
    for (let i = 0; i < count; i++) {
      const seq = frames.length
      frames.push({ channel: "left", seq, startSample: seq * 480, samples: square(amplitude) })
    }
  }
  return frames
}

const detect = (frames: Iterable<ChannelFrame>, config?: Vad.VadConfig) =>
  Either.getOrThrow(Vad.detect(Vad.initial({ channel: "left", sampleRate: rate, config }), frames))

const spans = (segments: ReadonlyArray<Vad.Segment>) => segments.map((s) => [s.startMs, s.endMs])

const loud = 3000 // -20.8 dBFS
const between = 368 // -39.0 dBFS: under the on threshold (-36), over the off threshold (-42)

describe("Vad", () => {
  it("measures a frame's RMS level in dBFS", () => {
    assert.strictEqual(Vad.levelDbfs(new Int16Array(480).fill(-32768)), 0)
    assert.closeTo(Vad.levelDbfs(square(between)), -39, 0.01)
    assert.strictEqual(Vad.levelDbfs(new Int16Array(480)), -Infinity)
    assert.strictEqual(Vad.levelDbfs(new Int16Array(0)), -Infinity)
  })

  it("finds tone bursts, bridges short pauses, drops short bursts and closes a run open at the end", () => {
    const frames = framesOf([[10, 0], [20, loud], [5, 0], [10, loud], [20, 0], [3, loud], [20, 0], [10, loud]])
    const segments = detect(frames)
    assert.deepStrictEqual(spans(segments), [[300, 1350], [2640, 2940]])
    assert.deepStrictEqual(
      segments.map((s) => [s.channel, s.startSample, s.endSample]),
      [["left", 4800, 21600], ["left", 42240, 47040]]
    )
  })

  it("has hysteresis: a level between the thresholds neither starts speech nor ends it", () => {
    const frames = framesOf([[5, 0], [10, between], [10, loud], [15, between], [15, 0]])
    assert.deepStrictEqual(spans(detect(frames)), [[450, 1200]])
  })

  it("follows its configuration: a shorter hangover splits, a longer minimum drops", () => {
    const frames = framesOf([[10, 0], [20, loud], [5, 0], [10, loud], [20, 0]])
    assert.deepStrictEqual(spans(detect(frames, { ...Vad.defaultConfig, hangoverMs: 120 })), [[300, 900], [1050, 1350]])
    assert.deepStrictEqual(spans(detect(frames, { ...Vad.defaultConfig, minSpeechMs: 1100 })), [])
  })

  it("is deterministic", () => {
    const frames = framesOf([[3, 0], [12, loud], [30, 0], [8, loud], [2, between], [20, 0]])
    assert.deepStrictEqual(detect(frames), detect(frames))
  })

  it("ignores a re-delivered frame and refuses a gap", () => {
    const frames = framesOf([[3, loud]])
    const first = Either.getOrThrow(Vad.step(Vad.initial({ channel: "left", sampleRate: rate }), frames[0]!))
    const again = Either.getOrThrow(Vad.step(first.state, frames[0]!))
    assert.strictEqual(again.state, first.state)
    assert.deepStrictEqual(again.segments, [])
    const gap = Vad.step(first.state, frames[2]!)
    assert.isTrue(Either.isLeft(gap))
    assert.deepStrictEqual(
      Either.isLeft(gap) && [gap.left.stage, gap.left.expected, gap.left.received],
      ["processor", 1, 2]
    )
    assert.isTrue(Either.isRight(Vad.step(frames[1]!)(first.state)))
  })

  it("resumes from a JSON checkpoint exactly where it stopped", () => {
    const frames = framesOf([[10, 0], [20, loud], [5, 0], [10, loud], [20, 0], [30, loud], [15, 0]])
    const expected = detect(frames)
    let state = Vad.initial({ channel: "left", sampleRate: rate })
    const found: Array<Vad.Segment> = []
    for (const frame of frames.slice(0, 40)) {
      const result = Either.getOrThrow(Vad.step(state, frame))
      state = result.state
      found.push(...result.segments)
    }
    const restored: Vad.VadState = JSON.parse(JSON.stringify(state))
    assert.deepStrictEqual(restored, state)
    const rest = Either.getOrThrow(Vad.detect(restored, frames.slice(38)))
    assert.deepStrictEqual([...found, ...rest], expected)
  })

  it("refuses an inconsistent configuration", () => {
    assert.throws(
      () => Vad.initial({ channel: "left", sampleRate: rate, config: { ...Vad.defaultConfig, offThresholdDbfs: -30 } }),
      /must not exceed onThresholdDbfs/
    )
    assert.throws(() => Vad.initial({ channel: "left", sampleRate: 0 }), /sampleRate/)
  })
})
