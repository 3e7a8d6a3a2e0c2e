import * as FaultInjector from "@core-stability/testing/FaultInjector"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { channelFrame } from "../src/Frame.js"
import * as Checks from "../src/internal/checks.js"
import * as Pipeline from "../src/internal/pipeline.js"
import * as WavInput from "../src/WavInput.js"
import { NodeLayer, noise, readChannels, samplePath, tempDir, wavBytes, writeFixture } from "./utils/wav.js"

describe("Pipeline", () => {
  it.scoped("writes both channels bit for bit and finds the reference segments", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const header = yield* WavInput.readHeader(samplePath)
      const progress: Array<Pipeline.Progress> = []
      const result = yield* Pipeline.run({
        header,
        dir,
        realtime: false,
        queueCapacity: 8,
        onProgress: (p) => Effect.sync(() => progress.push(p))
      })
      assert.strictEqual(result.status, "completed")
      assert.deepStrictEqual(result.channels, ["left", "right"])
      assert.strictEqual(result.framesCaptured, result.totalFrames)
      assert.deepStrictEqual(result.writers.map((w) => w.framesWritten), [result.totalFrames, result.totalFrames])
      const input = readChannels(samplePath).channels
      assert.deepStrictEqual(readChannels(`${dir}/left.wav`).channels[0], input[0])
      assert.deepStrictEqual(readChannels(`${dir}/right.wav`).channels[0], input[1])
      assert.deepStrictEqual(result.segments, yield* Checks.referenceSegments(header))
      assert.deepStrictEqual(Object.values(result.segments).map((s) => s.length), [4, 4])
      // BufferManager queues: every frame, then the end-of-stream marker.
      for (const queue of result.queues) {
        assert.strictEqual(queue.put, result.totalFrames + 1, queue.name)
        assert.strictEqual(queue.taken, result.totalFrames + 1, queue.name)
        assert.strictEqual(queue.capacity, 8, queue.name)
      }
      const last = progress.at(-1)!
      assert.strictEqual(last.captured, result.totalFrames)
      assert.deepStrictEqual(Object.values(last.stages), ["Stopped", "Stopped", "Stopped", "Stopped", "Stopped"])
    }).pipe(Effect.provide(NodeLayer)))

  it.scoped("runs the stages on a ComponentCoordinator, in dependency order, with its state changes as the history", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const header = yield* WavInput.readHeader(samplePath)
      const result = yield* Pipeline.run({ header, dir, realtime: false })
      assert.deepStrictEqual(
        result.components.map((c) => [c.name, c.dependencies, c.state, c.generation, c.restarts, c.failures]),
        [
          ["capture", ["processor-left", "processor-right"], "Stopped", 1, 0, 0],
          ["processor-left", ["writer-left"], "Stopped", 1, 0, 0],
          ["processor-right", ["writer-right"], "Stopped", 1, 0, 0],
          ["writer-left", [], "Stopped", 1, 0, 0],
          ["writer-right", [], "Stopped", 1, 0, 0]
        ]
      )
      // The coordinator starts a component after the components it feeds.
      const started = result.history.filter((h) => h.state === "Running").map((h) => h.component)
      assert.deepStrictEqual(started, result.startOrder)
      assert.isBelow(result.startOrder.indexOf("writer-left"), result.startOrder.indexOf("processor-left"))
      assert.strictEqual(result.startOrder.at(-1), "capture")
      for (const component of result.components) {
        assert.deepStrictEqual(
          result.history.filter((h) => h.component === component.name).map((h) => [h.from, h.state]),
          [
            [null, "Uninitialized"],
            ["Uninitialized", "Initializing"],
            ["Initializing", "Running"],
            ["Running", "Stopping"],
            ["Stopping", "Stopped"]
          ],
          component.name
        )
      }
      assert.deepStrictEqual(result.leaks, { allocations: [], workers: [] })
      assert.deepStrictEqual(result.recoveries, [])
      assert.strictEqual(result.verification.verdict, "passed")
    }).pipe(Effect.provide(NodeLayer)))

  it.scoped("moves every frame through BufferManager queues in ResourcePool buffers, and returns every buffer", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      // A mono input: one channel, so one queue per stage.
      const samples = noise(480 * 10 + 7, 5)
      const path = yield* writeFixture(dir, "mono.wav", wavBytes(1, 16000, "16", [samples]))
      const header = yield* WavInput.readHeader(path)
      const result = yield* Pipeline.run({ header, dir, realtime: false, queueCapacity: 4 })
      assert.strictEqual(result.totalFrames, 11)
      assert.deepStrictEqual(
        result.queues.map((q) => [q.name, q.capacity, q.put, q.taken, q.dropped, q.size]),
        [["capture-left", 4, 12, 12, 0, 0], ["processing-left", 4, 12, 12, 0, 0]]
      )
      assert.deepStrictEqual(result.buffers, { name: "pipeline", status: "closed", heldBuffers: 0 })
      // 11 frame buffers from capture to writer, 24 queue items: all back in the pool. The pool's limit is the bound
      // of what can be in flight (channels x (4 x capacity + 8)), and the peak stayed within it.
      const tier = result.pool.tiers[0]!
      assert.deepStrictEqual([tier.allocations, tier.releases, tier.inUse, tier.limit], [35, 35, 0, 24])
      assert.isAtMost(tier.peak, tier.limit)
      assert.strictEqual(result.pool.inUse, 0)
      assert.deepStrictEqual(readChannels(`${dir}/left.wav`).channels[0], Int16Array.from(samples))
      assert.deepStrictEqual(result.components.map((c) => c.name), ["capture", "processor-left", "writer-left"])
    }).pipe(Effect.provide(NodeLayer)))

  it.scoped("fails with RecoveryGaveUp past the restart limit, and still finalises the outputs", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const header = yield* WavInput.readHeader(samplePath)
      const faults = FaultInjector.layer({ seed: 1, faults: { "writer-left": { kind: "fail", error: "io", nth: 5 } } })
      const error = yield* Effect.flip(
        Pipeline.run({ header, dir, realtime: false, maxRestarts: 0 }).pipe(Effect.provide(Layer.orDie(faults)))
      )
      assert.strictEqual(error._tag, "RecoveryGaveUp")
      assert.include(error.message, "writer-left failed 1 times")
      // The writer's fault point is after its write: frames 0..4 are on disk, in a finalised WAV file.
      assert.deepStrictEqual(
        readChannels(`${dir}/left.wav`).channels[0],
        readChannels(samplePath).channels[0]!.slice(0, 5 * 480)
      )
    }).pipe(Effect.provide(NodeLayer)))

  it.scoped("stops capture on request and still writes every frame it captured", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const header = yield* WavInput.readHeader(samplePath)
      let polls = 0
      const result = yield* Pipeline.run({
        header,
        dir,
        realtime: false,
        shouldStop: Effect.sync(() => ++polls > 100)
      })
      assert.strictEqual(result.status, "stopped")
      assert.strictEqual(result.framesCaptured, 100)
      assert.deepStrictEqual(result.writers.map((w) => w.samplesWritten), [48000, 48000])
      const input = readChannels(samplePath).channels
      assert.deepStrictEqual(readChannels(`${dir}/left.wav`).channels[0], input[0]!.slice(0, 48000))
      assert.deepStrictEqual(readChannels(`${dir}/right.wav`).channels[0], input[1]!.slice(0, 48000))
    }).pipe(Effect.provide(NodeLayer)))

  it.scoped("a processor restored from a checkpoint and fed re-delivered frames finds the same segments", () =>
    Effect.gen(function*() {
      const header = yield* WavInput.readHeader(samplePath)
      const reference = (yield* Checks.referenceSegments(header)).left
      const cursor = yield* WavInput.openFrames(header)
      const frames = []
      for (let f = yield* cursor.next; Option.isSome(f); f = yield* cursor.next) frames.push(channelFrame(f.value, 0))

      const first = yield* Pipeline.makeProcessor("left", header.sampleRate)
      for (const frame of frames.slice(0, 400)) yield* first.process(frame)
      const checkpoint = yield* first.checkpoint
      const before = yield* first.segments

      const restarted = yield* Pipeline.makeProcessor("left", header.sampleRate)
      yield* restarted.restore(JSON.parse(JSON.stringify(checkpoint)))
      for (const frame of frames.slice(380)) yield* restarted.process(frame)
      yield* restarted.finish
      assert.deepStrictEqual([...before, ...(yield* restarted.segments)], reference)

      const gap = yield* Effect.flip(restarted.process({ ...frames[0]!, seq: frames.length + 1 }))
      assert.strictEqual(gap._tag, "FrameSequenceGap")
    }).pipe(Effect.provide(NodeLayer)))

  it.scoped("capture resumes from a sequence number", () =>
    Effect.gen(function*() {
      const header = yield* WavInput.readHeader(samplePath)
      const capture = yield* Pipeline.makeCapture(header, { realtime: false, fromSeq: 700 })
      const frame = yield* capture.next
      assert.strictEqual(Option.map(frame, (f) => f.seq).pipe(Option.getOrThrow), 700)
      assert.strictEqual(capture.nextSeq(), 701)
    }).pipe(Effect.provide(NodeLayer)))

  it.scoped("with realtime, capture releases one frame per frame duration", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      // 8 kHz: a 480-sample frame lasts 60 ms.
      const path = yield* writeFixture(dir, "paced.wav", wavBytes(1, 8000, "16", [noise(480 * 3, 9)]))
      const header = yield* WavInput.readHeader(path)
      const capture = yield* Pipeline.makeCapture(header, { realtime: true })
      assert.isTrue(Option.isSome(yield* capture.next))
      const second = yield* Effect.fork(capture.next)
      yield* TestClock.adjust(59)
      assert.isTrue(Option.isNone(yield* Fiber.poll(second)))
      yield* TestClock.adjust(1)
      assert.strictEqual(Option.getOrThrow(yield* Fiber.join(second)).seq, 1)
    }).pipe(Effect.provide(NodeLayer)))
})
