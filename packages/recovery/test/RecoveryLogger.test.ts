import { MemoryFileSystem, RecoveryLogger } from "@core-stability/recovery"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const withMemory = (memory: MemoryFileSystem.MemoryFileSystem) => Effect.provide(MemoryFileSystem.layer(memory))

const attempt = (overrides: Partial<RecoveryLogger.AttemptInput> = {}): RecoveryLogger.AttemptInput => ({
  component: "capture",
  trigger: "buffer-overflow",
  startedAt: 0,
  endedAt: 5_000,
  states: [{ state: "Initiating", at: 0 }, { state: "StoppingCapture", at: 10 }, { state: "Completed", at: 5_000 }],
  resources: { heapUsedBytes: 100 },
  outcome: "Succeeded",
  ...overrides
})

describe("RecoveryLogger", () => {
  it.effect("logging one attempt keeps it in memory and writes exactly one file (3.7 #1)", () => {
    const memory = MemoryFileSystem.unsafeMake()
    return Effect.gen(function*() {
      const logger = yield* RecoveryLogger.make({ directory: "/logs" })
      const recorded = yield* logger.record(attempt())
      const attempts = yield* logger.attempts
      assert.strictEqual(attempts.length, 1)
      assert.strictEqual(attempts[0]!.trigger, "buffer-overflow")
      assert.deepStrictEqual(attempts[0]!.metrics.resources, { heapUsedBytes: 100 })
      const files = [...(yield* memory.files).keys()].filter((path) => path.startsWith("/logs/recovery/"))
      assert.deepStrictEqual(files, [`/logs/recovery/${recorded.id}.json`])
      const written = JSON.parse((yield* memory.files).get(files[0]!)!)
      assert.strictEqual(written.trigger, "buffer-overflow")
      assert.deepStrictEqual(written.states.map((entry: { state: string }) => entry.state), [
        "Initiating",
        "StoppingCapture",
        "Completed"
      ])
    }).pipe(withMemory(memory))
  })

  it.effect("analytics: one success and one failure (3.7 #2), transitions, MTTR and time to detect", () =>
    Effect.gen(function*() {
      const logger = yield* RecoveryLogger.make()
      yield* logger.record(attempt({ occurredAt: -1_000 }))
      yield* logger.record(attempt({ trigger: "device-lost", endedAt: 3_000, outcome: "Failed" }))
      const analytics = yield* logger.analytics
      assert.strictEqual(analytics.totalAttempts, 2)
      assert.strictEqual(analytics.successRate, 50)
      assert.isTrue(analytics.durationMs.mean >= 3_000 && analytics.durationMs.mean <= 5_000)
      assert.strictEqual(analytics.durationMs.p95, 5_000)
      assert.deepStrictEqual(analytics.commonTriggers, [
        { trigger: "buffer-overflow", count: 1 },
        { trigger: "device-lost", count: 1 }
      ])
      assert.deepStrictEqual(analytics.stateTransitions, {
        Initiating: { StoppingCapture: 2 },
        StoppingCapture: { Completed: 2 }
      })
      assert.deepStrictEqual(analytics.timeToDetectMs, { count: 1, mean: 1_000, p95: 1_000 })
      assert.deepStrictEqual(analytics.timeToRecoverMs, { count: 1, mean: 6_000, p95: 6_000 })
      assert.strictEqual(yield* logger.lastStatus, "failed")
    }).pipe(withMemory(MemoryFileSystem.unsafeMake())))

  it.effect("ids are unique within a millisecond and across sessions", () =>
    Effect.gen(function*() {
      const first = yield* RecoveryLogger.make({ session: "aaaa0001" })
      const second = yield* RecoveryLogger.make({ session: "aaaa0002" })
      const ids = new Set<string>()
      for (let i = 0; i < 50; i++) {
        ids.add((yield* first.record(attempt())).id)
        ids.add((yield* second.record(attempt())).id)
      }
      assert.strictEqual(ids.size, 100)
    }).pipe(withMemory(MemoryFileSystem.unsafeMake())))

  it.effect("a state dump holds the attempt, analytics, locks and is written (3.7 #4)", () => {
    const memory = MemoryFileSystem.unsafeMake()
    return Effect.gen(function*() {
      const logger = yield* RecoveryLogger.make({ directory: "/logs" })
      const recorded = yield* logger.record(attempt())
      const { dump, path } = yield* logger.stateDump(recorded.id)
      assert.strictEqual(dump.attempt.id, recorded.id)
      assert.strictEqual(dump.analytics.totalAttempts, 1)
      assert.isArray(dump.locks.locks)
      assert.deepStrictEqual(path, Option.some(`/logs/debug/state_dump_${recorded.id}.json`))
      const written = JSON.parse((yield* memory.files).get(`/logs/debug/state_dump_${recorded.id}.json`)!)
      assert.containsAllKeys(written, ["attempt", "analytics", "locks", "components"])
      const unknown = yield* Effect.flip(logger.stateDump("recovery_nope"))
      assert.strictEqual(unknown._tag, "UnknownAttempt")
    }).pipe(withMemory(memory))
  })

  it.effect("attempt details by id; an unknown id gives None (3.7 #6)", () =>
    Effect.gen(function*() {
      const logger = yield* RecoveryLogger.make()
      const recorded = yield* logger.record(attempt())
      const found = yield* logger.attempt(recorded.id)
      assert.isTrue(Option.isSome(found))
      assert.strictEqual(Option.getOrThrow(found).trigger, "buffer-overflow")
      assert.isTrue(Option.isNone(yield* logger.attempt("recovery_unknown")))
    }).pipe(withMemory(MemoryFileSystem.unsafeMake())))

  it.effect("an invalid folder: logging does not fail, the attempt and analytics are kept, failures counted (3.7 #7)", () => {
    const memory = MemoryFileSystem.unsafeMake()
    return Effect.gen(function*() {
      yield* Effect.orDie(memory.fileSystem.writeFileString("/not-a-directory", "x"))
      const logger = yield* RecoveryLogger.make({ directory: "/not-a-directory/logs" })
      yield* logger.record(attempt())
      assert.strictEqual((yield* logger.attempts).length, 1)
      assert.strictEqual((yield* logger.analytics).totalAttempts, 1)
      const stats = yield* logger.stats
      assert.isTrue(stats.writeFailures >= 2)
      assert.strictEqual(stats.writes, 0)
      assert.strictEqual(stats.lastWriteError?.tag, "SystemError")
    }).pipe(withMemory(memory))
  })

  it.effect("the history is bounded; analytics keep counting every attempt", () =>
    Effect.gen(function*() {
      const logger = yield* RecoveryLogger.make({ historySize: 3 })
      for (let i = 0; i < 5; i++) yield* logger.record(attempt({ trigger: `t${i}` }))
      const attempts = yield* logger.attempts
      assert.deepStrictEqual(attempts.map((entry) => entry.trigger), ["t2", "t3", "t4"])
      const stats = yield* logger.stats
      assert.strictEqual(stats.evicted, 2)
      assert.strictEqual((yield* logger.analytics).totalAttempts, 5)
    }).pipe(withMemory(MemoryFileSystem.unsafeMake())))

  it.effect("retention removes files by modification time", () => {
    const memory = MemoryFileSystem.unsafeMake()
    return Effect.gen(function*() {
      const logger = yield* RecoveryLogger.make({ directory: "/logs" })
      const old = yield* logger.record(attempt())
      yield* TestClock.adjust(Duration.days(20))
      const fresh = yield* logger.record(attempt())
      yield* TestClock.adjust(Duration.days(15))
      const removed = yield* logger.cleanupOldLogs(Duration.days(30))
      assert.isTrue(removed.includes(`/logs/recovery/${old.id}.json`))
      assert.isFalse(removed.includes(`/logs/recovery/${fresh.id}.json`))
      const files = yield* memory.files
      assert.isFalse(files.has(`/logs/recovery/${old.id}.json`))
      assert.isTrue(files.has(`/logs/recovery/${fresh.id}.json`))
    }).pipe(withMemory(memory))
  })

  it.effect("structured logs are JSON lines annotated with component and attempt", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      const logger = yield* RecoveryLogger.make()
      const recorded = yield* logger.record(attempt({ outcome: "Failed" }))
      const entry = lines.map((line) => JSON.parse(line)).find((parsed) =>
        parsed.message === "recovery attempt recorded"
      )
      assert.isDefined(entry)
      assert.strictEqual(entry.annotations.component, "capture")
      assert.strictEqual(entry.annotations.attempt, recorded.id)
      assert.strictEqual(entry.annotations.state, "Completed")
      assert.strictEqual(entry.logLevel, "WARN")
      assert.isString(entry.fiberId)
    }).pipe(
      withMemory(MemoryFileSystem.unsafeMake()),
      Effect.provide(RecoveryLogger.layerJson({ write: (line) => lines.push(line) }))
    )
  })
})
