import { ComponentCoordinator } from "@core-stability/coordinator"
import { MonitoringCoordinator } from "@core-stability/monitoring"
import { MemoryFileSystem, RecoveryCoordinator, RecoveryLogger } from "@core-stability/recovery"
import { StateMachine } from "@core-stability/state-machine"
import { Explore } from "@core-stability/testing"
import { assert, describe, it } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

class DeviceLost extends Data.TaggedError("DeviceLost")<{ readonly device: string }> {}

/** storage <- processing <- capture (capture depends on processing, which depends on storage). */
const pipeline = (healthChecks?: { count: number }) =>
  Effect.gen(function*() {
    const components = yield* ComponentCoordinator.make()
    yield* components.register({
      id: "storage",
      healthCheck: Effect.sync(() => {
        if (healthChecks !== undefined) healthChecks.count++
        return true
      })
    })
    yield* components.register({ id: "processing", dependencies: ["storage"], channels: ["left", "right"] })
    yield* components.register({ id: "capture", dependencies: ["processing"], channels: ["left", "right"] })
    yield* components.startAll
    return components
  })

const memoryLayer = () => MemoryFileSystem.layer(MemoryFileSystem.unsafeMake())

describe("MonitoringCoordinator", () => {
  it.scoped("start runs a health check at once and then every interval; after stop no check runs (3.6 #4)", () =>
    Effect.gen(function*() {
      const calls = { count: 0 }
      const components = yield* pipeline(calls)
      const monitoring = yield* MonitoringCoordinator.make({ components, interval: "1 second" })
      yield* monitoring.start
      yield* TestClock.adjust(Duration.millis(0))
      assert.strictEqual(yield* monitoring.checks, 1)
      assert.strictEqual(calls.count, 1)
      const last = yield* monitoring.lastHealth
      assert.strictEqual(Option.getOrThrow(last).report.status, "healthy")
      yield* TestClock.adjust(Duration.seconds(3))
      assert.strictEqual(yield* monitoring.checks, 4)
      assert.isTrue(yield* monitoring.running)
      yield* monitoring.stop
      assert.isFalse(yield* monitoring.running)
      const after = calls.count
      yield* TestClock.adjust(Duration.seconds(10))
      assert.strictEqual(calls.count, after)
      assert.strictEqual(yield* monitoring.checks, 4)
      // restartable
      yield* monitoring.start
      yield* TestClock.adjust(Duration.millis(0))
      assert.strictEqual(yield* monitoring.checks, 5)
    }))

  it.scoped("handleError records a context, counts, moves the component to Error once (3.6 #5)", () =>
    Effect.gen(function*() {
      const components = yield* pipeline()
      const monitoring = yield* MonitoringCoordinator.make({ components })
      yield* TestClock.adjust(Duration.seconds(7))
      const handled = yield* monitoring.handleError(new DeviceLost({ device: "mic" }), {
        component: "capture",
        channel: "left"
      })
      assert.strictEqual(handled.context.tag, "DeviceLost")
      assert.strictEqual(handled.context.state, "Running")
      assert.strictEqual(handled.context.transition, "moved")
      assert.strictEqual(handled.context.at, 7_000)
      assert.match(handled.context.fiber, /^#\d+/)
      assert.strictEqual(handled.context.recovery, "no-coordinator")
      assert.strictEqual(yield* components.state("capture"), "Error")
      const history = yield* components.history("capture")
      assert.strictEqual(history.filter((record) => record.to === "Error" && record.success).length, 1)
      const counts = yield* monitoring.errorCounts
      assert.deepStrictEqual(counts, { total: 1, byComponent: { capture: 1 }, byChannel: { left: 1 } })
      const last = Option.getOrThrow(yield* monitoring.lastError)
      assert.strictEqual(last.component, "capture")
      // a second error finds it in Error already; an unknown component is still counted and never fails
      const again = yield* monitoring.handleError("again", { component: "capture", channel: "right" })
      assert.strictEqual(again.context.transition, "already")
      const unknown = yield* monitoring.handleError(undefined, { component: "ghost" })
      assert.strictEqual(unknown.context.transition, "unknown component")
      assert.strictEqual((yield* monitoring.errorCounts).total, 3)
    }))

  it.scoped("the error context of a 3-level chained error lists the chain, root cause last (3.6 #11)", () =>
    Effect.gen(function*() {
      const components = yield* pipeline()
      const monitoring = yield* MonitoringCoordinator.make({ components })
      const root = new RangeError("Root cause")
      const middle = new Error("Middle", { cause: root })
      const top = new Error("Top", { cause: middle })
      const { context } = yield* monitoring.handleError(top, { component: "storage" })
      assert.deepStrictEqual(context.chain, [
        { tag: "Error", message: "Top" },
        { tag: "Error", message: "Middle" },
        { tag: "RangeError", message: "Root cause" }
      ])
    }))

  it.scoped("recovery is triggered by policy: on the third error of a component", () =>
    Effect.gen(function*() {
      const components = yield* pipeline()
      const logger = yield* RecoveryLogger.make()
      const recovery = yield* RecoveryCoordinator.make({
        logger,
        steps: [{
          name: "restart",
          phase: "Reinitializing",
          run: ({ component }) => components.restart(component)
        }]
      })
      const monitoring = yield* MonitoringCoordinator.make({ components, recovery })
      const first = yield* monitoring.handleError(new DeviceLost({ device: "mic" }), { component: "capture" })
      const second = yield* monitoring.handleError(new DeviceLost({ device: "mic" }), { component: "capture" })
      assert.deepStrictEqual([first.context.recovery, second.context.recovery], ["policy", "policy"])
      const third = yield* monitoring.handleError(new DeviceLost({ device: "mic" }), { component: "capture" })
      assert.strictEqual(third.context.recovery, "triggered")
      const attempt = Option.getOrThrow(yield* third.awaitRecovery)
      assert.strictEqual(attempt.outcome, "Succeeded")
      assert.strictEqual(attempt.trigger, "DeviceLost")
      assert.strictEqual(yield* components.state("capture"), "Running")
      assert.strictEqual((yield* logger.analytics).totalAttempts, 1)
    }).pipe(Effect.provide(memoryLayer())))

  it.scoped("cleanupAll cleans every component up in reverse dependency order and returns the report", () =>
    Effect.gen(function*() {
      const components = yield* ComponentCoordinator.make()
      // registered out of dependency order on purpose: the original used reverse registration order
      yield* components.registerAll([
        { id: "capture", dependencies: ["processing"] },
        { id: "storage" },
        { id: "processing", dependencies: ["storage"] }
      ])
      yield* components.startAll
      const monitoring = yield* MonitoringCoordinator.make({ components })
      const report = yield* monitoring.cleanupAll
      assert.strictEqual(report.status, "Completed")
      assert.deepStrictEqual(report.executionOrder, ["capture", "processing", "storage"])
      for (const id of ["capture", "processing", "storage"]) {
        assert.strictEqual(yield* components.state(id), "Stopped")
      }
    }))

  it.scoped("shutdown: requested at once, loop stopped, everything cleaned, fibers forgotten (3.6 #8)", () =>
    Effect.gen(function*() {
      const components = yield* pipeline()
      const monitoring = yield* MonitoringCoordinator.make({ components })
      yield* monitoring.start
      yield* monitoring.fork("worker", () => Effect.never)
      assert.isTrue(yield* monitoring.ready)
      const [first, second] = yield* Effect.all([monitoring.shutdown, monitoring.shutdown], {
        concurrency: "unbounded"
      })
      assert.strictEqual(first, second)
      assert.isTrue(yield* monitoring.isShutdownRequested)
      assert.isFalse(yield* monitoring.ready)
      assert.isFalse(yield* monitoring.running)
      assert.deepStrictEqual(yield* monitoring.fibers, [])
      assert.deepStrictEqual(first.executionOrder, ["capture", "processing", "storage"])
      assert.strictEqual(yield* monitoring.shutdown, first)
    }))

  it.scoped("fibers: sequential ids, watch / unwatch (3.6 #6), failed found at once, hung after the threshold", () =>
    Effect.gen(function*() {
      const components = yield* pipeline()
      const monitoring = yield* MonitoringCoordinator.make({
        components,
        interval: "500 millis",
        hungAfter: "1500 millis"
      })
      const idle = yield* monitoring.fork("idle", () => Effect.never)
      const gate = yield* Deferred.make<void>()
      const failing = yield* monitoring.fork(
        "failing",
        () => Effect.zipRight(Deferred.await(gate), Effect.fail(new DeviceLost({ device: "left mic" }))),
        { component: "capture", channel: "left" }
      )
      const beating = yield* monitoring.fork(
        "beating",
        (watched) => Effect.forever(Effect.zipRight(watched.heartbeat, Effect.sleep("1 second"))),
        { heartbeat: true }
      )
      const silent = yield* monitoring.fork("silent", () => Effect.never, { heartbeat: true, component: "storage" })
      assert.deepStrictEqual([idle.id, failing.id, beating.id, silent.id], [1, 2, 3, 4])
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.await(failing.fiber)
      const status = (name: string) =>
        Effect.map(monitoring.fibers, (fibers) => fibers.find((fiber) => fiber.name === name)?.status)
      assert.strictEqual(yield* status("failing"), "failed")
      yield* monitoring.start
      yield* TestClock.adjust(Duration.millis(2_000))
      assert.strictEqual(yield* status("silent"), "hung")
      assert.strictEqual(yield* status("beating"), "active")
      assert.strictEqual(yield* status("idle"), "active")
      // the failure and the hang were handed to handleError for their components
      yield* Effect.yieldNow()
      const counts = yield* monitoring.errorCounts
      assert.deepStrictEqual(counts.byComponent, { capture: 1, storage: 1 })
      assert.strictEqual(yield* components.state("storage"), "Error")
      yield* idle.unwatch
      assert.isUndefined(yield* status("idle"))
      const snapshot = yield* monitoring.snapshot
      assert.deepStrictEqual(
        [snapshot.fibers.active, snapshot.fibers.failed, snapshot.fibers.hung, snapshot.fibers.watched],
        [1, 1, 1, 3]
      )
    }))

  it.live("concurrent handleError calls never fail and the counts add up (explored, 100 seeds; 3.6 #9)", () =>
    Explore.explore(
      Effect.scoped(Effect.gen(function*() {
        const components = yield* pipeline()
        const monitoring = yield* MonitoringCoordinator.make({
          components,
          recoveryPolicy: MonitoringCoordinator.neverRecover
        })
        yield* Effect.forEach(
          [0, 1, 2, 3],
          (worker) =>
            Effect.forEach(
              [0, 1, 2, 3, 4],
              (i) =>
                monitoring.handleError(new DeviceLost({ device: `${worker}:${i}` }), {
                  component: ["storage", "processing", "capture"][(worker + i) % 3]!,
                  channel: i % 2 === 0 ? "left" : "right"
                }),
              { discard: true }
            ),
          { concurrency: "unbounded", discard: true }
        )
        const counts = yield* monitoring.errorCounts
        assert.strictEqual(counts.total, 20)
        assert.strictEqual(Object.values(counts.byComponent).reduce((a, b) => a + b, 0), 20)
        assert.deepStrictEqual(counts.byChannel, { left: 12, right: 8 })
        for (const id of ["storage", "processing", "capture"]) {
          assert.strictEqual(yield* components.state(id), "Error")
        }
        assert.strictEqual(new Set((yield* monitoring.errors).map((context) => context.id)).size, 20)
      })).pipe(Logger.withMinimumLogLevel(LogLevel.None)),
      { runs: 100 }
    ))

  it.scoped("handleError then resetError: Error -> Stopped, recovery machine Failed -> Idle, error forgotten (3.6 #9)", () =>
    Effect.gen(function*() {
      const components = yield* pipeline()
      const logger = yield* RecoveryLogger.make()
      const recovery = yield* RecoveryCoordinator.make({
        logger,
        steps: [{ name: "restart", phase: "Reinitializing", run: () => Effect.fail(new DeviceLost({ device: "mic" })) }]
      })
      const monitoring = yield* MonitoringCoordinator.make({
        components,
        recovery,
        recoveryPolicy: MonitoringCoordinator.recoverAfter(1)
      })
      const machine = yield* recovery.machine("capture")
      const seen: Array<string> = []
      yield* StateMachine.subscribe(machine, (record) => Effect.sync(() => seen.push(record.to)))
      const handled = yield* monitoring.handleError(new DeviceLost({ device: "mic" }), {
        component: "capture",
        channel: "left"
      })
      assert.strictEqual(handled.context.recovery, "triggered")
      assert.strictEqual(Option.getOrThrow(yield* handled.awaitRecovery).outcome, "Failed")
      assert.strictEqual(yield* components.state("capture"), "Error")
      // the recovery machine went to Failed, and the RecoveryCoordinator itself returns it to Idle once the episode
      // is recorded: the reset finds nothing to undo there
      yield* Effect.yieldNow()
      assert.includeMembers(seen, ["Failed", "Idle"])
      assert.strictEqual(yield* StateMachine.get(machine), "Idle")
      yield* monitoring.handleError("unrelated", { component: "storage" })
      const reset = yield* monitoring.resetError("capture")
      assert.deepStrictEqual(reset, {
        component: "capture",
        cleared: 1,
        state: "Error",
        transition: "moved",
        recovery: "not-failed"
      })
      assert.strictEqual(yield* components.state("capture"), "Stopped")
      assert.strictEqual(yield* StateMachine.get(machine), "Idle")
      // the component's contexts are gone, the other component's stay; the counts are totals and stay
      assert.deepStrictEqual((yield* monitoring.errors).map((context) => context.component), ["storage"])
      assert.strictEqual(Option.getOrThrow(yield* monitoring.lastError).component, "storage")
      assert.strictEqual((yield* monitoring.errorCounts).byComponent["capture"], 1)
      // the component can be started again; a second reset and an unknown component do nothing and never fail
      yield* components.start("capture")
      assert.strictEqual(yield* components.state("capture"), "Running")
      const again = yield* monitoring.resetError("capture")
      assert.deepStrictEqual([again.cleared, again.transition, again.recovery], [0, "not-in-error", "not-failed"])
      // a machine still found in Failed (e.g. reset before the coordinator recorded the episode) is moved to Idle
      yield* StateMachine.transitionTo(machine, "Failed", { reason: "test" })
      assert.strictEqual((yield* monitoring.resetError("capture")).recovery, "reset")
      assert.strictEqual(yield* StateMachine.get(machine), "Idle")
      const ghost = yield* monitoring.resetError("ghost")
      assert.strictEqual(ghost.transition, "unknown component")
    }).pipe(Effect.provide(memoryLayer()), Logger.withMinimumLogLevel(LogLevel.None)))

  it.live("concurrent handleError / resetError never fail and stay consistent (explored, 100 seeds; 3.6 #9)", () =>
    Explore.explore(
      Effect.scoped(Effect.gen(function*() {
        const components = yield* pipeline()
        const monitoring = yield* MonitoringCoordinator.make({
          components,
          recoveryPolicy: MonitoringCoordinator.neverRecover
        })
        const ids = ["storage", "processing", "capture"] as const
        const results = yield* Effect.forEach(
          [0, 1, 2, 3],
          (worker) =>
            Effect.forEach([0, 1, 2, 3, 4], (i) => {
              const component = ids[(worker + i) % 3]!
              return worker % 2 === 0
                ? Effect.as(monitoring.handleError(new DeviceLost({ device: `${worker}:${i}` }), { component }), "h")
                : Effect.map(monitoring.resetError(component), (reset) => reset.transition)
            }),
          { concurrency: "unbounded" }
        )
        // a reset that lost the race to another reset of the same component is refused, never failed
        for (const transition of results.flat()) {
          assert.isTrue(["h", "moved", "not-in-error"].includes(transition) || transition.startsWith("refused"))
        }
        // every handled error is counted, resets or not
        assert.strictEqual((yield* monitoring.errorCounts).total, 10)
        for (const id of ids) {
          assert.include(["Error", "Stopped", "Running"], yield* components.state(id))
          yield* monitoring.resetError(id)
          assert.notStrictEqual(yield* components.state(id), "Error")
        }
        assert.deepStrictEqual(yield* monitoring.errors, [])
        assert.isTrue(Option.isNone(yield* monitoring.lastError))
      })).pipe(Logger.withMinimumLogLevel(LogLevel.None)),
      { runs: 100 }
    ))

  it.scoped("the snapshot reports locks, fibers, resources, memory, errors and health", () =>
    Effect.gen(function*() {
      const components = yield* pipeline()
      const monitoring = yield* MonitoringCoordinator.make({ components })
      yield* monitoring.checkHealth
      yield* monitoring.handleError("boom", { component: "capture", channel: "right" })
      const snapshot = yield* monitoring.snapshot
      assert.strictEqual(snapshot.locks.held, 0)
      assert.isTrue(snapshot.locks.acquisitions > 0)
      assert.strictEqual(snapshot.health, "healthy")
      assert.strictEqual(snapshot.errors.total, 1)
      assert.isDefined(snapshot.memory)
      assert.isTrue(snapshot.memory!.heapUsedBytes > 0)
      assert.deepStrictEqual(snapshot.resources.byComponent, { storage: 0, processing: 0, capture: 0 })
      assert.isFalse(snapshot.shutdownRequested)
    }))

  it.effect("invalid options fail with InvalidMonitoringOptions", () =>
    Effect.gen(function*() {
      const components = yield* pipeline()
      const error = yield* Effect.flip(MonitoringCoordinator.make({ components, interval: 0 }))
      assert.strictEqual(error.field, "interval")
    }).pipe(Effect.scoped))
})
