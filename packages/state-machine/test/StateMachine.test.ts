import { Definition, HealthGate, Presets, StateMachine, TransitionRecord } from "@core-stability/state-machine"
import { Explore } from "@core-stability/testing"
import { assert, describe, it } from "@effect/vitest"
import {
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  FiberId,
  Metric,
  Option,
  Ref,
  Schema,
  TestClock
} from "effect"

const Job = Definition.unsafeMake({
  name: "job",
  states: ["Queued", "Running", "Done", "Failed"],
  initial: "Queued",
  transitions: { Queued: ["Running"], Running: ["Done", "Queued"], Done: ["Queued"], Failed: ["Queued"] },
  fromAny: ["Failed"]
})

/** Every state moves to every other: for races where any interleaving is legal. */
const Ring = Definition.unsafeMake({
  name: "ring",
  states: ["A", "B", "C"],
  initial: "A",
  transitions: { A: ["B", "C"], B: ["A", "C"], C: ["A", "B"] }
})

/** Polls `read` until `done` holds, yielding between reads (at most 100 times): for work other fibers finish. */
const eventually = <A>(read: Effect.Effect<A>, done: (a: A) => boolean): Effect.Effect<A> =>
  Effect.gen(function*() {
    let value = yield* read
    for (let i = 0; i < 100 && !done(value); i++) {
      yield* Effect.yieldNow()
      value = yield* read
    }
    return value
  })

const assertLinear = (records: ReadonlyArray<TransitionRecord.TransitionRecord>, initial: string) => {
  let state = initial
  for (const record of records) {
    if (!record.success) continue
    assert.strictEqual(record.from, state, `entry #${record.seq} starts from ${record.from}, not ${state}`)
    state = record.to
  }
  return state
}

describe("StateMachine: the original acceptance scenarios (origin.md 3.1)", () => {
  it.effect("#1 a new machine is in its initial state with an empty history", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Presets.Recovery)
      assert.strictEqual(yield* StateMachine.get(machine), "Idle")
      assert.deepStrictEqual(yield* StateMachine.history(machine), [])
    }))

  it.effect("#2 Idle -> Initiating succeeds and records one successful entry", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000)
      const machine = yield* StateMachine.make(Presets.Recovery)
      const record = yield* StateMachine.transitionTo(machine, "Initiating", { reason: "errors", metadata: { n: 3 } })
      assert.deepStrictEqual(record, {
        seq: 1,
        kind: "transition",
        from: "Idle",
        to: "Initiating",
        at: 1_000,
        durationMs: 0,
        success: true,
        reason: "errors",
        error: undefined,
        metadata: { n: 3 }
      })
      assert.deepStrictEqual(yield* StateMachine.history(machine), [record])
    }))

  it.effect("#3 Idle -> Completed fails with InvalidTransition, keeps the state and records the failure", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Presets.Recovery)
      const error = yield* Effect.flip(StateMachine.transitionTo(machine, "Completed"))
      assert.strictEqual(error._tag, "InvalidTransition")
      assert.strictEqual(yield* StateMachine.get(machine), "Idle")
      const [entry] = yield* StateMachine.history(machine)
      assert.strictEqual(entry?.success, false)
      assert.strictEqual(entry?.error?.tag, "InvalidTransition")
      assert.include(entry?.error?.message, "Invalid transition")
    }))

  it.effect("#4 an invariant of the target that does not hold fails the transition and rolls back", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Presets.Recovery, {
        invariants: [{ name: "never", state: "Initiating", predicate: () => false }]
      })
      const error = yield* Effect.flip(StateMachine.transitionTo(machine, "Initiating"))
      assert.strictEqual(error._tag, "InvariantViolated")
      assert.strictEqual(yield* StateMachine.get(machine), "Idle")
      const [entry] = yield* StateMachine.history(machine)
      assert.include(entry?.error?.message, "State invariants not satisfied")
    }))

  it.effect("#5 a validator returning false fails with ValidationFailed, \"Transition validation failed\"", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Presets.Recovery, {
        validators: [{ name: "veto", from: "Idle", to: "Initiating", effect: () => Effect.succeed(false) }]
      })
      const error = yield* Effect.flip(StateMachine.transitionTo(machine, "Initiating"))
      assert.strictEqual(error._tag, "ValidationFailed")
      assert.strictEqual(yield* StateMachine.get(machine), "Idle")
      const [entry] = yield* StateMachine.history(machine)
      assert.strictEqual(entry?.error?.tag, "ValidationFailed")
      assert.include(entry?.error?.message, "Transition validation failed")
    }))

  it.effect("#6 rollback runs the pair's compensation and restores the previous state", () =>
    Effect.gen(function*() {
      const undone = yield* Ref.make<ReadonlyArray<number>>([])
      const machine = yield* StateMachine.make(Presets.Recovery, {
        compensations: [{
          name: "undo-initiate",
          from: "Idle",
          to: "Initiating",
          run: (record) => Ref.update(undone, (seqs) => [...seqs, record.seq])
        }]
      })
      yield* StateMachine.transitionTo(machine, "Initiating")
      const record = yield* StateMachine.rollback(machine)
      assert.deepStrictEqual(yield* Ref.get(undone), [1])
      assert.strictEqual(yield* StateMachine.get(machine), "Idle")
      assert.deepStrictEqual([record.kind, record.from, record.to, record.success], [
        "rollback",
        "Initiating",
        "Idle",
        true
      ])
    }))

  it.effect("#7 the full happy path records six linked successful entries", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Presets.Recovery)
      const path = [
        "Initiating",
        "StoppingCapture",
        "FlushingBuffers",
        "Reinitializing",
        "Verifying",
        "Completed"
      ] as const
      for (const state of path) yield* StateMachine.transitionTo(machine, state)
      const history = yield* StateMachine.history(machine)
      assert.strictEqual(history.length, 6)
      assert.isTrue(history.every((entry) => entry.success))
      assert.strictEqual(assertLinear(history, "Idle"), "Completed")
    }))

  it.effect("#8 StoppingCapture -> Failed, then Failed -> Idle", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Presets.Recovery)
      yield* StateMachine.transitionTo(machine, "Initiating")
      yield* StateMachine.transitionTo(machine, "StoppingCapture")
      yield* StateMachine.transitionTo(machine, "Failed")
      yield* StateMachine.transitionTo(machine, "Idle")
      assert.strictEqual(yield* StateMachine.get(machine), "Idle")
    }))

  it.effect("#9 reset forces the initial state and records a reset entry", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Presets.Recovery)
      yield* StateMachine.transitionTo(machine, "Initiating")
      yield* StateMachine.transitionTo(machine, "StoppingCapture")
      const record = yield* StateMachine.reset(machine)
      assert.strictEqual(yield* StateMachine.get(machine), "Idle")
      const history = yield* StateMachine.history(machine)
      assert.deepStrictEqual(history[history.length - 1], record)
      assert.deepStrictEqual([record.kind, record.from, record.to, record.reason], [
        "reset",
        "StoppingCapture",
        "Idle",
        "reset"
      ])
      assert.strictEqual((yield* Effect.flip(StateMachine.rollback(machine)))._tag, "NothingToRollback")
    }))

  it.effect("#13 metrics: success rate is a percentage and averages are kept per pair", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Presets.Recovery, {
        validators: [{
          name: "slow",
          from: "Idle",
          to: "Initiating",
          effect: () => Effect.as(Effect.sleep("10 millis"), true)
        }]
      })
      const fiber = yield* Effect.fork(StateMachine.transitionTo(machine, "Initiating"))
      yield* TestClock.adjust("10 millis")
      yield* Fiber.join(fiber)
      yield* Effect.flip(StateMachine.transitionTo(machine, "Completed"))
      const stats = yield* StateMachine.stats(machine)
      assert.strictEqual(stats.transitions, 2)
      assert.strictEqual(stats.successRate, 50)
      assert.strictEqual(stats.averageDurationMs, 5)
      assert.deepStrictEqual(stats.errors, { InvalidTransition: 1 })
      const pair = stats.pairs.find((p) => p.from === "Idle" && p.to === "Initiating")!
      assert.deepStrictEqual(
        [pair.count, pair.successes, pair.failures, pair.successRate, pair.minDurationMs, pair.maxDurationMs],
        [1, 1, 0, 100, 10, 10]
      )
    }))

  it.effect("#14 retries: a validator failing twice then passing succeeds on the 3rd attempt, counted", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const machine = yield* StateMachine.make(Presets.Recovery, {
        retry: { times: 2, delay: "100 millis" },
        validators: [{
          name: "flaky",
          from: "Idle",
          to: "Initiating",
          effect: () => Ref.updateAndGet(calls, (n) => n + 1).pipe(Effect.map((n) => n >= 3))
        }, {
          name: "broken",
          from: "Initiating",
          to: "StoppingCapture",
          effect: () => Effect.fail(new Error("capture device busy"))
        }]
      })
      const first = yield* Effect.fork(StateMachine.transitionTo(machine, "Initiating"))
      yield* TestClock.adjust("100 millis")
      assert.isNull(first.unsafePoll())
      yield* TestClock.adjust("100 millis")
      const record = yield* Fiber.join(first)
      assert.strictEqual(record.durationMs, 200)
      assert.strictEqual(yield* Ref.get(calls), 3)
      let stats = yield* StateMachine.stats(machine)
      assert.deepStrictEqual(stats.retries, { count: 2, successes: 1, exhaustions: 0, successRate: 100 })

      const second = yield* Effect.fork(StateMachine.transitionTo(machine, "StoppingCapture"))
      yield* TestClock.adjust("200 millis")
      const error = yield* Effect.flip(Fiber.join(second))
      assert.strictEqual(error._tag, "ValidationFailed")
      if (error._tag === "ValidationFailed") {
        assert.strictEqual(error.attempts, 3)
        assert.include(error.message, "Error: capture device busy")
      }
      stats = yield* StateMachine.stats(machine)
      assert.deepStrictEqual(stats.retries, { count: 4, successes: 1, exhaustions: 1, successRate: 50 })
      assert.strictEqual(yield* StateMachine.get(machine), "Initiating")
    }))

  // #15: a cleanup stage is a validator of `* -> Idle`; registration order is stage order, the first failing stage
  // stops the cleanup (later stages do not run, the state does not move), and the cleanup counts are the statistics of
  // the pairs into Idle.
  it.effect("#15 staged cleanup: pre, main and post stages run in order before the move to Idle, counted", () =>
    Effect.gen(function*() {
      const ran = yield* Ref.make<ReadonlyArray<string>>([])
      const stage = (name: string, pass: Effect.Effect<boolean> = Effect.succeed(true)) =>
        ({
          name,
          from: "*",
          to: "Idle",
          effect: () => Effect.zipRight(Ref.update(ran, (xs) => [...xs, name]), pass)
        }) as const
      const mainPasses = yield* Ref.make(true)
      const machine = yield* StateMachine.make(Presets.Recovery, {
        validators: [stage("pre-cleanup"), stage("main-cleanup", Ref.get(mainPasses)), stage("post-cleanup")]
      })
      yield* StateMachine.transitionTo(machine, "Initiating")
      yield* StateMachine.transitionTo(machine, "StoppingCapture")
      assert.deepStrictEqual(yield* Ref.get(ran), [], "stages run only on the way to Idle")

      const record = yield* StateMachine.transitionTo(machine, "Idle", { reason: "cleanup" })
      assert.deepStrictEqual(yield* Ref.get(ran), ["pre-cleanup", "main-cleanup", "post-cleanup"])
      assert.deepStrictEqual([record.from, record.to, record.success], ["StoppingCapture", "Idle", true])
      assert.strictEqual(yield* StateMachine.get(machine), "Idle")
      let cleanups = (yield* StateMachine.stats(machine)).pairs.filter((pair) => pair.to === "Idle")
      assert.deepStrictEqual(cleanups.map((pair) => [pair.from, pair.count, pair.successes, pair.successRate]), [
        ["StoppingCapture", 1, 1, 100]
      ])

      // A failing stage stops the cleanup there: the state stays, the failure names the stage.
      yield* Ref.set(ran, [])
      yield* Ref.set(mainPasses, false)
      yield* StateMachine.transitionTo(machine, "Initiating")
      const error = yield* Effect.flip(StateMachine.transitionTo(machine, "Idle", { reason: "cleanup" }))
      assert.strictEqual(error._tag, "ValidationFailed")
      if (error._tag === "ValidationFailed") assert.strictEqual(error.validator, "main-cleanup")
      assert.deepStrictEqual(yield* Ref.get(ran), ["pre-cleanup", "main-cleanup"])
      assert.strictEqual(yield* StateMachine.get(machine), "Initiating")
      cleanups = (yield* StateMachine.stats(machine)).pairs.filter((pair) => pair.to === "Idle")
      const total = cleanups.reduce((n, pair) => n + pair.count, 0)
      const succeeded = cleanups.reduce((n, pair) => n + pair.successes, 0)
      assert.deepStrictEqual([total, succeeded, (succeeded / total) * 100], [2, 1, 50])
    }))

  // #16: `HealthGate` turns named health checks into one validator of every transition, with per-check counts.
  it.effect("#16 health gating: every transition runs every check; a failing one refuses it, counted; recovery", () =>
    Effect.gen(function*() {
      const storageHealthy = yield* Ref.make(true)
      const calls = yield* Ref.make<ReadonlyArray<string>>([])
      const component = (name: string, healthy: Effect.Effect<boolean>) => ({
        name,
        check: () => Effect.zipRight(Ref.update(calls, (xs) => [...xs, name]), healthy)
      })
      const gate = yield* HealthGate.make({ name: "components" })
      yield* HealthGate.register(gate, component("capture", Effect.succeed(true)))
      yield* HealthGate.register(gate, component("storage", Ref.get(storageHealthy)))
      const machine = yield* StateMachine.make(Presets.Recovery, { validators: [HealthGate.validator(gate)] })

      yield* StateMachine.transitionTo(machine, "Initiating")
      assert.deepStrictEqual(yield* Ref.get(calls), ["capture", "storage"])

      yield* Ref.set(storageHealthy, false)
      const error = yield* Effect.flip(StateMachine.transitionTo(machine, "StoppingCapture"))
      assert.strictEqual(error._tag, "ValidationFailed")
      assert.include(error.message, "Unhealthy: storage")
      assert.strictEqual(yield* StateMachine.get(machine), "Initiating")
      let health = yield* HealthGate.stats(gate)
      assert.isAbove(health.totalChecks, 0)
      assert.deepStrictEqual([health.totalChecks, health.failedChecks, health.successRate], [4, 1, 75])
      assert.deepStrictEqual(health.components.filter((c) => c.failures > 0).map((c) => c.name), ["storage"])
      assert.deepStrictEqual(health.unhealthy, ["storage"])

      yield* Ref.set(storageHealthy, true)
      yield* StateMachine.transitionTo(machine, "StoppingCapture")
      health = yield* HealthGate.stats(gate)
      assert.strictEqual(health.recoveries, 1)
      assert.deepStrictEqual(health.unhealthy, [])
      assert.deepStrictEqual([health.totalChecks, health.failedChecks, health.runs, health.rejections], [6, 1, 3, 1])
      assert.strictEqual(yield* StateMachine.get(machine), "StoppingCapture")
    }))

  // #18: the rollback functions are compensations; `force_rollback()` is `rollback()`; the rollback metrics are
  // `stats().rollbacks` (count, success rate in %, mean duration in ms of the machine's clock).
  it.effect("#18 forced rollback runs all three rollback functions; rollback metrics count, rate and duration", () =>
    Effect.gen(function*() {
      const ran = yield* Ref.make<ReadonlyArray<string>>([])
      const rollbackFn = (name: string): StateMachine.Compensation<Definition.State<typeof Presets.Recovery>> => ({
        name,
        from: "*",
        to: "*",
        timeout: Duration.infinity,
        run: () => Effect.zipRight(Effect.sleep("5 millis"), Ref.update(ran, (xs) => [...xs, name]))
      })
      const machine = yield* StateMachine.make(Presets.Recovery, {
        compensations: [rollbackFn("rollback-1"), rollbackFn("rollback-2"), rollbackFn("rollback-3")]
      })
      yield* StateMachine.transitionTo(machine, "Initiating")
      const fiber = yield* Effect.fork(StateMachine.rollback(machine, { reason: "forced" }))
      for (let i = 0; i < 3; i++) {
        yield* eventually(TestClock.sleeps(), (sleeps) => sleeps.length === 1)
        yield* TestClock.adjust("5 millis")
      }
      const record = yield* Fiber.join(fiber)
      assert.deepStrictEqual(yield* Ref.get(ran), ["rollback-3", "rollback-2", "rollback-1"])
      assert.deepStrictEqual([record.kind, record.from, record.to, record.reason, record.durationMs], [
        "rollback",
        "Initiating",
        "Idle",
        "forced",
        15
      ])
      assert.strictEqual(yield* StateMachine.get(machine), "Idle")
      const { rollbacks } = yield* StateMachine.stats(machine)
      assert.isAbove(rollbacks.count, 0)
      assert.deepStrictEqual(rollbacks, {
        count: 1,
        successes: 1,
        failures: 0,
        successRate: 100,
        averageDurationMs: 15
      })
    }))
})

describe("StateMachine: validators", () => {
  it.effect("a throwing validator is a ValidationFailed with its defect, recorded with tag and message", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Job, {
        validators: [
          {
            name: "throws",
            from: "Queued",
            to: "Running",
            predicate: () => {
              throw new TypeError("no worker pool")
            }
          },
          {
            name: "throws-building",
            from: "Running",
            to: "Done",
            effect: () => {
              throw new RangeError("bad input")
            }
          }
        ]
      })
      const error = yield* Effect.flip(StateMachine.transitionTo(machine, "Running"))
      assert.strictEqual(error._tag, "ValidationFailed")
      assert.include(error.message, "TypeError: no worker pool")
      const [entry] = yield* StateMachine.history(machine)
      assert.deepStrictEqual(entry?.error, { tag: "ValidationFailed", message: error.message })
      assert.strictEqual(yield* StateMachine.get(machine), "Queued")
    }))

  it.effect("a validator's typed failure is kept as its cause", () =>
    Effect.gen(function*() {
      class NoCapacity extends Error {
        readonly _tag = "NoCapacity"
      }
      const machine = yield* StateMachine.make(Job, {
        validators: [{
          name: "capacity",
          from: "*",
          to: "Running",
          effect: () => Effect.suspend(() => Effect.fail(new NoCapacity("0 slots")))
        }]
      })
      const error = yield* Effect.flip(StateMachine.transitionTo(machine, "Running"))
      assert.strictEqual(error._tag, "ValidationFailed")
      if (error._tag === "ValidationFailed") {
        assert.include(error.message, "NoCapacity: 0 slots")
        assert.isTrue(error.cause !== undefined)
      }
    }))

  it.effect("a hanging validator times out (TestClock) and is interrupted", () =>
    Effect.gen(function*() {
      const interrupted = yield* Deferred.make<void>()
      const machine = yield* StateMachine.make(Job, {
        validators: [{
          name: "hangs",
          from: "Queued",
          to: "Running",
          timeout: "2 seconds",
          effect: () => Effect.never.pipe(Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined)))
        }]
      })
      const fiber = yield* Effect.fork(StateMachine.transitionTo(machine, "Running"))
      yield* TestClock.adjust("1999 millis")
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "ValidationTimeout")
      if (error._tag === "ValidationTimeout") assert.strictEqual(error.timeoutMs, 2000)
      yield* Deferred.await(interrupted)
      assert.strictEqual(yield* StateMachine.get(machine), "Queued")
      const [entry] = yield* StateMachine.history(machine)
      assert.strictEqual(entry?.error?.tag, "ValidationTimeout")
    }))

  it.effect("retries a timed-out validator and reports the timeout only after the last attempt", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const machine = yield* StateMachine.make(Job, {
        validators: [{
          name: "slow-then-fast",
          from: "Queued",
          to: "Running",
          timeout: "1 second",
          retry: { times: 1, delay: "500 millis" },
          effect: () =>
            Ref.getAndUpdate(calls, (n) => n + 1).pipe(
              Effect.flatMap((n) => n === 0 ? Effect.as(Effect.never, true) : Effect.succeed(true))
            )
        }]
      })
      const fiber = yield* Effect.fork(StateMachine.transitionTo(machine, "Running"))
      yield* TestClock.adjust("1500 millis")
      const record = yield* Fiber.join(fiber)
      assert.strictEqual(record.durationMs, 1500)
      assert.strictEqual(yield* Ref.get(calls), 2)
    }))

  it.effect("validators receive the context and run in registration order, stopping at the first rejection", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const log = (name: string, pass: boolean) => (context: StateMachine.TransitionContext<string>) =>
        Ref.update(seen, (xs) => [...xs, `${name}:${context.from}->${context.to}:${context.reason}`]).pipe(
          Effect.as(pass)
        )
      const machine = yield* StateMachine.make(Job, {
        validators: [
          { name: "a", from: "*", to: "*", effect: log("a", true) },
          { name: "b", from: "Queued", to: "Running", effect: log("b", false) },
          { name: "c", from: "*", to: "*", effect: log("c", true) }
        ]
      })
      yield* Effect.flip(StateMachine.transitionTo(machine, "Running", { reason: "go" }))
      yield* StateMachine.transitionTo(machine, "Failed", { reason: "abort" })
      assert.deepStrictEqual(yield* Ref.get(seen), [
        "a:Queued->Running:go",
        "b:Queued->Running:go",
        "a:Queued->Failed:abort",
        "c:Queued->Failed:abort"
      ])
    }))

  it.effect("a validator without a timeout runs inline in the caller's fiber; one with a timeout in its own", () =>
    Effect.gen(function*() {
      const fibers = yield* Ref.make<ReadonlyArray<string>>([])
      const record = (context: StateMachine.TransitionContext<string>) =>
        Effect.fiberId.pipe(
          Effect.flatMap((id) => Ref.update(fibers, (xs) => [...xs, `${context.to}:${FiberId.threadName(id)}`])),
          Effect.as(true)
        )
      const machine = yield* StateMachine.make(Job, {
        validators: [
          { name: "inline", from: "Queued", to: "Running", timeout: Duration.infinity, effect: record },
          { name: "isolated", from: "Running", to: "Done", effect: record }
        ]
      })
      const caller = FiberId.threadName(yield* Effect.fiberId)
      yield* StateMachine.transitionTo(machine, "Running")
      yield* StateMachine.transitionTo(machine, "Done")
      const [inline, isolated] = yield* Ref.get(fibers)
      assert.strictEqual(inline, `Running:${caller}`)
      assert.notStrictEqual(isolated, `Done:${caller}`)
    }))

  it.effect("validators registered later apply to later transitions; unknown states are defects", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Job)
      yield* StateMachine.transitionTo(machine, "Running")
      yield* StateMachine.addValidator(machine, { name: "no", from: "Running", to: "Done", predicate: () => false })
      assert.strictEqual((yield* Effect.flip(StateMachine.transitionTo(machine, "Done")))._tag, "ValidationFailed")
      const defect = yield* Effect.exit(
        StateMachine.addValidator(machine, { name: "bad", from: "Nope" as "Queued", to: "*", predicate: () => true })
      )
      assert.isTrue(defect._tag === "Failure")
    }))
})

describe("StateMachine: invariants", () => {
  it.effect("an effectful invariant runs after the commit and its failure reverts the state", () =>
    Effect.gen(function*() {
      const observed = yield* Ref.make<ReadonlyArray<string>>([])
      const machine = yield* StateMachine.make(Job, { hookTimeout: "1 second" })
      yield* StateMachine.addInvariant(machine, {
        name: "sees-new-state",
        state: "Running",
        effect: () =>
          StateMachine.get(machine).pipe(
            Effect.tap((state) => Ref.update(observed, (xs) => [...xs, state])),
            Effect.zipRight(Effect.fail("worker registry unavailable"))
          )
      })
      const error = yield* Effect.flip(StateMachine.transitionTo(machine, "Running"))
      assert.strictEqual(error._tag, "InvariantViolated")
      assert.include(error.message, "worker registry unavailable")
      assert.deepStrictEqual(yield* Ref.get(observed), ["Running"])
      assert.strictEqual(yield* StateMachine.get(machine), "Queued")
      const stats = yield* StateMachine.stats(machine)
      assert.deepStrictEqual([stats.successes, stats.failures], [0, 1])
    }))

  it.effect("an invariant that times out is a violation", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Job, {
        invariants: [{
          name: "slow",
          state: "Running",
          timeout: "50 millis",
          effect: () => Effect.as(Effect.never, true)
        }]
      })
      const fiber = yield* Effect.fork(StateMachine.transitionTo(machine, "Running"))
      yield* TestClock.adjust("50 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "InvariantViolated")
      assert.include(error.message, "timed out after 50 ms")
      assert.strictEqual(yield* StateMachine.get(machine), "Queued")
    }))

  it.effect("a wildcard invariant applies to every state; a throwing predicate is a violation", () =>
    Effect.gen(function*() {
      const budget = { left: 2 }
      const machine = yield* StateMachine.make(Job, {
        invariants: [{
          name: "budget",
          state: "*",
          predicate: () => {
            if (budget.left-- <= 0) throw new Error("budget exhausted")
            return true
          }
        }]
      })
      yield* StateMachine.transitionTo(machine, "Running")
      yield* StateMachine.transitionTo(machine, "Done")
      const error = yield* Effect.flip(StateMachine.transitionTo(machine, "Queued"))
      assert.include(error.message, "Error: budget exhausted")
      assert.strictEqual(yield* StateMachine.get(machine), "Done")
    }))

  it.effect("an interrupted effectful invariant reverts the commit", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const machine = yield* StateMachine.make(Job, {
        invariants: [{
          name: "waits",
          state: "Running",
          effect: () => Deferred.succeed(started, undefined).pipe(Effect.zipRight(Effect.never), Effect.as(true))
        }]
      })
      const fiber = yield* Effect.fork(StateMachine.transitionTo(machine, "Running"))
      yield* Deferred.await(started)
      assert.strictEqual(yield* StateMachine.get(machine), "Running")
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(yield* StateMachine.get(machine), "Queued")
      const [entry] = yield* StateMachine.history(machine)
      assert.strictEqual(entry?.error?.tag, "Interrupted")
      yield* StateMachine.transitionTo(machine, "Failed")
    }))
})

describe("StateMachine: lock discipline", () => {
  it.effect("a hook that transitions its own machine under the lock is reported, not a hang", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Job)
      yield* StateMachine.addInvariant(machine, {
        name: "resets-own-machine",
        state: "Running",
        effect: () => Effect.as(StateMachine.reset(machine), true)
      })
      const error = yield* Effect.flip(StateMachine.transitionTo(machine, "Running"))
      assert.strictEqual(error._tag, "InvariantViolated")
      assert.include(error.message, "StateMachine.state lock could not be taken")
      assert.strictEqual(yield* StateMachine.get(machine), "Queued")
    }))
})

describe("StateMachine: atomicity", () => {
  it.effect("1,000 racing fibers produce a linear history (no lost update)", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Ring, {
        historySize: 5_000,
        validators: [{ name: "yields", from: "*", to: "*", effect: () => Effect.as(Effect.yieldNow(), true) }]
      })
      const targets = ["A", "B", "C"] as const
      const results = yield* Effect.forEach(
        Array.from({ length: 1_000 }, (_, i) => targets[i % 3]!),
        (to) => Effect.either(StateMachine.transitionTo(machine, to)),
        { concurrency: "unbounded" }
      )
      const history = yield* StateMachine.history(machine)
      assert.strictEqual(history.length, 1_000)
      const committed = history.filter((entry) => entry.success)
      assert.strictEqual(committed.length, results.filter(Either.isRight).length)
      assert.isAbove(committed.length, 600)
      assert.strictEqual(assertLinear(history, "A"), yield* StateMachine.get(machine))
      const refusals = history.filter((entry) => !entry.success)
      assert.isTrue(refusals.every((entry) => entry.error?.tag === "InvalidTransition" && entry.from === entry.to))
    }))

  // Live clock: no test here depends on time, and Explore under TestContext currently hangs once a forked TestClock
  // sleep is interrupted (reported to the testing package).
  it.live("every explored interleaving of racing transitions, CAS and rollback keeps the history linear", () =>
    Effect.gen(function*() {
      const summary = yield* Explore.explore(
        Effect.gen(function*() {
          const machine = yield* StateMachine.make(Ring, {
            validators: [{ name: "yields", from: "*", to: "*", effect: () => Effect.as(Effect.yieldNow(), true) }],
            invariants: [{ name: "checked", state: "C", effect: () => Effect.as(Effect.yieldNow(), true) }]
          })
          yield* Effect.all([
            Effect.either(StateMachine.transitionTo(machine, "B")),
            Effect.either(StateMachine.transitionTo(machine, "C")),
            Effect.either(StateMachine.transition(machine, "A", "C")),
            Effect.either(StateMachine.rollback(machine)),
            Effect.either(StateMachine.transitionTo(machine, "A"))
          ], { concurrency: "unbounded" })
          const history = yield* StateMachine.history(machine)
          let state = "A"
          for (const entry of history) {
            if (!entry.success) continue
            assert.strictEqual(entry.from, state)
            state = entry.to
          }
          assert.strictEqual(state, yield* StateMachine.get(machine))
        }),
        { runs: 60, seed: 7 }
      )
      assert.isAbove(summary.distinctSchedules, 1)
    }))

  it.effect("compare-and-set: only one of many racing transition(from, to) wins", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Ring, {
        validators: [{ name: "yields", from: "*", to: "*", effect: () => Effect.as(Effect.yieldNow(), true) }]
      })
      const results = yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => i % 2 === 0 ? "B" as const : "C" as const),
        (to) => Effect.either(StateMachine.transition(machine, "A", to)),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(results.filter(Either.isRight).length, 1)
      const lost = results.filter(Either.isLeft).map((e) => e.left._tag)
      assert.isTrue(lost.every((tag) => tag === "ConcurrentModification"))
      assert.strictEqual(assertLinear(yield* StateMachine.history(machine), "A"), yield* StateMachine.get(machine))
    }))

  it.effect("compare-and-set fails at once when the machine is not in `from`", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Job)
      const error = yield* Effect.flip(StateMachine.transition(machine, "Running", "Done"))
      assert.strictEqual(error._tag, "ConcurrentModification")
      if (error._tag === "ConcurrentModification") {
        assert.deepStrictEqual([error.expected, error.actual], ["Running", "Queued"])
      }
      yield* StateMachine.transition(machine, "Queued", "Running")
      assert.strictEqual(yield* StateMachine.get(machine), "Running")
    }))

  it.effect("a refused compare-and-set is recorded and counted under the pair it asked for", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Ring)
      yield* StateMachine.transitionTo(machine, "B")
      const error = yield* Effect.flip(StateMachine.transition(machine, "C", "A"))
      assert.strictEqual(error._tag, "ConcurrentModification")
      if (error._tag === "ConcurrentModification") {
        assert.deepStrictEqual([error.expected, error.actual, error.to], ["C", "B", "A"])
      }
      const stats = yield* StateMachine.stats(machine)
      assert.deepStrictEqual(
        stats.pairs.map((pair) => [pair.from, pair.to, pair.successes, pair.failures]),
        [["A", "B", 1, 0], ["C", "A", 0, 1]]
      )
      assert.deepStrictEqual(stats.errors, { ConcurrentModification: 1 })
      const last = (yield* StateMachine.history(machine)).at(-1)!
      assert.deepStrictEqual([last.from, last.to, last.success, last.error?.tag], [
        "C",
        "A",
        false,
        "ConcurrentModification"
      ])
      assert.strictEqual(yield* StateMachine.get(machine), "B")
    }))

  it.effect("a compare-and-set refused at the commit (the state moved during validation) counts the requested pair", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const machine = yield* StateMachine.make(Ring, {
        validators: [{ name: "gated", from: "A", to: "C", effect: () => Effect.as(Deferred.await(gate), true) }]
      })
      const cas = yield* Effect.fork(Effect.flip(StateMachine.transition(machine, "A", "C")))
      yield* Effect.yieldNow()
      yield* StateMachine.transitionTo(machine, "B")
      yield* Deferred.succeed(gate, undefined)
      const error = yield* Fiber.join(cas)
      assert.strictEqual(error._tag, "ConcurrentModification")
      const stats = yield* StateMachine.stats(machine)
      assert.deepStrictEqual(
        stats.pairs.map((pair) => [pair.from, pair.to, pair.successes, pair.failures]),
        [["A", "C", 0, 1], ["A", "B", 1, 0]]
      )
      const last = (yield* StateMachine.history(machine)).at(-1)!
      assert.deepStrictEqual([last.from, last.to, last.error?.tag], ["A", "C", "ConcurrentModification"])
    }))

  it.effect("a transition whose state moved during validation re-validates against the new state", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const machine = yield* StateMachine.make(Ring, {
        validators: [{
          name: "gated",
          from: "*",
          to: "C",
          effect: (context) =>
            Ref.update(seen, (xs) => [...xs, context.from]).pipe(Effect.zipRight(Deferred.await(gate)), Effect.as(true))
        }]
      })
      const slow = yield* Effect.fork(StateMachine.transitionTo(machine, "C"))
      yield* Effect.yieldNow()
      yield* StateMachine.transitionTo(machine, "B")
      yield* Deferred.succeed(gate, undefined)
      const record = yield* Fiber.join(slow)
      assert.deepStrictEqual([record.from, record.to], ["B", "C"])
      assert.deepStrictEqual(yield* Ref.get(seen), ["A", "B"])
    }))

  it.effect("effectful invariants serialise transitions: the next one waits for the check", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const machine = yield* StateMachine.make(Ring, {
        invariants: [{ name: "gated", state: "B", effect: () => Effect.as(Deferred.await(gate), true) }]
      })
      const first = yield* Effect.fork(StateMachine.transitionTo(machine, "B"))
      yield* Effect.yieldNow()
      const second = yield* Effect.fork(StateMachine.transitionTo(machine, "C"))
      yield* Effect.yieldNow()
      assert.isNull(second.unsafePoll())
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(first)
      const record = yield* Fiber.join(second)
      assert.deepStrictEqual([record.from, record.to], ["B", "C"])
    }))
})

describe("StateMachine: listeners", () => {
  it.scoped("run after the commit, in order, and may read the state and start transitions", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Job)
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const done = yield* Deferred.make<void>()
      yield* StateMachine.subscribe(machine, (record) =>
        Effect.gen(function*() {
          const state = yield* StateMachine.get(machine)
          yield* Ref.update(seen, (xs) => [...xs, `${record.from}->${record.to} (now ${state})`])
          if (record.to === "Done") yield* StateMachine.transitionTo(machine, "Queued", { reason: "listener" })
          if (record.reason === "listener") yield* Deferred.succeed(done, undefined)
        }))
      yield* StateMachine.transitionTo(machine, "Running")
      yield* StateMachine.transitionTo(machine, "Done")
      yield* Deferred.await(done)
      const lines = yield* Ref.get(seen)
      assert.deepStrictEqual(lines.map((l) => l.split(" ")[0]), ["Queued->Running", "Running->Done", "Done->Queued"])
      assert.strictEqual(yield* StateMachine.get(machine), "Queued")
    }))

  it.scoped("a listener's transition waits for the lock of another fiber's slow-path transition, then commits", () =>
    Effect.gen(function*() {
      const held = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const result = yield* Deferred.make<Exit.Exit<unknown, unknown>>()
      const machine = yield* StateMachine.make(Ring, {
        invariants: [{
          name: "gated",
          state: "B",
          effect: () => Deferred.succeed(held, undefined).pipe(Effect.zipRight(Deferred.await(gate)), Effect.as(true))
        }]
      })
      yield* StateMachine.subscribe(machine, (record) =>
        record.to === "C"
          ? Deferred.await(held).pipe(
            Effect.zipRight(Effect.exit(StateMachine.transitionTo(machine, "A", { reason: "listener" }))),
            Effect.flatMap((exit) => Deferred.succeed(result, exit))
          )
          : Effect.void)
      yield* StateMachine.transitionTo(machine, "C")
      const slow = yield* Effect.fork(StateMachine.transitionTo(machine, "B"))
      yield* Deferred.await(held)
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      assert.isTrue(Option.isNone(yield* Deferred.poll(result)), "the listener's transition waits for the lock")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(slow)
      const exit = yield* Deferred.await(result)
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      assert.strictEqual(yield* StateMachine.get(machine), "A")
      const committed = (yield* StateMachine.history(machine)).filter((entry) => entry.success)
      assert.deepStrictEqual(committed.map((entry) => [entry.from, entry.to]), [["A", "C"], ["C", "B"], ["B", "A"]])
    }))

  it.scoped("a failing or dying listener is logged and counted and affects nothing else", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Job)
      const received = yield* Ref.make(0)
      const done = yield* Deferred.make<void>()
      yield* StateMachine.subscribe(machine, () => Effect.fail("boom"), { name: "fails" })
      yield* StateMachine.subscribe(machine, () => Effect.die(new Error("crash")), { name: "dies" })
      yield* StateMachine.subscribe(machine, () => {
        throw new Error("throws")
      }, { name: "throws" })
      yield* StateMachine.subscribe(machine, () =>
        Ref.updateAndGet(received, (n) => n + 1).pipe(
          Effect.tap((n) => n === 3 ? Deferred.succeed(done, undefined) : Effect.void),
          Effect.asVoid
        ), { name: "healthy" })
      yield* StateMachine.transitionTo(machine, "Running")
      yield* StateMachine.transitionTo(machine, "Done")
      yield* StateMachine.transitionTo(machine, "Queued")
      yield* Deferred.await(done)
      // The failing listeners' fibers may still be on their last notification.
      const stats = yield* eventually(StateMachine.stats(machine), (stats) => stats.listeners.failures === 9)
      assert.strictEqual(stats.successes, 3)
      assert.strictEqual(stats.listeners.active, 4)
      assert.strictEqual(stats.listeners.failures, 9)
      assert.strictEqual(stats.listeners.delivered, 3)
      const failures = yield* Metric.value(
        StateMachine.metrics.listenerFailures.pipe(Metric.tagged("machine", "job"), Metric.tagged("listener", "dies"))
      )
      assert.isAtLeast(failures.count, 3)
    }))

  it.scoped("a listener stuck in its first notification drops by its overflow policy, counted", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Ring)
      const gate = yield* Deferred.make<void>()
      const collector = Effect.gen(function*() {
        const seen = yield* Ref.make<ReadonlyArray<number>>([])
        const three = yield* Deferred.make<ReadonlyArray<number>>()
        const listener = (record: TransitionRecord.TransitionRecord) =>
          Deferred.await(gate).pipe(
            Effect.zipRight(Ref.updateAndGet(seen, (xs) => [...xs, record.seq])),
            Effect.flatMap((xs) => xs.length === 3 ? Deferred.succeed(three, xs) : Effect.void)
          )
        return { listener, three } as const
      })
      const sliding = yield* collector
      const dropping = yield* collector
      yield* StateMachine.subscribe(machine, sliding.listener, { capacity: 2, overflow: "sliding" })
      yield* StateMachine.subscribe(machine, dropping.listener, { capacity: 2, overflow: "dropping" })
      yield* Effect.yieldNow()
      // #1 is handed to each waiting listener at once; #2..#5 meet a queue of 2.
      for (const to of ["B", "C", "A", "B", "C"] as const) yield* StateMachine.transitionTo(machine, to)
      yield* Deferred.succeed(gate, undefined)
      assert.deepStrictEqual(yield* Deferred.await(sliding.three), [1, 4, 5])
      assert.deepStrictEqual(yield* Deferred.await(dropping.three), [1, 2, 3])
      assert.strictEqual((yield* StateMachine.stats(machine)).listeners.dropped, 4)
    }))

  it.effect("closing the subscriber's scope stops delivery", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Job)
      const received = yield* Ref.make(0)
      yield* Effect.scoped(
        Effect.gen(function*() {
          yield* StateMachine.subscribe(machine, () => Ref.update(received, (n) => n + 1))
          assert.strictEqual((yield* StateMachine.stats(machine)).listeners.active, 1)
        })
      )
      assert.strictEqual((yield* StateMachine.stats(machine)).listeners.active, 0)
      yield* StateMachine.transitionTo(machine, "Running")
      yield* Effect.yieldNow()
      assert.strictEqual(yield* Ref.get(received), 0)
    }))

  it.scoped("a listener with a timeout is interrupted and counted as failed", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Job)
      yield* StateMachine.subscribe(machine, () => Effect.never, { timeout: "1 second" })
      yield* StateMachine.transitionTo(machine, "Running")
      yield* Effect.yieldNow()
      yield* TestClock.adjust("1 second")
      const failures = yield* eventually(StateMachine.stats(machine), (stats) => stats.listeners.failures === 1)
      assert.strictEqual(failures.listeners.failures, 1)
      assert.strictEqual(failures.listeners.delivered, 0)
    }))
})

describe("StateMachine: history", () => {
  it.effect("is a bounded ring buffer: the oldest entries are evicted, seq keeps counting", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Ring, { historySize: 3 })
      for (const to of ["B", "C", "A", "B", "C"] as const) yield* StateMachine.transitionTo(machine, to)
      const history = yield* StateMachine.history(machine)
      assert.deepStrictEqual(history.map((e) => e.seq), [3, 4, 5])
      assert.deepStrictEqual((yield* StateMachine.stats(machine)).history, { size: 3, capacity: 3 })
      assert.strictEqual((yield* StateMachine.stats(machine)).transitions, 5)
    }))

  it.effect("is queryable by seq, outcome, kind and count", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Job)
      yield* StateMachine.transitionTo(machine, "Running")
      yield* Effect.flip(StateMachine.transitionTo(machine, "Running"))
      yield* StateMachine.transitionTo(machine, "Done")
      yield* StateMachine.rollback(machine)
      const seqs = (entries: ReadonlyArray<TransitionRecord.TransitionRecord>) => entries.map((e) => e.seq)
      assert.deepStrictEqual(seqs(yield* StateMachine.history(machine, { success: false })), [2])
      assert.deepStrictEqual(seqs(yield* StateMachine.history(machine, { since: 2 })), [3, 4])
      assert.deepStrictEqual(seqs(yield* StateMachine.history(machine, { kind: "rollback" })), [4])
      assert.deepStrictEqual(seqs(yield* StateMachine.history(machine, { last: 2, success: true })), [3, 4])
    }))

  it.effect("is prunable by age against the machine's clock", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Ring)
      yield* StateMachine.transitionTo(machine, "B")
      yield* TestClock.adjust("10 minutes")
      yield* StateMachine.transitionTo(machine, "C")
      yield* TestClock.adjust("10 minutes")
      yield* StateMachine.transitionTo(machine, "A")
      assert.strictEqual(yield* StateMachine.pruneHistory(machine, "15 minutes"), 1)
      assert.deepStrictEqual((yield* StateMachine.history(machine)).map((e) => e.to), ["C", "A"])
      assert.strictEqual(yield* StateMachine.pruneHistory(machine, Duration.zero), 1)
      assert.deepStrictEqual((yield* StateMachine.history(machine)).map((e) => e.to), ["A"])
    }))

  it.effect("serialises with Schema and decodes back", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Job)
      yield* StateMachine.transitionTo(machine, "Running", { reason: "go", metadata: { worker: "w1" } })
      yield* Effect.flip(StateMachine.transitionTo(machine, "Running"))
      const History = Schema.parseJson(Schema.Array(TransitionRecord.schema(Job.schema)))
      const history = yield* StateMachine.history(machine)
      const json = yield* Schema.encode(History)(history)
      const decoded = yield* Schema.decode(History)(json)
      assert.deepStrictEqual(decoded, history)
      const corrupt = JSON.stringify([{ ...history[0], to: "Sleeping" }])
      assert.isTrue(Either.isLeft(Schema.decodeEither(History)(corrupt)))
    }))
})

describe("StateMachine: rollback", () => {
  it.effect("rollbackTo(seq) undoes seq and every later transition, compensations newest first", () =>
    Effect.gen(function*() {
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const note = (name: string) => (record: TransitionRecord.TransitionRecord) =>
        Ref.update(log, (xs) => [...xs, `${name}#${record.seq}`])
      const machine = yield* StateMachine.make(Presets.Recovery, {
        compensations: [
          { name: "any-1", from: "*", to: "*", run: note("any-1") },
          { name: "any-2", from: "*", to: "*", run: note("any-2") },
          { name: "stop", from: "Initiating", to: "StoppingCapture", run: note("stop") }
        ]
      })
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const delivered = yield* Deferred.make<void>()
      yield* Effect.scoped(Effect.gen(function*() {
        yield* StateMachine.subscribe(
          machine,
          (record) =>
            Ref.updateAndGet(seen, (xs) => [...xs, `${record.kind}:${record.from}->${record.to}`]).pipe(
              Effect.flatMap((xs) => xs.length === 5 ? Deferred.succeed(delivered, undefined) : Effect.void)
            )
        )
        yield* StateMachine.transitionTo(machine, "Initiating")
        yield* StateMachine.transitionTo(machine, "StoppingCapture")
        yield* StateMachine.transitionTo(machine, "FlushingBuffers")
        const records = yield* StateMachine.rollbackTo(machine, 2)
        assert.deepStrictEqual(records.map((r) => `${r.from}->${r.to}`), [
          "FlushingBuffers->StoppingCapture",
          "StoppingCapture->Initiating"
        ])
        yield* Deferred.await(delivered)
      }))
      assert.strictEqual(yield* StateMachine.get(machine), "Initiating")
      assert.deepStrictEqual(yield* Ref.get(log), ["any-2#3", "any-1#3", "stop#2", "any-2#2", "any-1#2"])
      assert.deepStrictEqual((yield* Ref.get(seen)).slice(3), [
        "rollback:FlushingBuffers->StoppingCapture",
        "rollback:StoppingCapture->Initiating"
      ])
      const stats = yield* StateMachine.stats(machine)
      assert.deepStrictEqual([stats.rollbacks.count, stats.rollbacks.successRate], [2, 100])
      assert.strictEqual((yield* Effect.flip(StateMachine.rollbackTo(machine, 3)))._tag, "UnknownSequence")
      yield* StateMachine.rollback(machine)
      assert.strictEqual(yield* StateMachine.get(machine), "Idle")
    }))

  it.effect("a failing compensation stops the rollback there and is recorded", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Ring, {
        compensations: [{ name: "cannot-undo-b", from: "A", to: "B", run: () => Effect.fail("B is sticky") }]
      })
      yield* StateMachine.transitionTo(machine, "B")
      yield* StateMachine.transitionTo(machine, "C")
      const error = yield* Effect.flip(StateMachine.rollbackTo(machine, 1))
      assert.strictEqual(error._tag, "CompensationFailed")
      assert.include(error.message, "B is sticky")
      assert.strictEqual(yield* StateMachine.get(machine), "B")
      const last = (yield* StateMachine.history(machine, { last: 1 }))[0]!
      assert.deepStrictEqual([last.kind, last.success, last.error?.tag], ["rollback", false, "CompensationFailed"])
      const stats = yield* StateMachine.stats(machine)
      assert.deepStrictEqual([stats.rollbacks.count, stats.rollbacks.failures, stats.rollbacks.successRate], [2, 1, 50])
    }))

  it.effect("nothing to roll back on a fresh machine", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Job)
      const error = yield* Effect.flip(StateMachine.rollback(machine))
      assert.strictEqual(error._tag, "NothingToRollback")
    }))

  it.effect("the rollback window is the history size", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Ring, { historySize: 2 })
      for (const to of ["B", "C", "A"] as const) yield* StateMachine.transitionTo(machine, to)
      const error = yield* Effect.flip(StateMachine.rollbackTo(machine, 1))
      assert.strictEqual(error._tag, "UnknownSequence")
      if (error._tag === "UnknownSequence") assert.deepStrictEqual(error.available, [2, 3])
    }))
})

describe("StateMachine: metrics and construction", () => {
  it.effect("updates Effect metrics per pair and outcome", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Job, { name: "metrics-test" })
      yield* StateMachine.transitionTo(machine, "Running")
      yield* Effect.flip(StateMachine.transitionTo(machine, "Running"))
      const counter = (to: string, outcome: string) =>
        Metric.value(
          StateMachine.metrics.transitions.pipe(
            Metric.tagged("machine", "metrics-test"),
            Metric.tagged("from", to === "Running" && outcome === "failure" ? "Running" : "Queued"),
            Metric.tagged("to", to),
            Metric.tagged("outcome", outcome)
          )
        )
      assert.strictEqual((yield* counter("Running", "success")).count, 1)
      assert.strictEqual((yield* counter("Running", "failure")).count, 1)
      const histogram = yield* Metric.value(
        StateMachine.metrics.transitionDuration.pipe(
          Metric.tagged("machine", "metrics-test"),
          Metric.tagged("from", "Queued"),
          Metric.tagged("to", "Running")
        )
      )
      assert.strictEqual(histogram.count, 1)
    }))

  it("unsafeMake validates its options", () => {
    assert.throws(() => StateMachine.unsafeMake(Job, { historySize: 0 }), /historySize must be an integer >= 1/)
    assert.throws(() => StateMachine.unsafeMake(Job, { retry: { times: -1, delay: 0 } }), /retry.times/)
    const machine = StateMachine.unsafeMake(Job)
    assert.strictEqual(StateMachine.unsafeGet(machine), "Queued")
    assert.isTrue(StateMachine.isStateMachine(machine))
    assert.isFalse(StateMachine.isStateMachine(Job))
  })

  it.effect("toMermaid highlights the current state", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Job)
      yield* StateMachine.transitionTo(machine, "Running")
      const diagram = yield* StateMachine.toMermaid(machine)
      assert.include(diagram, "class Running current")
    }))

  it.effect("works piped (data-last)", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Job)
      const record = yield* machine.pipe(StateMachine.transitionTo("Running"))
      assert.strictEqual(record.to, "Running")
      yield* machine.pipe(StateMachine.transition("Running", "Done"))
      assert.strictEqual(Option.some(yield* StateMachine.get(machine))._tag, "Some")
      assert.strictEqual((yield* machine.pipe(StateMachine.history({ last: 1 })))[0]?.to, "Done")
    }))
})
