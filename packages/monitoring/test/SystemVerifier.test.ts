import { BufferManager, ComponentCoordinator, ResourcePool } from "@core-stability/coordinator"
import { LockRegistry, OrderedLock } from "@core-stability/locks"
import { MonitoringCoordinator, SystemVerifier, VerificationReport } from "@core-stability/monitoring"
import { MemoryFileSystem, RecoveryCoordinator, RecoveryLogger } from "@core-stability/recovery"
import { Presets, StateMachine } from "@core-stability/state-machine"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"

const quiet = Logger.withMinimumLogLevel(LogLevel.None)

const statusOf = (report: VerificationReport.VerificationReport, name: string) => {
  const check = report.checks.find((candidate) => candidate.name === name)
  assert.isDefined(check, `no check ${name}`)
  return check!
}

/** storage <- capture; capture holds one buffer per channel and runs one reader worker. */
const pipeline = Effect.gen(function*() {
  const components = yield* ComponentCoordinator.make()
  let acquired = 0
  yield* components.register({ id: "storage", healthCheck: Effect.succeed(true) })
  yield* components.register({
    id: "capture",
    dependencies: ["storage"],
    channels: ["left", "right"],
    start: (context) =>
      Effect.gen(function*() {
        for (const channel of context.channels) {
          yield* context.allocate({
            type: "buffer",
            channel,
            acquire: Effect.sync(() => {
              acquired++
              return new Uint8Array(16)
            }),
            release: () => Effect.void
          })
        }
        yield* context.fork(Effect.never, { name: "reader" })
      })
  })
  yield* components.startAll
  return { components, acquired: () => acquired }
})

describe("SystemVerifier", () => {
  it.scoped("a healthy system passes every check, run concurrently, with a readable report", () =>
    Effect.gen(function*() {
      const { components } = yield* pipeline
      const pool = yield* ResourcePool.make()
      const buffers = yield* BufferManager.make({ pool })
      yield* BufferManager.put(buffers, "capture", "left", new Uint8Array(100))
      yield* BufferManager.put(buffers, "capture", "left", new Uint8Array(100))
      yield* BufferManager.take(buffers, "capture", "left")
      const machine = yield* StateMachine.make(Presets.Recovery)
      yield* StateMachine.transitionTo(machine, "Initiating")
      yield* Effect.either(StateMachine.transitionTo(machine, "Completed")) // refused: not a link of the chain
      yield* StateMachine.transitionTo(machine, "StoppingCapture")
      const verifier = yield* SystemVerifier.make({
        components,
        buffers: [buffers],
        pools: [pool],
        machines: [machine]
      })
      assert.deepStrictEqual(verifier.checks, [
        "components",
        "health",
        "locks",
        "resources",
        "buffers",
        "histories",
        "fibers"
      ])
      const report = yield* verifier.verify()
      assert.strictEqual(report.verdict, "passed", VerificationReport.render(report))
      assert.deepStrictEqual(report.checks.map((check) => check.status), Array(7).fill("passed"))
      assert.deepStrictEqual(statusOf(report, "health").details, [
        "2 components: 2 healthy, 0 stopped, 0 degraded, 0 failed"
      ])
      const resources = statusOf(report, "resources").data as SystemVerifier.ResourceAccounting
      assert.deepStrictEqual(resources.pools, [{ pool: "pool", inUse: 1, managed: 1, baseline: 0 }])
      assert.strictEqual(resources.allocations, 2)
      const histories = statusOf(report, "histories").data as SystemVerifier.HistoryConsistency
      assert.strictEqual(histories.machines, 3)
      assert.deepStrictEqual(Option.getOrUndefined(yield* verifier.lastReport), report)
      const text = VerificationReport.render(report)
      assert.match(text, /^verification: passed \(0 ms, 7 checks, 0 failed, 0 errors\)/)
      assert.include(text, "buffers     passed  0   6 queues balanced (put = taken + dropped + queued)")
      const only = yield* verifier.verify({ only: ["buffers"] })
      assert.deepStrictEqual(only.checks.map((check) => check.name), ["buffers"])
    }).pipe(quiet))

  it.scoped("health says what its counts are: stopped components are counted, not checked", () =>
    Effect.gen(function*() {
      const { components } = yield* pipeline
      yield* components.stopAll
      const report = yield* (yield* SystemVerifier.make({ components })).verify({ only: ["health"] })
      assert.strictEqual(statusOf(report, "health").status, "passed")
      assert.deepStrictEqual(statusOf(report, "health").details, [
        "2 components: 0 healthy, 2 stopped, 0 degraded, 0 failed"
      ])
    }).pipe(quiet))

  it.scoped("components and health fail for a component in Error, with its reason", () =>
    Effect.gen(function*() {
      const { components } = yield* pipeline
      yield* components.transition("storage", "Error", { reason: "disk full" })
      const report = yield* (yield* SystemVerifier.make({ components })).verify()
      assert.strictEqual(report.verdict, "failed")
      const states = statusOf(report, "components")
      assert.strictEqual(states.status, "failed")
      assert.deepStrictEqual(states.details, [
        "storage is Error, expected Running; last failure: Component \"storage\" failed: disk full"
      ])
      assert.deepStrictEqual((states.data as SystemVerifier.ComponentStates).mismatches, ["storage"])
      assert.strictEqual(statusOf(report, "health").status, "failed")
      const expected = yield* SystemVerifier.make({ components, expectedStates: { storage: ["Running", "Error"] } })
      assert.strictEqual(statusOf(yield* expected.verify(), "components").status, "passed")
    }).pipe(quiet))

  it.scoped("resources: a leaked allocation of a stopped component and a pool above its baseline fail", () =>
    Effect.gen(function*() {
      const components = yield* ComponentCoordinator.make()
      yield* components.register({
        id: "device",
        channels: ["left"],
        start: (context) =>
          Effect.asVoid(context.allocate({
            type: "handle",
            channel: "left",
            site: "device.ts:1",
            acquire: Effect.succeed(1),
            release: () => Effect.fail("device busy")
          }))
      })
      const pool = yield* ResourcePool.make()
      yield* components.startAll
      const verifier = yield* SystemVerifier.make({
        components,
        pools: [{ pool, baseline: 0 }],
        expectedStates: "Stopped"
      })
      yield* components.stopAll // the release fails: the handle stays on the books
      const leaked = statusOf(yield* verifier.verify(), "resources")
      assert.strictEqual(leaked.status, "failed")
      assert.strictEqual(leaked.details.length, 1)
      assert.match(
        leaked.details[0]!,
        /^handle #\d+ x1 held by device\/left \(Stopped\), allocated at device\.ts:1: release failed/
      )

      const clean = yield* SystemVerifier.make({
        components: yield* ComponentCoordinator.make(),
        pools: [{ pool, baseline: 0 }]
      })
      assert.strictEqual(statusOf(yield* clean.verify(), "resources").status, "passed")
      const buffer = yield* ResourcePool.allocate(pool, 100, { owner: "forgotten" })
      const above = statusOf(yield* clean.verify(), "resources")
      assert.strictEqual(above.status, "failed")
      assert.deepStrictEqual(above.details, [
        "pool pool: 1 buffer(s) in use, 0 held by buffer managers, baseline 0 (by owner: forgotten: 1)"
      ])
      yield* ResourcePool.release(pool, buffer)
      assert.strictEqual(statusOf(yield* clean.verify(), "resources").status, "passed")
    }).pipe(quiet))

  it.scoped("locks: a lock held past its fiber fails until it is released; live holders pass", () =>
    Effect.gen(function*() {
      const registry = LockRegistry.unsafeMake()
      const lock = yield* OrderedLock.make({ name: "verifier-test", rank: 100, key: "orphan" }).pipe(
        Effect.provideService(LockRegistry.LockRegistry, registry)
      )
      const verifier = yield* SystemVerifier.make({ registry })
      const live = yield* OrderedLock.withLock(lock, verifier.verify())
      assert.strictEqual(statusOf(live, "locks").status, "passed")
      assert.strictEqual((statusOf(live, "locks").data as SystemVerifier.LockLiveness).holders, 1)

      const scope = yield* Scope.make()
      const holder = yield* Effect.fork(Scope.extend(OrderedLock.lock(lock), scope))
      yield* Fiber.join(holder)
      const orphaned = statusOf(yield* verifier.verify(), "locks")
      assert.strictEqual(orphaned.status, "failed")
      const data = orphaned.data as SystemVerifier.LockLiveness
      assert.strictEqual(data.orphans.length, 1)
      assert.strictEqual(data.orphans[0]!.role, "holder")
      assert.strictEqual(data.orphans[0]!.lock, "verifier-test:orphan")
      assert.match(orphaned.details[0]!, /^verifier-test:orphan held by #\d+, which is no longer alive/)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(statusOf(yield* verifier.verify(), "locks").status, "passed")
    }).pipe(quiet))

  it.scoped("buffers: unbalanced counters fail; a live manager balances", () =>
    Effect.gen(function*() {
      const buffers = yield* BufferManager.make()
      yield* BufferManager.put(buffers, "storage", "right", new Uint8Array(4))
      const stats = yield* BufferManager.stats(buffers)
      const forged: SystemVerifier.BufferSource = {
        name: "recorded",
        stats: Effect.succeed({
          ...stats,
          name: "recorded",
          queues: stats.queues.map((queue) =>
            queue.stage === "storage" && queue.channel === "right" ? { ...queue, put: 3 } : queue
          )
        })
      }
      const verifier = yield* SystemVerifier.make({ buffers: [buffers, forged] })
      const report = yield* verifier.verify()
      const check = statusOf(report, "buffers")
      assert.strictEqual(check.status, "failed")
      assert.deepStrictEqual(check.details, [
        "recorded storage/right: put 3 != taken 0 + dropped 0 + queued 1 (2 item(s) unaccounted for)"
      ])
      const good = yield* (yield* SystemVerifier.make({ buffers: [buffers] })).verify({ only: ["buffers"] })
      assert.strictEqual(good.verdict, "passed")
    }).pipe(quiet))

  it.scoped("histories: a forged entry breaks the chain; a real history (with a rollback) is linked", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Presets.Recovery)
      yield* StateMachine.transitionTo(machine, "Initiating")
      yield* StateMachine.transitionTo(machine, "StoppingCapture")
      yield* StateMachine.rollback(machine)
      const history = yield* StateMachine.history(machine)
      const forged: SystemVerifier.HistorySource = {
        name: "forged",
        history: Effect.succeed(history.map((entry) => entry.seq === 2 ? { ...entry, from: "Idle" as const } : entry))
      }
      const good = yield* (yield* SystemVerifier.make({ machines: [machine] })).verify({ only: ["histories"] })
      assert.strictEqual(good.verdict, "passed")
      const report = yield* (yield* SystemVerifier.make({ machines: [machine, forged] })).verify({
        only: ["histories"]
      })
      const check = statusOf(report, "histories")
      assert.strictEqual(check.status, "failed")
      assert.deepStrictEqual(check.details, [
        "forged: entry 2 (transition) starts from Idle, but entry 1 ended in Initiating"
      ])
      assert.deepStrictEqual((check.data as SystemVerifier.HistoryConsistency).breaks, [
        { machine: "forged", seq: 2, reason: "entry 2 (transition) starts from Idle, but entry 1 ended in Initiating" }
      ])
    }).pipe(quiet))

  it.scoped("fibers: a worker that outlives its stopped component fails until it ends", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const components = yield* ComponentCoordinator.make()
      yield* components.register({
        id: "stubborn",
        shutdownTimeout: "10 millis",
        start: (context) => context.fork(Effect.uninterruptible(Deferred.await(gate)), { name: "ignores-interrupt" })
      })
      yield* components.startAll
      const verifier = yield* SystemVerifier.make({ components, expectedStates: "Stopped" })
      const stopping = yield* Effect.fork(components.stopAll)
      yield* TestClock.adjust(Duration.millis(10))
      yield* Fiber.join(stopping)
      const stray = statusOf(yield* verifier.verify(), "fibers")
      assert.strictEqual(stray.status, "failed")
      assert.match(
        stray.details[0]!,
        /^worker ignores-interrupt \(#\d+\) of stubborn is still alive, but stubborn is Stopped$/
      )
      yield* Deferred.succeed(gate, undefined)
      yield* Effect.yieldNow()
      assert.strictEqual(statusOf(yield* verifier.verify(), "fibers").status, "passed")
    }).pipe(quiet))

  it.scoped("a check that fails or times out is an error; the verdict is error", () =>
    Effect.gen(function*() {
      const verifier = yield* SystemVerifier.make({
        checkTimeout: "1 second",
        checks: [
          { name: "broken", run: Effect.fail(new Error("probe unreachable")) },
          { name: "slow", run: Effect.as(Effect.never, { passed: true, details: [], data: undefined }) }
        ]
      })
      const running = yield* Effect.fork(verifier.verify())
      yield* TestClock.adjust(Duration.seconds(1))
      const report = yield* Fiber.join(running)
      assert.strictEqual(report.verdict, "error")
      assert.deepStrictEqual(statusOf(report, "broken").details, ["could not run: probe unreachable"])
      assert.deepStrictEqual(statusOf(report, "slow").details, ["timed out after 1000 ms"])
      assert.strictEqual(statusOf(report, "slow").durationMs, 1000)
      const invalid = yield* Effect.flip(SystemVerifier.make({ checks: [{ name: "locks", run: Effect.never }] }))
      assert.strictEqual(invalid._tag, "InvalidMonitoringOptions")
    }).pipe(quiet))

  it.scoped("verifyRestart of a component with per-channel resources: running again, re-acquired, nothing left", () =>
    Effect.gen(function*() {
      const { acquired, components } = yield* pipeline
      const before = yield* components.resources("capture")
      const verifier = yield* SystemVerifier.make({ components })
      const report = yield* verifier.verifyRestart(SystemVerifier.component("capture"))
      assert.strictEqual(report.verdict, "passed", VerificationReport.render(report))
      assert.deepStrictEqual(report.checks.slice(0, 4).map((check) => [check.name, check.status]), [
        ["restart", "passed"],
        ["restart-running", "passed"],
        ["restart-resources", "passed"],
        ["restart-leftovers", "passed"]
      ])
      assert.deepStrictEqual(report.restart, {
        target: "capture",
        components: [{ id: "capture", generationBefore: 1, generationAfter: 2 }]
      })
      assert.strictEqual(acquired(), 4)
      const after = yield* components.resources("capture")
      assert.deepStrictEqual(after.map((allocation) => allocation.channel).sort(), ["left", "right"])
      assert.isTrue(after.every((allocation) => !before.some((old) => old.id === allocation.id)))

      const system = yield* verifier.verifyRestart(SystemVerifier.system)
      assert.strictEqual(system.verdict, "passed", VerificationReport.render(system))
      assert.deepStrictEqual(system.restart?.components.map((component) => component.id), ["storage", "capture"])
    }).pipe(quiet))

  it.scoped("verifyRestart fails when the old instance's resources are left behind or the restart is refused", () =>
    Effect.gen(function*() {
      const components = yield* ComponentCoordinator.make()
      yield* components.register({
        id: "device",
        channels: ["left", "right"],
        start: (context) =>
          Effect.forEach(context.channels, (channel) =>
            context.allocate({
              type: "handle",
              channel,
              acquire: Effect.succeed(channel),
              release: (value) => value === "left" ? Effect.fail("stuck") : Effect.void
            }))
      })
      yield* components.startAll
      const verifier = yield* SystemVerifier.make({ components })
      const report = yield* verifier.verifyRestart(SystemVerifier.component("device"))
      assert.strictEqual(report.verdict, "failed")
      assert.strictEqual(statusOf(report, "restart").status, "passed")
      const leftovers = statusOf(report, "restart-leftovers")
      assert.strictEqual(leftovers.status, "failed")
      assert.match(leftovers.details[0]!, /^handle #1 of the old device is still held: release failed/)
      const unknown = yield* verifier.verifyRestart(SystemVerifier.component("nope"))
      assert.deepStrictEqual(statusOf(unknown, "restart").details, ["no component \"nope\""])
    }).pipe(quiet))

  it.scoped("wiring: the recovery's verifying step, the monitoring coordinator's last report, the JSON file", () =>
    Effect.gen(function*() {
      const { components } = yield* pipeline
      const monitoring = yield* MonitoringCoordinator.make({ components })
      assert.isTrue(Option.isNone(yield* monitoring.lastVerification))
      const verifier = yield* SystemVerifier.make({ components, monitoring })
      const logger = yield* RecoveryLogger.make({ directory: "/logs" })
      const step = SystemVerifier.recoveryStep(verifier)
      const noop = { run: () => Effect.void }
      const recovery = yield* RecoveryCoordinator.make({
        logger,
        steps: RecoveryCoordinator.fromDefaults({
          "stop-capture": noop,
          "flush-storage": noop,
          "reset-monitoring": noop,
          "check-windows": noop,
          "initialize-storage": noop,
          "start-monitoring": noop,
          "start-capture": noop,
          "verify": step
        })
      })
      const succeeded = yield* recovery.recover("capture", { trigger: "device-lost" })
      assert.strictEqual(succeeded.outcome, "Succeeded")
      const last = Option.getOrThrow(yield* monitoring.lastVerification)
      assert.strictEqual(last.verdict, "passed")

      yield* components.transition("storage", "Error", { reason: "disk full" })
      const episode = yield* Effect.fork(recovery.recover("storage", { trigger: "disk-full" }))
      yield* TestClock.adjust(Duration.seconds(5))
      const failed = yield* Fiber.join(episode)
      assert.strictEqual(failed.outcome, "Failed")
      // polled every 100 ms until its 5,000 ms timeout, each poll a failed verification
      const verify = failed.steps.find((record) => record.step === "verify")
      assert.strictEqual(verify?.status, "TimedOut")
      assert.strictEqual(Option.getOrThrow(yield* monitoring.lastVerification).verdict, "failed")

      const memory = MemoryFileSystem.unsafeMake()
      yield* SystemVerifier.writeReport(last, "/reports/verify.json").pipe(
        Effect.provide(MemoryFileSystem.layer(memory))
      )
      const files = yield* memory.files
      assert.deepStrictEqual(
        JSON.parse(files.get("/reports/verify.json")!),
        JSON.parse(VerificationReport.toJson(last))
      )
    }).pipe(Effect.provide(MemoryFileSystem.layer(MemoryFileSystem.unsafeMake())), quiet))
})
