import { Definition, HealthGate, StateMachine } from "@core-stability/state-machine"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Ref, TestClock } from "effect"

const Job = Definition.unsafeMake({
  name: "job",
  states: ["Queued", "Running", "Done", "Failed"],
  initial: "Queued",
  transitions: { Queued: ["Running"], Running: ["Done", "Queued"], Done: ["Queued"], Failed: ["Queued"] },
  fromAny: ["Failed"]
})

describe("HealthGate", () => {
  it.effect("runs every check even after one fails and names every failed component, with its cause", () =>
    Effect.gen(function*() {
      const gate = yield* HealthGate.make({
        name: "deps",
        checks: [
          { name: "false", check: () => Effect.succeed(false) },
          { name: "fails", check: () => Effect.fail(new Error("disk full")) },
          { name: "dies", check: () => Effect.die(new TypeError("bad driver")) },
          {
            name: "throws",
            check: () => {
              throw new RangeError("no handle")
            }
          },
          { name: "ok", check: () => Effect.succeed(true) }
        ]
      })
      const error = yield* Effect.flip(HealthGate.check(gate))
      assert.strictEqual(error._tag, "Unhealthy")
      assert.deepStrictEqual(error.failures.map((f) => f.component), ["false", "fails", "dies", "throws"])
      assert.include(error.message, "false: returned false")
      assert.include(error.message, "fails: Error: disk full")
      assert.include(error.message, "dies: TypeError: bad driver")
      assert.include(error.message, "throws: RangeError: no handle")
      const stats = yield* HealthGate.stats(gate)
      assert.deepStrictEqual(
        [stats.runs, stats.rejections, stats.totalChecks, stats.failedChecks, stats.successRate],
        [1, 1, 5, 4, 20]
      )
      assert.deepStrictEqual(stats.unhealthy, ["false", "fails", "dies", "throws"])
      const ok = stats.components.find((c) => c.name === "ok")!
      assert.deepStrictEqual([ok.healthy, ok.checks, ok.failures, ok.successRate, ok.lastError], [
        true,
        1,
        0,
        100,
        undefined
      ])
      const fails = stats.components.find((c) => c.name === "fails")!
      assert.strictEqual(fails.lastError, "Error: disk full")
    }))

  it.effect("counts consecutive failures per component and a recovery when a failed check passes", () =>
    Effect.gen(function*() {
      const healthy = yield* Ref.make(false)
      const gate = yield* HealthGate.make({ checks: [{ name: "db", check: () => Ref.get(healthy) }] })
      yield* Effect.flip(HealthGate.check(gate))
      yield* Effect.flip(HealthGate.check(gate))
      let db = (yield* HealthGate.stats(gate)).components[0]!
      assert.deepStrictEqual([db.healthy, db.failures, db.consecutiveFailures, db.recoveries], [false, 2, 2, 0])
      yield* Ref.set(healthy, true)
      assert.isTrue(yield* HealthGate.check(gate))
      assert.isTrue(yield* HealthGate.check(gate))
      db = (yield* HealthGate.stats(gate)).components[0]!
      assert.deepStrictEqual([db.healthy, db.failures, db.consecutiveFailures, db.recoveries], [true, 2, 0, 1])
      assert.strictEqual((yield* HealthGate.stats(gate)).recoveries, 1)
    }))

  it.effect("a fresh gate reports nothing checked, rates at 100, components not yet known", () =>
    Effect.gen(function*() {
      const gate = HealthGate.unsafeMake({ checks: [{ name: "a", check: () => Effect.succeed(true) }] })
      const stats = yield* HealthGate.stats(gate)
      assert.deepStrictEqual([stats.gate, stats.totalChecks, stats.successRate], ["health", 0, 100])
      assert.strictEqual(stats.components[0]!.healthy, undefined)
      assert.isTrue(HealthGate.isHealthGate(gate))
      assert.isFalse(HealthGate.isHealthGate({ name: "health" }))
    }))

  it.effect("register and unregister change the checks of later runs; a duplicate name is a defect", () =>
    Effect.gen(function*() {
      const gate = yield* HealthGate.make()
      yield* HealthGate.register(gate, { name: "a", check: () => Effect.succeed(true) })
      yield* gate.pipe(HealthGate.register({ name: "b", check: () => Effect.succeed(false) }))
      const duplicate = yield* Effect.exit(HealthGate.register(gate, { name: "a", check: () => Effect.succeed(true) }))
      assert.isTrue(Exit.isFailure(duplicate) && Exit.causeOption(duplicate)._tag === "Some")
      assert.throws(
        () =>
          HealthGate.unsafeMake({
            checks: [{ name: "x", check: () => Effect.succeed(true) }, { name: "x", check: () => Effect.succeed(true) }]
          }),
        /already has a check named "x"/
      )
      yield* Effect.flip(HealthGate.check(gate))
      assert.isTrue(yield* HealthGate.unregister(gate, "b"))
      assert.isFalse(yield* HealthGate.unregister(gate, "b"))
      assert.isTrue(yield* HealthGate.check(gate))
      const stats = yield* HealthGate.stats(gate)
      assert.deepStrictEqual(stats.components.map((c) => c.name), ["a"])
      assert.deepStrictEqual([stats.runs, stats.totalChecks, stats.failedChecks], [2, 3, 1])
    }))

  it.effect("narrowed to a pair, the gate leaves other transitions alone", () =>
    Effect.gen(function*() {
      const checks = yield* Ref.make(0)
      const gate = yield* HealthGate.make({
        name: "workers",
        checks: [{ name: "pool", check: () => Effect.as(Ref.update(checks, (n) => n + 1), false) }]
      })
      const machine = yield* StateMachine.make(Job)
      yield* StateMachine.addValidator(machine, HealthGate.validator(gate, { name: "workers-up", to: "Done" }))
      yield* StateMachine.transitionTo(machine, "Running")
      assert.strictEqual(yield* Ref.get(checks), 0)
      const error = yield* Effect.flip(StateMachine.transitionTo(machine, "Done"))
      assert.strictEqual(error._tag, "ValidationFailed")
      if (error._tag === "ValidationFailed") {
        assert.strictEqual(error.validator, "workers-up")
        assert.include(error.message, "Unhealthy: pool (gate \"workers\"")
      }
      assert.strictEqual(yield* Ref.get(checks), 1)
      assert.strictEqual(yield* StateMachine.get(machine), "Running")
    }))

  it.effect("with retries, every attempt runs every check; passing on a retry counts a recovery", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const gate = yield* HealthGate.make({
        checks: [{ name: "flaky", check: () => Effect.map(Ref.updateAndGet(calls, (n) => n + 1), (n) => n >= 2) }]
      })
      const machine = yield* StateMachine.make(Job, {
        validators: [HealthGate.validator(gate, { retry: { times: 1, delay: "1 second" } })]
      })
      const fiber = yield* Effect.fork(StateMachine.transitionTo(machine, "Running"))
      yield* TestClock.adjust("1 second")
      const record = yield* Fiber.join(fiber)
      assert.strictEqual(record.durationMs, 1000)
      const stats = yield* HealthGate.stats(gate)
      assert.deepStrictEqual([stats.runs, stats.rejections, stats.totalChecks, stats.failedChecks, stats.recoveries], [
        2,
        1,
        2,
        1,
        1
      ])
      assert.deepStrictEqual((yield* StateMachine.stats(machine)).retries.successes, 1)
    }))

  it.effect("the validator's timeout interrupts a hanging check; the checks already finished stay counted", () =>
    Effect.gen(function*() {
      const interrupted = yield* Deferred.make<void>()
      const gate = yield* HealthGate.make({
        checks: [
          { name: "fast", check: () => Effect.succeed(true) },
          {
            name: "hangs",
            check: () => Effect.never.pipe(Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined)))
          }
        ]
      })
      const machine = yield* StateMachine.make(Job, {
        validators: [HealthGate.validator(gate, { timeout: "2 seconds" })]
      })
      const fiber = yield* Effect.fork(StateMachine.transitionTo(machine, "Running"))
      yield* TestClock.adjust("2 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "ValidationTimeout")
      yield* Deferred.await(interrupted)
      const stats = yield* HealthGate.stats(gate)
      assert.deepStrictEqual([stats.runs, stats.totalChecks, stats.failedChecks], [1, 1, 0])
      assert.strictEqual(stats.components[1]!.healthy, undefined)
    }))

  it.effect("one gate guards several machines; its counts are their sum", () =>
    Effect.gen(function*() {
      const gate = yield* HealthGate.make({ checks: [{ name: "a", check: () => Effect.succeed(true) }] })
      const left = yield* StateMachine.make(Job, { name: "left", validators: [HealthGate.validator(gate)] })
      const right = yield* StateMachine.make(Job, { name: "right", validators: [HealthGate.validator(gate)] })
      yield* StateMachine.transitionTo(left, "Running")
      yield* StateMachine.transitionTo(right, "Running")
      yield* StateMachine.transitionTo(right, "Done")
      assert.strictEqual((yield* HealthGate.stats(gate)).totalChecks, 3)
    }))
})
