import { BufferManager } from "@core-stability/coordinator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck, Metric, TestClock } from "effect"

const MiB = 1024 * 1024
const cpuLoad: BufferManager.LoadSample = { cpuPercent: 85, memoryBytes: 10 * MiB }
const memoryLoad: BufferManager.LoadSample = { cpuPercent: 10, memoryBytes: 150 * 1000 * 1000 }

const samplesOf = (decision: BufferManager.SizingDecision) =>
  decision._tag === "Adjusted" ? decision.to.samplesPerFrame : decision.frame.samplesPerFrame

describe("BufferManager sizing", () => {
  describe("decideSize (pure policy)", () => {
    it("CPU above 80% grows × 1.5, memory above 100 MiB shrinks × 0.75, both in order", () => {
      const grow = BufferManager.decideSize({
        frame: BufferManager.defaultFrame,
        load: cpuLoad,
        lastAdjustmentMs: undefined,
        nowMs: 0
      })
      assert.strictEqual(grow._tag, "Adjusted")
      if (grow._tag === "Adjusted") {
        assert.strictEqual(grow.to.samplesPerFrame, 720)
        assert.strictEqual(grow.to.bytesPerChannel, 1440)
        assert.strictEqual(grow.to.durationMs, 45)
        assert.deepStrictEqual(grow.causes, ["cpu"])
      }
      const both = BufferManager.decideSize({
        frame: BufferManager.defaultFrame,
        load: { cpuPercent: 95, memoryBytes: 200 * MiB },
        lastAdjustmentMs: undefined,
        nowMs: 0
      })
      assert.strictEqual(samplesOf(both), 540)
      assert.deepStrictEqual(both._tag === "Adjusted" && both.causes, ["cpu", "memory"])
    })

    it("unchanged with a reason: nominal, bounded, cooldown", () => {
      const base = { frame: BufferManager.defaultFrame, lastAdjustmentMs: undefined, nowMs: 0 }
      const nominal = BufferManager.decideSize({ ...base, load: { cpuPercent: 80, memoryBytes: 100 * MiB } })
      assert.deepStrictEqual(nominal._tag === "Unchanged" && nominal.reason, "nominal")
      const bounded = BufferManager.decideSize({ ...base, load: memoryLoad })
      assert.deepStrictEqual(bounded._tag === "Unchanged" && bounded.reason, "bounded")
      const cooldown = BufferManager.decideSize({ ...base, load: cpuLoad, lastAdjustmentMs: 1000, nowMs: 5999 })
      assert.deepStrictEqual(cooldown._tag === "Unchanged" && [cooldown.reason, cooldown.retryInMs], ["cooldown", 1])
      const after = BufferManager.decideSize({ ...base, load: cpuLoad, lastAdjustmentMs: 1000, nowMs: 6000 })
      assert.strictEqual(after._tag, "Adjusted")
    })

    it("never leaves [min(current, 480), tier bound] and never changes channels, width or rate", () => {
      FastCheck.assert(
        FastCheck.property(
          FastCheck.integer({ min: 1, max: 262144 }),
          FastCheck.constantFrom(1, 2, 4),
          FastCheck.integer({ min: 0, max: 100 }),
          FastCheck.integer({ min: 0, max: 400 * MiB }),
          (samplesPerFrame, bytesPerSample, cpuPercent, memoryBytes) => {
            const frame = { ...BufferManager.defaultFrame, samplesPerFrame, bytesPerSample }
            const decision = BufferManager.decideSize({
              frame,
              load: { cpuPercent, memoryBytes },
              lastAdjustmentMs: undefined,
              nowMs: 0
            })
            const next = decision._tag === "Adjusted" ? decision.to : decision.frame
            const tier = [4096, 65536, MiB].find((size) => samplesPerFrame * bytesPerSample <= size) ?? MiB
            assert.isAtMost(next.bytesPerChannel, Math.max(tier, samplesPerFrame * bytesPerSample))
            assert.isAtLeast(next.samplesPerFrame, Math.min(samplesPerFrame, 480))
            assert.strictEqual(next.bytesPerSample, bytesPerSample)
            assert.strictEqual(next.channelCount, frame.channelCount)
            assert.strictEqual(next.sampleRateHz, frame.sampleRateHz)
          }
        )
      )
    })
  })

  describe("optimize (origin 3.4 #4)", () => {
    it.scoped("CPU 85 grows under the tier bound; memory 150 MB after 5.1 s shrinks above the minimum", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "sizing-1" })
        const before = yield* BufferManager.frame(buffers)

        const grown = yield* BufferManager.optimize(buffers, cpuLoad)
        assert.strictEqual(grown._tag, "Adjusted")
        const afterGrow = yield* BufferManager.frame(buffers)
        assert.isAbove(afterGrow.samplesPerFrame, before.samplesPerFrame)
        assert.isAtMost(afterGrow.bytesPerChannel, MiB)
        assert.isAtMost(afterGrow.bytesPerChannel, 4096)
        assert.deepStrictEqual(afterGrow, grown._tag === "Adjusted" ? grown.to : undefined)

        // within the cooldown: unchanged, with the reason
        yield* TestClock.adjust(4999)
        const early = yield* BufferManager.optimize(buffers, memoryLoad)
        assert.deepStrictEqual(early._tag === "Unchanged" && [early.reason, early.retryInMs], ["cooldown", 1])
        assert.deepStrictEqual(yield* BufferManager.frame(buffers), afterGrow)

        yield* TestClock.adjust(101) // 5.1 s after the adjustment
        const shrunk = yield* BufferManager.optimize(buffers, memoryLoad)
        assert.strictEqual(shrunk._tag, "Adjusted")
        const afterShrink = yield* BufferManager.frame(buffers)
        assert.isBelow(afterShrink.samplesPerFrame, afterGrow.samplesPerFrame)
        assert.isAtLeast(afterShrink.samplesPerFrame, 480)
        assert.isAtLeast(afterShrink.durationMs, 30)

        const record = yield* BufferManager.sizing(buffers)
        assert.strictEqual(record.adjustments, 2)
        assert.strictEqual(record.lastAdjustmentMs, 5100)
        assert.deepStrictEqual(record.lastDecision, shrunk)
        assert.deepStrictEqual(record.frame, afterShrink)
        assert.strictEqual((yield* BufferManager.stats(buffers)).frame.samplesPerFrame, afterShrink.samplesPerFrame)
        assert.strictEqual((yield* Metric.value(record.metric)).count, 2)
      }))

    it.scoped("repeated load converges on the tier bound and the minimum, then reports bounded", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "sizing-2" })
        const sizes: Array<number> = []
        for (let i = 0; i < 6; i++) {
          sizes.push(samplesOf(yield* BufferManager.optimize(buffers, cpuLoad)))
          yield* TestClock.adjust(5100)
        }
        assert.deepStrictEqual(sizes, [720, 1080, 1620, 2048, 2048, 2048]) // 2048 samples × 2 bytes = the 4 KiB tier
        const capped = yield* BufferManager.optimize(buffers, cpuLoad)
        assert.deepStrictEqual(capped._tag === "Unchanged" && capped.reason, "bounded")
        for (let i = 0; i < 8; i++) {
          yield* BufferManager.optimize(buffers, memoryLoad)
          yield* TestClock.adjust(5100)
        }
        assert.strictEqual((yield* BufferManager.frame(buffers)).samplesPerFrame, 480)
        assert.strictEqual((yield* BufferManager.sizing(buffers)).adjustments, 4 + 6) // 2048 → 1536 → 1152 → 864 → 648 → 486 → 480
      }))
  })

  describe("reconfigure (update_buffer_config)", () => {
    it.scoped("changes channels, width and rate, and keeps the size unless one is given (origin 4 item 32)", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "sizing-3" })
        yield* BufferManager.optimize(buffers, cpuLoad) // 720 samples
        const frame = yield* BufferManager.reconfigure(buffers, { channelCount: 1, sampleRateHz: 48000 })
        assert.strictEqual(frame.samplesPerFrame, 720)
        assert.strictEqual(frame.channelCount, 1)
        assert.strictEqual(frame.durationMs, 15)
        assert.deepStrictEqual(yield* BufferManager.frame(buffers), frame)
        const explicit = yield* buffers.pipe(BufferManager.reconfigure({ samplesPerFrame: 960, bytesPerSample: 4 }))
        assert.strictEqual(explicit.samplesPerFrame, 960)
        assert.strictEqual(explicit.bytesPerChannel, 3840)
      }))

    it.scoped("invalid configuration is a typed InvalidConfig and changes nothing", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "sizing-4" })
        const before = yield* BufferManager.frame(buffers)
        const cases: Array<[Partial<BufferManager.FrameConfig>, string]> = [
          [{ channelCount: 0 }, "frame.channelCount"],
          [{ bytesPerSample: 1.5 }, "frame.bytesPerSample"],
          [{ sampleRateHz: -16000 }, "frame.sampleRateHz"],
          [{ samplesPerFrame: Number.NaN }, "frame.samplesPerFrame"],
          [{ samplesPerFrame: MiB }, "frame.samplesPerFrame"], // 2 MiB per channel: past the largest tier
          [null as any, "frame"]
        ]
        for (const [config, field] of cases) {
          const error = yield* Effect.flip(BufferManager.reconfigure(buffers, config))
          assert.strictEqual(error._tag, "InvalidConfig")
          assert.strictEqual(error._tag === "InvalidConfig" && error.field, field)
        }
        assert.deepStrictEqual(yield* BufferManager.frame(buffers), before)
      }))
  })
})
