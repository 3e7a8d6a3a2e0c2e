import { assert, describe, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import * as FaultInjector from "../src/FaultInjector.js"
import * as SeededScheduler from "../src/SeededScheduler.js"

// Regression (review of the testing kit): seeds are validated as safe integers, but both PRNG seedings truncated them
// to 32 bits (prng.ts mix: `(seed + 0x9e3779b9) | 0`; faultInjector.ts: `(seed ^ hash) | 0`), so seed s and seed
// s + 2^32 were the same seed. The high bits are now folded in (Prng.seed32); seeds below 2^32 replay unchanged.
const race = Effect.gen(function*() {
  const counter = yield* Ref.make(0)
  const increment = Effect.gen(function*() {
    const value = yield* Ref.get(counter)
    yield* Effect.yieldNow()
    yield* Ref.set(counter, value + 1)
  })
  yield* Effect.all([increment, increment, increment, increment], { concurrency: "unbounded" })
  return yield* Ref.get(counter)
})

const fingerprint = (seed: number) =>
  Effect.gen(function*() {
    const scheduler = yield* SeededScheduler.make(seed)
    yield* SeededScheduler.runWith(race, scheduler)
    return scheduler.fingerprint
  })

const firedFor = (seed: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 32; i++) yield* Effect.exit(FaultInjector.point("a"))
    return (yield* FaultInjector.fired).map((f) => f.hit).join(",")
  }).pipe(Effect.provide(FaultInjector.layer({ seed, faults: { a: { kind: "fail", probability: 0.5 } } })))

describe("review: seeds above 2^32 alias smaller seeds", () => {
  it.effect("scheduler: seed 1 and seed 2^32 + 1 take different schedules", () =>
    Effect.gen(function*() {
      assert.notStrictEqual(yield* fingerprint(2 ** 32 + 1), yield* fingerprint(1))
    }))
  it.effect("fault injector: seed 1 and seed 2^32 + 1 fire different faults", () =>
    Effect.gen(function*() {
      assert.notStrictEqual(yield* firedFor(2 ** 32 + 1), yield* firedFor(1))
    }))
})
