import * as CleanupCoordinator from "@core-stability/cleanup/CleanupCoordinator"
import * as CleanupError from "@core-stability/cleanup/CleanupError"
import * as CleanupFaults from "@core-stability/cleanup/CleanupFaults"
import * as CleanupPlan from "@core-stability/cleanup/CleanupPlan"
import * as CleanupReport from "@core-stability/cleanup/CleanupReport"
import { LockHierarchy, OrderedLock } from "@core-stability/locks"
import { StateMachine } from "@core-stability/state-machine"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Deferred, Effect, Either, Exit, Fiber, Layer, Option, Ref, Scope, TestClock } from "effect"

/** A coordinator whose scope the test never closes, so a deliberately failed run does not fail the test's scope. */
const makeCoordinator = (options?: CleanupCoordinator.Options) =>
  Effect.flatMap(Scope.make(), (scope) => Scope.extend(CleanupCoordinator.make(options), scope))

/** A step that appends its name to `log`. */
const logging = (log: Array<string>, name: string) => ({
  name,
  run: Effect.sync(() => {
    log.push(name)
  })
})

const stepOf = (report: CleanupReport.CleanupReport, name: string): CleanupReport.StepReport =>
  Option.getOrThrow(CleanupReport.step(report, name))

const failureOf = (step: CleanupReport.StepReport): unknown =>
  Option.getOrThrow(Cause.failureOption(Option.getOrThrow(step.cause)))

describe("CleanupCoordinator: the original scenarios (origin.md 3.2)", () => {
  it.effect("a fresh coordinator is in NotStarted and has not been asked to shut down", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      assert.strictEqual(yield* coordinator.phase, "NotStarted")
      assert.isFalse(yield* coordinator.isShutdownRequested)
      assert.isTrue(Option.isNone(yield* coordinator.lastReport))
    }))

  it.effect("the application's 6-step chain runs in exactly that order and ends Completed", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const log: Array<string> = []
      const chain = [
        "request_shutdown",
        "stop_monitoring",
        "stop_capture",
        "flush_storage",
        "cleanup_backups",
        "close_logs"
      ]
      for (let i = 0; i < chain.length; i++) {
        yield* coordinator.register({ ...logging(log, chain[i]!), dependsOn: i === 0 ? [] : [chain[i - 1]!] })
      }
      const plan = yield* coordinator.plan
      assert.deepStrictEqual(plan.order, chain)
      assert.deepStrictEqual(plan.steps.map((step) => step.dependsOn), [
        [],
        ...chain.slice(0, -1).map((name) => [name])
      ])
      const report = yield* coordinator.shutdown
      assert.deepStrictEqual(log, chain)
      assert.deepStrictEqual(report.executionOrder, chain)
      assert.strictEqual(report.status, "Completed")
      assert.strictEqual(yield* coordinator.phase, "Completed")
    }))

  it.effect("status reports phase, completed, failed and pending steps and the elapsed time", () =>
    Effect.gen(function*() {
      const faults = yield* CleanupFaults.make
      const coordinator = yield* makeCoordinator({ faults })
      yield* coordinator.register({ name: "stop", run: Effect.void })
      yield* coordinator.register({ name: "flush", dependsOn: ["stop"], run: Effect.void })
      yield* coordinator.register({ name: "close", dependsOn: ["flush"], run: Effect.void })
      yield* CleanupFaults.inject(faults, "flush", CleanupFaults.Fault.Delay({ duration: "2 seconds" }))
      const before = yield* coordinator.status
      assert.deepStrictEqual(before.pending, ["stop", "flush", "close"])
      assert.isFalse(before.running)
      const run = yield* Effect.fork(coordinator.shutdown)
      yield* TestClock.adjust("1 second")
      const during = yield* coordinator.status
      assert.isTrue(during.running)
      assert.strictEqual(during.phase, "StoppingCapture")
      assert.deepStrictEqual(during.completed, ["stop"])
      assert.deepStrictEqual(during.pending, ["flush", "close"])
      assert.deepStrictEqual(during.steps.map((step) => step.status), ["Succeeded", "Running", "Pending"])
      assert.strictEqual(during.elapsedMs, 1000)
      yield* TestClock.adjust("1 second")
      const report = yield* Fiber.join(run)
      const after = yield* coordinator.status
      assert.deepStrictEqual(after.completed, ["stop", "flush", "close"])
      assert.deepStrictEqual(after.failed, [])
      assert.strictEqual(after.elapsedMs, 2000)
      assert.strictEqual(report.durationMs, 2000)
    }))

  it.effect("steps may take and release resources while another fiber holds ordered locks of other components", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const released: Array<string> = []
      const pool = yield* coordinator.acquire({
        name: "pool",
        acquire: Effect.succeed({ buffers: 4 }),
        release: () => Effect.sync(() => released.push("pool"))
      })
      yield* coordinator.acquire({
        name: "buffers",
        uses: ["pool"],
        acquire: Effect.succeed(pool.buffers),
        release: () => Effect.sync(() => released.push("buffers"))
      })
      const component = yield* OrderedLock.make({
        hierarchy: LockHierarchy.Global,
        level: "ComponentCoordinator.component"
      })
      const resource = yield* OrderedLock.make({
        hierarchy: LockHierarchy.Global,
        level: "ComponentCoordinator.resource"
      })
      const holding = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        yield* OrderedLock.lock(component)
        yield* OrderedLock.lock(resource)
        yield* Deferred.succeed(holding, undefined)
        yield* Deferred.await(release)
      })))
      yield* Deferred.await(holding)
      const report = yield* coordinator.shutdown
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      assert.strictEqual(report.status, "Completed")
      assert.deepStrictEqual(released, ["buffers", "pool"])
    }))

  it.effect("no lock is held while a step runs: a step may read the coordinator's status, phase and flag", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const seen = yield* Ref.make<Option.Option<CleanupCoordinator.Status>>(Option.none())
      yield* coordinator.register({
        name: "inspect",
        phase: "FlushingStorage",
        run: Effect.flatMap(coordinator.status, (status) => Ref.set(seen, Option.some(status)))
      })
      yield* coordinator.shutdown
      const status = Option.getOrThrow(yield* Ref.get(seen))
      assert.strictEqual(status.phase, "FlushingStorage")
      assert.isTrue(status.running)
      assert.isTrue(status.shutdownRequested)
      assert.deepStrictEqual(status.steps, [{ name: "inspect", status: "Running" }])
    }))

  it.effect("the lock order is enforced: a fiber holding an inner lock may not start a shutdown", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const inner = yield* OrderedLock.make({ hierarchy: LockHierarchy.Global, level: "StateMachine.state" })
      const error = yield* Effect.flip(OrderedLock.withLock(inner, coordinator.shutdown))
      assert.strictEqual(error._tag, "LockOrderViolation")
      assert.isFalse(yield* coordinator.isShutdownRequested)
    }))
})

describe("CleanupCoordinator: order from the graph, phases as labels and checkpoints", () => {
  it.effect("a dependency that crosses phases backwards is honoured, not vetoed (the original failed it)", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const log: Array<string> = []
      yield* coordinator.register({ ...logging(log, "stop_capture"), phase: "StoppingCapture" })
      yield* coordinator.register({
        ...logging(log, "flush_buffers"),
        phase: "FlushingStorage",
        dependsOn: ["stop_capture"]
      })
      yield* coordinator.register({
        ...logging(log, "close_files"),
        phase: "ClosingLogs",
        dependsOn: ["flush_buffers"]
      })
      yield* coordinator.register({
        ...logging(log, "release_resources"),
        phase: "ReleasingResources",
        dependsOn: ["close_files"]
      })
      const report = yield* coordinator.shutdown
      assert.deepStrictEqual(log, ["stop_capture", "flush_buffers", "close_files", "release_resources"])
      assert.strictEqual(report.status, "Completed")
      const release = stepOf(report, "release_resources")
      assert.strictEqual(release.phase, "ReleasingResources")
      assert.strictEqual(release.effectivePhase, "ClosingLogs")
    }))

  it.effect("several steps share a phase and may follow each other", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const log: Array<string> = []
      yield* coordinator.register({ ...logging(log, "a"), phase: "FlushingStorage" })
      yield* coordinator.register({ ...logging(log, "b"), phase: "FlushingStorage", dependsOn: ["a"] })
      yield* coordinator.register({ ...logging(log, "c"), phase: "FlushingStorage", dependsOn: ["b"] })
      const report = yield* coordinator.shutdown
      assert.deepStrictEqual(log, ["a", "b", "c"])
      assert.deepStrictEqual(report.phases.find((phase) => phase.phase === "FlushingStorage")?.steps, ["a", "b", "c"])
    }))

  it.effect("phases are checkpoints: a later phase starts when every step of the earlier one has ended", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator({ concurrency: 4 })
      const log: Array<string> = []
      yield* coordinator.register({ ...logging(log, "close-logs"), phase: "ClosingLogs" })
      yield* coordinator.register({ ...logging(log, "untagged") })
      yield* coordinator.register({ ...logging(log, "stop-capture"), phase: "StoppingCapture" })
      yield* coordinator.register({ ...logging(log, "flush"), phase: "FlushingStorage" })
      yield* coordinator.shutdown
      assert.deepStrictEqual(log, ["untagged", "stop-capture", "flush", "close-logs"])
    }))

  it.scoped("listeners of the phase machine see every phase of a run in order", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const seen = yield* Ref.make<Array<string>>([])
      const done = yield* Deferred.make<void>()
      yield* StateMachine.subscribe(coordinator.machine, (record) =>
        Effect.zipRight(
          Ref.update(seen, (states) => [...states, record.to]),
          record.to === "Completed" ? Deferred.succeed(done, undefined) : Effect.void
        ))
      yield* coordinator.register({ name: "only", phase: "FlushingStorage", run: Effect.void })
      yield* coordinator.shutdown
      yield* Deferred.await(done)
      assert.deepStrictEqual(yield* Ref.get(seen), [
        "Initiating",
        "StoppingCapture",
        "FlushingStorage",
        "ReleasingResources",
        "ClosingLogs",
        "Completed"
      ])
    }))

  it.effect("resources are released in reverse dependency order: before the resources they use", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const log: Array<string> = []
      const resource = (name: string, uses: Array<string>) =>
        coordinator.acquire({
          name,
          uses,
          acquire: Effect.sync(() => log.push(`acquire ${name}`)),
          release: () => Effect.sync(() => log.push(`release ${name}`))
        })
      yield* resource("config", [])
      yield* resource("pool", ["config"])
      yield* resource("cache", ["config"])
      yield* resource("repository", ["pool", "cache"])
      yield* coordinator.shutdown
      assert.deepStrictEqual(log.slice(4), ["release repository", "release pool", "release cache", "release config"])
    }))

  it.effect("a resource whose registration fails is released at once", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const log: Array<string> = []
      const error = yield* Effect.flip(coordinator.acquire({
        name: "repository",
        uses: ["missing-pool"],
        acquire: Effect.sync(() => log.push("acquired")),
        release: () => Effect.sync(() => log.push("released"))
      }))
      assert.instanceOf(error, CleanupError.UnknownDependencyError)
      assert.deepStrictEqual(log, ["acquired", "released"])
      assert.deepStrictEqual((yield* coordinator.plan).order, [])
    }))

  it.effect("steps run with the services of the fiber that registered them", () =>
    Effect.gen(function*() {
      class Greeting extends Context.Tag("test/Greeting")<Greeting, string>() {}
      const coordinator = yield* makeCoordinator()
      const seen: Array<string> = []
      yield* coordinator.register({ name: "greet", run: Effect.map(Greeting, (greeting) => seen.push(greeting)) }).pipe(
        Effect.provideService(Greeting, "hello")
      )
      yield* coordinator.shutdown
      assert.deepStrictEqual(seen, ["hello"])
    }))
})

describe("CleanupCoordinator: validation at registration", () => {
  it.effect("a duplicate name fails at once", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      yield* coordinator.register({ name: "a", run: Effect.void })
      const error = yield* Effect.flip(coordinator.register({ name: "a", run: Effect.void }))
      assert.deepStrictEqual(error, new CleanupError.DuplicateStepError({ step: "a" }))
      assert.strictEqual(error.message, `Cleanup step "a" is already registered`)
    }))

  it.effect("an unknown dependency fails at once", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const error = yield* Effect.flip(coordinator.register({ name: "b", dependsOn: ["a"], run: Effect.void }))
      assert.deepStrictEqual(error, new CleanupError.UnknownDependencyError({ step: "b", dependency: "a" }))
    }))

  it.effect("a cycle fails with its path, and the batch registers nothing", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      yield* coordinator.register({ name: "root", run: Effect.void })
      const error = yield* Effect.flip(coordinator.registerAll([
        { name: "a", dependsOn: ["root", "c"], run: Effect.void },
        { name: "b", dependsOn: ["a"], run: Effect.void },
        { name: "c", dependsOn: ["b"], run: Effect.void }
      ]))
      assert.instanceOf(error, CleanupError.DependencyCycleError)
      assert.deepStrictEqual((error as CleanupError.DependencyCycleError).path, ["a", "c", "b", "a"])
      assert.strictEqual(error.message, "Cleanup steps form a dependency cycle: a -> c -> b -> a")
      assert.deepStrictEqual((yield* coordinator.plan).order, ["root"])
    }))

  it.effect("a step that depends on itself is a cycle of one", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const error = yield* Effect.flip(coordinator.register({ name: "a", dependsOn: ["a"], run: Effect.void }))
      assert.deepStrictEqual(error, new CleanupError.DependencyCycleError({ path: ["a", "a"] }))
    }))

  it.effect("a resource that would close a cycle through `uses` is refused", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      yield* coordinator.register({ name: "pool", run: Effect.void })
      yield* coordinator.register({ name: "flush", dependsOn: ["pool"], run: Effect.void })
      const error = yield* Effect.flip(coordinator.acquire({
        name: "repository",
        uses: ["pool"],
        dependsOn: ["flush"],
        acquire: Effect.void,
        release: () => Effect.void
      }))
      assert.deepStrictEqual(
        error,
        new CleanupError.DependencyCycleError({ path: ["repository", "flush", "pool", "repository"] })
      )
    }))

  it.effect("invalid fields fail with InvalidStepError", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const errors = yield* Effect.all([
        Effect.flip(coordinator.register({ name: "", run: Effect.void })),
        Effect.flip(coordinator.register({ name: "t", timeout: 0, run: Effect.void })),
        Effect.flip(coordinator.register({ name: "r", retries: 0, run: Effect.void })),
        Effect.flip(coordinator.register({ name: "p", phase: "Sweeping" as "ClosingLogs", run: Effect.void }))
      ])
      for (const error of errors) assert.instanceOf(error, CleanupError.InvalidStepError)
      assert.include(errors[3]!.message, `unknown phase "Sweeping"`)
    }))

  it.effect("registration closes when shutdown is requested and opens again after reset", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      yield* coordinator.shutdown
      const error = yield* Effect.flip(coordinator.register({ name: "late", run: Effect.void }))
      assert.deepStrictEqual(error, new CleanupError.RegistrationClosedError({ step: "late" }))
      yield* coordinator.reset
      yield* coordinator.register({ name: "late", run: Effect.void })
      assert.deepStrictEqual((yield* coordinator.shutdown).executionOrder, ["late"])
    }))
})

describe("CleanupCoordinator: failures are isolated", () => {
  it.effect("a failed step skips every transitive dependent with the reason; independent steps still run", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const log: Array<string> = []
      yield* coordinator.register({ name: "stop", run: Effect.fail("device busy") })
      yield* coordinator.register({ ...logging(log, "flush"), dependsOn: ["stop"] })
      yield* coordinator.register({ ...logging(log, "close"), dependsOn: ["flush"] })
      yield* coordinator.register({ ...logging(log, "independent") })
      yield* coordinator.register({ ...logging(log, "after-independent"), dependsOn: ["independent"] })
      const report = yield* coordinator.shutdown
      assert.deepStrictEqual(log, ["independent", "after-independent"])
      assert.strictEqual(report.status, "Failed")
      assert.strictEqual(stepOf(report, "stop").status, "Failed")
      assert.strictEqual(failureOf(stepOf(report, "stop")), "device busy")
      assert.deepStrictEqual(
        failureOf(stepOf(report, "flush")),
        new CleanupError.StepSkippedError({ step: "flush", dependency: "stop", root: "stop" })
      )
      assert.deepStrictEqual(
        failureOf(stepOf(report, "close")),
        new CleanupError.StepSkippedError({ step: "close", dependency: "flush", root: "stop" })
      )
      assert.strictEqual(stepOf(report, "after-independent").status, "Succeeded")
      assert.deepStrictEqual(report.executionOrder, ["stop", "independent", "after-independent"])
      assert.strictEqual(yield* coordinator.phase, "Failed")
    }))

  it.effect("every failure is kept in the report's cause, none dropped", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      yield* coordinator.register({ name: "a", run: Effect.fail("first") })
      yield* coordinator.register({ name: "b", run: Effect.die("second") })
      yield* coordinator.register({ name: "c", run: Effect.void, verify: Effect.succeed(false), retries: 1 })
      const report = yield* coordinator.shutdown
      const cause = Option.getOrThrow(report.cause)
      assert.deepStrictEqual(Array.from(Cause.failures(cause)).slice(0, 1), ["first"])
      assert.deepStrictEqual(Array.from(Cause.defects(cause)), ["second"])
      assert.isTrue(
        Array.from(Cause.failures(cause)).some((error) => error instanceof CleanupError.VerificationFailedError)
      )
      assert.deepStrictEqual(CleanupReport.failures(report).map((step) => step.name), ["a", "b", "c"])
    }))

  it.effect("never touches fibers it does not own (the original cancelled every other task)", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const unrelated = yield* Effect.fork(Effect.never)
      yield* coordinator.register({ name: "a", run: Effect.void })
      yield* coordinator.shutdown
      assert.isTrue(Option.isNone(yield* Fiber.poll(unrelated)))
      yield* Fiber.interrupt(unrelated)
    }))
})

describe("CleanupCoordinator: timeouts and verification under TestClock", () => {
  it.effect("a hung step times out at its timeout (default 5 s), is interrupted, and its dependents are skipped", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const interrupted = yield* Deferred.make<void>()
      yield* coordinator.register({
        name: "hang",
        run: Effect.onInterrupt(Effect.never, () => Deferred.succeed(interrupted, undefined))
      })
      yield* coordinator.register({ name: "after", dependsOn: ["hang"], run: Effect.void })
      yield* coordinator.register({ name: "quick", timeout: "2 seconds", run: Effect.void })
      const run = yield* Effect.fork(coordinator.shutdown)
      yield* TestClock.adjust("4999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(run)))
      yield* TestClock.adjust("1 millis")
      const report = yield* Fiber.join(run)
      yield* Deferred.await(interrupted)
      const hang = stepOf(report, "hang")
      assert.strictEqual(hang.status, "TimedOut")
      assert.strictEqual(hang.durationMs, 5000)
      assert.deepStrictEqual(
        failureOf(hang),
        new CleanupError.StepTimeoutError({ step: "hang", stage: "run", bound: "step", timeoutMs: 5000 })
      )
      assert.strictEqual(stepOf(report, "after").status, "Skipped")
      assert.strictEqual(stepOf(report, "quick").status, "Succeeded")
    }))

  it.effect("a short timeout after a long one is enforced on time (the watchdog re-arms for earlier deadlines)", () =>
    Effect.gen(function*() {
      const faults = yield* CleanupFaults.make
      const coordinator = yield* makeCoordinator({ faults })
      yield* coordinator.register({ name: "long", timeout: "10 seconds", run: Effect.void })
      yield* coordinator.register({ name: "short", dependsOn: ["long"], timeout: "1 second", run: Effect.void })
      yield* CleanupFaults.inject(faults, "long", CleanupFaults.Fault.Delay({ duration: "1 second" }))
      yield* CleanupFaults.inject(faults, "short", CleanupFaults.Fault.Hang())
      const run = yield* Effect.fork(coordinator.shutdown)
      yield* TestClock.adjust("2 seconds")
      const report = yield* Fiber.join(run)
      assert.deepStrictEqual(
        report.steps.map((step) => [step.name, step.status, step.startedAt, step.endedAt]),
        [["long", "Succeeded", 0, 1000], ["short", "TimedOut", 1000, 2000]]
      )
    }))

  it.effect("with concurrency, a timed-out worker is replaced and the other steps keep running", () =>
    Effect.gen(function*() {
      const faults = yield* CleanupFaults.make
      const coordinator = yield* makeCoordinator({ faults, concurrency: 2 })
      const log: Array<string> = []
      yield* coordinator.register({ name: "hang", timeout: "3 seconds", run: Effect.void })
      for (const name of ["a", "b", "c", "d"]) {
        yield* coordinator.register({ ...logging(log, name), timeout: "3 seconds" })
        yield* CleanupFaults.inject(faults, name, CleanupFaults.Fault.Delay({ duration: "1 second" }))
      }
      yield* coordinator.register({ ...logging(log, "last"), dependsOn: ["a", "b", "c", "d"] })
      yield* CleanupFaults.inject(faults, "hang", CleanupFaults.Fault.Hang())
      const run = yield* Effect.fork(coordinator.shutdown)
      yield* TestClock.adjust("10 seconds")
      const report = yield* Fiber.join(run)
      assert.deepStrictEqual(log, ["a", "b", "c", "d", "last"])
      assert.deepStrictEqual(
        report.steps.map((step) => [step.name, step.status, step.endedAt]),
        [
          ["hang", "TimedOut", 3000],
          ["a", "Succeeded", 1000],
          ["b", "Succeeded", 2000],
          ["c", "Succeeded", 3000],
          ["d", "Succeeded", 4000],
          ["last", "Succeeded", 4000]
        ]
      )
    }))

  it.effect("injected faults: Hang uses the step's timeout, Fail fails, Delay is driven by the clock", () =>
    Effect.gen(function*() {
      const faults = yield* CleanupFaults.make
      const coordinator = yield* makeCoordinator({ faults })
      yield* coordinator.register({ name: "hang", timeout: "3 seconds", run: Effect.void })
      yield* coordinator.register({ name: "fail", run: Effect.void })
      yield* coordinator.register({ name: "slow", run: Effect.void })
      yield* CleanupFaults.inject(faults, "hang", CleanupFaults.Fault.Hang())
      yield* CleanupFaults.inject(faults, "fail", CleanupFaults.Fault.Fail())
      yield* CleanupFaults.inject(faults, "slow", CleanupFaults.Fault.Delay({ duration: "1 second" }))
      const run = yield* Effect.fork(coordinator.shutdown)
      yield* TestClock.adjust("4 seconds")
      const report = yield* Fiber.join(run)
      assert.deepStrictEqual(
        report.steps.map((step) => [step.name, step.status, step.startedAt, step.durationMs]),
        [["hang", "TimedOut", 0, 3000], ["fail", "Failed", 3000, 0], ["slow", "Succeeded", 3000, 1000]]
      )
      assert.deepStrictEqual(
        failureOf(stepOf(report, "fail")),
        new CleanupError.InjectedFaultError({ step: "fail", target: "run" })
      )
    }))

  it.effect("faults are limited by `times` and removed by `clear`", () =>
    Effect.gen(function*() {
      const faults = yield* CleanupFaults.make
      const coordinator = yield* makeCoordinator({ faults })
      yield* coordinator.register({ name: "a", run: Effect.void })
      yield* coordinator.register({ name: "b", run: Effect.void })
      yield* CleanupFaults.inject(faults, "a", CleanupFaults.Fault.Fail(), { times: 1 })
      yield* CleanupFaults.inject(faults, "b", CleanupFaults.Fault.Fail())
      const first = yield* coordinator.shutdown
      yield* coordinator.reset
      const second = yield* coordinator.shutdown
      yield* coordinator.reset
      yield* faults.pipe(CleanupFaults.clear("b"))
      const third = yield* coordinator.shutdown
      assert.deepStrictEqual([first, second, third].map((report) => report.steps.map((step) => step.status)), [
        ["Failed", "Failed"],
        ["Succeeded", "Failed"],
        ["Succeeded", "Succeeded"]
      ])
    }))

  it.effect("verification is retried (3 attempts, 1 s apart by default) until it holds", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const checks = yield* Ref.make(0)
      yield* coordinator.register({
        name: "drain",
        run: Effect.void,
        verify: Ref.updateAndGet(checks, (n) => n + 1).pipe(Effect.map((n) => n === 3))
      })
      const run = yield* Effect.fork(coordinator.shutdown)
      yield* TestClock.adjust("2 seconds")
      const drain = stepOf(yield* Fiber.join(run), "drain")
      assert.strictEqual(drain.status, "Verified")
      assert.strictEqual(drain.attempts, 3)
      assert.strictEqual(drain.durationMs, 2000)
    }))

  it.effect("verification that never holds ends VerificationFailed with every attempt's cause", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      yield* coordinator.register({
        name: "drain",
        run: Effect.void,
        verify: Effect.succeed(false),
        retryDelay: "500 millis"
      })
      yield* coordinator.register({ name: "after", dependsOn: ["drain"], run: Effect.void })
      const run = yield* Effect.fork(coordinator.shutdown)
      yield* TestClock.adjust("1 second")
      const report = yield* Fiber.join(run)
      const drain = stepOf(report, "drain")
      assert.strictEqual(drain.status, "VerificationFailed")
      assert.strictEqual(drain.attempts, 3)
      assert.strictEqual(drain.durationMs, 1000)
      assert.deepStrictEqual(
        Array.from(Cause.failures(Option.getOrThrow(drain.cause))),
        [1, 2, 3].map((attempt) => new CleanupError.VerificationFailedError({ step: "drain", attempt }))
      )
      assert.strictEqual(stepOf(report, "after").status, "Skipped")
    }))

  it.effect("a hung verification attempt times out and the next attempt runs; FailVerification counts attempts", () =>
    Effect.gen(function*() {
      const faults = yield* CleanupFaults.make
      const coordinator = yield* makeCoordinator({ faults })
      const calls = yield* Ref.make(0)
      yield* coordinator.register({
        name: "hung-verify",
        timeout: "2 seconds",
        run: Effect.void,
        verify: Effect.flatMap(
          Ref.updateAndGet(calls, (n) => n + 1),
          (n) => n === 1 ? Effect.never : Effect.succeed(true)
        )
      })
      yield* coordinator.register({ name: "injected", run: Effect.void })
      yield* CleanupFaults.inject(faults, "injected", CleanupFaults.Fault.FailVerification(), { times: 2 })
      const run = yield* Effect.fork(coordinator.shutdown)
      yield* TestClock.adjust("10 seconds")
      const report = yield* Fiber.join(run)
      const hung = stepOf(report, "hung-verify")
      assert.strictEqual(hung.status, "Verified")
      assert.strictEqual(hung.attempts, 2)
      assert.strictEqual(hung.durationMs, 3000)
      const injected = stepOf(report, "injected")
      assert.strictEqual(injected.status, "Verified")
      assert.strictEqual(injected.attempts, 3)
    }))
})

describe("CleanupCoordinator: shutdown semantics", () => {
  it.effect("concurrent callers join one run and get the same report; the flag is readable", () =>
    Effect.gen(function*() {
      const faults = yield* CleanupFaults.make
      const coordinator = yield* makeCoordinator({ faults })
      const runs = yield* Ref.make(0)
      yield* coordinator.register({ name: "once", run: Ref.update(runs, (n) => n + 1) })
      yield* CleanupFaults.inject(faults, "once", CleanupFaults.Fault.Delay({ duration: "1 second" }))
      const callers = yield* Effect.forEach([1, 2, 3], () => Effect.fork(coordinator.shutdown))
      yield* TestClock.adjust("10 millis")
      assert.isTrue(yield* coordinator.isShutdownRequested)
      yield* TestClock.adjust("1 second")
      const reports = yield* Effect.forEach(callers, Fiber.join)
      assert.strictEqual(reports[0], reports[1])
      assert.strictEqual(reports[1], reports[2])
      assert.strictEqual(yield* coordinator.shutdown, reports[0])
      assert.strictEqual(yield* Ref.get(runs), 1)
      assert.isTrue(
        yield* CleanupCoordinator.isShutdownRequested.pipe(
          Effect.provideService(CleanupCoordinator.CleanupCoordinator, coordinator)
        )
      )
    }))

  it.effect("interrupting a caller does not interrupt the run", () =>
    Effect.gen(function*() {
      const faults = yield* CleanupFaults.make
      const coordinator = yield* makeCoordinator({ faults })
      yield* coordinator.register({ name: "slow", run: Effect.void })
      yield* CleanupFaults.inject(faults, "slow", CleanupFaults.Fault.Delay({ duration: "1 second" }))
      const caller = yield* Effect.fork(coordinator.shutdown)
      yield* TestClock.adjust("10 millis")
      yield* Fiber.interrupt(caller)
      yield* TestClock.adjust("1 second")
      const report = yield* coordinator.shutdown
      assert.strictEqual(stepOf(report, "slow").status, "Succeeded")
    }))

  it.effect("a failed coordinator can be reset and run again; reset refuses while a run is in progress", () =>
    Effect.gen(function*() {
      const faults = yield* CleanupFaults.make
      const coordinator = yield* makeCoordinator({ faults })
      const log: Array<string> = []
      yield* coordinator.register(logging(log, "a"))
      yield* coordinator.register({ ...logging(log, "b"), dependsOn: ["a"] })
      yield* CleanupFaults.inject(faults, "a", CleanupFaults.Fault.Fail(), { times: 1 })
      const first = yield* coordinator.shutdown
      assert.strictEqual(first.status, "Failed")
      assert.strictEqual(yield* coordinator.phase, "Failed")
      yield* coordinator.reset
      assert.strictEqual(yield* coordinator.phase, "NotStarted")
      assert.isFalse(yield* coordinator.isShutdownRequested)
      yield* CleanupFaults.inject(faults, "b", CleanupFaults.Fault.Delay({ duration: "1 second" }))
      const second = yield* Effect.fork(coordinator.shutdown)
      yield* TestClock.adjust("10 millis")
      const refused = yield* Effect.flip(coordinator.reset)
      assert.deepStrictEqual(refused, new CleanupError.CleanupInProgressError({ run: 2 }))
      yield* TestClock.adjust("1 second")
      const report = yield* Fiber.join(second)
      assert.strictEqual(report.run, 2)
      assert.strictEqual(report.status, "Completed")
      assert.deepStrictEqual(log, ["a", "b"])
      assert.strictEqual(Option.getOrThrow(yield* coordinator.lastReport), report)
    }))

  it.effect("a total deadline is split across phases; a step gets what remains of its phase's budget", () =>
    Effect.gen(function*() {
      const faults = yield* CleanupFaults.make
      const coordinator = yield* makeCoordinator({ faults, deadline: "6 seconds" })
      yield* coordinator.register({ name: "stop", phase: "StoppingCapture", timeout: "4 seconds", run: Effect.void })
      yield* coordinator.register({ name: "flush", phase: "FlushingStorage", timeout: "2 seconds", run: Effect.void })
      yield* coordinator.register({ name: "close", phase: "ClosingLogs", timeout: "2 seconds", run: Effect.void })
      const plan = yield* coordinator.plan
      assert.deepStrictEqual(plan.phases.map((phase) => [phase.phase, phase.budgetMs, phase.deadlineMs]), [
        ["StoppingCapture", 3000, 3000],
        ["FlushingStorage", 1500, 4500],
        ["ReleasingResources", 0, 4500],
        ["ClosingLogs", 1500, 6000]
      ])
      yield* CleanupFaults.inject(faults, "stop", CleanupFaults.Fault.Hang())
      yield* CleanupFaults.inject(faults, "flush", CleanupFaults.Fault.Delay({ duration: "1 second" }))
      yield* CleanupFaults.inject(faults, "close", CleanupFaults.Fault.Hang())
      const run = yield* Effect.fork(coordinator.shutdown)
      yield* TestClock.adjust("6 seconds")
      const report = yield* Fiber.join(run)
      assert.deepStrictEqual(
        failureOf(stepOf(report, "stop")),
        new CleanupError.StepTimeoutError({ step: "stop", stage: "run", bound: "phase", timeoutMs: 3000 })
      )
      assert.strictEqual(stepOf(report, "flush").status, "Succeeded")
      assert.deepStrictEqual(
        failureOf(stepOf(report, "close")),
        new CleanupError.StepTimeoutError({ step: "close", stage: "run", bound: "step", timeoutMs: 2000 })
      )
      assert.strictEqual(report.durationMs, 6000)
    }))

  it.effect("steps whose budget is gone before their turn are skipped with DeadlineExceededError", () =>
    Effect.gen(function*() {
      const faults = yield* CleanupFaults.make
      const coordinator = yield* makeCoordinator({ faults, deadline: "2 seconds", timeout: "10 seconds" })
      yield* coordinator.register({ name: "slow", run: Effect.void })
      yield* coordinator.register({ name: "late", run: Effect.void })
      yield* coordinator.register({ name: "later", dependsOn: ["late"], run: Effect.void })
      yield* CleanupFaults.inject(faults, "slow", CleanupFaults.Fault.Hang())
      const run = yield* Effect.fork(coordinator.shutdown)
      yield* TestClock.adjust("2 seconds")
      const report = yield* Fiber.join(run)
      const late = failureOf(stepOf(report, "late"))
      assert.deepStrictEqual(
        late,
        new CleanupError.DeadlineExceededError({ step: "late", bound: "total", overdueMs: 0 })
      )
      // its turn came exactly at the deadline: nothing left to run it with, and the message says so
      assert.strictEqual(
        (late as CleanupError.DeadlineExceededError).message,
        `Cleanup step "late" not started: the total deadline ran out exactly at its turn`
      )
      assert.deepStrictEqual(
        failureOf(stepOf(report, "later")),
        new CleanupError.StepSkippedError({ step: "later", dependency: "late", root: "late" })
      )
      assert.deepStrictEqual(report.executionOrder, ["slow"])
    }))

  it.effect("independent steps run concurrently up to the bound; the default is sequential", () =>
    Effect.gen(function*() {
      const measure = (concurrency: number | undefined) =>
        Effect.gen(function*() {
          const faults = yield* CleanupFaults.make
          const coordinator = yield* makeCoordinator({ faults, concurrency })
          const active = yield* Ref.make(0)
          const peak = yield* Ref.make(0)
          const tracked = Effect.acquireUseRelease(
            Ref.updateAndGet(active, (n) => n + 1).pipe(Effect.tap((n) => Ref.update(peak, (p) => Math.max(p, n)))),
            () => Effect.sleep("1 second"),
            () => Ref.update(active, (n) => n - 1)
          )
          for (const name of ["a", "b", "c", "d"]) yield* coordinator.register({ name, run: tracked })
          yield* coordinator.register({ name: "e", dependsOn: ["a", "b", "c", "d"], run: tracked })
          const run = yield* Effect.fork(coordinator.shutdown)
          yield* TestClock.adjust("10 seconds")
          const report = yield* Fiber.join(run)
          return { peak: yield* Ref.get(peak), duration: report.durationMs, order: report.executionOrder }
        })
      const sequential = yield* measure(undefined)
      assert.deepStrictEqual(sequential, { peak: 1, duration: 5000, order: ["a", "b", "c", "d", "e"] })
      const bounded = yield* measure(2)
      assert.deepStrictEqual(bounded.peak, 2)
      assert.deepStrictEqual(bounded.duration, 3000)
      assert.deepStrictEqual(bounded.order[4], "e")
    }))

  it.effect("plan() is a dry run: nothing runs, and it renders", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator({ deadline: "10 seconds" })
      const log: Array<string> = []
      yield* coordinator.register({ ...logging(log, "stop"), phase: "StoppingCapture" })
      yield* coordinator.register({
        ...logging(log, "flush"),
        phase: "FlushingStorage",
        dependsOn: ["stop"],
        verify: Effect.succeed(true)
      })
      const plan = yield* coordinator.plan
      assert.deepStrictEqual(log, [])
      assert.isFalse(yield* coordinator.isShutdownRequested)
      assert.deepStrictEqual(plan.order, ["stop", "flush"])
      assert.strictEqual(plan.steps[1]!.worstCaseMs, 5000 + 3 * 5000 + 2 * 1000)
      const text = CleanupPlan.render(plan)
      assert.include(text, "2. flush after stop: timeout 5000 ms, verify 3x every 1000 ms")
    }))
})

describe("CleanupCoordinator: Scope integration", () => {
  it.effect("closing the scope runs the cleanup", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      yield* Effect.scoped(Effect.gen(function*() {
        const coordinator = yield* CleanupCoordinator.make()
        yield* coordinator.register(logging(log, "released"))
      }))
      assert.deepStrictEqual(log, ["released"])
    }))

  it.effect("a failed cleanup reaches the scope's Exit as CleanupFailedError with the report", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const coordinator = yield* Scope.extend(CleanupCoordinator.make(), scope)
      yield* coordinator.register({ name: "broken", run: Effect.fail("boom") })
      const exit = yield* Effect.exit(Scope.close(scope, Exit.void))
      assert.isTrue(Exit.isFailure(exit))
      const defect = Array.from(Cause.defects((exit as Exit.Failure<void, never>).cause))[0]
      assert.isTrue(CleanupError.isCleanupFailedError(defect))
      assert.strictEqual((defect as CleanupError.CleanupFailedError).report.steps[0]!.status, "Failed")
    }))

  it.effect("when the scope's (uninterruptible) finalizer runs the cleanup, a hung step still times out", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const coordinator = yield* Scope.extend(CleanupCoordinator.make(), scope)
      yield* coordinator.register({ name: "hang", timeout: "2 seconds", run: Effect.never })
      yield* coordinator.register({ name: "after", run: Effect.void })
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("2 seconds")
      const exit = yield* Fiber.await(closing)
      const defect = Exit.isFailure(exit) ? Array.from(Cause.defects(exit.cause))[0] : undefined
      assert.isTrue(CleanupError.isCleanupFailedError(defect))
      const report = (defect as CleanupError.CleanupFailedError).report
      assert.deepStrictEqual(report.steps.map((step) => [step.name, step.status, step.durationMs]), [
        ["hang", "TimedOut", 2000],
        ["after", "Succeeded", 0]
      ])
    }))

  it.effect("the layer provides a coordinator and releases it with the layer", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      yield* Effect.gen(function*() {
        yield* CleanupCoordinator.register(yield* CleanupCoordinator.CleanupCoordinator, logging(log, "from-layer"))
      }).pipe(Effect.provide(CleanupCoordinator.layer()))
      assert.deepStrictEqual(log, ["from-layer"])
    }))

  it.effect("Layer.build gives a coordinator with the options", () =>
    Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(CleanupCoordinator.layer({ concurrency: 2 }))
      const coordinator = Context.get(context, CleanupCoordinator.CleanupCoordinator)
      assert.isTrue(CleanupCoordinator.isCleanupCoordinator(coordinator))
      assert.strictEqual((yield* coordinator.plan).concurrency, 2)
    })))

  it.effect("reports render as a table with the execution order and the causes", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      yield* coordinator.register({ name: "stop", phase: "StoppingCapture", run: Effect.fail("busy") })
      yield* coordinator.register({ name: "flush", dependsOn: ["stop"], run: Effect.void })
      const text = CleanupReport.render(yield* coordinator.shutdown)
      assert.include(text, "Cleanup run 1: Failed")
      assert.isTrue(CleanupReport.isCleanupReport(yield* Effect.map(coordinator.lastReport, Option.getOrThrow)))
      assert.include(text, "1   stop")
      assert.include(text, `StepSkippedError: Cleanup step "flush" skipped: dependency "stop" did not succeed`)
    }))
})

describe("CleanupCoordinator: batches and scale", () => {
  it.effect("10,000 steps in a random DAG run in topological order", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      let seed = 7
      const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
      const count = 10_000
      const deps: Array<Array<string>> = []
      for (let i = 0; i < count; i++) {
        deps.push(i === 0 ? [] : [`s${Math.floor(random() * i)}`, `s${Math.floor(random() * i)}`])
      }
      yield* coordinator.registerAll(deps.map((dependsOn, i) => ({ name: `s${i}`, dependsOn, run: Effect.void })))
      const report = yield* coordinator.shutdown
      const position = new Map(report.executionOrder.map((name, index) => [name, index]))
      assert.strictEqual(position.size, count)
      deps.forEach((dependsOn, i) => {
        for (const dep of dependsOn) assert.isTrue(position.get(dep)! < position.get(`s${i}`)!)
      })
      assert.strictEqual(report.status, "Completed")
    }))

  it.effect("registerAll is all or nothing: a duplicate inside the batch registers nothing", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const result = yield* Effect.either(coordinator.registerAll([
        { name: "ok", run: Effect.void },
        { name: "ok", run: Effect.void }
      ]))
      assert.isTrue(Either.isLeft(result))
      assert.deepStrictEqual((yield* coordinator.plan).steps, [])
    }))
})

describe("CleanupCoordinator: deadline messages", () => {
  it("DeadlineExceededError says how long before the step's turn the budget ran out, or that it ran out at it", () => {
    assert.strictEqual(
      new CleanupError.DeadlineExceededError({ step: "flush", bound: "phase", overdueMs: 12.5 }).message,
      `Cleanup step "flush" not started: its phase budget ran out 12.5 ms before its turn`
    )
    assert.strictEqual(
      new CleanupError.DeadlineExceededError({ step: "flush", bound: "phase", overdueMs: 0 }).message,
      `Cleanup step "flush" not started: its phase budget ran out exactly at its turn`
    )
  })
})

describe("CleanupCoordinator: resources across reset", () => {
  it.effect("after reset, a released resource is not released again; plain steps run again", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const log: Array<string> = []
      yield* coordinator.acquire({
        name: "pool",
        acquire: Effect.succeed({ id: 1 }),
        release: (pool) => Effect.sync(() => log.push(`release pool ${pool.id}`))
      })
      yield* coordinator.register(logging(log, "flush"))
      const first = yield* coordinator.shutdown
      yield* coordinator.reset
      assert.deepStrictEqual((yield* coordinator.plan).order, ["flush"])
      assert.deepStrictEqual((yield* coordinator.status).pending, ["flush"])
      const second = yield* coordinator.shutdown
      assert.deepStrictEqual(log, ["release pool 1", "flush", "flush"])
      assert.deepStrictEqual(first.executionOrder, ["pool", "flush"])
      assert.deepStrictEqual(second.steps.map((step) => [step.name, step.status]), [["flush", "Succeeded"]])
      assert.strictEqual(second.status, "Completed")
    }))

  it.effect("a release the run skipped runs after reset; a release that was attempted and failed is not retried", () =>
    Effect.gen(function*() {
      const faults = yield* CleanupFaults.make
      const coordinator = yield* makeCoordinator({ faults })
      const log: Array<string> = []
      yield* coordinator.register(logging(log, "stop"))
      yield* coordinator.acquire({
        name: "device",
        dependsOn: ["stop"],
        acquire: Effect.void,
        release: () => Effect.sync(() => log.push("release device"))
      })
      yield* coordinator.acquire({
        name: "socket",
        acquire: Effect.void,
        release: () => Effect.flatMap(Effect.sync(() => log.push("release socket")), () => Effect.fail("EBUSY"))
      })
      yield* CleanupFaults.inject(faults, "stop", CleanupFaults.Fault.Fail(), { times: 1 })
      const first = yield* coordinator.shutdown
      assert.deepStrictEqual(first.steps.map((step) => [step.name, step.status]), [
        ["stop", "Failed"],
        ["device", "Skipped"],
        ["socket", "Failed"]
      ])
      yield* coordinator.reset
      const second = yield* coordinator.shutdown
      assert.deepStrictEqual(second.steps.map((step) => [step.name, step.status]), [
        ["stop", "Succeeded"],
        ["device", "Succeeded"]
      ])
      yield* coordinator.reset
      const third = yield* coordinator.shutdown
      assert.deepStrictEqual(third.executionOrder, ["stop"])
      assert.deepStrictEqual(log, ["release socket", "stop", "release device", "stop"])
    }))

  it.effect("retiring a resource keeps the order and phases of the remaining steps and frees its name", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator({ concurrency: 4 })
      const log: Array<string> = []
      yield* coordinator.register({ ...logging(log, "drain"), phase: "StoppingCapture" })
      yield* coordinator.acquire({
        name: "db",
        phase: "ReleasingResources",
        dependsOn: ["drain"],
        acquire: Effect.void,
        release: () => Effect.sync(() => log.push("release db"))
      })
      yield* coordinator.register({ ...logging(log, "close-logs"), dependsOn: ["db"] })
      yield* coordinator.register({ ...logging(log, "flush"), phase: "FlushingStorage" })
      const first = yield* coordinator.shutdown
      assert.strictEqual(stepOf(first, "close-logs").effectivePhase, "ReleasingResources")
      yield* coordinator.reset
      const plan = yield* coordinator.plan
      // close-logs still waits for drain (through the retired db) and still runs after FlushingStorage
      const closeLogs = plan.steps.find((step) => step.name === "close-logs")!
      assert.deepStrictEqual(closeLogs.dependsOn, ["drain"])
      assert.strictEqual(closeLogs.effectivePhase, "ReleasingResources")
      assert.deepStrictEqual(plan.order, ["drain", "flush", "close-logs"])
      // the name is free: a new resource may take it
      yield* coordinator.acquire({
        name: "db",
        acquire: Effect.void,
        release: () => Effect.sync(() => log.push("release db again"))
      })
      const second = yield* coordinator.shutdown
      assert.deepStrictEqual(second.executionOrder, ["drain", "db", "flush", "close-logs"])
      assert.deepStrictEqual(log, [
        "drain",
        "flush",
        "release db",
        "close-logs",
        "drain",
        "release db again",
        "flush",
        "close-logs"
      ])
    }))

  it.effect("resources released through `uses` chains are all retired; a re-run releases nothing twice", () =>
    Effect.gen(function*() {
      const coordinator = yield* makeCoordinator()
      const released: Array<string> = []
      const resource = (name: string, uses: Array<string>) =>
        coordinator.acquire({ name, uses, acquire: Effect.void, release: () => Effect.sync(() => released.push(name)) })
      yield* resource("config", [])
      yield* resource("pool", ["config"])
      yield* resource("repository", ["pool"])
      yield* coordinator.register({ name: "report", dependsOn: ["config"], run: Effect.void })
      yield* coordinator.shutdown
      yield* coordinator.reset
      const second = yield* coordinator.shutdown
      assert.deepStrictEqual(released, ["repository", "pool", "config"])
      assert.deepStrictEqual(second.executionOrder, ["report"])
    }))
})

describe("CleanupCoordinator.run: one-shot cleanup that returns the report", () => {
  it.effect("registers, runs and returns the report of a completed run", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const report = yield* CleanupCoordinator.run([
        { ...logging(log, "b"), dependsOn: ["a"] },
        logging(log, "a")
      ])
      assert.strictEqual(report.status, "Completed")
      assert.deepStrictEqual(report.executionOrder, ["a", "b"])
      assert.deepStrictEqual(log, ["a", "b"])
    }))

  it.effect("a failed run is a report with status Failed, not a defect", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(CleanupCoordinator.run([
        { name: "release", run: Effect.fail("busy") },
        { name: "stopped", dependsOn: ["release"], run: Effect.void, verify: Effect.succeed(true) }
      ], { retries: 1, key: "component:a" }))
      assert.isTrue(Exit.isSuccess(exit))
      const report = (exit as Exit.Success<CleanupReport.CleanupReport, never>).value
      assert.strictEqual(report.status, "Failed")
      assert.strictEqual(stepOf(report, "release").status, "Failed")
      assert.strictEqual(stepOf(report, "stopped").status, "Skipped")
    }))

  it.effect("an invalid batch fails with its RegistrationError and runs nothing", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const error = yield* Effect.flip(CleanupCoordinator.run([
        logging(log, "a"),
        { ...logging(log, "b"), dependsOn: ["missing"] }
      ]))
      assert.deepStrictEqual(error, new CleanupError.UnknownDependencyError({ step: "b", dependency: "missing" }))
      assert.deepStrictEqual(log, [])
    }))

  it.effect("steps run with the services of the caller; options apply (timeouts under TestClock)", () =>
    Effect.gen(function*() {
      class Greeting extends Context.Tag("test/Greeting")<Greeting, string>() {}
      const seen: Array<string> = []
      const run = yield* Effect.fork(
        CleanupCoordinator.run([
          { name: "greet", run: Effect.map(Greeting, (greeting) => seen.push(greeting)) },
          { name: "hang", run: Effect.never }
        ], { timeout: "2 seconds" }).pipe(Effect.provideService(Greeting, "hello"))
      )
      yield* TestClock.adjust("2 seconds")
      const report = yield* Fiber.join(run)
      assert.deepStrictEqual(seen, ["hello"])
      assert.deepStrictEqual(report.steps.map((step) => [step.name, step.status, step.durationMs]), [
        ["greet", "Succeeded", 0],
        ["hang", "TimedOut", 2000]
      ])
    }))

  it.effect("interrupted while the steps run, it still runs them to their end before it ends", () =>
    Effect.gen(function*() {
      const faults = yield* CleanupFaults.make
      const log: Array<string> = []
      yield* CleanupFaults.inject(faults, "slow", CleanupFaults.Fault.Delay({ duration: "1 second" }))
      const caller = yield* Effect.fork(
        CleanupCoordinator.run([logging(log, "slow"), { ...logging(log, "after"), dependsOn: ["slow"] }], { faults })
      )
      yield* TestClock.adjust("10 millis")
      yield* Fiber.interruptFork(caller)
      yield* TestClock.adjust("10 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(caller)))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(caller)
      assert.isTrue(Exit.isInterrupted(exit))
      assert.deepStrictEqual(log, ["slow", "after"])
    }))
})
