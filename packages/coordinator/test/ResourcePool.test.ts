import { BufferError, ResourcePool } from "@core-stability/coordinator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { PoolImpl } from "../src/internal/resourcePool.js"

const tier = (stats: ResourcePool.Stats, name: string): ResourcePool.TierStats => {
  const found = stats.tiers.find((t) => t.name === name)
  assert.isDefined(found)
  return found!
}

const small = (limit: number, name: string) =>
  ResourcePool.make({
    name,
    tiers: [{ name: "small", size: 4096, limit }, { name: "medium", size: 65536, limit: 4 }]
  })

describe("ResourcePool", () => {
  describe("tiers (origin 3.5 #1)", () => {
    it.effect("serves the smallest tier that fits, with exact-length views", () =>
      Effect.gen(function*() {
        const pool = yield* ResourcePool.make({ name: "tiers-1" })
        const a = yield* ResourcePool.allocate(pool, 2048)
        const b = yield* ResourcePool.allocate(pool, 32768)
        const c = yield* ResourcePool.allocate(pool, 524288)
        assert.deepStrictEqual([a.capacity, b.capacity, c.capacity], [4096, 65536, 1048576])
        assert.deepStrictEqual([a.tier, b.tier, c.tier], ["small", "medium", "large"])
        assert.deepStrictEqual([a.bytes.length, b.bytes.length, c.bytes.length], [2048, 32768, 524288])
        yield* ResourcePool.release(pool, a)
        yield* ResourcePool.release(pool, b)
        yield* ResourcePool.release(pool, c)
        const stats = yield* ResourcePool.stats(pool)
        for (const t of stats.tiers) {
          assert.strictEqual(t.allocations, 1, t.name)
          assert.strictEqual(t.inUse, 0, t.name)
        }
      }))

    it.effect("uses the documented defaults: 4 KiB / 64 KiB / 1 MiB, limits 1000 / 500 / 100", () =>
      Effect.gen(function*() {
        const pool = yield* ResourcePool.make({ name: "tiers-2" })
        assert.deepStrictEqual(pool.tiers, [
          { name: "small", size: 4096, limit: 1000 },
          { name: "medium", size: 65536, limit: 500 },
          { name: "large", size: 1048576, limit: 100 }
        ])
      }))

    it.effect("boundary sizes: 0 and 4096 are small, 4097 is medium", () =>
      Effect.gen(function*() {
        const pool = yield* ResourcePool.make({ name: "tiers-3" })
        const zero = yield* ResourcePool.allocate(pool, 0)
        const edge = yield* ResourcePool.allocate(pool, 4096)
        const over = yield* ResourcePool.allocate(pool, 4097)
        assert.deepStrictEqual([zero.tier, edge.tier, over.tier], ["small", "small", "medium"])
        assert.strictEqual(zero.bytes.length, 0)
      }))

    it.effect("a request above the largest tier is a typed error", () =>
      Effect.gen(function*() {
        const pool = yield* ResourcePool.make({ name: "tiers-4" })
        const error = yield* Effect.flip(ResourcePool.allocate(pool, 1048577))
        assert.instanceOf(error, BufferError.BufferTooLarge)
        assert.strictEqual(error._tag === "BufferTooLarge" && error.largest, 1048576)
        const invalid = yield* Effect.flip(ResourcePool.allocate(pool, -1))
        assert.strictEqual(invalid._tag, "InvalidConfig")
        const fractional = yield* Effect.flip(ResourcePool.allocate(pool, 1.5))
        assert.strictEqual(fractional._tag, "InvalidConfig")
        assert.strictEqual(tier(yield* ResourcePool.stats(pool), "large").allocations, 0)
      }))
  })

  describe("limits (origin 3.5 #2)", () => {
    it.effect("allocating limit + 1 gives exactly limit buffers, then releasing all leaves none in use", () =>
      Effect.gen(function*() {
        const pool = yield* small(1000, "limits-1")
        const held: Array<ResourcePool.PooledBuffer> = []
        let exhausted = 0
        for (let i = 0; i < 1001; i++) {
          const result = yield* Effect.either(ResourcePool.allocate(pool, 100))
          if (result._tag === "Right") held.push(result.right)
          else if (result.left._tag === "PoolExhausted") exhausted++
        }
        assert.strictEqual(held.length, 1000)
        assert.strictEqual(exhausted, 1)
        yield* Effect.forEach(held, (buffer) => ResourcePool.release(pool, buffer), { discard: true })
        const stats = tier(yield* ResourcePool.stats(pool), "small")
        assert.strictEqual(stats.allocations, 1000)
        assert.strictEqual(stats.inUse, 0)
        assert.strictEqual(stats.allocated, 1000)
      }))

    it.effect("the limit counts buffers in use: at the limit a free buffer is reused", () =>
      Effect.gen(function*() {
        const pool = yield* small(2, "limits-2")
        const a = yield* ResourcePool.allocate(pool, 10)
        yield* ResourcePool.allocate(pool, 10)
        const full = yield* Effect.flip(ResourcePool.allocate(pool, 10))
        assert.strictEqual(full._tag, "PoolExhausted")
        yield* ResourcePool.release(pool, a)
        const c = yield* ResourcePool.allocate(pool, 10)
        assert.strictEqual(c.bytes.buffer, a.bytes.buffer)
        const stats = tier(yield* ResourcePool.stats(pool), "small")
        assert.strictEqual(stats.allocated, 2)
        assert.strictEqual(stats.reuses, 1)
        assert.strictEqual(stats.peak, 2)
      }))
  })

  describe("reuse", () => {
    it.effect("reuses the newest free buffer first (LIFO)", () =>
      Effect.gen(function*() {
        const pool = yield* small(10, "reuse-1")
        const a = yield* ResourcePool.allocate(pool, 10)
        const b = yield* ResourcePool.allocate(pool, 10)
        yield* ResourcePool.release(pool, a)
        yield* ResourcePool.release(pool, b)
        const next = yield* ResourcePool.allocate(pool, 10)
        assert.strictEqual(next.bytes.buffer, b.bytes.buffer)
        const after = yield* ResourcePool.allocate(pool, 10)
        assert.strictEqual(after.bytes.buffer, a.bytes.buffer)
      }))

    it.effect("a reused buffer never shows stale bytes", () =>
      Effect.gen(function*() {
        const pool = yield* small(1, "reuse-2")
        const first = yield* ResourcePool.allocate(pool, 4096)
        first.bytes.fill(0xab)
        yield* ResourcePool.release(pool, first)
        const second = yield* ResourcePool.allocate(pool, 100)
        assert.strictEqual(second.bytes.buffer, first.bytes.buffer)
        assert.strictEqual(second.bytes.length, 100)
        assert.isTrue(second.bytes.every((byte) => byte === 0))
      }))

    it.effect("allocateFrom copies exactly the given bytes", () =>
      Effect.gen(function*() {
        const pool = yield* small(1, "reuse-3")
        const first = yield* ResourcePool.allocate(pool, 4096)
        first.bytes.fill(0xff)
        yield* ResourcePool.release(pool, first)
        const copy = yield* ResourcePool.allocateFrom(pool, new Uint8Array([1, 2, 3]))
        assert.deepStrictEqual(Array.from(copy.bytes), [1, 2, 3])
      }))
  })

  describe("identity", () => {
    it.effect("a double release is a typed error and changes nothing", () =>
      Effect.gen(function*() {
        const pool = yield* small(10, "identity-1")
        const a = yield* ResourcePool.allocate(pool, 10)
        const b = yield* ResourcePool.allocate(pool, 10)
        yield* ResourcePool.release(pool, a)
        const before = yield* ResourcePool.stats(pool)
        const error = yield* Effect.flip(ResourcePool.release(pool, a))
        assert.deepStrictEqual(error, new BufferError.UnknownBuffer({ reason: "released" }))
        assert.deepStrictEqual(yield* ResourcePool.stats(pool), before)
        yield* ResourcePool.release(pool, b)
      }))

    it.effect("a stale handle cannot release the buffer's next holder (equal contents do not matter)", () =>
      Effect.gen(function*() {
        const pool = yield* small(10, "identity-2")
        const a = yield* ResourcePool.allocate(pool, 10)
        yield* ResourcePool.release(pool, a)
        const b = yield* ResourcePool.allocate(pool, 10)
        assert.strictEqual(b.bytes.buffer, a.bytes.buffer)
        const error = yield* Effect.flip(ResourcePool.release(pool, a))
        assert.strictEqual(error._tag, "UnknownBuffer")
        assert.strictEqual(tier(yield* ResourcePool.stats(pool), "small").inUse, 1)
        yield* ResourcePool.release(pool, b)
      }))

    it.effect("a buffer of another pool is foreign", () =>
      Effect.gen(function*() {
        const pool = yield* small(10, "identity-3")
        const other = yield* small(10, "identity-3b")
        const foreign = yield* ResourcePool.allocate(other, 10)
        const error = yield* Effect.flip(ResourcePool.release(pool, foreign))
        assert.deepStrictEqual(error, new BufferError.UnknownBuffer({ reason: "foreign" }))
        assert.strictEqual(tier(yield* ResourcePool.stats(other), "small").inUse, 1)
      }))
  })

  describe("staged release (origin 3.5 #5, #7)", () => {
    it.effect("defers staged releases until the outermost stage ends", () =>
      Effect.gen(function*() {
        const pool = yield* small(10, "staged-1")
        const buffers = yield* Effect.forEach([1, 2, 3, 4, 5], () => ResourcePool.allocate(pool, 100))
        yield* Effect.scoped(Effect.gen(function*() {
          yield* ResourcePool.cleanupStage(pool)
          yield* Effect.scoped(Effect.gen(function*() {
            yield* ResourcePool.cleanupStage(pool)
            yield* Effect.forEach(buffers, (buffer) => ResourcePool.release(pool, buffer, { staged: true }))
          }))
          const during = tier(yield* ResourcePool.stats(pool), "small")
          assert.strictEqual(during.pending, 5)
          assert.strictEqual(during.staged, 5)
          assert.strictEqual(during.inUse, 5)
          assert.strictEqual(during.free, 0)
          const again = yield* Effect.flip(ResourcePool.release(pool, buffers[0]!, { staged: true }))
          assert.deepStrictEqual(again, new BufferError.UnknownBuffer({ reason: "pending" }))
        }))
        const after = tier(yield* ResourcePool.stats(pool), "small")
        assert.strictEqual(after.pending, 0)
        assert.strictEqual(after.free, 5)
        assert.strictEqual(after.inUse, 0)
      }))

    it.effect("counts normal and staged releases of buffers of several sizes", () =>
      Effect.gen(function*() {
        const pool = yield* small(10, "staged-2")
        const buffers = yield* Effect.forEach([10, 20, 30, 40, 50, 60], (n) => ResourcePool.allocate(pool, n))
        yield* ResourcePool.release(pool, buffers[0]!)
        yield* ResourcePool.release(pool, buffers[1]!)
        yield* Effect.scoped(Effect.gen(function*() {
          yield* ResourcePool.cleanupStage(pool)
          yield* ResourcePool.release(pool, buffers[2]!, { staged: true })
          yield* ResourcePool.release(pool, buffers[3]!, { staged: true })
          const during = tier(yield* ResourcePool.stats(pool), "small")
          assert.strictEqual(during.inUse, 4)
          assert.strictEqual(during.staged, 2)
        }))
        yield* ResourcePool.release(pool, buffers[4]!)
        yield* ResourcePool.release(pool, buffers[5]!, { staged: true })
        const after = tier(yield* ResourcePool.stats(pool), "small")
        assert.strictEqual(after.allocated, 6)
        assert.strictEqual(after.inUse, 0)
        assert.strictEqual(after.staged, 2)
        assert.strictEqual(after.releases, 6)
      }))
  })

  describe("accounting per owner and channel (origin 3.5 #9)", () => {
    it.effect("counts buffers per owner and per channel, and checks the owner on release", () =>
      Effect.gen(function*() {
        const pool = yield* small(10, "owners-1")
        const first = yield* Effect.forEach([1, 2, 3], () => ResourcePool.allocate(pool, 10, { owner: "owner1" }))
        const second = yield* Effect.forEach(
          [1, 2, 3],
          () => ResourcePool.allocate(pool, 10, { owner: "owner2", channel: "left" })
        )
        const stats = yield* ResourcePool.stats(pool)
        assert.deepStrictEqual(stats.owners, { owner1: 3, owner2: 3 })
        assert.deepStrictEqual(stats.channels, { left: 3 })
        const wrong = yield* Effect.flip(ResourcePool.release(pool, first[0]!, { owner: "owner2" }))
        assert.deepStrictEqual(wrong, new BufferError.OwnerMismatch({ owner: "owner1", claimed: "owner2" }))
        assert.deepStrictEqual(yield* ResourcePool.stats(pool), stats)
        yield* Effect.forEach(first, (buffer) => ResourcePool.release(pool, buffer, { owner: "owner1" }))
        yield* Effect.forEach(second, (buffer) => ResourcePool.release(pool, buffer))
        const after = yield* ResourcePool.stats(pool)
        assert.deepStrictEqual(after.owners, {})
        assert.deepStrictEqual(after.channels, {})
      }))
  })

  describe("clear (origin 3.5 #8)", () => {
    it.effect("drops free buffers, and reports buffers in use instead of forgetting them", () =>
      Effect.gen(function*() {
        const pool = yield* small(10, "clear-1")
        const kept = yield* ResourcePool.allocate(pool, 10, { owner: "worker" })
        const freed = yield* ResourcePool.allocate(pool, 60000)
        yield* ResourcePool.release(pool, freed)
        const error = yield* Effect.flip(ResourcePool.clear(pool))
        assert.deepStrictEqual(error.inUse, { small: 1, medium: 0 })
        assert.deepStrictEqual(error.owners, { worker: 1 })
        const stats = yield* ResourcePool.stats(pool)
        assert.strictEqual(tier(stats, "medium").allocated, 0)
        assert.strictEqual(tier(stats, "medium").free, 0)
        assert.strictEqual(tier(stats, "small").inUse, 1)
        yield* ResourcePool.release(pool, kept)
        yield* ResourcePool.clear(pool)
        const cleared = yield* ResourcePool.stats(pool)
        for (const t of cleared.tiers) {
          assert.deepStrictEqual([t.allocated, t.free, t.inUse, t.pending], [0, 0, 0, 0])
        }
      }))
  })

  describe("concurrency (origin 3.5 #6)", () => {
    it.effect("10 fibers x 100 rounds x 3 sizes: every release succeeds and nothing stays in use", () =>
      Effect.gen(function*() {
        const pool = yield* ResourcePool.make({ name: "concurrency-1" })
        const successes = [0, 0, 0]
        yield* Effect.forEach(
          Array.from({ length: 10 }, (_, i) => i),
          () =>
            Effect.forEach(
              Array.from({ length: 100 }, (_, i) => i),
              () =>
                Effect.forEach([1024, 32768, 524288], (size, i) =>
                  Effect.gen(function*() {
                    const buffer = yield* ResourcePool.allocate(pool, size)
                    yield* Effect.yieldNow()
                    yield* ResourcePool.release(pool, buffer)
                    successes[i]!++
                  }))
            ),
          { concurrency: "unbounded", discard: true }
        )
        assert.deepStrictEqual(successes, [1000, 1000, 1000])
        const stats = yield* ResourcePool.stats(pool)
        for (const t of stats.tiers) {
          assert.strictEqual(t.inUse, 0)
          assert.isAtMost(t.allocated, 10)
          assert.strictEqual(t.allocations, 1000)
        }
      }))
  })

  describe("scoped allocation", () => {
    it.effect("releases at the end of the scope", () =>
      Effect.gen(function*() {
        const pool = yield* small(10, "scoped-1")
        yield* Effect.scoped(ResourcePool.allocateScoped(pool, 100))
        yield* Effect.scoped(Effect.gen(function*() {
          const buffer = yield* ResourcePool.allocateScoped(pool, 100)
          yield* ResourcePool.release(pool, buffer)
        }))
        const stats = tier(yield* ResourcePool.stats(pool), "small")
        assert.strictEqual(stats.inUse, 0)
        assert.strictEqual(stats.releases, 2)
      }))
  })

  describe("metrics", () => {
    it.effect("publishes allocated, in use, peak and reuses per tier", () =>
      Effect.gen(function*() {
        const pool = yield* small(10, "metrics-1")
        const a = yield* ResourcePool.allocate(pool, 10)
        const b = yield* ResourcePool.allocate(pool, 10)
        yield* ResourcePool.release(pool, a)
        yield* ResourcePool.allocate(pool, 10)
        yield* ResourcePool.release(pool, b)
        const metrics = ResourcePool.metrics(pool).find((m) => m.tier === "small")!
        assert.strictEqual((yield* Metric.value(metrics.allocated)).value, 2)
        assert.strictEqual((yield* Metric.value(metrics.inUse)).value, 1)
        assert.strictEqual((yield* Metric.value(metrics.peak)).value, 2)
        assert.strictEqual((yield* Metric.value(metrics.reuses)).count, 1)
      }))
  })

  describe("configuration", () => {
    it.effect("rejects invalid tiers with a typed error", () =>
      Effect.gen(function*() {
        const descending = yield* Effect.flip(ResourcePool.make({
          tiers: [{ size: 100, limit: 1 }, { size: 50, limit: 1 }]
        }))
        assert.strictEqual(descending.field, "tiers[1].size")
        const zeroLimit = yield* Effect.flip(ResourcePool.make({ tiers: [{ size: 100, limit: 0 }] }))
        assert.strictEqual(zeroLimit.field, "tiers[0].limit")
        const none = yield* Effect.flip(ResourcePool.make({ tiers: [] }))
        assert.strictEqual(none.field, "tiers")
        const duplicate = yield* Effect.flip(ResourcePool.make({
          tiers: [{ name: "a", size: 1, limit: 1 }, { name: "a", size: 2, limit: 1 }]
        }))
        assert.strictEqual(duplicate.field, "tiers[1].name")
        assert.throws(() => ResourcePool.unsafeMake({ tiers: [{ size: 0.5, limit: 1 }] }))
      }))

    it("guards recognise pools and buffers", () => {
      const pool = ResourcePool.unsafeMake({ name: "guards-1" })
      assert.isTrue(ResourcePool.isResourcePool(pool))
      assert.isFalse(ResourcePool.isResourcePool({}))
      const buffer = Effect.runSync(ResourcePool.allocate(pool, 1))
      assert.isTrue(ResourcePool.isPooledBuffer(buffer))
      assert.isTrue(BufferError.isBufferError(new BufferError.PoolExhausted({ tier: "t", size: 1, limit: 1 })))
      assert.isFalse(BufferError.isBufferError(new Error("x")))
    })
  })

  describe("regressions", () => {
    // review: the per-owner and per-channel counters (cellOf) were kept forever, one per owner or channel ever named,
    // so a pool serving short-lived owners grew without bound. A counter now leaves its map when it returns to zero;
    // the cells a BufferManager resolves once and keeps are pinned and stay.
    it.effect("per-owner and per-channel counters do not outlive the buffers they count", () =>
      Effect.gen(function*() {
        const pool = yield* small(2, "cells-1")
        assert.instanceOf(pool, PoolImpl)
        const impl = pool as PoolImpl
        for (let i = 0; i < 1_000; i++) {
          const buffer = yield* ResourcePool.allocate(pool, 16, { owner: `request-${i}`, channel: `stream-${i}` })
          yield* ResourcePool.release(pool, buffer)
        }
        assert.strictEqual(impl.owners.size, 0)
        assert.strictEqual(impl.channels.size, 0)
        // a refused allocation leaves no counter behind either
        const held = [yield* ResourcePool.allocate(pool, 16), yield* ResourcePool.allocate(pool, 16)]
        yield* Effect.flip(ResourcePool.allocate(pool, 16, { owner: "late", channel: "late" }))
        assert.strictEqual(impl.owners.size, 0)
        for (const buffer of held) yield* ResourcePool.release(pool, buffer)
        // counting is unchanged: two buffers of one owner are both counted, and the owner leaves with the last one
        const a = yield* ResourcePool.allocate(pool, 16, { owner: "capture", channel: "left" })
        const b = yield* ResourcePool.allocate(pool, 16, { owner: "capture", channel: "left" })
        assert.deepStrictEqual((yield* ResourcePool.stats(pool)).owners, { capture: 2 })
        yield* ResourcePool.release(pool, a)
        assert.deepStrictEqual((yield* ResourcePool.stats(pool)).owners, { capture: 1 })
        yield* ResourcePool.release(pool, b)
        assert.strictEqual(impl.owners.size, 0)
        // a pinned cell (resolved once by a long-lived caller) stays, and keeps counting
        const pinned = impl.ownerCell("manager")
        const c = yield* ResourcePool.allocate(pool, 16, { owner: "manager" })
        assert.strictEqual(pinned.held, 1)
        yield* ResourcePool.release(pool, c)
        assert.strictEqual(impl.owners.get("manager"), pinned)
      }))
  })
})
