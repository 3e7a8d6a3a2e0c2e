import { BufferError, BufferManager, ResourcePool } from "@core-stability/coordinator"
import { Explore } from "@core-stability/testing"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, FastCheck, Fiber, Metric, Option, TestClock } from "effect"

const bytes = (...values: Array<number>) => new Uint8Array(values)

const assertBalanced = (stats: BufferManager.Stats) => {
  for (const queue of stats.queues) {
    assert.strictEqual(
      queue.put,
      queue.taken + queue.dropped + queue.size,
      `${queue.stage}/${queue.channel}: put ${queue.put}, taken ${queue.taken}, dropped ${queue.dropped}, ` +
        `queued ${queue.size}`
    )
  }
}

const queueOf = (stats: BufferManager.Stats, stage: string, channel: string): BufferManager.QueueStats => {
  const found = stats.queues.find((q) => q.stage === stage && q.channel === channel)
  assert.isDefined(found)
  return found!
}

describe("BufferManager", () => {
  describe("configuration (origin 3.4 #1, #2, #5)", () => {
    it.scoped("has the original's stages, channels, capacities and frame sizing by default", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "config-1" })
        const stats = yield* BufferManager.stats(buffers)
        assert.deepStrictEqual(buffers.stages, ["capture", "processing", "storage"])
        assert.deepStrictEqual(buffers.channels, ["left", "right"])
        assert.deepStrictEqual(
          stats.queues.map((q) => [q.stage, q.channel, q.capacity]),
          [
            ["capture", "left", 1000],
            ["capture", "right", 1000],
            ["processing", "left", 500],
            ["processing", "right", 500],
            ["storage", "left", 250],
            ["storage", "right", 250]
          ]
        )
        assert.deepStrictEqual(stats.frame, {
          samplesPerFrame: 480,
          channelCount: 2,
          bytesPerSample: 2,
          sampleRateHz: 16000,
          bytesPerChannel: 960,
          bytes: 1920,
          durationMs: 30
        })
        assert.strictEqual(stats.status, "open")
      }))

    it.scoped("every counter exists from construction and starts at zero", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "config-2" })
        const stats = yield* BufferManager.stats(buffers)
        assert.strictEqual(stats.queues.length, 6)
        for (const queue of stats.queues) {
          assert.deepStrictEqual(
            [queue.put, queue.taken, queue.dropped, queue.overflowed, queue.rejected, queue.size, queue.highWater],
            [0, 0, 0, 0, 0, 0, 0]
          )
          assert.deepStrictEqual(queue.latency, { count: 0, lastMs: 0, meanMs: 0, maxMs: 0 })
        }
        const metrics = BufferManager.metrics(buffers)
        assert.strictEqual(metrics.length, 6)
        assert.strictEqual((yield* Metric.value(metrics[0]!.taken)).count, 0)
      }))

    it.scoped("an update region changes the frame; the new values are returned and stay sane", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "config-3" })
        yield* BufferManager.withUpdate(
          buffers,
          (region) => region.set({ frame: { channelCount: 1, bytesPerSample: 4, sampleRateHz: 44100 } })
        )
        const frame = yield* BufferManager.frame(buffers)
        assert.deepStrictEqual(
          [frame.channelCount, frame.bytesPerSample, frame.sampleRateHz, frame.samplesPerFrame],
          [1, 4, 44100, 480]
        )
        assert.strictEqual(frame.bytesPerChannel, 1920)
        assert.isBelow(frame.channelCount, 8)
        assert.isBelow(frame.bytesPerSample, 8)
        assert.isBelow(frame.sampleRateHz, 192000)
      }))

    it.effect("invalid configuration is a typed error", () =>
      Effect.gen(function*() {
        const cases: Array<[BufferManager.Options<string, string>, string]> = [
          [{ stages: { capture: 0 } }, "stages.capture"],
          [{ stages: { capture: 2 ** 24 + 1 } }, "stages.capture"],
          [{ stages: {} }, "stages"],
          [{ channels: [] }, "channels"],
          [{ channels: ["left", "left"] }, "channels"],
          [{ overflow: BufferManager.backpressure(-1) }, "overflow.timeoutMs"],
          [{ overflow: { capture: BufferManager.backpressure(Infinity) } }, "overflow.capture.timeoutMs"],
          [{ overflow: { nowhere: BufferManager.reject } }, "overflow.nowhere"],
          [{ frame: { samplesPerFrame: 0 } }, "frame.samplesPerFrame"],
          [{ frame: { sampleRateHz: 1.5 } }, "frame.sampleRateHz"],
          [{ latencyBoundariesMs: [5, 1] }, "latencyBoundariesMs[1]"],
          [{ name: "" }, "name"]
        ]
        for (const [options, field] of cases) {
          const error = yield* Effect.flip(Effect.scoped(BufferManager.make(options)))
          assert.strictEqual(error._tag, "InvalidConfig")
          assert.strictEqual(error.field, field)
        }
        assert.throws(() => BufferManager.unsafeMake({ stages: { capture: -1 } }))
      }))
  })

  describe("payloads", () => {
    it.scoped("a payload comes out byte for byte, with its metadata", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make<{ readonly seq: number }>({ name: "payload-1" })
        const payloads = [new Uint8Array(0), bytes(7), new Uint8Array(960).map((_, i) => i % 251), new Uint8Array(5000)]
        payloads[3]!.fill(9)
        for (let i = 0; i < payloads.length; i++) {
          yield* BufferManager.put(buffers, "capture", "left", payloads[i]!, { seq: i })
        }
        for (let i = 0; i < payloads.length; i++) {
          const item = yield* BufferManager.take(buffers, "capture", "left")
          assert.deepStrictEqual(item.payload, payloads[i])
          assert.strictEqual(item.meta.seq, i)
          assert.strictEqual(item.sequence, i)
          assert.strictEqual(item.stage, "capture")
          assert.strictEqual(item.channel, "left")
        }
        assertBalanced(yield* BufferManager.stats(buffers))
      }))

    it.scoped("the payload is copied: changing the input after put or the output after take changes nothing else", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "payload-2" })
        const input = bytes(1, 2, 3)
        yield* BufferManager.put(buffers, "processing", "right", input)
        input.fill(0)
        const item = yield* BufferManager.take(buffers, "processing", "right")
        assert.deepStrictEqual(Array.from(item.payload), [1, 2, 3])
        item.payload.fill(0xff)
        yield* BufferManager.put(buffers, "processing", "right", bytes(4))
        const next = yield* BufferManager.take(buffers, "processing", "right")
        assert.deepStrictEqual(Array.from(next.payload), [4])
      }))

    it.scoped("no stale bytes: a short payload after a long one in the same pool buffer comes out exact", () =>
      Effect.gen(function*() {
        const pool = yield* ResourcePool.make({ name: "payload-3", tiers: [{ size: 4096, limit: 1 }] })
        const buffers = yield* BufferManager.make({ name: "payload-3", pool })
        yield* BufferManager.put(buffers, "storage", "left", new Uint8Array(4096).fill(0xee))
        yield* BufferManager.take(buffers, "storage", "left")
        yield* BufferManager.put(buffers, "storage", "left", bytes(1, 2))
        const item = yield* BufferManager.take(buffers, "storage", "left")
        assert.deepStrictEqual(Array.from(item.payload), [1, 2])
        assert.strictEqual(ResourcePool.unsafeStats(pool).tiers[0]!.reuses, 1)
      }))

    it.scoped("pool buffers return to the pool when consumed; an exhausted tier falls back to a plain copy", () =>
      Effect.gen(function*() {
        const pool = yield* ResourcePool.make({ name: "payload-4", tiers: [{ size: 4096, limit: 2 }] })
        const buffers = yield* BufferManager.make({ name: "payload-4", pool })
        for (let i = 0; i < 5; i++) yield* BufferManager.put(buffers, "capture", "left", bytes(i))
        const during = yield* BufferManager.stats(buffers)
        assert.strictEqual(during.heldBuffers, 2)
        assert.strictEqual(queueOf(during, "capture", "left").unpooled, 3)
        assert.deepStrictEqual(ResourcePool.unsafeStats(pool).channels, { left: 2 })
        for (let i = 0; i < 5; i++) {
          const item = yield* BufferManager.take(buffers, "capture", "left")
          assert.deepStrictEqual(Array.from(item.payload), [i])
        }
        assert.strictEqual((yield* BufferManager.stats(buffers)).heldBuffers, 0)
        assert.strictEqual(ResourcePool.unsafeStats(pool).tiers[0]!.inUse, 0)
      }))

    it.scoped("a payload above the largest tier is a typed error and is not counted", () =>
      Effect.gen(function*() {
        const pool = yield* ResourcePool.make({ name: "payload-5", tiers: [{ size: 16, limit: 4 }] })
        // a 16-byte tier holds a frame of 8 two-byte samples per channel at most
        const buffers = yield* BufferManager.make({ name: "payload-5", pool, frame: { samplesPerFrame: 8 } })
        const error = yield* Effect.flip(BufferManager.put(buffers, "capture", "left", new Uint8Array(17)))
        assert.deepStrictEqual(error, new BufferError.BufferTooLarge({ requested: 17, largest: 16 }))
        assert.strictEqual(queueOf(yield* BufferManager.stats(buffers), "capture", "left").put, 0)
      }))
  })

  describe("unknown queues (origin 3.4 #10)", () => {
    it.scoped("an unknown stage or channel is a typed error, never a silent default", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "unknown-1" })
        const anyBuffers = buffers as BufferManager.BufferManager<string, string>
        const stage = yield* Effect.flip(BufferManager.put(anyBuffers, "mixing", "left", bytes(1)))
        assert.instanceOf(stage, BufferError.UnknownQueue)
        assert.deepStrictEqual(stage._tag === "UnknownQueue" && stage.stages, ["capture", "processing", "storage"])
        const channel = yield* Effect.flip(BufferManager.take(anyBuffers, "capture", "center"))
        assert.deepStrictEqual(channel._tag === "UnknownQueue" && [channel.stage, channel.channel], [
          "capture",
          "center"
        ])
        const polled = yield* Effect.flip(BufferManager.poll(anyBuffers, "capture", ""))
        assert.strictEqual(polled._tag, "UnknownQueue")
        const stats = yield* BufferManager.stats(buffers)
        assert.strictEqual(stats.totals.put, 0)
      }))
  })

  describe("overflow", () => {
    it.scoped("DropOldest drops the oldest item, counts it, and returns its buffer", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({
          name: "overflow-1",
          stages: { capture: 3 },
          channels: ["mono"],
          overflow: BufferManager.dropOldest
        })
        for (let i = 0; i < 5; i++) yield* BufferManager.put(buffers, "capture", "mono", bytes(i))
        const stats = yield* BufferManager.stats(buffers)
        const queue = queueOf(stats, "capture", "mono")
        assert.deepStrictEqual([queue.put, queue.dropped, queue.overflowed, queue.size], [5, 2, 2, 3])
        assert.strictEqual(stats.heldBuffers, 3)
        assertBalanced(stats)
        const taken: Array<number> = []
        for (let i = 0; i < 3; i++) {
          const item = yield* BufferManager.take(buffers, "capture", "mono")
          taken.push(item.payload[0]!, item.sequence)
        }
        assert.deepStrictEqual(taken, [2, 2, 3, 3, 4, 4])
      }))

    it.scoped("Reject fails at once with BufferFull and counts the overflow", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({
          name: "overflow-2",
          stages: { capture: 2 },
          channels: ["mono"],
          overflow: { capture: BufferManager.reject }
        })
        yield* BufferManager.put(buffers, "capture", "mono", bytes(1))
        yield* BufferManager.put(buffers, "capture", "mono", bytes(2))
        const error = yield* Effect.flip(BufferManager.put(buffers, "capture", "mono", bytes(3)))
        assert.deepStrictEqual(
          error,
          new BufferError.BufferFull({ stage: "capture", channel: "mono", capacity: 2, policy: "Reject", waitedMs: 0 })
        )
        const queue = queueOf(yield* BufferManager.stats(buffers), "capture", "mono")
        assert.deepStrictEqual([queue.put, queue.overflowed, queue.rejected, queue.size], [2, 1, 1, 2])
      }))

    it.scoped("Backpressure waits for space without a lock, and completes when a take makes room", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({
          name: "overflow-3",
          stages: { capture: 1 },
          channels: ["mono"],
          overflow: BufferManager.backpressure(1000)
        })
        yield* BufferManager.put(buffers, "capture", "mono", bytes(1))
        const blocked = yield* Effect.fork(BufferManager.put(buffers, "capture", "mono", bytes(2)))
        yield* TestClock.adjust(500)
        assert.isTrue(Option.isNone(yield* Fiber.poll(blocked)))
        // an update region is not blocked by the waiting producer: no lock is held while waiting
        yield* BufferManager.withUpdate(buffers, (region) => region.set({ state: { touched: true } }))
        const first = yield* BufferManager.take(buffers, "capture", "mono")
        yield* Fiber.join(blocked)
        const second = yield* BufferManager.take(buffers, "capture", "mono")
        assert.deepStrictEqual([first.payload[0], second.payload[0]], [1, 2])
        const queue = queueOf(yield* BufferManager.stats(buffers), "capture", "mono")
        assert.deepStrictEqual([queue.put, queue.taken, queue.overflowed, queue.rejected], [2, 2, 1, 0])
      }))

    it.scoped("Backpressure fails with BufferFull after its timeout, counted as rejected", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({
          name: "overflow-4",
          stages: { capture: 1 },
          channels: ["mono"],
          overflow: BufferManager.backpressure(250)
        })
        yield* BufferManager.put(buffers, "capture", "mono", bytes(1))
        const blocked = yield* Effect.fork(BufferManager.put(buffers, "capture", "mono", bytes(2)))
        yield* TestClock.adjust(250)
        const exit = yield* Fiber.await(blocked)
        assert.deepStrictEqual(
          exit,
          Exit.fail(
            new BufferError.BufferFull({
              stage: "capture",
              channel: "mono",
              capacity: 1,
              policy: "Backpressure",
              waitedMs: 250
            })
          )
        )
        const stats = yield* BufferManager.stats(buffers)
        const queue = queueOf(stats, "capture", "mono")
        assert.deepStrictEqual([queue.put, queue.overflowed, queue.rejected, queue.size], [1, 1, 1, 1])
        assert.strictEqual(stats.heldBuffers, 1)
      }))
  })

  describe("take and poll", () => {
    it.scoped("take waits for data without holding a lock; poll never waits", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "take-1" })
        assert.isTrue(Option.isNone(yield* BufferManager.poll(buffers, "capture", "left")))
        const waiting = yield* Effect.fork(BufferManager.take(buffers, "capture", "left"))
        yield* Effect.yieldNow()
        yield* BufferManager.withUpdate(buffers, (region) => region.set({ state: { sequence: 1 } }))
        yield* BufferManager.put(buffers, "capture", "left", bytes(42))
        const item = yield* Fiber.join(waiting)
        assert.deepStrictEqual(Array.from(item.payload), [42])
        yield* BufferManager.put(buffers, "capture", "left", bytes(43))
        const polled = yield* BufferManager.poll(buffers, "capture", "left")
        assert.deepStrictEqual(Option.map(polled, (i) => Array.from(i.payload)), Option.some([43]))
      }))

    it.scoped("an interrupted waiting take loses nothing: the item goes to the next taker", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "take-2" })
        const first = yield* Effect.fork(BufferManager.take(buffers, "capture", "left"))
        yield* Effect.yieldNow()
        const second = yield* Effect.fork(BufferManager.take(buffers, "capture", "left"))
        yield* Effect.yieldNow()
        // wake the first taker, then interrupt it before it runs
        yield* BufferManager.put(buffers, "capture", "left", bytes(7))
        yield* Fiber.interrupt(first)
        const item = yield* Fiber.join(second)
        assert.deepStrictEqual(Array.from(item.payload), [7])
        const stats = yield* BufferManager.stats(buffers)
        assert.deepStrictEqual([stats.totals.put, stats.totals.taken, stats.totals.queued], [1, 1, 0])
      }))

    it.scoped("records enqueue-to-dequeue latency in ms, from the Clock", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "take-3" })
        yield* BufferManager.put(buffers, "storage", "right", bytes(1))
        yield* TestClock.adjust(25)
        const item = yield* BufferManager.take(buffers, "storage", "right")
        assert.strictEqual(item.latencyMs, 25)
        yield* BufferManager.put(buffers, "storage", "right", bytes(2))
        yield* TestClock.adjust(5)
        yield* BufferManager.take(buffers, "storage", "right")
        const queue = queueOf(yield* BufferManager.stats(buffers), "storage", "right")
        assert.deepStrictEqual(queue.latency, { count: 2, lastMs: 5, meanMs: 15, maxMs: 25 })
        assert.strictEqual(queue.highWater, 1)
        const metrics = BufferManager.metrics(buffers).find((m) => m.stage === "storage" && m.channel === "right")!
        const histogram = yield* Metric.value(metrics.latency)
        assert.strictEqual(histogram.count, 2)
        assert.strictEqual(histogram.sum, 30)
        assert.strictEqual((yield* Metric.value(metrics.taken)).count, 2)
      }))
  })

  describe("concurrency", () => {
    const exactlyOnce = (overflow: BufferManager.OverflowPolicy) =>
      Effect.scoped(Effect.gen(function*() {
        const producers = 3
        const perProducer = 20
        const consumers = 2
        const buffers = yield* BufferManager.make<{ readonly producer: number; readonly n: number }, "capture", "mono">(
          {
            name: "exactly-once",
            stages: { capture: 4 },
            channels: ["mono"],
            overflow
          }
        )
        const seen: Array<string> = []
        const consume = Effect.forEach(
          Array.from({ length: (producers * perProducer) / consumers }),
          () =>
            Effect.tap(BufferManager.take(buffers, "capture", "mono"), (item) => {
              assert.strictEqual(item.payload[0], item.meta.producer)
              assert.strictEqual(item.payload[1], item.meta.n)
              seen.push(`${item.meta.producer}:${item.meta.n}`)
            }),
          { discard: true }
        )
        // with Reject, a producer retries a refused put after letting others run
        const putOnce = (producer: number, n: number): Effect.Effect<void, BufferError.BufferError> =>
          BufferManager.put(buffers, "capture", "mono", bytes(producer, n), { producer, n }).pipe(
            Effect.catchTag("BufferFull", () => Effect.zipRight(Effect.yieldNow(), putOnce(producer, n)))
          )
        const produce = (producer: number) =>
          Effect.forEach(
            Array.from({ length: perProducer }, (_, n) => n),
            (n) => Effect.zipRight(putOnce(producer, n), Effect.yieldNow()),
            { discard: true }
          )
        yield* Effect.all(
          [
            ...Array.from({ length: producers }, (_, p) => produce(p)),
            ...Array.from({ length: consumers }, () => consume)
          ],
          { concurrency: "unbounded", discard: true }
        )
        assert.strictEqual(seen.length, producers * perProducer)
        assert.strictEqual(new Set(seen).size, producers * perProducer)
        const stats = yield* BufferManager.stats(buffers)
        assertBalanced(stats)
        assert.strictEqual(stats.totals.taken, producers * perProducer)
        assert.strictEqual(stats.heldBuffers, 0)
      }))

    it.effect("several producers and consumers, Reject and retry: exactly once (seeded interleavings)", () =>
      Effect.gen(function*() {
        const summary = yield* Explore.explore(exactlyOnce(BufferManager.reject), { runs: 25, seed: 1 })
        assert.isAbove(summary.distinctSchedules, 1)
      }))

    // Live clock: a backpressured put races a timer, and under TestClock the first timer forks TestClock's warning
    // fiber onto the seeded scheduler, which outlives the exploration. No timer fires here (60 s timeout).
    it.live("several producers and consumers, Backpressure: exactly once (seeded interleavings)", () =>
      Effect.gen(function*() {
        const summary = yield* Explore.explore(exactlyOnce(BufferManager.backpressure(60_000)), { runs: 25, seed: 1 })
        assert.isAbove(summary.distinctSchedules, 1)
      }))

    it.effect("20 concurrent jobs with update regions and pool buffers all finish (origin 3.4 #9)", () =>
      Effect.gen(function*() {
        const buffers = yield* Effect.scoped(Effect.gen(function*() {
          const buffers = yield* BufferManager.make({ name: "jobs-1" })
          yield* Effect.forEach(
            Array.from({ length: 20 }, (_, i) => i),
            (i) =>
              BufferManager.withUpdate(buffers, (region) =>
                Effect.gen(function*() {
                  const { state } = yield* region.get
                  const buffer = yield* ResourcePool.allocate(buffers.pool, 4096)
                  yield* Effect.yieldNow()
                  yield* ResourcePool.release(buffers.pool, buffer)
                  yield* region.set({ state: { jobs: ((state.jobs as number | undefined) ?? 0) + 1, last: i } })
                })),
            { concurrency: 2, discard: true }
          )
          assert.strictEqual((yield* BufferManager.state(buffers)).jobs, 20)
          return buffers
        }))
        assert.strictEqual(yield* BufferManager.status(buffers), "closed")
        assert.strictEqual(ResourcePool.unsafeStats(buffers.pool).tiers[0]!.inUse, 0)
      }))
  })

  describe("update regions", () => {
    it.scoped("changes are committed together when the region ends, and discarded on failure", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "region-1" })
        yield* Effect.scoped(Effect.gen(function*() {
          const region = yield* BufferManager.update(buffers)
          yield* region.set({ frame: { sampleRateHz: 48000 }, state: { sequence: 7 } })
          assert.strictEqual((yield* region.get).frame.sampleRateHz, 48000)
          assert.strictEqual((yield* BufferManager.frame(buffers)).sampleRateHz, 16000)
          assert.deepStrictEqual(yield* BufferManager.state(buffers), {})
        }))
        assert.strictEqual((yield* BufferManager.frame(buffers)).sampleRateHz, 48000)
        assert.deepStrictEqual(yield* BufferManager.state(buffers), { sequence: 7 })
        const failed = yield* Effect.exit(
          BufferManager.withUpdate(
            buffers,
            (region) => Effect.zipRight(region.set({ state: { sequence: 8 } }), Effect.fail("abort"))
          )
        )
        assert.isTrue(Exit.isFailure(failed))
        assert.deepStrictEqual(yield* BufferManager.state(buffers), { sequence: 7 })
        const invalid = yield* Effect.flip(
          BufferManager.withUpdate(buffers, (region) => region.set({ frame: { channelCount: 0 } }))
        )
        assert.strictEqual(invalid._tag, "InvalidConfig")
      }))

    it.scoped("a region used after its scope is a typed error", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "region-2" })
        const region = yield* Effect.scoped(BufferManager.update(buffers))
        const error = yield* Effect.flip(region.get)
        assert.deepStrictEqual(error, new BufferError.UpdateRegionClosed({ manager: "region-2" }))
        const setError = yield* Effect.flip(region.set({ state: { x: 1 } }))
        assert.strictEqual(setError._tag, "UpdateRegionClosed")
      }))

    it.scoped("regions are exclusive, and cleanup waits for an open region", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "region-3" })
        const entered = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const holder = yield* Effect.fork(BufferManager.withUpdate(buffers, () =>
          Effect.zipRight(Deferred.succeed(entered, undefined), Deferred.await(release))))
        yield* Deferred.await(entered)
        const second = yield* Effect.fork(BufferManager.withUpdate(buffers, () =>
          Effect.succeed("second")))
        const cleanup = yield* Effect.fork(BufferManager.cleanup(buffers))
        yield* Effect.yieldNow()
        assert.isTrue(Option.isNone(yield* Fiber.poll(second)))
        assert.isTrue(Option.isNone(yield* Fiber.poll(cleanup)))
        assert.strictEqual(yield* BufferManager.status(buffers), "open")
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(holder)
        assert.strictEqual(yield* Fiber.join(second), "second")
        yield* Fiber.join(cleanup)
        assert.strictEqual(yield* BufferManager.status(buffers), "closed")
      }))
    it.scoped("cleanup from inside an update region breaks the lock order and fails fast instead of deadlocking", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "region-4" })
        const error = yield* Effect.flip(BufferManager.withUpdate(buffers, () => BufferManager.cleanup(buffers)))
        assert.strictEqual(error._tag, "LockOrderViolation")
        assert.strictEqual(yield* BufferManager.status(buffers), "open")
      }))
  })

  describe("flush and cleanup (origin 3.4 #6)", () => {
    it.scoped("flush drains every queue to the sink, queue by queue, oldest first", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "flush-1" })
        yield* BufferManager.put(buffers, "storage", "left", bytes(5))
        yield* BufferManager.put(buffers, "capture", "right", bytes(2))
        yield* BufferManager.put(buffers, "capture", "left", bytes(0))
        yield* BufferManager.put(buffers, "capture", "left", bytes(1))
        yield* BufferManager.put(buffers, "processing", "left", bytes(3))
        const order: Array<string> = []
        const flushed = yield* BufferManager.flush(buffers, (item) =>
          Effect.sync(() => {
            order.push(`${item.stage}/${item.channel}:${item.payload[0]}`)
          }))
        assert.strictEqual(flushed, 5)
        assert.deepStrictEqual(order, [
          "capture/left:0",
          "capture/left:1",
          "capture/right:2",
          "processing/left:3",
          "storage/left:5"
        ])
        const stats = yield* BufferManager.stats(buffers)
        assert.deepStrictEqual([stats.totals.taken, stats.totals.queued, stats.heldBuffers], [5, 0, 0])
        assert.strictEqual(stats.status, "open")
      }))

    it.scoped("cleanup closes, flushes, returns every buffer and stays closed until reopened", () =>
      Effect.gen(function*() {
        const pool = yield* ResourcePool.make({ name: "cleanup-1" })
        const buffers = yield* BufferManager.make({ name: "cleanup-1", pool })
        const baseline = ResourcePool.unsafeStats(pool).tiers[0]!.inUse
        for (const stage of buffers.stages) {
          yield* BufferManager.put(buffers, stage as BufferManager.DefaultStage, "left", bytes(1, 2, 3))
        }
        const before = yield* BufferManager.stats(buffers)
        assert.strictEqual(before.totals.queued, 3)
        const sunk: Array<Uint8Array> = []
        const report = yield* BufferManager.cleanup(buffers, {
          sink: (item) => Effect.sync(() => void sunk.push(item.payload))
        })
        assert.deepStrictEqual(report, { flushed: 3, dropped: 0 })
        assert.deepStrictEqual(sunk.map((p) => Array.from(p)), [[1, 2, 3], [1, 2, 3], [1, 2, 3]])
        const after = yield* BufferManager.stats(buffers)
        assert.strictEqual(after.status, "closed")
        assert.strictEqual(after.totals.queued, 0)
        assert.strictEqual(after.heldBuffers, 0)
        assert.strictEqual(ResourcePool.unsafeStats(pool).tiers[0]!.inUse, baseline)
        assertBalanced(after)
        const closed = yield* Effect.flip(BufferManager.put(buffers, "capture", "left", bytes(9)))
        assert.deepStrictEqual(
          closed,
          new BufferError.BufferClosed({ stage: "capture", channel: "left", operation: "put" })
        )
        const takeClosed = yield* Effect.flip(BufferManager.take(buffers, "capture", "left"))
        assert.strictEqual(takeClosed._tag, "BufferClosed")
        yield* BufferManager.reopen(buffers)
        yield* BufferManager.put(buffers, "capture", "left", bytes(9))
        assert.strictEqual((yield* BufferManager.stats(buffers)).totals.put, 4)
      }))

    it.scoped("cleanup without a sink counts every pending item as dropped, never silently", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "cleanup-2" })
        for (let i = 0; i < 4; i++) yield* BufferManager.put(buffers, "processing", "right", bytes(i))
        const report = yield* BufferManager.cleanup(buffers)
        assert.deepStrictEqual(report, { flushed: 0, dropped: 4 })
        const stats = yield* BufferManager.stats(buffers)
        assert.strictEqual(queueOf(stats, "processing", "right").dropped, 4)
        assertBalanced(stats)
        assert.strictEqual(stats.heldBuffers, 0)
      }))

    it.scoped("cleanup wakes waiting producers and consumers with BufferClosed", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({
          name: "cleanup-3",
          stages: { capture: 1, storage: 1 },
          channels: ["mono"]
        })
        yield* BufferManager.put(buffers, "capture", "mono", bytes(1))
        const producer = yield* Effect.fork(BufferManager.put(buffers, "capture", "mono", bytes(2)))
        const consumer = yield* Effect.fork(BufferManager.take(buffers, "storage", "mono"))
        yield* Effect.yieldNow()
        const report = yield* BufferManager.cleanup(buffers)
        assert.deepStrictEqual(report, { flushed: 0, dropped: 1 })
        const produced = yield* Fiber.await(producer)
        const consumed = yield* Fiber.await(consumer)
        assert.deepStrictEqual(
          produced,
          Exit.fail(new BufferError.BufferClosed({ stage: "capture", channel: "mono", operation: "put" }))
        )
        assert.deepStrictEqual(
          consumed,
          Exit.fail(new BufferError.BufferClosed({ stage: "storage", channel: "mono", operation: "take" }))
        )
      }))

    it.scoped("a failing sink: the rest is counted as dropped, the manager is closed, the error is returned", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "cleanup-4" })
        for (let i = 0; i < 3; i++) yield* BufferManager.put(buffers, "capture", "left", bytes(i))
        const error = yield* Effect.flip(BufferManager.cleanup(buffers, {
          sink: (item) => item.payload[0] === 1 ? Effect.fail("disk full" as const) : Effect.void
        }))
        assert.strictEqual(error, "disk full")
        const stats = yield* BufferManager.stats(buffers)
        const queue = queueOf(stats, "capture", "left")
        assert.deepStrictEqual([queue.taken, queue.dropped, queue.size], [2, 1, 0])
        assert.strictEqual(stats.status, "closed")
        assert.strictEqual(stats.heldBuffers, 0)
      }))

    it.scoped("an interrupted cleanup still drops the rest, counted, and leaves the manager closed", () =>
      Effect.gen(function*() {
        const buffers = yield* BufferManager.make({ name: "cleanup-7" })
        for (let i = 0; i < 3; i++) yield* BufferManager.put(buffers, "capture", "left", bytes(i))
        const stuck = yield* Deferred.make<void>()
        const cleanup = yield* Effect.fork(BufferManager.cleanup(buffers, {
          sink: (item) => item.payload[0] === 1 ? Deferred.await(stuck) : Effect.void
        }))
        yield* Effect.yieldNow()
        yield* Fiber.interrupt(cleanup)
        const stats = yield* BufferManager.stats(buffers)
        const queue = queueOf(stats, "capture", "left")
        assert.deepStrictEqual([queue.taken, queue.dropped, queue.size], [2, 1, 0])
        assert.strictEqual(stats.status, "closed")
        assert.strictEqual(stats.heldBuffers, 0)
        yield* BufferManager.reopen(buffers)
        assert.strictEqual(yield* BufferManager.status(buffers), "open")
      }))

    it.scoped("inside a pool cleanup stage the releases are pending until the stage ends", () =>
      Effect.gen(function*() {
        const pool = yield* ResourcePool.make({ name: "cleanup-5" })
        const buffers = yield* BufferManager.make({ name: "cleanup-5", pool })
        for (const stage of ["capture", "processing", "storage"] as const) {
          yield* BufferManager.put(buffers, stage, "right", bytes(1))
        }
        yield* Effect.scoped(Effect.gen(function*() {
          yield* ResourcePool.cleanupStage(pool)
          yield* BufferManager.cleanup(buffers)
          const small = ResourcePool.unsafeStats(pool).tiers[0]!
          assert.strictEqual(small.pending, 3)
          assert.strictEqual(small.inUse, 3)
          assert.strictEqual((yield* BufferManager.stats(buffers)).heldBuffers, 0)
        }))
        const small = ResourcePool.unsafeStats(pool).tiers[0]!
        assert.deepStrictEqual([small.pending, small.inUse, small.free], [0, 0, 3])
      }))

    it.effect("closing the manager's scope cleans it up", () =>
      Effect.gen(function*() {
        const pool = yield* ResourcePool.make({ name: "cleanup-6" })
        const buffers = yield* Effect.scoped(Effect.gen(function*() {
          const buffers = yield* BufferManager.make({ name: "cleanup-6", pool })
          yield* BufferManager.put(buffers, "capture", "left", bytes(1))
          return buffers
        }))
        const stats = yield* BufferManager.stats(buffers)
        assert.strictEqual(stats.status, "closed")
        assert.strictEqual(stats.totals.dropped, 1)
        assert.strictEqual(ResourcePool.unsafeStats(pool).tiers[0]!.inUse, 0)
      }))
  })
})

type Op =
  | { readonly _tag: "put"; readonly queue: number; readonly payload: Uint8Array }
  | { readonly _tag: "poll"; readonly queue: number }
  | { readonly _tag: "flush" }
  | { readonly _tag: "cleanup"; readonly sink: boolean }
  | { readonly _tag: "reopen" }

const opArbitrary: FastCheck.Arbitrary<Op> = FastCheck.oneof(
  {
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("put" as const),
      queue: FastCheck.integer({ min: 0, max: 3 }),
      payload: FastCheck.uint8Array({ maxLength: 24 })
    }),
    weight: 6
  },
  {
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("poll" as const),
      queue: FastCheck.integer({ min: 0, max: 3 })
    }),
    weight: 4
  },
  { arbitrary: FastCheck.constant({ _tag: "flush" as const }), weight: 1 },
  {
    arbitrary: FastCheck.record({ _tag: FastCheck.constant("cleanup" as const), sink: FastCheck.boolean() }),
    weight: 1
  },
  { arbitrary: FastCheck.constant({ _tag: "reopen" as const }), weight: 2 }
)

describe("BufferManager properties", () => {
  it.effect.prop(
    "random put, take, overflow and cleanup: put = taken + dropped + queued always, payloads exact and in order",
    { ops: FastCheck.array(opArbitrary, { maxLength: 60 }) },
    ({ ops }) =>
      Effect.scoped(Effect.gen(function*() {
        const pool = yield* ResourcePool.make({
          name: "property",
          tiers: [{ size: 16, limit: 3 }, { size: 64, limit: 8 }]
        })
        const buffers = yield* BufferManager.make<void, "drop" | "reject", "l" | "r">({
          name: "property",
          pool,
          frame: { samplesPerFrame: 32 }, // 64 bytes per channel: the largest tier
          stages: { drop: 2, reject: 3 },
          channels: ["l", "r"],
          overflow: { drop: BufferManager.dropOldest, reject: BufferManager.reject }
        })
        const queues = [["drop", "l"], ["drop", "r"], ["reject", "l"], ["reject", "r"]] as const
        const capacities = [2, 2, 3, 3]
        const model: Array<Array<Array<number>>> = [[], [], [], []]
        let open = true
        const drainModel = () => model.flatMap((queue) => queue.splice(0, queue.length))
        for (const op of ops) {
          switch (op._tag) {
            case "put": {
              const [stage, channel] = queues[op.queue]!
              const exit = yield* Effect.exit(BufferManager.put(buffers, stage, channel, op.payload))
              const expected = model[op.queue]!
              if (!open) {
                assert.isTrue(
                  Exit.isFailure(exit) &&
                    Cause.failureOption(exit.cause).pipe(Option.map((e) => e._tag), Option.getOrNull) === "BufferClosed"
                )
              } else if (expected.length < capacities[op.queue]!) {
                assert.isTrue(Exit.isSuccess(exit))
                expected.push(Array.from(op.payload))
              } else if (stage === "drop") {
                assert.isTrue(Exit.isSuccess(exit))
                expected.shift()
                expected.push(Array.from(op.payload))
              } else {
                assert.isTrue(
                  Exit.isFailure(exit) &&
                    Cause.failureOption(exit.cause).pipe(Option.map((e) => e._tag), Option.getOrNull) === "BufferFull"
                )
              }
              break
            }
            case "poll": {
              const [stage, channel] = queues[op.queue]!
              const item = yield* BufferManager.poll(buffers, stage, channel)
              assert.deepStrictEqual(
                Option.map(item, (i) => Array.from(i.payload)),
                Option.fromNullable(model[op.queue]!.shift())
              )
              break
            }
            case "flush": {
              const sunk: Array<Array<number>> = []
              yield* BufferManager.flush(buffers, (item) => Effect.sync(() => void sunk.push(Array.from(item.payload))))
              assert.deepStrictEqual(sunk, drainModel())
              break
            }
            case "cleanup": {
              const sunk: Array<Array<number>> = []
              const expected = drainModel()
              const report = yield* BufferManager.cleanup(
                buffers,
                op.sink ? { sink: (item) => Effect.sync(() => void sunk.push(Array.from(item.payload))) } : {}
              )
              if (op.sink) assert.deepStrictEqual(sunk, expected)
              assert.deepStrictEqual(
                report,
                op.sink ? { flushed: expected.length, dropped: 0 } : { flushed: 0, dropped: expected.length }
              )
              open = false
              break
            }
            case "reopen": {
              yield* BufferManager.reopen(buffers)
              open = true
              break
            }
          }
          const stats = yield* BufferManager.stats(buffers)
          assertBalanced(stats)
          assert.deepStrictEqual(stats.queues.map((q) => q.size), model.map((q) => q.length))
          assert.strictEqual(stats.status, open ? "open" : "closed")
          assert.isAtMost(stats.heldBuffers, stats.totals.queued)
          assert.strictEqual(ResourcePool.unsafeStats(pool).owners.property ?? 0, stats.heldBuffers)
        }
      })),
    { fastCheck: { numRuns: 100, seed: 42 } }
  )
})
