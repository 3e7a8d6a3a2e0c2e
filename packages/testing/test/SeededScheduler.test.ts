import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Context,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  FiberRef,
  Layer,
  Option,
  Ref,
  Scope,
  TestClock,
  TestContext,
  TestServices
} from "effect"
import * as SeededScheduler from "../src/SeededScheduler.js"
import * as Watchdog from "../src/Watchdog.js"

/** Three fibers append their name at each step; the trace is the interleaving. */
const interleaving = Effect.gen(function*() {
  const trace: Array<string> = []
  const worker = (name: string) =>
    Effect.gen(function*() {
      for (let i = 0; i < 3; i++) {
        trace.push(`${name}${i}`)
        yield* Effect.yieldNow()
      }
    })
  yield* Effect.all([worker("a"), worker("b"), worker("c")], { concurrency: "unbounded", discard: true })
  return trace.join(" ")
})

/** Read, then write without an explicit yield: only preemption can split the two. */
const unyieldingRace = Effect.gen(function*() {
  const counter = yield* Ref.make(0)
  const increment = Effect.flatMap(Ref.get(counter), (value) => Ref.set(counter, value + 1))
  yield* Effect.all([increment, increment, increment], { concurrency: "unbounded", discard: true })
  return yield* Ref.get(counter)
})

const seeds = (n: number) => Array.from({ length: n }, (_, i) => i)

describe("SeededScheduler", () => {
  it.effect("the same seed gives the same interleaving", () =>
    Effect.gen(function*() {
      for (const seed of seeds(20)) {
        const first = yield* SeededScheduler.run(interleaving, seed)
        const second = yield* SeededScheduler.run(interleaving, seed)
        assert.strictEqual(second, first, `seed ${seed}`)
      }
    }))

  // Reported outside vitest: the first run in a fiber took another schedule than every later one (the caller's first
  // slice, its op count and the tasks it had pending leaked into the run). A run now starts from a clean state.
  it.effect("the same seed twice in one fiber gives identical fingerprints and results", () =>
    Effect.gen(function*() {
      const once = (seed: number, options?: SeededScheduler.Options) =>
        Effect.gen(function*() {
          const scheduler = SeededScheduler.unsafeMake(seed, options)
          const result = yield* SeededScheduler.runWith(unyieldingRace, scheduler)
          const trace = yield* SeededScheduler.runWith(interleaving, SeededScheduler.unsafeMake(seed, options))
          return `${result} ${scheduler.fingerprint} ${scheduler.steps} ${trace}`
        })
      const repeated = (seed: number, options?: SeededScheduler.Options) =>
        Effect.gen(function*() {
          const runs: Array<string> = []
          for (let i = 0; i < 3; i++) {
            runs.push(yield* once(seed, options))
          }
          return runs
        })
      for (const seed of [42, ...seeds(10)]) {
        for (const options of [undefined, { preemption: false }]) {
          // As reported: a fresh runtime fiber (outside vitest), still in its first slice, running the seed repeatedly.
          const outside = yield* Effect.promise(() => Effect.runPromise(repeated(seed, options)))
          const inside = yield* repeated(seed, options)
          const inFreshFiber = yield* Fiber.join(yield* Effect.fork(once(seed, options)))
          for (const run of [...outside, ...inside, inFreshFiber]) {
            assert.strictEqual(run, outside[0], `seed ${seed} ${JSON.stringify(options)}`)
          }
        }
      }
    }))

  it.effect("a run does not depend on the caller's op count or op budget", () =>
    Effect.gen(function*() {
      for (const options of [undefined, { preemption: false }]) {
        const scheduler = SeededScheduler.unsafeMake(42, options)
        const reference = yield* SeededScheduler.runWith(interleaving, scheduler)
        for (const busy of [0, 1, 7, 100, 2100]) {
          // Effect's run loop livelocks below about 10 ops per slice, so 16 is the smallest budget tried.
          for (const maxOps of [16, 2048, 10_000]) {
            const other = SeededScheduler.unsafeMake(42, options)
            const trace = yield* Effect.gen(function*() {
              for (let i = 0; i < busy; i++) {
                yield* Effect.void
              }
              return yield* SeededScheduler.runWith(interleaving, other)
            }).pipe(Effect.withMaxOpsBeforeYield(maxOps))
            const label = `after ${busy} ops, maxOpsBeforeYield ${maxOps}, ${JSON.stringify(options)}`
            assert.strictEqual(trace, reference, label)
            assert.strictEqual(other.fingerprint, scheduler.fingerprint, label)
            assert.strictEqual(other.steps, scheduler.steps, label)
          }
        }
      }
    }))

  // TestClock forks a warning fiber at the first sleep of a test, and only then: that fiber must not make the first
  // run of a seed in a test differ from the same seed later in the test, or in a fresh test (a replay).
  it.effect("with TestClock, a seed takes the same schedule late in a test as in a fresh test", () =>
    Effect.gen(function*() {
      const sleepAndAdjust = Effect.gen(function*() {
        const adjuster = yield* Effect.fork(TestClock.adjust(Duration.seconds(1)))
        yield* Effect.sleep(Duration.seconds(1))
        yield* Fiber.join(adjuster)
      })
      const schedule = (seed: number) =>
        Effect.gen(function*() {
          const scheduler = SeededScheduler.unsafeMake(seed)
          yield* SeededScheduler.runWith(sleepAndAdjust, scheduler)
          return `${scheduler.fingerprint} ${scheduler.steps}`
        })
      const inThisTest: Array<string> = []
      for (const seed of seeds(6)) {
        inThisTest.push(yield* schedule(seed))
      }
      for (const seed of seeds(6)) {
        assert.strictEqual(
          yield* Effect.provide(schedule(seed), TestContext.TestContext),
          inThisTest[seed],
          `seed ${seed}`
        )
      }
    }))

  it.effect("the caller keeps its own scheduler and fiber refs set by the run", () =>
    Effect.gen(function*() {
      const before = yield* FiberRef.get(FiberRef.currentScheduler)
      const ref = FiberRef.unsafeMake(0)
      yield* SeededScheduler.run(FiberRef.set(ref, 7), 1)
      assert.strictEqual(yield* FiberRef.get(FiberRef.currentScheduler), before)
      assert.strictEqual(yield* FiberRef.get(ref), 7)
    }))

  it.effect("different seeds give different interleavings", () =>
    Effect.gen(function*() {
      const traces = new Set<string>()
      for (const seed of seeds(20)) {
        traces.add(yield* SeededScheduler.run(interleaving, seed))
      }
      assert.isAbove(traces.size, 10)
    }))

  it.effect("the fingerprint identifies the schedule taken", () =>
    Effect.gen(function*() {
      const a = SeededScheduler.unsafeMake(5)
      const b = SeededScheduler.unsafeMake(5)
      const c = SeededScheduler.unsafeMake(6)
      yield* SeededScheduler.runWith(interleaving, a)
      yield* SeededScheduler.runWith(interleaving, b)
      yield* SeededScheduler.runWith(interleaving, c)
      assert.strictEqual(a.fingerprint, b.fingerprint)
      assert.strictEqual(a.steps, b.steps)
      assert.isAbove(a.steps, 9)
      assert.strictEqual(a.pending, 0)
      assert.strictEqual(a.seed, 5)
      assert.isTrue(SeededScheduler.isSeededScheduler(a))
      assert.isFalse(SeededScheduler.isSeededScheduler({}))
    }))

  it.effect("preemption splits read-modify-write sequences that have no yield point", () =>
    Effect.gen(function*() {
      const preempted = new Set<number>()
      const cooperative = new Set<number>()
      for (const seed of seeds(100)) {
        preempted.add(yield* SeededScheduler.run(unyieldingRace, seed))
        cooperative.add(yield* SeededScheduler.run(unyieldingRace, seed, { preemption: false }))
      }
      assert.isTrue(preempted.has(3))
      assert.isAbove(preempted.size, 1, "some seed loses an update")
      assert.deepStrictEqual(Array.from(cooperative), [3])
    }))

  it.effect("works with TestClock inside it.effect", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        const sleeper = yield* Effect.fork(Effect.as(Effect.sleep(Duration.seconds(5)), "woke"))
        yield* TestClock.adjust(Duration.seconds(5))
        return yield* Fiber.join(sleeper)
      })
      assert.strictEqual(yield* SeededScheduler.run(program, 1), "woke")
    }))

  it.live("works with the live clock inside it.live", () =>
    Effect.gen(function*() {
      const latch = yield* Deferred.make<number>()
      const program = Effect.gen(function*() {
        yield* Effect.fork(Effect.zipRight(Effect.sleep(Duration.millis(1)), Deferred.succeed(latch, 7)))
        return yield* Deferred.await(latch)
      })
      assert.strictEqual(yield* SeededScheduler.run(program, 2), 7)
    }))

  it.effect("passes failures through unchanged", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(SeededScheduler.run(Effect.fail("boom"), 3))
      assert.deepStrictEqual(exit, Exit.fail("boom"))
    }))

  it.effect("refuses op budgets below 16 and inverted ranges", () =>
    Effect.gen(function*() {
      const small = yield* Effect.exit(SeededScheduler.make(1, { minOps: 9 }))
      assert.isTrue(Exit.isFailure(small) && Cause.isDie(small.cause))
      assert.include(
        String(Cause.squash((small as Exit.Failure<never, never>).cause)),
        "minOps must be an integer >= 16"
      )
      assert.throws(
        () => SeededScheduler.unsafeMake(1, { minOps: 32, maxOps: 20 }),
        /maxOps must be an integer >= minOps/
      )
      assert.throws(() => SeededScheduler.unsafeMake(1, { stepsPerTurn: 0 }), /stepsPerTurn must be a positive integer/)
      assert.strictEqual(SeededScheduler.minimumOps, 16)
    }))

  it.effect("a fiber that outlives the run finishes on the scheduler it started on", () =>
    Effect.gen(function*() {
      const scheduler = SeededScheduler.unsafeMake(3)
      const release = yield* Deferred.make<void>()
      const finished = yield* Deferred.make<number>()
      const survivor = Effect.gen(function*() {
        yield* Deferred.await(release)
        for (let i = 0; i < 5; i++) {
          yield* Effect.yieldNow()
        }
        yield* Deferred.succeed(finished, 5)
      })
      yield* SeededScheduler.runWith(Effect.asVoid(Effect.forkDaemon(survivor)), scheduler)
      const stepsAtEnd = scheduler.steps
      // Woken from outside the run, by a fiber on another scheduler.
      yield* Deferred.succeed(release, undefined)
      assert.strictEqual(yield* Deferred.await(finished), 5)
      assert.isAbove(scheduler.steps, stepsAtEnd)
      assert.strictEqual(scheduler.pending, 0)
    }), 5_000)

  // Not a defect of this scheduler: Effect 3.22.4's Semaphore.withPermits takes its permits in an interruptible
  // region, one run-loop operation before it installs their release (fixed upstream in Effect-TS/effect#6910). An
  // interrupt delivered in between keeps the permit forever. Effect's default scheduler can yield there too (every
  // 2048 operations); random preemption makes it likely. TestClock guards its state with such semaphores, which is why
  // interrupting a fiber inside `Effect.sleep` or `TestClock.adjust` under exploration can hang the next TestClock
  // call or the test's teardown. When this test starts failing after an upgrade, drop the caveat from docs/testing.md.
  it.effect("preemption finds Effect 3.22.4's permit leak in an interrupted Semaphore.withPermits", () =>
    Effect.gen(function*() {
      const leaks = (seed: number, options?: SeededScheduler.Options) =>
        Effect.gen(function*() {
          const lock = yield* Effect.makeSemaphore(1)
          yield* SeededScheduler.run(
            Effect.gen(function*() {
              const holder = yield* Effect.fork(lock.withPermits(1)(Effect.void))
              yield* Effect.yieldNow()
              yield* Fiber.interrupt(holder)
            }),
            seed,
            options
          )
          return Option.isNone(yield* lock.withPermitsIfAvailable(1)(Effect.void))
        })
      const preempted: Array<number> = []
      const cooperative: Array<number> = []
      for (const seed of seeds(200)) {
        if (yield* leaks(seed)) preempted.push(seed)
        if (yield* leaks(seed, { preemption: false })) cooperative.push(seed)
      }
      assert.isAbove(preempted.length, 0, "some seed interrupts the holder between taking and releasing")
      assert.deepStrictEqual(cooperative, [])
      for (const seed of preempted) {
        assert.isTrue(yield* leaks(seed), `seed ${seed} replays the leak`)
      }
    }))

  // The same leak inside TestClock, which guards its state with semaphores: the symptom users see as a hang at the next
  // TestClock call or at teardown. The clock is a separate instance in a scope that is never closed (its finalizer
  // needs the wedged lock), built in a fiber that is awaited, not joined, so the test's own clock is untouched.
  it.effect(
    "an interrupted TestClock sleep can leave TestClock locked, and the watchdog reports it",
    () =>
      Effect.gen(function*() {
        const isolatedTestClock = Effect.gen(function*() {
          const layer = TestClock.defaultTestClock.pipe(
            Layer.provide(Layer.merge(TestServices.liveLayer(), TestServices.annotationsLayer())),
            Layer.provide(TestContext.LiveContext)
          )
          return Context.get(yield* Layer.buildWithScope(layer, yield* Scope.make()), TestClock.TestClock)
        })
        const adjustHangs = (seed: number, options?: SeededScheduler.Options) =>
          Effect.gen(function*() {
            const clock = yield* Effect.flatten(Fiber.await(yield* Effect.fork(isolatedTestClock)))
            yield* SeededScheduler.run(
              Effect.gen(function*() {
                const sleeper = yield* Effect.fork(clock.sleep(Duration.seconds(1)))
                yield* Effect.yieldNow()
                yield* Fiber.interrupt(sleeper)
              }),
              seed,
              options
            )
            const exit = yield* Effect.exit(Watchdog.watch(clock.adjust(Duration.seconds(1)), { idle: "100 millis" }))
            if (Exit.isSuccess(exit)) return false
            assert.isTrue(Watchdog.isDeadlockDetected(Cause.squash(exit.cause)))
            return true
          })
        // Seed 12 is the example of docs/testing.md.
        assert.isTrue(yield* adjustHangs(12), "seed 12 leaves the clock locked")
        assert.isTrue(yield* adjustHangs(12), "and does so again")
        assert.isFalse(yield* adjustHangs(0))
        assert.isFalse(yield* adjustHangs(12, { preemption: false }))
      }),
    10_000
  )

  it.effect("a livelocked fiber still lets the event loop turn", () =>
    Effect.gen(function*() {
      const spinning = Effect.gen(function*() {
        const stop = yield* Ref.make(false)
        const spinner = yield* Effect.fork(Effect.repeat(Effect.yieldNow(), { while: () => true }))
        yield* Effect.fork(Effect.zipRight(Effect.yieldNow(), Ref.set(stop, true)))
        yield* Effect.repeat(Effect.yieldNow(), { until: () => Ref.get(stop).pipe(Effect.runSync) })
        yield* Fiber.interrupt(spinner)
        return "stopped"
      })
      assert.strictEqual(yield* SeededScheduler.run(spinning, 4, { stepsPerTurn: 50 }), "stopped")
    }))
})
