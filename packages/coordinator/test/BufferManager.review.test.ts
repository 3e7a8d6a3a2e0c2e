// Regression tests for the review of BufferManager (items 11, 12 and 13, and the cleanup found stuck in `closing`).
// The seeds named below are the ones that failed against the code before the fixes; each exploration covers
// 100 seeds with preemption on (Explore's default), so the windows between any two steps are explored, not only
// explicit yield points.
import { BufferError, BufferManager, ResourcePool } from "@core-stability/coordinator"
import { Explore } from "@core-stability/testing"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, Deferred, Effect, Exit, Fiber, Option } from "effect"

const bytes = (...values: Array<number>) => new Uint8Array(values)

const onlyQueue = (stats: BufferManager.Stats): BufferManager.QueueStats => {
  assert.strictEqual(stats.queues.length, 1)
  return stats.queues[0]!
}

/** Polls every remaining item of the queue and returns the first byte of each payload. */
const drain = (buffers: BufferManager.BufferManager<"capture", "left">) =>
  Effect.gen(function*() {
    const rest: Array<number> = []
    for (;;) {
      const item = yield* BufferManager.poll(buffers, "capture", "left")
      if (Option.isNone(item)) return rest
      rest.push(item.value.payload[0]!)
    }
  })

const isBufferFull = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) &&
  Option.exists(Cause.failureOption(exit.cause), (error) => error instanceof BufferError.BufferFull)

/**
 * A clock whose timers all end when `fire` completes: it lets a put's timeout race a take under the seeded scheduler
 * (TestClock's own sleep is not safe to interrupt under preemption in Effect 3.22.4, see SeededScheduler).
 */
const manualTimers = Effect.map(Deferred.make<void>(), (fire) => {
  const base = Clock.make()
  const clock: Clock.Clock = Object.assign(Object.create(Object.getPrototypeOf(base)), base, {
    sleep: () => Deferred.await(fire)
  })
  return { clock, fire: Deferred.succeed(fire, undefined) }
})

describe("BufferManager review: take and poll hand an item over exactly once (review item 11)", () => {
  // Before: takeSlow dequeued inside uninterruptibleMask; an interruption that came after the wake-up was delivered
  // when the mask ended, so the take ended interrupted with its item dequeued and counted: lost (seed 2).
  const interruptedWaitingTake = Effect.scoped(Effect.gen(function*() {
    const buffers = yield* BufferManager.make({
      name: "review-11-waiting",
      stages: { capture: 4 },
      channels: ["left"],
      overflow: BufferManager.reject
    })
    const consumer = yield* Effect.fork(BufferManager.take(buffers, "capture", "left"))
    for (let i = 0; i < 10; i++) yield* Effect.yieldNow() // the consumer waits for data
    const producer = yield* Effect.fork(BufferManager.put(buffers, "capture", "left", bytes(7)))
    const interrupter = yield* Effect.fork(Fiber.interrupt(consumer))
    yield* Fiber.join(producer)
    yield* Fiber.join(interrupter)
    const taken = yield* Fiber.await(consumer)
    const queue = onlyQueue(yield* BufferManager.stats(buffers))
    if (Exit.isSuccess(taken)) {
      assert.deepStrictEqual(Array.from(taken.value.payload), [7])
      assert.deepStrictEqual([queue.taken, queue.size], [1, 0])
    } else {
      assert.isTrue(Cause.isInterruptedOnly(taken.cause))
      assert.deepStrictEqual([queue.taken, queue.size], [0, 1], "the interrupted take dequeued the item: it is lost")
    }
  }))

  it.effect("an interrupted waiting take dequeues nothing (seed 2 lost the item)", () =>
    Effect.gen(function*() {
      const summary = yield* Explore.explore(interruptedWaitingTake, { runs: 100, seed: 1 })
      assert.isAbove(summary.distinctSchedules, 1)
    }))

  // Before: the take that found an item dequeued it and returned it as the next step, where an interruption could
  // discard it (seed 48 of this exploration). The same window as item 11, without any waiting.
  const interruptedTakeOfQueuedItem = Effect.scoped(Effect.gen(function*() {
    const buffers = yield* BufferManager.make({ name: "review-11-queued", stages: { capture: 4 }, channels: ["left"] })
    yield* BufferManager.put(buffers, "capture", "left", bytes(7))
    const consumer = yield* Effect.fork(BufferManager.take(buffers, "capture", "left"))
    const interrupter = yield* Effect.fork(Fiber.interrupt(consumer))
    yield* Fiber.join(interrupter)
    const taken = yield* Fiber.await(consumer)
    const queue = onlyQueue(yield* BufferManager.stats(buffers))
    assert.deepStrictEqual([queue.taken, queue.size], Exit.isSuccess(taken) ? [1, 0] : [0, 1])
    // an interrupted take leaves the item to the next one (its claim, if it made one, is released)
    if (Exit.isFailure(taken)) assert.deepStrictEqual(yield* drain(buffers), [7])
  }))

  it.effect("an interrupted take of a queued item dequeues nothing (seed 48 lost the item)", () =>
    Effect.gen(function*() {
      const summary = yield* Explore.explore(interruptedTakeOfQueuedItem, { runs: 100, seed: 1 })
      assert.isAbove(summary.distinctSchedules, 1)
    }))

  // Consumers of three kinds, two of them interrupted at random points: every item reaches exactly one of them or
  // stays queued. A consumer that records the item in `flatMap`'s function, one that takes in a mask and processes
  // it uninterruptibly after a yield, and one that polls (seed 54 lost an item before the fix).
  const consumersExactlyOnce = Effect.scoped(Effect.gen(function*() {
    const buffers = yield* BufferManager.make({
      name: "review-11-consumers",
      stages: { capture: 8 },
      channels: ["left"]
    })
    const received: Array<number> = []
    const take = BufferManager.take(buffers, "capture", "left")
    const direct = Effect.forever(Effect.flatMap(take, (item) => {
      received.push(item.payload[0]!)
      return Effect.void
    }))
    const masked = Effect.forever(Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(
        restore(take),
        (item) => Effect.zipRight(Effect.yieldNow(), Effect.sync(() => received.push(item.payload[0]!)))
      )
    ))
    const polling = Effect.forever(Effect.flatMap(BufferManager.poll(buffers, "capture", "left"), (item) => {
      if (Option.isSome(item)) received.push(item.value.payload[0]!)
      return Effect.yieldNow()
    }))
    const consumers = [yield* Effect.fork(direct), yield* Effect.fork(masked), yield* Effect.fork(polling)]
    const producer = yield* Effect.fork(
      Effect.forEach([1, 2, 3, 4, 5, 6], (n) => BufferManager.put(buffers, "capture", "left", bytes(n)), {
        discard: true
      })
    )
    const interrupters = [
      yield* Effect.fork(Fiber.interrupt(consumers[0]!)),
      yield* Effect.fork(Fiber.interrupt(consumers[2]!))
    ]
    yield* Fiber.join(producer)
    yield* Fiber.joinAll(interrupters)
    yield* Fiber.interrupt(consumers[1]!)
    const all = [...received, ...(yield* drain(buffers))].sort()
    assert.deepStrictEqual(all, [1, 2, 3, 4, 5, 6])
    const queue = onlyQueue(yield* BufferManager.stats(buffers))
    assert.deepStrictEqual([queue.put, queue.taken, queue.size], [6, 6, 0])
  }))

  it.effect("takes and polls interrupted at any point: every item reaches exactly one consumer (seed 54 lost one)", () =>
    Effect.gen(function*() {
      const summary = yield* Explore.explore(consumersExactlyOnce, { runs: 100, seed: 1 })
      assert.isAbove(summary.distinctSchedules, 1)
    }))

  // Takes, one of them interrupted, racing a cleanup: each item goes to a take that succeeds or is dropped by the
  // cleanup, never both and never neither; cleanup waits for the claims of takes that are about to dequeue.
  const takesVsCleanup = Effect.scoped(Effect.gen(function*() {
    const buffers = yield* BufferManager.make({ name: "review-11-cleanup", stages: { capture: 4 }, channels: ["left"] })
    for (const n of [1, 2, 3]) yield* BufferManager.put(buffers, "capture", "left", bytes(n))
    const takes = [
      yield* Effect.fork(BufferManager.take(buffers, "capture", "left")),
      yield* Effect.fork(BufferManager.take(buffers, "capture", "left"))
    ]
    const cleaning = yield* Effect.fork(BufferManager.cleanup(buffers))
    const interrupter = yield* Effect.fork(Fiber.interrupt(takes[0]!))
    const exits = [yield* Fiber.await(takes[0]!), yield* Fiber.await(takes[1]!)]
    yield* Fiber.join(interrupter)
    const report = yield* Fiber.join(cleaning)
    const succeeded = exits.filter(Exit.isSuccess).length
    for (const exit of exits) {
      if (Exit.isFailure(exit)) {
        const closed = Option.exists(Cause.failureOption(exit.cause), (e) => e instanceof BufferError.BufferClosed)
        assert.isTrue(closed || Cause.isInterruptedOnly(exit.cause), Cause.pretty(exit.cause))
      }
    }
    const stats = yield* BufferManager.stats(buffers)
    assert.strictEqual(stats.status, "closed")
    assert.deepStrictEqual([stats.totals.taken, stats.totals.dropped, stats.totals.queued], [
      succeeded,
      3 - succeeded,
      0
    ])
    assert.strictEqual(report.dropped, 3 - succeeded)
    assert.strictEqual(stats.heldBuffers, 0)
  }))

  it.effect("takes racing a cleanup: each item is taken or dropped, exactly once (seeded)", () =>
    Effect.gen(function*() {
      const summary = yield* Explore.explore(takesVsCleanup, { runs: 100, seed: 1 })
      assert.isAbove(summary.distinctSchedules, 1)
    }))

  it.scoped("a take inside an uninterruptible region still waits, and returns its item", () =>
    Effect.gen(function*() {
      const buffers = yield* BufferManager.make({
        name: "review-11-masked",
        stages: { capture: 4 },
        channels: ["left"]
      })
      const consumer = yield* Effect.fork(Effect.uninterruptible(BufferManager.take(buffers, "capture", "left")))
      yield* Effect.yieldNow()
      yield* BufferManager.put(buffers, "capture", "left", bytes(9))
      const item = yield* Fiber.join(consumer)
      assert.deepStrictEqual(Array.from(item.payload), [9])
    }))
})

describe("BufferManager review: a Backpressure put fails only when it enqueued nothing (review item 12)", () => {
  // Before: Effect.timeoutFail wrapped the uninterruptible wait-and-enqueue loop; a timer that fired while a woken
  // producer was about to enqueue was reported as BufferFull although the payload was enqueued (seed 2 of this
  // exploration; seed 4 of the reviewer's version of it).
  const putVsTimer = Effect.scoped(Effect.gen(function*() {
    const timers = yield* manualTimers
    const buffers = yield* BufferManager.make({
      name: "review-12-timer",
      stages: { capture: 1 },
      channels: ["left"],
      overflow: BufferManager.backpressure(10)
    })
    yield* BufferManager.put(buffers, "capture", "left", bytes(1))
    const producer = yield* Effect.fork(
      Effect.exit(Effect.withClock(BufferManager.put(buffers, "capture", "left", bytes(2)), timers.clock))
    )
    for (let i = 0; i < 20; i++) yield* Effect.yieldNow() // the producer waits for space
    const consumer = yield* Effect.fork(BufferManager.take(buffers, "capture", "left"))
    const timer = yield* Effect.fork(timers.fire)
    const put = yield* Fiber.join(producer)
    yield* Fiber.join(consumer)
    yield* Fiber.join(timer)
    const queue = onlyQueue(yield* BufferManager.stats(buffers))
    const enqueued = (yield* drain(buffers)).includes(2)
    if (isBufferFull(put)) {
      assert.isFalse(enqueued, "put failed with BufferFull, but its payload was enqueued")
      assert.strictEqual(queue.rejected, 1)
    } else {
      assert.isTrue(Exit.isSuccess(put) && enqueued)
      assert.strictEqual(queue.rejected, 0)
    }
  }))

  it.effect("a timeout racing a wake-up: BufferFull if and only if nothing was enqueued (seed 2 enqueued)", () =>
    Effect.gen(function*() {
      const summary = yield* Explore.explore(putVsTimer, { runs: 100, seed: 1 })
      assert.isAbove(summary.distinctSchedules, 1)
    }))

  // Two waiting producers, one of them interrupted at a random point, racing a take and their timers: a put that
  // failed with BufferFull enqueued nothing, one that succeeded enqueued once, and the counters balance (seed 4
  // reported BufferFull for an enqueued payload before the fix).
  const putsInterruptedAndTimedOut = Effect.scoped(Effect.gen(function*() {
    const timers = yield* manualTimers
    const buffers = yield* BufferManager.make({
      name: "review-12-interrupted",
      stages: { capture: 1 },
      channels: ["left"],
      overflow: BufferManager.backpressure(10)
    })
    yield* BufferManager.put(buffers, "capture", "left", bytes(1))
    const putWithTimers = (n: number) =>
      Effect.fork(Effect.exit(Effect.withClock(BufferManager.put(buffers, "capture", "left", bytes(n)), timers.clock)))
    const producers = [yield* putWithTimers(2), yield* putWithTimers(3)]
    const consumer = yield* Effect.fork(BufferManager.take(buffers, "capture", "left"))
    const timer = yield* Effect.fork(timers.fire)
    const interrupter = yield* Effect.fork(Fiber.interrupt(producers[1]!))
    const kept = yield* Fiber.join(producers[0]!)
    const interrupted = yield* Fiber.await(producers[1]!)
    yield* Fiber.join(consumer)
    yield* Fiber.join(timer)
    yield* Fiber.join(interrupter)
    const queue = onlyQueue(yield* BufferManager.stats(buffers))
    assert.strictEqual(queue.put, queue.taken + queue.dropped + queue.size)
    const rest = yield* drain(buffers)
    assert.strictEqual(Exit.isSuccess(kept), rest.includes(2))
    if (isBufferFull(Exit.flatten(interrupted))) assert.isFalse(rest.includes(3))
    if (Exit.isSuccess(interrupted) && Exit.isSuccess(interrupted.value)) assert.isTrue(rest.includes(3))
    // every BufferFull is counted, and no put is both enqueued and counted as rejected (an interruption can still
    // replace a BufferFull on its way out: that put is counted as rejected, and enqueued nothing)
    assert.isAtLeast(queue.rejected, [kept, Exit.flatten(interrupted)].filter(isBufferFull).length)
    assert.isAtMost(queue.put + queue.rejected, 3)
  }))

  it.effect("waiting puts interrupted or timed out: a failed put enqueued nothing (seed 4 enqueued)", () =>
    Effect.gen(function*() {
      const summary = yield* Explore.explore(putsInterruptedAndTimedOut, { runs: 100, seed: 1 })
      assert.isAbove(summary.distinctSchedules, 1)
    }))
})

describe("BufferManager review: every frame is checked against the pool's largest tier (review item 13)", () => {
  // 600,000 samples x 2 bytes = 1,200,000 bytes per channel, above the default pool's largest tier (1 MiB)
  const tooLarge = { samplesPerFrame: 600_000 }
  const tierError = new BufferError.InvalidConfig({
    module: "BufferManager",
    field: "frame.samplesPerFrame",
    value: 600_000,
    reason: "one channel's frame (1200000 bytes) must fit the largest pool tier (1048576 bytes)"
  })

  it.scoped("reconfigure refuses the frame and changes nothing", () =>
    Effect.gen(function*() {
      const buffers = yield* BufferManager.make({ name: "review-13-reconfigure" })
      const error = yield* Effect.flip(BufferManager.reconfigure(buffers, tooLarge))
      assert.deepStrictEqual(error, tierError)
      assert.strictEqual((yield* BufferManager.frame(buffers)).samplesPerFrame, 480)
    }))

  it.effect("make and unsafeMake refuse it with the same error (make used to accept it)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(BufferManager.make({ name: "review-13-make", frame: tooLarge })))
      assert.deepStrictEqual(error, tierError)
      assert.throws(() => BufferManager.unsafeMake({ name: "review-13-unsafe", frame: tooLarge }))
    }))

  it.scoped("an update region's set refuses it with the same error (set used to accept it)", () =>
    Effect.gen(function*() {
      const buffers = yield* BufferManager.make({ name: "review-13-region" })
      const error = yield* Effect.flip(BufferManager.withUpdate(buffers, (region) => region.set({ frame: tooLarge })))
      assert.deepStrictEqual(error, tierError)
      assert.strictEqual((yield* BufferManager.frame(buffers)).samplesPerFrame, 480)
    }))

  it.scoped("the bound is the manager's own pool's: a frame that fits its largest tier is accepted", () =>
    Effect.gen(function*() {
      const pool = yield* ResourcePool.make({ name: "review-13-pool", tiers: [{ size: 64, limit: 4 }] })
      const buffers = yield* BufferManager.make({ name: "review-13-pool", pool, frame: { samplesPerFrame: 32 } })
      assert.strictEqual((yield* BufferManager.frame(buffers)).bytesPerChannel, 64)
      const error = yield* Effect.flip(BufferManager.make({ name: "review-13-pool-2", pool }))
      assert.strictEqual(error.field, "frame.samplesPerFrame")
      const region = yield* Effect.flip(
        BufferManager.withUpdate(buffers, (region) => region.set({ frame: { bytesPerSample: 4 } }))
      )
      assert.strictEqual(region._tag, "InvalidConfig")
    }))
})

describe("BufferManager review: an interrupted cleanup never stays closing", () => {
  // Before: the status went to `closing` in one step and the `ensuring` that drops the rest and closes was entered
  // in a later one; an interruption in between left the manager `closing` with its items queued (seed 15).
  const interruptedCleanup = Effect.scoped(Effect.gen(function*() {
    const buffers = yield* BufferManager.make({ name: "review-cleanup", stages: { capture: 4 }, channels: ["left"] })
    yield* BufferManager.put(buffers, "capture", "left", bytes(1))
    yield* BufferManager.put(buffers, "capture", "left", bytes(2))
    const cleaning = yield* Effect.fork(BufferManager.cleanup(buffers))
    const interrupter = yield* Effect.fork(Fiber.interrupt(cleaning))
    yield* Fiber.join(interrupter)
    yield* Fiber.await(cleaning)
    const stats = yield* BufferManager.stats(buffers)
    // interrupted before it closed the manager: untouched; otherwise it finished closing
    if (stats.status === "open") assert.strictEqual(stats.totals.queued, 2)
    else assert.deepStrictEqual([stats.status, stats.totals.queued, stats.totals.dropped], ["closed", 0, 2])
  }))

  it.effect("an interrupted cleanup leaves the manager open or closed and empty (seed 15 left it closing)", () =>
    Effect.gen(function*() {
      const summary = yield* Explore.explore(interruptedCleanup, { runs: 100, seed: 1 })
      assert.isAbove(summary.distinctSchedules, 1)
    }))
})
