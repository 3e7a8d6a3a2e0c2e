/**
 * Regression tests for the review of the RecoveryCoordinator (each names the bug it pins down).
 */
import { MemoryFileSystem, RecoveryCoordinator, RecoveryLogger } from "@core-stability/recovery"
import { StateMachine } from "@core-stability/state-machine"
import { Explore } from "@core-stability/testing"
import { FileSystem } from "@effect/platform"
import * as Path from "@effect/platform/Path"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"

const memoryLayer = () => MemoryFileSystem.layer(MemoryFileSystem.unsafeMake())

const quiet = Logger.withMinimumLogLevel(LogLevel.None)

/**
 * A memory file system whose writes under `recovery/` (attempt records) go through `around`: the file system of a
 * slow disk.
 */
const recordDisk = (
  around: (write: Effect.Effect<void, unknown>) => Effect.Effect<void, unknown>
): Layer.Layer<FileSystem.FileSystem | Path.Path> => {
  const memory = MemoryFileSystem.unsafeMake()
  const fs: FileSystem.FileSystem = {
    ...memory.fileSystem,
    writeFileString: (path, data, options) => {
      const write = memory.fileSystem.writeFileString(path, data, options)
      return path.includes("/recovery/") ? Effect.orDie(around(write)) : write
    }
  }
  return Layer.merge(Layer.succeed(FileSystem.FileSystem, fs), Path.layer)
}

/**
 * Runs an episode of `capture` whose work ignores interruption for an hour: polls the episode and reads the stats once
 * `timeout` has passed, then lets the abandoned work end (before the caller asserts, so that a failure cannot hang the
 * test) and joins the episode.
 */
const recoverPastTimeout = (
  recovery: RecoveryCoordinator.RecoveryCoordinator,
  trigger: string,
  timeout: Duration.Duration
) =>
  Effect.gen(function*() {
    const caller = yield* Effect.fork(recovery.recover("capture", { trigger }))
    yield* TestClock.adjust(timeout)
    const done = yield* Fiber.poll(caller)
    const during = yield* recovery.stats
    yield* TestClock.adjust(Duration.hours(1))
    const attempt = yield* Fiber.join(caller)
    yield* Effect.yieldNow()
    const after = yield* recovery.stats
    return { done, during, attempt, after }
  })

/** A logger that delegates to `real` except for `record`. */
const withRecord = (
  real: RecoveryLogger.RecoveryLogger,
  record: RecoveryLogger.RecoveryLogger["record"]
): RecoveryLogger.RecoveryLogger => ({
  session: real.session,
  directory: real.directory,
  record,
  attempts: real.attempts,
  attempt: real.attempt,
  analytics: real.analytics,
  lastStatus: real.lastStatus,
  stats: real.stats,
  stateDump: real.stateDump,
  cleanupOldLogs: real.cleanupOldLogs
})

describe("RecoveryCoordinator (review regressions)", () => {
  describe("bug 2: a trigger arriving while an episode is being recorded joined that finished episode", () => {
    it.effect("it starts a new episode, which waits for the previous one to be recorded; joined counts agree", () =>
      Effect.gen(function*() {
        const writing = yield* Deferred.make<void>()
        const slowDisk = yield* Deferred.make<void>()
        let recordWrites = 0
        // the first attempt file takes a while to write
        const layer = recordDisk((write) =>
          Effect.suspend(() =>
            ++recordWrites === 1
              ? Effect.zipRight(Effect.zipRight(Deferred.succeed(writing, undefined), Deferred.await(slowDisk)), write)
              : write
          )
        )
        yield* Effect.scoped(Effect.gen(function*() {
          let runs = 0
          const logger = yield* RecoveryLogger.make({ directory: "/logs" })
          const recovery = yield* RecoveryCoordinator.make({
            logger,
            steps: [{ name: "restart", phase: "Reinitializing", run: () => Effect.sync(() => runs++) }]
          })
          const first = yield* Effect.fork(recovery.recover("capture", { trigger: "first-fault" }))
          // every step of the first episode has run and its final state is settled; it is writing its record
          yield* Deferred.await(writing)
          assert.strictEqual(runs, 1)
          assert.strictEqual(yield* StateMachine.get(yield* recovery.machine("capture")), "Completed")
          // a new fault of the same component arrives now: a new episode, which waits
          const second = yield* Effect.fork(recovery.recover("capture", { trigger: "second-fault" }))
          const third = yield* Effect.fork(recovery.recover("capture", { trigger: "third-fault" }))
          for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
          const runsDuring = runs
          const during = yield* recovery.stats
          // (asserted once the disk is released, so that a failure cannot leave the episode hanging)
          yield* Deferred.succeed(slowDisk, undefined)
          assert.strictEqual(runsDuring, 1, "the new episode ran a step while the previous one was being recorded")
          assert.deepStrictEqual([during.started, during.joined, during.inProgress], [2, 1, ["capture"]])
          const a = yield* Fiber.join(first)
          const b = yield* Fiber.join(second)
          const c = yield* Fiber.join(third)
          const stats = yield* recovery.stats
          assert.strictEqual(a.trigger, "first-fault")
          assert.strictEqual(a.joined, 0)
          assert.notStrictEqual(b.id, a.id, "the late trigger was handed the attempt of an episode that had ended")
          assert.strictEqual(b.trigger, "second-fault")
          assert.strictEqual(c.id, b.id)
          assert.strictEqual(b.joined, 1)
          assert.strictEqual(a.joined + b.joined, stats.joined)
          assert.strictEqual(runs, 2)
          // the second episode started after the first was recorded and its machine was back to Idle
          assert.isAtLeast(b.metrics.startedAt, a.metrics.endedAt)
          assert.deepStrictEqual(
            [stats.started, stats.succeeded, stats.failed, stats.inProgress],
            [2, 2, 0, []]
          )
          assert.strictEqual(yield* StateMachine.get(yield* recovery.machine("capture")), "Idle")
        })).pipe(Effect.provide(layer))
      }).pipe(quiet))

    it.live("triggers racing the recording of an episode (explored, 100 seeds)", () =>
      Explore.explore(
        Effect.gen(function*() {
          const recording = yield* Deferred.make<void>()
          const slowDisk = yield* Deferred.make<void>()
          let recordWrites = 0
          let writingRecords = 0
          const violations: Array<string> = []
          const layer = recordDisk((write) =>
            Effect.acquireUseRelease(
              Effect.sync(() => writingRecords++),
              () =>
                Effect.suspend(() =>
                  ++recordWrites === 1
                    ? Effect.zipRight(
                      Effect.zipRight(Deferred.succeed(recording, undefined), Deferred.await(slowDisk)),
                      write
                    )
                    : Effect.zipRight(Effect.yieldNow(), write)
                ),
              () => Effect.sync(() => writingRecords--)
            )
          )
          yield* Effect.scoped(Effect.gen(function*() {
            let runs = 0
            let active = 0
            const logger = yield* RecoveryLogger.make({ directory: "/logs" })
            const recovery = yield* RecoveryCoordinator.make({
              logger,
              steps: [{
                name: "restart",
                phase: "Reinitializing",
                run: () =>
                  Effect.gen(function*() {
                    runs++
                    active++
                    if (active !== 1) violations.push("two episodes ran steps at once")
                    if (writingRecords !== 0) violations.push("a step ran while an episode was being recorded")
                    yield* Effect.yieldNow()
                    active--
                  })
              }, { name: "verify", phase: "Verifying", run: () => Effect.yieldNow() }]
            })
            const first = yield* Effect.fork(recovery.recover("capture", { trigger: "t0" }))
            yield* Deferred.await(recording)
            // late triggers race each other, the end of the first recording and the next episodes
            const late = yield* Effect.forEach(
              ["t1", "t2", "t3", "t4"],
              (trigger) => Effect.fork(Effect.zipRight(Effect.yieldNow(), recovery.recover("capture", { trigger }))),
              { concurrency: "unbounded" }
            )
            const opener = yield* Effect.fork(Effect.zipRight(Effect.yieldNow(), Deferred.succeed(slowDisk, undefined)))
            const a = yield* Fiber.join(first)
            const results = yield* Effect.forEach(late, Fiber.join)
            yield* Fiber.join(opener)
            yield* recovery.awaitIdle
            assert.deepStrictEqual(violations, [])
            assert.strictEqual(a.joined, 0)
            assert.isFalse(results.some((attempt) => attempt.id === a.id), "a late trigger joined a finished episode")
            const distinct = new Map([a, ...results].map((attempt) => [attempt.id, attempt]))
            const stats = yield* recovery.stats
            for (const attempt of distinct.values()) {
              const receivers = [a, ...results].filter((other) => other.id === attempt.id).length
              assert.strictEqual(attempt.joined, receivers - 1, `joined of ${attempt.id}`)
            }
            assert.strictEqual([...distinct.values()].reduce((n, attempt) => n + attempt.joined, 0), stats.joined)
            assert.strictEqual(stats.started, distinct.size)
            assert.strictEqual(stats.started + stats.joined, 5)
            assert.strictEqual(runs, distinct.size)
            assert.strictEqual(stats.succeeded, distinct.size)
            assert.deepStrictEqual(stats.inProgress, [])
            assert.deepStrictEqual(
              (yield* logger.attempts).map((attempt) => attempt.id).sort(),
              [...distinct.keys()].sort()
            )
            assert.strictEqual(yield* StateMachine.get(yield* recovery.machine("capture")), "Idle")
          })).pipe(Effect.provide(layer))
        }).pipe(quiet),
        { runs: 100 }
      ))
  })

  describe("bug 3: closing the coordinator's scope mid-episode ran rollbacks and recorded the step as Skipped", () => {
    it.effect("the episode is recorded as failed without rollback; the running step is Interrupted", () =>
      Effect.gen(function*() {
        const log: Array<string> = []
        const logger = yield* RecoveryLogger.make()
        const scope = yield* Scope.make()
        const running = yield* Deferred.make<void>()
        const recovery = yield* RecoveryCoordinator.make({
          logger,
          steps: [
            {
              name: "stop-capture",
              phase: "StoppingCapture",
              run: () => Effect.sync(() => log.push("stop-capture")),
              rollback: () => Effect.sync(() => log.push("rollback stop-capture"))
            },
            {
              name: "reinitialize",
              phase: "Reinitializing",
              run: () => Effect.zipRight(Deferred.succeed(running, undefined), Effect.never)
            },
            { name: "verify", phase: "Verifying", run: () => Effect.sync(() => log.push("verify")) }
          ]
        }).pipe(Scope.extend(scope))
        const caller = yield* Effect.fork(recovery.recover("capture", { trigger: "device-lost" }))
        yield* Deferred.await(running)
        yield* Scope.close(scope, Exit.void)
        // the caller gets the attempt recorded as failed (recover never fails)
        const exit = yield* Fiber.await(caller)
        assert.isTrue(Exit.isSuccess(exit))
        const [attempt] = yield* logger.attempts
        assert.strictEqual(Exit.isSuccess(exit) ? exit.value.id : undefined, attempt?.id)
        assert.strictEqual(attempt?.outcome, "Failed")
        assert.deepStrictEqual(log, ["stop-capture"], "a rollback ran although the docs say 'without rollback'")
        const status = Object.fromEntries(attempt!.steps.map((step) => [step.step, step.status]))
        assert.deepStrictEqual(status, {
          "stop-capture": "Succeeded",
          "reinitialize": "Interrupted",
          "verify": "Skipped"
        })
        const interrupted = attempt!.steps.find((step) => step.step === "reinitialize")!
        assert.strictEqual(interrupted.error?.tag, "Interrupted")
        assert.strictEqual(attempt!.error?.tag, "Interrupted")
        assert.include(attempt!.error!.message, "reinitialize")
        assert.strictEqual(attempt!.states[attempt!.states.length - 1]!.state, "Failed")
        const stats = yield* recovery.stats
        assert.deepStrictEqual([stats.started, stats.succeeded, stats.failed, stats.inProgress], [1, 0, 1, []])
        assert.strictEqual(yield* StateMachine.get(yield* recovery.machine("capture")), "Idle")
      }).pipe(Effect.provide(memoryLayer()), quiet))

    it.effect("per channel: the interrupted channel's step is Interrupted, the next one Skipped, nothing rolled back", () =>
      Effect.gen(function*() {
        const log: Array<string> = []
        const logger = yield* RecoveryLogger.make()
        const scope = yield* Scope.make()
        const running = yield* Deferred.make<void>()
        const recovery = yield* RecoveryCoordinator.make({
          logger,
          channels: ["left", "right"],
          steps: [
            {
              name: "stop-capture",
              phase: "StoppingCapture",
              perChannel: true,
              run: ({ channel }) => Effect.sync(() => log.push(`stop ${channel}`)),
              rollback: ({ channel }) => Effect.sync(() => log.push(`undo ${channel}`))
            },
            {
              name: "flush",
              phase: "FlushingBuffers",
              perChannel: true,
              // the scope closes while the left channel's flush runs
              run: ({ channel }) =>
                channel === "left" ? Effect.zipRight(Deferred.succeed(running, undefined), Effect.never) : Effect.void
            }
          ]
        }).pipe(Scope.extend(scope))
        const caller = yield* Effect.fork(recovery.recover("capture", { trigger: "overflow" }))
        yield* Deferred.await(running)
        yield* Scope.close(scope, Exit.void)
        const attempt = yield* Fiber.join(caller)
        assert.strictEqual(attempt.outcome, "Failed")
        assert.isFalse(log.some((line) => line.startsWith("undo")), "a rollback ran")
        const status = attempt.steps.map((step) => `${step.step}[${step.channel}]=${step.status}`)
        assert.deepStrictEqual(status, [
          "stop-capture[left]=Succeeded",
          "stop-capture[right]=Succeeded",
          "flush[left]=Interrupted",
          "flush[right]=Skipped"
        ])
        assert.strictEqual(attempt.error?.tag, "Interrupted")
        assert.include(attempt.error!.message, "flush[left]")
      }).pipe(Effect.provide(memoryLayer()), quiet))
  })

  describe("bug 4: a step's timeout was not an upper bound (a step ignoring interruption held the episode)", () => {
    it.scoped("a step that does not yield to interruption is abandoned at its timeout and listed until it ends", () =>
      Effect.gen(function*() {
        const logger = yield* RecoveryLogger.make()
        const recovery = yield* RecoveryCoordinator.make({
          logger,
          steps: [{
            name: "release-device",
            phase: "StoppingCapture",
            timeout: "1 second",
            run: () => Effect.uninterruptible(Effect.sleep(Duration.hours(1)))
          }]
        })
        // the abandoned step ends on its own before the asserts
        const { after, attempt, done, during } = yield* recoverPastTimeout(recovery, "device-lost", Duration.seconds(1))
        assert.isTrue(Option.isSome(done), "the episode was still running after its only step's 1 s timeout")
        assert.strictEqual(attempt.outcome, "Failed")
        assert.strictEqual(attempt.steps[0]!.status, "TimedOut")
        assert.strictEqual(attempt.steps[0]!.durationMs, 1_000)
        assert.strictEqual(attempt.metrics.durationMs, 1_000)
        assert.deepStrictEqual(
          during.abandoned.map((entry) => [entry.component, entry.step, entry.kind, entry.at]),
          [["capture", "release-device", "run", 1_000]]
        )
        assert.deepStrictEqual(during.inProgress, [])
        assert.deepStrictEqual(after.abandoned, [])
      }).pipe(Effect.provide(memoryLayer()), quiet))

    it.scoped("a rollback that does not yield to interruption is abandoned at its step's timeout", () =>
      Effect.gen(function*() {
        const logger = yield* RecoveryLogger.make()
        const recovery = yield* RecoveryCoordinator.make({
          logger,
          steps: [
            {
              name: "stop-capture",
              phase: "StoppingCapture",
              timeout: "2 seconds",
              run: () => Effect.void,
              rollback: () => Effect.uninterruptible(Effect.sleep(Duration.hours(1)))
            },
            { name: "verify", phase: "Verifying", run: () => Effect.fail("broken") }
          ]
        })
        const { after, attempt, done, during } = yield* recoverPastTimeout(recovery, "t", Duration.seconds(2))
        assert.isTrue(Option.isSome(done), "the rollback held the episode past its timeout")
        const rolled = attempt.steps.find((step) => step.step === "stop-capture")!
        assert.strictEqual(rolled.status, "RollbackFailed")
        assert.strictEqual(rolled.error?.tag, "TimedOut")
        assert.strictEqual(attempt.metrics.durationMs, 2_000)
        assert.deepStrictEqual(during.abandoned.map((entry) => entry.kind), ["rollback"])
        assert.deepStrictEqual(after.abandoned, [])
      }).pipe(Effect.provide(memoryLayer()), quiet))
  })

  describe("suspected: recover died when a user-supplied resources sampler or logger died", () => {
    it.scoped("a resources sampler that dies fails the episode; it is recorded and the machine is settled", () =>
      Effect.gen(function*() {
        const log: Array<string> = []
        const logger = yield* RecoveryLogger.make()
        const recovery = yield* RecoveryCoordinator.make({
          logger,
          resources: Effect.die(new Error("sampler broke")),
          steps: [{
            name: "restart",
            phase: "Reinitializing",
            run: () => Effect.void,
            rollback: () => Effect.sync(() => log.push("undo"))
          }]
        })
        const attempt = yield* recovery.recover("capture", { trigger: "t" })
        assert.strictEqual(attempt.outcome, "Failed")
        assert.deepStrictEqual(attempt.error, { tag: "Defect(Error)", message: "sampler broke" })
        assert.deepStrictEqual(attempt.metrics.resources, {})
        assert.strictEqual(attempt.steps[0]!.status, "Succeeded")
        assert.deepStrictEqual(log, [], "the steps all ran: nothing is rolled back for the sampler")
        assert.strictEqual(attempt.states[attempt.states.length - 1]!.state, "Failed")
        assert.deepStrictEqual((yield* logger.attempts).map((recorded) => recorded.id), [attempt.id])
        const stats = yield* recovery.stats
        assert.deepStrictEqual([stats.started, stats.succeeded, stats.failed], [1, 0, 1])
        assert.strictEqual(yield* StateMachine.get(yield* recovery.machine("capture")), "Idle")
        const failed = yield* Effect.flip(recovery.recoverOrFail("capture", { trigger: "t" }))
        assert.strictEqual(failed.reason, "Defect(Error): sampler broke")
      }).pipe(Effect.provide(memoryLayer()), quiet))

    it.scoped("a logger whose record dies: recover returns the attempt unrecorded, as failed; the machine is Idle", () =>
      Effect.gen(function*() {
        const real = yield* RecoveryLogger.make({ session: "0000beef" })
        let calls = 0
        const logger = withRecord(
          real,
          (input) => ++calls === 1 ? Effect.die(new Error("disk on fire")) : real.record(input)
        )
        const recovery = yield* RecoveryCoordinator.make({
          logger,
          steps: [{ name: "restart", phase: "Reinitializing", run: () => Effect.void }]
        })
        const attempt = yield* recovery.recover("capture", { trigger: "t" })
        assert.strictEqual(attempt.outcome, "Failed")
        assert.deepStrictEqual(attempt.error, { tag: "Defect(Error)", message: "disk on fire" })
        assert.match(attempt.id, /^recovery_\d{8}_\d{6}_\d{3}_0000beef_u1$/)
        assert.strictEqual(attempt.seq, 0)
        assert.strictEqual(attempt.steps[0]!.status, "Succeeded")
        assert.deepStrictEqual(yield* real.attempts, [])
        let stats = yield* recovery.stats
        assert.deepStrictEqual([stats.started, stats.succeeded, stats.failed, stats.inProgress], [1, 0, 1, []])
        assert.strictEqual(yield* StateMachine.get(yield* recovery.machine("capture")), "Idle")
        // the next episode runs and is recorded
        const next = yield* recovery.recover("capture", { trigger: "t" })
        assert.strictEqual(next.outcome, "Succeeded")
        stats = yield* recovery.stats
        assert.deepStrictEqual([stats.started, stats.succeeded, stats.failed], [2, 1, 1])
      }).pipe(Effect.provide(memoryLayer()), quiet))
  })
})
