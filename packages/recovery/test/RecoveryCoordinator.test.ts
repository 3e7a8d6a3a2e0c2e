import { CleanupCoordinator } from "@core-stability/cleanup"
import { MemoryFileSystem, RecoveryCoordinator, RecoveryLogger } from "@core-stability/recovery"
import { StateMachine } from "@core-stability/state-machine"
import { Explore } from "@core-stability/testing"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as TestClock from "effect/TestClock"

/** Live tests keep the default logger: drop the RecoveryLogger's Info line per recorded attempt, keep warnings. */
const recordedAttempts = Logger.withMinimumLogLevel(LogLevel.Warning)

const waitUntil = (condition: Effect.Effect<boolean>): Effect.Effect<void> =>
  Effect.flatMap(condition, (done) => done ? Effect.void : Effect.zipRight(Effect.yieldNow(), waitUntil(condition)))

const memoryLayer = () => MemoryFileSystem.layer(MemoryFileSystem.unsafeMake())

/** Every default step logs `name[channel]` into `log`; `fail` names a step that fails. */
const handlers = (log: Array<string>, options: { readonly fail?: string; readonly failOptional?: boolean } = {}) => {
  const handler = (name: RecoveryCoordinator.DefaultStepName): RecoveryCoordinator.Handler<string> => ({
    run: ({ channel }) =>
      Effect.suspend(() => {
        const label = channel === undefined ? name : `${name}[${channel}]`
        if (options.fail === label) return Effect.fail(`${label} broke`)
        log.push(label)
        return Effect.void
      }),
    rollback: ({ channel }) =>
      Effect.sync(() => log.push(`undo ${channel === undefined ? name : `${name}[${channel}]`}`))
  })
  return RecoveryCoordinator.fromDefaults({
    "stop-capture": handler("stop-capture"),
    "flush-storage": handler("flush-storage"),
    "reset-monitoring": handler("reset-monitoring"),
    "check-windows": options.failOptional === true
      ? { run: () => Effect.fail("no MMCSS") }
      : handler("check-windows"),
    "initialize-storage": handler("initialize-storage"),
    "start-monitoring": handler("start-monitoring"),
    "start-capture": handler("start-capture"),
    "verify": handler("verify")
  })
}

describe("RecoveryCoordinator", () => {
  it.scoped("a successful episode walks the machine, runs per-channel steps and is recorded", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const logger = yield* RecoveryLogger.make({ directory: "/logs" })
      const recovery = yield* RecoveryCoordinator.make({ logger, channels: ["left", "right"], steps: handlers(log) })
      const attempt = yield* recovery.recover("capture", { trigger: "device-lost" })
      assert.strictEqual(attempt.outcome, "Succeeded")
      assert.deepStrictEqual(log, [
        "stop-capture[left]",
        "stop-capture[right]",
        "flush-storage[left]",
        "flush-storage[right]",
        "reset-monitoring",
        "check-windows",
        "initialize-storage",
        "start-monitoring",
        "start-capture",
        "verify"
      ])
      assert.deepStrictEqual(
        attempt.states.filter((entry) => entry.channel === undefined).map((entry) => entry.state),
        [
          "Initiating",
          "StoppingCapture",
          "FlushingBuffers",
          "Reinitializing",
          "Verifying",
          "Completed"
        ]
      )
      assert.deepStrictEqual(
        attempt.states.filter((entry) => entry.channel === "left").map((entry) => entry.state),
        ["StoppingCapture", "FlushingBuffers", "Reinitializing", "Verifying", "Completed"]
      )
      assert.strictEqual(attempt.steps.length, 10)
      assert.isTrue(attempt.steps.every((step) => step.status === "Succeeded"))
      assert.strictEqual(yield* StateMachine.get(yield* recovery.machine("capture")), "Idle")
      assert.strictEqual((yield* logger.analytics).totalAttempts, 1)
      assert.deepStrictEqual((yield* logger.analytics).stateTransitions.Reinitializing, { Verifying: 1 })
    }).pipe(Effect.provide(memoryLayer())))

  it.scoped("a required step's failure rolls back the completed steps in reverse and ends Failed", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const logger = yield* RecoveryLogger.make()
      const recovery = yield* RecoveryCoordinator.make({
        logger,
        channels: ["left", "right"],
        steps: handlers(log, { fail: "flush-storage[right]" })
      })
      const attempt = yield* recovery.recover("capture", { trigger: "overflow" })
      assert.strictEqual(attempt.outcome, "Failed")
      assert.deepStrictEqual(log, [
        "stop-capture[left]",
        "stop-capture[right]",
        "flush-storage[left]",
        "undo flush-storage[left]",
        "undo stop-capture[right]",
        "undo stop-capture[left]"
      ])
      const statuses = Object.fromEntries(
        attempt.steps.map((
          step
        ) => [step.channel === undefined ? step.step : `${step.step}[${step.channel}]`, step.status])
      )
      assert.strictEqual(statuses["stop-capture[left]"], "RolledBack")
      assert.strictEqual(statuses["flush-storage[right]"], "Failed")
      assert.strictEqual(statuses["verify"], "Skipped")
      assert.strictEqual(attempt.states[attempt.states.length - 1]!.state, "Failed")
      assert.strictEqual(attempt.error?.message, "flush-storage[right] broke")
      const failed = yield* Effect.flip(recovery.recoverOrFail("capture", { trigger: "overflow" }))
      assert.strictEqual(failed.step, "flush-storage[right]")
      assert.strictEqual((yield* logger.analytics).failures, 2)
    }).pipe(Effect.provide(memoryLayer())))

  it.scoped("a step that returns a cleanup report has it recorded with the attempt", () =>
    Effect.gen(function*() {
      const logger = yield* RecoveryLogger.make()
      const cleanup = yield* CleanupCoordinator.make()
      yield* cleanup.register({ name: "release-device", run: Effect.void })
      const recovery = yield* RecoveryCoordinator.make({
        logger,
        steps: [{ name: "stop", phase: "StoppingCapture", run: () => cleanup.shutdown }]
      })
      const attempt = yield* recovery.recover("capture", { trigger: "t" })
      assert.strictEqual(attempt.cleanup?.status, "Completed")
      assert.deepStrictEqual(attempt.cleanup?.executionOrder, ["release-device"])
    }).pipe(Effect.provide(memoryLayer())))

  it.scoped("an optional step's failure is recorded and the episode goes on", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const logger = yield* RecoveryLogger.make()
      const recovery = yield* RecoveryCoordinator.make({ logger, steps: handlers(log, { failOptional: true }) })
      const attempt = yield* recovery.recover("capture", { trigger: "x" })
      assert.strictEqual(attempt.outcome, "Succeeded")
      const optional = attempt.steps.find((step) => step.step === "check-windows")!
      assert.strictEqual(optional.status, "Failed")
      assert.isFalse(optional.required)
    }).pipe(Effect.provide(memoryLayer())))

  it.scoped("a step that hangs times out at its timeout (TestClock) and the episode fails", () =>
    Effect.gen(function*() {
      const logger = yield* RecoveryLogger.make()
      const recovery = yield* RecoveryCoordinator.make({
        logger,
        steps: [
          { name: "stop", phase: "StoppingCapture", run: () => Effect.never, timeout: "2 seconds" },
          { name: "verify", phase: "Verifying", run: () => Effect.void }
        ]
      })
      const fiber = yield* Effect.fork(recovery.recover("capture", { trigger: "hang" }))
      yield* TestClock.adjust(Duration.seconds(2))
      const attempt = yield* Fiber.join(fiber)
      assert.strictEqual(attempt.outcome, "Failed")
      assert.strictEqual(attempt.steps[0]!.status, "TimedOut")
      assert.strictEqual(attempt.steps[0]!.durationMs, 2_000)
      assert.strictEqual(attempt.metrics.durationMs, 2_000)
    }).pipe(Effect.provide(memoryLayer())))

  it.scoped("a polled verification retries every poll interval until it passes", () =>
    Effect.gen(function*() {
      let calls = 0
      const logger = yield* RecoveryLogger.make()
      const recovery = yield* RecoveryCoordinator.make({
        logger,
        steps: [{
          name: "verify",
          phase: "Verifying",
          poll: "100 millis",
          timeout: "5 seconds",
          run: () => Effect.suspend(() => ++calls < 4 ? Effect.fail("not yet") : Effect.void)
        }]
      })
      const fiber = yield* Effect.fork(recovery.recover("capture", { trigger: "t", occurredAt: -50 }))
      yield* TestClock.adjust(Duration.millis(300))
      const attempt = yield* Fiber.join(fiber)
      assert.strictEqual(attempt.outcome, "Succeeded")
      assert.strictEqual(calls, 4)
      assert.strictEqual(attempt.metrics.timeToDetectMs, 50)
      assert.strictEqual(attempt.metrics.timeToRecoverMs, 350)
    }).pipe(Effect.provide(memoryLayer())))

  it.live("concurrent triggers for the same component join one episode (explored, 100 seeds)", () =>
    Explore.explore(
      Effect.scoped(
        Effect.gen(function*() {
          const gate = yield* Deferred.make<void>()
          let runs = 0
          const logger = yield* RecoveryLogger.make()
          const recovery = yield* RecoveryCoordinator.make({
            logger,
            steps: [{
              name: "stop",
              phase: "StoppingCapture",
              run: () => Effect.zipRight(Effect.sync(() => runs++), Deferred.await(gate))
            }, { name: "other", phase: "Verifying", run: () => Effect.void }]
          })
          const fibers = yield* Effect.forEach(
            ["a", "b", "c", "d"],
            (trigger) => Effect.fork(recovery.recover("capture", { trigger })),
            { concurrency: "unbounded" }
          )
          const other = yield* Effect.fork(recovery.recover("storage", { trigger: "e" }))
          yield* waitUntil(Effect.map(recovery.stats, (stats) => stats.joined === 3 && stats.started === 2))
          yield* Deferred.succeed(gate, undefined)
          const attempts = yield* Effect.forEach(fibers, Fiber.join)
          yield* Fiber.join(other)
          assert.strictEqual(new Set(attempts.map((attempt) => attempt.id)).size, 1)
          assert.strictEqual(attempts[0]!.joined, 3)
          assert.strictEqual(runs, 2)
          const stats = yield* recovery.stats
          assert.deepStrictEqual([stats.started, stats.joined, stats.succeeded], [2, 3, 2])
          assert.strictEqual((yield* logger.analytics).totalAttempts, 2)
        }).pipe(Effect.provide(memoryLayer()))
      ).pipe(recordedAttempts),
      { runs: 100 }
    ))

  it.scoped("interrupting a caller does not abort the episode", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const logger = yield* RecoveryLogger.make()
      const recovery = yield* RecoveryCoordinator.make({
        logger,
        steps: [{ name: "stop", phase: "StoppingCapture", run: () => Deferred.await(gate) }]
      })
      const caller = yield* Effect.fork(recovery.recover("capture", { trigger: "t" }))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(caller)
      yield* Deferred.succeed(gate, undefined)
      yield* recovery.awaitIdle
      assert.deepStrictEqual((yield* logger.attempts).map((attempt) => attempt.outcome), ["Succeeded"])
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("invalid options fail with InvalidRecoveryOptions", () =>
    Effect.gen(function*() {
      const logger = yield* RecoveryLogger.make()
      const empty = yield* Effect.flip(Effect.scoped(RecoveryCoordinator.make<never, never>({ logger, steps: [] })))
      assert.strictEqual(empty.field, "steps")
      const duplicate = yield* Effect.flip(Effect.scoped(RecoveryCoordinator.make({
        logger,
        steps: [
          { name: "a", phase: "Verifying", run: () => Effect.void },
          { name: "a", phase: "Verifying", run: () => Effect.void }
        ]
      })))
      assert.strictEqual(duplicate.field, "steps[1].name")
      const timeout = yield* Effect.flip(Effect.scoped(RecoveryCoordinator.make({
        logger,
        steps: [{ name: "a", phase: "Verifying", timeout: 0, run: () => Effect.void }]
      })))
      assert.strictEqual(timeout.field, "steps[0].timeout")
    }).pipe(Effect.provide(memoryLayer())))

  it("the default table is the original's", () => {
    assert.deepStrictEqual(
      RecoveryCoordinator.defaults.map((row) => [row.name, row.timeoutMs, row.required]),
      [
        ["stop-capture", 5_000, true],
        ["flush-storage", 10_000, true],
        ["reset-monitoring", 5_000, true],
        ["check-windows", 5_000, false],
        ["initialize-storage", 5_000, true],
        ["start-monitoring", 5_000, true],
        ["start-capture", 5_000, true],
        ["verify", 5_000, true]
      ]
    )
  })
})
