/**
 * Chaos: random component failures under load, handled by the MonitoringCoordinator, recovered by the
 * RecoveryCoordinator (with random verification failures that force rollbacks), then a shutdown. Afterwards every
 * episode is recorded, the analytics add up, and no lock, resource or fiber is left behind. 30 rounds, each drawing its
 * failures and verification faults from its own seeded `Random` (seeds 0-29), so a failing round is reproducible by
 * its seed.
 */
import { ComponentCoordinator } from "@core-stability/coordinator"
import { LockRegistry } from "@core-stability/locks"
import { MonitoringCoordinator } from "@core-stability/monitoring"
import { MemoryFileSystem, RecoveryCoordinator, RecoveryLogger } from "@core-stability/recovery"
import { Explore, LeakCheck } from "@core-stability/testing"
import { assert, describe, it } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Random from "effect/Random"

class ComponentCrashed extends Data.TaggedError("ComponentCrashed")<{ readonly component: string }> {}
class ChannelGlitch extends Data.TaggedError("ChannelGlitch")<{ readonly channel: string }> {}
class VerificationFailed extends Data.TaggedError("VerificationFailed")<{ readonly component: string }> {}

/**
 * The rounds inject hundreds of failures on purpose, and the MonitoringCoordinator and RecoveryCoordinator log each one
 * at Warning: keep errors (a real problem still shows), drop the expected warnings.
 */
const expectedWarnings = Logger.withMinimumLogLevel(LogLevel.Error)

const componentIds = ["storage", "processing", "capture"] as const
const channels = ["left", "right"] as const

const run = Effect.gen(function*() {
  const memory = MemoryFileSystem.unsafeMake()
  const outcome = yield* Effect.scoped(Effect.gen(function*() {
    const components = yield* ComponentCoordinator.make({ maxRestarts: 1_000, period: "1 second" })
    const held = new Set<number>()
    let nextBuffer = 0
    const spec = (id: string, dependencies: ReadonlyArray<string>): ComponentCoordinator.ComponentSpec => ({
      id,
      dependencies,
      channels,
      start: (context) =>
        Effect.gen(function*() {
          for (const channel of channels) {
            yield* Effect.orDie(context.allocate({
              type: "buffer",
              channel,
              acquire: Effect.sync(() => {
                const buffer = ++nextBuffer
                held.add(buffer)
                return buffer
              }),
              release: (buffer) => Effect.sync(() => held.delete(buffer))
            }))
          }
          yield* context.fork(Effect.never, { name: `${id}-worker` })
        })
    })
    yield* Effect.orDie(components.registerAll([
      spec("storage", []),
      spec("processing", ["storage"]),
      spec("capture", ["processing"])
    ]))
    yield* Effect.orDie(components.startAll)

    const logger = yield* RecoveryLogger.make({ directory: "/logs", components })
    const noop = { run: () => Effect.void }
    const recovery = yield* Effect.orDie(RecoveryCoordinator.make({
      logger,
      channels,
      steps: RecoveryCoordinator.fromDefaults({
        "stop-capture": noop,
        "flush-storage": noop,
        "reset-monitoring": noop,
        "check-windows": noop,
        "initialize-storage": { run: ({ component }) => components.restart(component) },
        "start-monitoring": noop,
        "start-capture": noop,
        // a random verification failure forces a rollback; the check itself is the component's state
        "verify": {
          run: ({ component }) =>
            Effect.gen(function*() {
              if ((yield* Random.next) < 0.2) return yield* Effect.fail(new VerificationFailed({ component }))
              const state = yield* components.state(component)
              if (state !== "Running") return yield* Effect.fail(new VerificationFailed({ component }))
            })
        }
      })
    }))
    const monitoring = yield* Effect.orDie(MonitoringCoordinator.make({
      components,
      recovery,
      recoveryPolicy: MonitoringCoordinator.recoverAfter(1)
    }))

    // load: 4 fibers, 6 random failures each, concurrently
    const handled = yield* Effect.forEach(
      [0, 1, 2, 3],
      () =>
        Effect.forEach([0, 1, 2, 3, 4, 5], () =>
          Effect.gen(function*() {
            const component = componentIds[yield* Random.nextIntBetween(0, componentIds.length)]!
            const channel = channels[yield* Random.nextIntBetween(0, channels.length)]!
            const error = (yield* Random.nextBoolean)
              ? new ComponentCrashed({ component })
              : new ChannelGlitch({ channel })
            yield* Effect.yieldNow()
            return yield* monitoring.handleError(error, { component, channel })
          })),
      { concurrency: "unbounded" }
    )
    const attempts = yield* Effect.forEach(handled.flat(), (result) => result.awaitRecovery)
    yield* recovery.awaitIdle

    const report = yield* Effect.orDie(monitoring.shutdown)
    return {
      triggered: handled.flat().filter((result) => result.context.recovery === "triggered").length,
      awaited: attempts.filter(Option.isSome).length,
      stats: yield* recovery.stats,
      logged: yield* logger.stats,
      analytics: yield* logger.analytics,
      errors: yield* monitoring.errorCounts,
      report,
      states: yield* Effect.forEach(componentIds, (id) => Effect.orDie(components.state(id))),
      leaks: yield* components.leakReport,
      held: held.size,
      locks: LockRegistry.leaks(yield* LockRegistry.snapshot())
    }
  })).pipe(Effect.provide(MemoryFileSystem.layer(memory)))
  const files = [...(yield* memory.files).keys()].filter((path) => path.startsWith("/logs/recovery/"))
  return { ...outcome, files: files.length }
})

describe("chaos: recovery under random component failures", () => {
  it.live("every episode is recorded, the analytics add up, nothing is left behind (30 seeded rounds)", () => {
    let seed = 0
    return Effect.repeatN(
      Effect.gen(function*() {
        const result = yield* LeakCheck.expectNoLeaks(run, { probes: [LockRegistry.leakProbe] }).pipe(
          Effect.withRandom(Random.make(seed++)),
          Effect.provide(LockRegistry.layer)
        )
        const { analytics, errors, logged, stats } = result
        // every error was handled and counted
        assert.strictEqual(errors.total, 24)
        assert.strictEqual(result.triggered, 24)
        // every trigger either started an episode or joined one, and every episode was recorded once
        assert.strictEqual(stats.started + stats.joined, 24)
        assert.strictEqual(result.awaited, 24)
        assert.strictEqual(stats.succeeded + stats.failed, stats.started)
        assert.strictEqual(logged.recorded, stats.started)
        assert.strictEqual(logged.writeFailures, 0)
        assert.strictEqual(result.files, stats.started)
        // the analytics add up
        assert.strictEqual(analytics.totalAttempts, stats.started)
        assert.strictEqual(analytics.successes, stats.succeeded)
        assert.strictEqual(analytics.failures, stats.failed)
        assert.closeTo(analytics.successRate, (stats.succeeded / stats.started) * 100, 1e-9)
        assert.strictEqual(analytics.commonTriggers.reduce((total, entry) => total + entry.count, 0), stats.started)
        assert.strictEqual(analytics.stateTransitions.Idle, undefined)
        assert.strictEqual(analytics.stateTransitions.Initiating?.StoppingCapture, stats.started)
        assert.strictEqual(analytics.timeToRecoverMs.count, stats.succeeded)
        // the shutdown cleaned everything up, in reverse dependency order
        assert.strictEqual(result.report.status, "Completed")
        assert.deepStrictEqual(result.report.executionOrder, ["capture", "processing", "storage"])
        assert.deepStrictEqual(result.states, ["Stopped", "Stopped", "Stopped"])
        assert.deepStrictEqual(result.leaks, { allocations: [], workers: [] })
        assert.strictEqual(result.held, 0)
        assert.deepStrictEqual(result.locks, [])
      }).pipe(Logger.withMinimumLogLevel(LogLevel.None)),
      29
    )
  })
  it.live(
    "the same rounds under 100 seeded interleavings: shutdown completes, nothing is left behind",
    () =>
      Explore.explore(
        Effect.gen(function*() {
          const result = yield* LeakCheck.expectNoLeaks(run, { probes: [LockRegistry.leakProbe] }).pipe(
            Effect.withRandom(Random.make(7)),
            Effect.provide(LockRegistry.layer)
          )
          assert.strictEqual(result.errors.total, 24)
          assert.strictEqual(result.stats.started + result.stats.joined, 24)
          assert.strictEqual(result.logged.recorded, result.stats.started)
          assert.strictEqual(result.report.status, "Completed")
        }).pipe(expectedWarnings),
        { runs: 100 }
      ),
    180_000
  )
})
