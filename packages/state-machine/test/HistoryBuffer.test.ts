import type { TransitionRecord } from "@core-stability/state-machine"
import { assert, describe, it } from "@effect/vitest"
import { HistoryBuffer } from "../src/internal/historyBuffer.js"
import { RingBuffer } from "../src/internal/ringBuffer.js"

const entry = (seq: number): TransitionRecord.TransitionRecord => ({
  seq,
  kind: seq % 3 === 0 ? "rollback" : "transition",
  from: `s${seq % 5}`,
  to: `s${(seq + 1) % 5}`,
  at: 1_000 + seq,
  durationMs: seq / 10,
  success: seq % 4 !== 0,
  reason: seq % 2 === 0 ? `r${seq}` : undefined,
  error: seq % 4 === 0 ? { tag: "InvalidTransition", message: `m${seq}` } : undefined,
  metadata: seq % 7 === 0 ? { seq } : undefined
})

/** A small deterministic generator (mulberry32), so the model test is reproducible. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

describe("HistoryBuffer", () => {
  it("stores every field and evicts the oldest entry when full", () => {
    const buffer = new HistoryBuffer(3)
    for (let seq = 1; seq <= 5; seq++) buffer.push(entry(seq))
    assert.deepStrictEqual(buffer.toArray(), [entry(3), entry(4), entry(5)])
    assert.deepStrictEqual(buffer.last(), entry(5))
    assert.deepStrictEqual([buffer.seqAt(0), buffer.timeAt(0)], [3, 1_003])
  })

  it("behaves like a bounded array under any mix of push, pop, shift and clear", () => {
    for (const capacity of [1, 2, 7, 8, 9, 100]) {
      const random = prng(capacity)
      const buffer = new HistoryBuffer(capacity)
      let model: Array<TransitionRecord.TransitionRecord> = []
      let seq = 0
      for (let step = 0; step < 2_000; step++) {
        const r = random()
        if (r < 0.6) {
          const next = entry(++seq)
          buffer.push(next)
          model.push(next)
          if (model.length > capacity) model.shift()
        } else if (r < 0.8) {
          buffer.pop()
          model.pop()
        } else if (r < 0.98) {
          buffer.shift()
          model.shift()
        } else {
          buffer.clear()
          model = []
        }
        assert.strictEqual(buffer.size, model.length)
      }
      assert.deepStrictEqual(buffer.toArray(), model)
      assert.deepStrictEqual(buffer.get(-1), undefined)
      assert.deepStrictEqual(buffer.get(model.length), undefined)
    }
  })
})

describe("RingBuffer", () => {
  it("is a bounded FIFO that evicts the oldest entry", () => {
    const ring = new RingBuffer<number>(3)
    for (let i = 1; i <= 5; i++) ring.push(i)
    assert.strictEqual(ring.size, 3)
    assert.deepStrictEqual([ring.shift(), ring.shift()], [3, 4])
    ring.push(6)
    ring.push(7)
    assert.deepStrictEqual([ring.shift(), ring.shift(), ring.shift(), ring.shift()], [5, 6, 7, undefined])
  })
})
