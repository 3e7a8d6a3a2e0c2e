import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Deferred, Duration, Effect, Exit, Fiber, Queue, Ref, TestClock } from "effect"
import * as Explore from "../src/Explore.js"

/** Three fibers increment a counter with a yield between the read and the write: updates can be lost. */
const increments = (withLock: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const counter = yield* Ref.make(0)
    const increment = withLock(Effect.gen(function*() {
      const value = yield* Ref.get(counter)
      yield* Effect.yieldNow()
      yield* Ref.set(counter, value + 1)
    }))
    yield* Effect.all([increment, increment, increment], { concurrency: "unbounded", discard: true })
    return yield* Ref.get(counter)
  })

const unlocked = increments((self) => self)

const locked = Effect.flatMap(Effect.makeSemaphore(1), (semaphore) => increments(semaphore.withPermits(1)))

const expectThree = (scenario: Effect.Effect<number>) =>
  Effect.flatMap(
    scenario,
    (count) => count === 3 ? Effect.void : Effect.fail(`lost update: counter is ${count}, not 3`)
  )

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert.isTrue(Exit.isFailure(exit))
  const failure = Cause.failureOption((exit as Exit.Failure<A, E>).cause)
  assert.isTrue(failure._tag === "Some")
  return (failure as { readonly value: E }).value
}

describe("Explore", () => {
  it.effect("finds a lost update and names the seed", () =>
    Effect.gen(function*() {
      const failure = failureOf(yield* Effect.exit(Explore.explore(expectThree(unlocked), { runs: 100 })))
      assert.isTrue(Explore.isExploreFailure(failure))
      assert.strictEqual(failure.seed, failure.run - 1)
      assert.strictEqual(failure.runs, 100)
      assert.include(failure.message, `failed with seed ${failure.seed}`)
      assert.include(failure.message, `Explore.replay(effect, ${failure.seed})`)
      assert.include(failure.message, "lost update")
    }))

  it.effect("replays the failing interleaving by seed", () =>
    Effect.gen(function*() {
      const found = failureOf(yield* Effect.exit(Explore.explore(expectThree(unlocked), { runs: 100, seed: 1000 })))
      const count = yield* Explore.replay(unlocked, found.seed)
      assert.isBelow(count, 3)
      const again = yield* Explore.replay(unlocked, found.seed)
      assert.strictEqual(again, count)
      const replayed = failureOf(
        yield* Effect.exit(Explore.explore(expectThree(unlocked), { runs: 1, seed: found.seed }))
      )
      assert.strictEqual(replayed.seed, found.seed)
      const viaReplay = failureOf(yield* Effect.exit(Explore.replay(expectThree(unlocked), found.seed)))
      assert.strictEqual(viaReplay.seed, found.seed)
    }))

  // Reported: replay right after explore in the same fiber, or in a fresh process, could take another interleaving than
  // the one explore reported. Each run records its trace and count; replays must reproduce them exactly.
  it.effect("explore then replay, in the same fiber or a fresh one, reproduces the failing run", () =>
    Effect.gen(function*() {
      const runs: Array<{ readonly trace: string; readonly count: number }> = []
      const traced = Effect.gen(function*() {
        const trace: Array<string> = []
        const counter = yield* Ref.make(0)
        const increment = (name: string) =>
          Effect.gen(function*() {
            trace.push(`${name}r`)
            const value = yield* Ref.get(counter)
            trace.push(`${name}w`)
            yield* Ref.set(counter, value + 1)
          })
        yield* Effect.all([increment("a"), increment("b"), increment("c")], { concurrency: "unbounded", discard: true })
        const count = yield* Ref.get(counter)
        runs.push({ trace: trace.join(" "), count })
        return count
      })
      const checked = Effect.flatMap(
        traced,
        (count) => count === 3 ? Effect.void : Effect.fail(`lost update: ${count}`)
      )
      // As reported: outside vitest, in a fresh runtime fiber that explores and then replays.
      const found = yield* Effect.promise(() =>
        Effect.runPromise(Effect.gen(function*() {
          const found = failureOf(yield* Effect.exit(Explore.explore(checked, { runs: 200 })))
          yield* Effect.exit(Explore.replay(checked, found.seed))
          return found
        }))
      )
      const explored = runs[found.run - 1]!
      assert.isBelow(explored.count, 3)
      // the replay in the same fiber, right after explore
      assert.deepStrictEqual(runs[found.run], explored)
      // in this fiber, twice
      assert.strictEqual(yield* Explore.replay(traced, found.seed), explored.count)
      assert.strictEqual(yield* Explore.replay(traced, found.seed), explored.count)
      // in a fresh fiber, in a fresh runtime fiber, and as the only run of an exploration
      assert.strictEqual(yield* Fiber.join(yield* Effect.fork(Explore.replay(traced, found.seed))), explored.count)
      assert.strictEqual(
        yield* Effect.promise(() => Effect.runPromise(Explore.replay(traced, found.seed))),
        explored.count
      )
      yield* Effect.exit(Explore.explore(checked, { runs: 1, seed: found.seed }))
      for (const run of runs.slice(found.run)) {
        assert.deepStrictEqual(run, explored)
      }
      assert.strictEqual(runs.length, found.run + 6)
    }))

  it.effect("a lock fixes the race over 100 seeds", () =>
    Effect.gen(function*() {
      const summary = yield* Explore.explore(expectThree(locked), { runs: 100 })
      assert.strictEqual(summary.runs, 100)
      assert.strictEqual(summary.firstSeed, 0)
      assert.strictEqual(summary.lastSeed, 99)
      assert.isAbove(summary.distinctSchedules, 10)
      assert.isAbove(summary.steps, 100)
    }))

  it.effect("counts a single schedule for an effect without concurrency", () =>
    Effect.gen(function*() {
      const summary = Explore.explore({ runs: 10, seed: 5 })(Effect.succeed(1))
      const result = yield* summary
      assert.strictEqual(result.distinctSchedules, 1)
      assert.strictEqual(result.firstSeed, 5)
      assert.strictEqual(result.lastSeed, 14)
    }))

  it.effect("reports defects such as failed assertions, with the seed", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Explore.explore(Effect.sync(() => assert.fail("broken invariant")), { runs: 3 }))
      const failure = failureOf(exit)
      assert.strictEqual(failure.seed, 0)
      assert.isTrue(Cause.isDie(failure.cause))
      assert.include(failure.message, "broken invariant")
    }))

  it.live("works under it.live with the live clock", () =>
    Effect.gen(function*() {
      const sleepy = Effect.flatMap(Effect.makeSemaphore(1), (semaphore) =>
        Effect.all([semaphore.withPermits(1)(Effect.sleep("1 millis")), semaphore.withPermits(1)(Effect.void)], {
          concurrency: "unbounded"
        }))
      const summary = yield* Explore.explore(sleepy, { runs: 5 })
      assert.strictEqual(summary.runs, 5)
    }))

  // The reported scenario: the first TestClock sleep of the test forks TestClock's warning fiber on run 1's seeded
  // scheduler, where it stays after the run. Nothing may be stranded; the per-test timeout turns a hang into a failure.
  it.effect(
    "TestClock sleeps woken by a forked adjust finish in every run, and the test ends",
    () =>
      Effect.gen(function*() {
        const summary = yield* Explore.explore(
          Effect.gen(function*() {
            const adjuster = yield* Effect.fork(TestClock.adjust(Duration.seconds(1)))
            yield* Effect.sleep(Duration.seconds(1))
            yield* Fiber.join(adjuster)
          }),
          { runs: 20 }
        )
        assert.strictEqual(summary.runs, 20)
      }),
    5_000
  )

  it.effect("fibers that outlive their run keep running after the exploration", () =>
    Effect.gen(function*() {
      const woke = yield* Queue.unbounded<number>()
      const summary = yield* Explore.explore(
        Effect.gen(function*() {
          // A daemon that outlives the run, asleep on TestClock when the run ends.
          const before = Chunk.size(yield* TestClock.sleeps())
          yield* Effect.forkDaemon(Effect.zipRight(Effect.sleep(Duration.seconds(1)), Queue.offer(woke, before)))
          while (Chunk.size(yield* TestClock.sleeps()) === before) {
            yield* Effect.yieldNow()
          }
        }),
        { runs: 20 }
      )
      assert.strictEqual(summary.runs, 20)
      assert.strictEqual(Chunk.size(yield* TestClock.sleeps()), 20)
      yield* TestClock.adjust(Duration.seconds(1))
      const order = Chunk.toReadonlyArray(yield* Queue.takeN(woke, 20))
      assert.deepStrictEqual([...order].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i))
    }), 5_000)

  it.effect("refuses a non-positive number of runs", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Explore.explore(Effect.void, { runs: 0 }))
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
    }))
})

describe("Explore: a run that hangs", () => {
  /** Two fibers, each waiting for the other's signal before giving its own: a deadlock on every schedule. */
  const deadlock = (uninterruptible: boolean) =>
    Effect.gen(function*() {
      const first = yield* Deferred.make<void>()
      const second = yield* Deferred.make<void>()
      const wait = (deferred: Deferred.Deferred<void>) =>
        uninterruptible ? Effect.uninterruptible(Deferred.await(deferred)) : Deferred.await(deferred)
      yield* Effect.all([
        Effect.zipRight(wait(first), Deferred.succeed(second, undefined)),
        Effect.zipRight(wait(second), Deferred.succeed(first, undefined))
      ], { concurrency: "unbounded", discard: true })
    })

  for (const uninterruptible of [false, true]) {
    it.live(`fails with RunHung naming the seed instead of hanging (${uninterruptible ? "un" : ""}interruptible wait)`, () =>
      Effect.gen(function*() {
        const failure = yield* Effect.flip(
          Explore.explore(deadlock(uninterruptible), { seed: 7, runs: 3, hangAfter: "50 millis" })
        )
        assert.strictEqual(failure.seed, 7)
        assert.strictEqual(failure.run, 1)
        const defect = Cause.squash(failure.cause)
        assert.isTrue(Explore.isRunHung(defect))
        assert.strictEqual((defect as Explore.RunHung).afterMs, 50)
        assert.include(failure.message, "did not finish within 50 ms of real time")
        const replayed = yield* Effect.flip(Explore.replay(deadlock(uninterruptible), 7, { hangAfter: "50 millis" }))
        assert.isTrue(Explore.isRunHung(Cause.squash(replayed.cause)))
      }))
  }

  it.effect("a run that finishes before the deadline is not affected; Duration.infinity turns the deadline off", () =>
    Effect.gen(function*() {
      const summary = yield* Explore.explore(Effect.as(Effect.yieldNow(), 1), { runs: 5, hangAfter: "10 seconds" })
      assert.strictEqual(summary.runs, 5)
      assert.strictEqual(yield* Explore.replay(Effect.succeed(2), 0, { hangAfter: Duration.infinity }), 2)
    }))

  it.effect("a hangAfter that is not a positive duration is a defect", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Explore.explore(Effect.void, { hangAfter: 0 }))
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
      assert.include(
        String(Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)),
        "hangAfter must be a positive"
      )
    }))
})
