import { ComponentCoordinator, ComponentError } from "@core-stability/coordinator"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Either, Exit, Option, Queue, Ref, TestClock } from "effect"
import { eventually, stateIs } from "./utils/coordinator.js"

const buffer = (channel?: string): ComponentCoordinator.Resource<Uint8Array> => ({
  type: "buffer",
  channel,
  acquire: Effect.sync(() => new Uint8Array(1024)),
  release: () => Effect.void
})

describe("ComponentCoordinator", () => {
  describe("origin.md 3.3", () => {
    it.scoped("#1 a negative resource limit is refused; a valid coordinator is made", () =>
      Effect.gen(function*() {
        const refused = yield* Effect.flip(ComponentCoordinator.make({ limits: { memory: -1 } }))
        assert.instanceOf(refused, ComponentError.InvalidOptions)
        assert.strictEqual(refused.field, "limits.memory")
        const coordinator = yield* ComponentCoordinator.make()
        assert.isTrue(ComponentCoordinator.isComponentCoordinator(coordinator))
      }))

    it.scoped("#2 a registered component moves through the public transition API", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make()
        yield* coordinator.register({ id: "test_component" })
        const [info] = yield* coordinator.components
        assert.strictEqual(info?.id, "test_component")
        assert.strictEqual(yield* coordinator.state("test_component"), "Uninitialized")
        const record = yield* coordinator.transition("test_component", "Initializing")
        assert.isTrue(record.success)
        assert.strictEqual(yield* coordinator.state("test_component"), "Initializing")
        const history = yield* coordinator.history("test_component")
        assert.deepStrictEqual(history.map((entry) => entry.to), ["Initializing"])
      }))

    it.scoped("#3 startAll returns the dependency order and stopAll the reverse (dependencies as lists)", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make()
        // registered in one batch, dependents first: the order comes from the graph
        yield* coordinator.registerAll([
          { id: "output", dependencies: ["processor"] },
          { id: "processor", dependencies: ["capture"] },
          { id: "capture" }
        ])
        assert.strictEqual((yield* coordinator.components).length, 3)
        assert.deepStrictEqual(yield* coordinator.startAll, ["capture", "processor", "output"])
        for (const id of ["capture", "processor", "output"]) assert.strictEqual(yield* coordinator.state(id), "Running")
        assert.deepStrictEqual(yield* coordinator.stopAll, ["output", "processor", "capture"])
        const history = yield* coordinator.history("output")
        assert.deepStrictEqual(history.map((entry) => entry.to), ["Initializing", "Running", "Stopping", "Stopped"])
      }))

    it.scoped("#4 a per-channel component holds a 1 KiB buffer between Running and Stopped", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make()
        for (const channel of ["left", "right"]) {
          const id = `processor_${channel}`
          yield* coordinator.register({ id, channels: [channel] })
          yield* coordinator.transition(id, "Initializing")
          const allocation = yield* coordinator.allocate(id, buffer(channel))
          assert.strictEqual(allocation.value.length, 1024)
          yield* coordinator.transition(id, "Running")
          const held = yield* coordinator.resources(id)
          assert.strictEqual(held.filter((a) => a.channel === channel && a.type === "buffer").length, 1)
          yield* coordinator.transition(id, "Stopping")
          yield* coordinator.release(allocation)
          yield* coordinator.transition(id, "Stopped")
          assert.deepStrictEqual(yield* coordinator.resources(id), [])
        }
      }))

    it.scoped("#8 health: some failing, not all, is degraded, with one result per check", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make()
        yield* coordinator.registerAll([
          { id: "healthy", healthCheck: Effect.succeed(true) },
          { id: "degraded", healthCheck: Effect.succeed("degraded" as const) },
          { id: "failed", healthCheck: Effect.fail("disk gone") },
          { id: "processor_left", healthCheck: Effect.succeed("healthy" as const) },
          { id: "processor_right", healthCheck: Effect.succeed(true) }
        ])
        yield* coordinator.startAll
        const report = yield* coordinator.health
        assert.strictEqual(report.status, "degraded")
        assert.deepStrictEqual(
          report.checks.map((check) => [check.component, check.status]),
          [
            ["healthy", "healthy"],
            ["degraded", "degraded"],
            ["failed", "failed"],
            ["processor_left", "healthy"],
            ["processor_right", "healthy"]
          ]
        )
        assert.strictEqual(report.checks[2]?.reason, "disk gone")
      }))

    it.scoped("#10 a failed worker puts its component (and only it) in Error, with context, for 300 s of health", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make()
        const changes = yield* Queue.unbounded<ComponentCoordinator.StateChange>()
        yield* coordinator.subscribe((change) => Queue.offer(changes, change))
        const crash = yield* Deferred.make<void>()
        yield* coordinator.registerAll([
          {
            id: "capture",
            restart: { type: "temporary" },
            start: (context) =>
              context.fork(Effect.zipRight(Deferred.await(crash), Effect.fail("device lost")), { name: "reader" })
          },
          // "capture-monitor" contains the name "capture": the original matched threads by substring and failed it too
          { id: "capture-monitor", start: (context) => context.fork(Effect.never) }
        ])
        yield* coordinator.startAll
        yield* Deferred.succeed(crash, undefined)
        yield* stateIs(coordinator, "capture", "Error")
        assert.strictEqual(yield* coordinator.state("capture-monitor"), "Running")
        yield* eventually(Effect.map(Queue.size(changes), (n) => n >= 5))
        const all = yield* Queue.takeAll(changes)
        const toError = Array.from(all).find((change) => change.to === "Error")
        assert.isDefined(toError)
        assert.instanceOf(toError!.error, ComponentError.WorkerFailed)
        const error = toError!.error as ComponentError.WorkerFailed
        assert.strictEqual(error.worker, "reader")
        assert.include(error.message, "Worker failure: capture/reader")
        assert.include(error.message, "device lost")
        assert.strictEqual((yield* coordinator.health).status, "degraded")
        yield* coordinator.transition("capture", "Stopped")
        // Stopped components are not checked; the monitor's recent failure still counts until the window ends
        yield* coordinator.transition("capture", "Initializing")
        yield* coordinator.transition("capture", "Running")
        assert.strictEqual((yield* coordinator.health).checks[0]?.status, "degraded")
        yield* TestClock.adjust("300 seconds")
        assert.strictEqual((yield* coordinator.health).status, "healthy")
      }))
  })

  describe("registration", () => {
    it.scoped("accepts dependencies as any iterable", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make()
        yield* coordinator.register({ id: "a" })
        yield* coordinator.register({ id: "b", dependencies: new Set(["a"]) })
        yield* coordinator.register({
          id: "c",
          dependencies: (function*() {
            yield "a"
            yield "b"
          })()
        })
        assert.deepStrictEqual(yield* coordinator.order, ["a", "b", "c"])
      }))

    it.scoped("refuses unknown ids, self-dependencies, cycles (with the path) and duplicates", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make()
        yield* coordinator.register({ id: "a" })
        const unknown = yield* Effect.flip(coordinator.register({ id: "b", dependencies: ["ghost"] }))
        assert.instanceOf(unknown, ComponentError.UnknownDependency)
        assert.strictEqual(unknown.message, `Component "b" depends on unknown component "ghost"`)
        const self = yield* Effect.flip(coordinator.register({ id: "b", dependencies: ["b"] }))
        assert.deepStrictEqual(self._tag === "DependencyCycle" ? self.path : [], ["b", "b"])
        const cycle = yield* Effect.flip(coordinator.registerAll([
          { id: "x", dependencies: ["y"] },
          { id: "y", dependencies: ["z"] },
          { id: "z", dependencies: ["x", "a"] }
        ]))
        assert.deepStrictEqual(cycle._tag === "DependencyCycle" ? cycle.path : [], ["x", "y", "z", "x"])
        const duplicate = yield* Effect.flip(coordinator.register({ id: "a" }))
        assert.instanceOf(duplicate, ComponentError.DuplicateComponent)
        const invalid = yield* Effect.flip(
          coordinator.register({ id: "s", restart: { type: "permanent", significant: true } })
        )
        assert.instanceOf(invalid, ComponentError.InvalidComponent)
        // a failed batch registers nothing
        assert.deepStrictEqual(yield* coordinator.order, ["a"])
      }))
  })

  describe("lifecycle", () => {
    it.scoped("a start failure leaves the component in Error with its scope closed, and fails startAll", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make()
        const closed = yield* Ref.make(false)
        yield* coordinator.registerAll([
          {
            id: "storage",
            start: () => Effect.addFinalizer(() => Ref.set(closed, true)).pipe(Effect.zipRight(Effect.fail("no disk")))
          },
          { id: "writer", dependencies: ["storage"] }
        ])
        const error = yield* Effect.flip(coordinator.startAll)
        assert.instanceOf(error, ComponentError.StartFailed)
        assert.strictEqual(yield* coordinator.state("storage"), "Error")
        assert.strictEqual(yield* coordinator.state("writer"), "Uninitialized")
        assert.isTrue(yield* Ref.get(closed))
        const notRunning = yield* Effect.flip(coordinator.start("writer"))
        assert.instanceOf(notRunning, ComponentError.DependencyNotRunning)
      }))

    it.scoped("stopping interrupts the workers, closes the scope, releases resources newest first", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make()
        const log = yield* Ref.make<ReadonlyArray<string>>([])
        const note = (line: string) => Ref.update(log, (lines) => [...lines, line])
        const resource = (name: string): ComponentCoordinator.Resource<string> => ({
          type: "handle",
          acquire: Effect.succeed(name),
          release: (value) => note(`release ${value}`)
        })
        yield* coordinator.register({
          id: "pipeline",
          start: (context) =>
            Effect.gen(function*() {
              yield* context.allocate(resource("a"))
              yield* context.allocateAll([resource("b"), resource("c")])
              yield* Effect.addFinalizer(() => note("scope closed"))
              yield* context.fork(Effect.onInterrupt(Effect.never, () => note("worker interrupted")))
            })
        })
        yield* coordinator.startAll
        assert.strictEqual((yield* coordinator.resources("pipeline")).length, 3)
        yield* coordinator.stopAll
        assert.deepStrictEqual(yield* Ref.get(log), [
          "worker interrupted",
          "scope closed",
          "release c",
          "release b",
          "release a"
        ])
        assert.deepStrictEqual(yield* coordinator.leakReport, { allocations: [], workers: [] })
      }))

    it.scoped("the coordinator's scope stops everything", () =>
      Effect.gen(function*() {
        const released = yield* Ref.make(0)
        yield* Effect.scoped(Effect.gen(function*() {
          const coordinator = yield* ComponentCoordinator.make()
          yield* coordinator.register({
            id: "a",
            start: (context) =>
              context.allocate({ type: "t", acquire: Effect.void, release: () => Ref.update(released, (n) => n + 1) })
          })
          yield* coordinator.startAll
        }))
        assert.strictEqual(yield* Ref.get(released), 1)
      }))
  })

  describe("resources", () => {
    it.scoped("limits hold globally, per component and per channel", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make({
          limits: { buffer: 3 },
          componentQuota: { buffer: 2 },
          channelQuota: { buffer: 1 }
        })
        yield* coordinator.registerAll([
          { id: "left", channels: ["left"] },
          { id: "right", channels: ["right"], quota: { buffer: 3 } }
        ])
        yield* coordinator.allocate("left", buffer("left"))
        const channel = yield* Effect.flip(coordinator.allocate("left", buffer("left")))
        assert.strictEqual(channel._tag === "ResourceLimitExceeded" ? channel.scope : "", "channel")
        yield* coordinator.allocate("left", buffer())
        const component = yield* Effect.flip(coordinator.allocate("left", buffer()))
        assert.strictEqual(component._tag === "ResourceLimitExceeded" ? component.scope : "", "component")
        yield* coordinator.allocate("right", buffer())
        const global = yield* Effect.flip(coordinator.allocate("right", buffer()))
        assert.strictEqual(global._tag === "ResourceLimitExceeded" ? global.scope : "", "global")
        assert.include(global.message, "coordinator holds 3 of 3")
        const unknown = yield* Effect.flip(coordinator.allocate("left", buffer("right")))
        assert.instanceOf(unknown, ComponentError.UnknownChannel)
      }))

    it.scoped("a batch is all or nothing: over a limit nothing is acquired; a failed acquisition releases the rest", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make({ limits: { buffer: 2 } })
        yield* coordinator.register({ id: "c" })
        const acquired = yield* Ref.make(0)
        const counted: ComponentCoordinator.Resource<void> = {
          type: "buffer",
          acquire: Ref.update(acquired, (n) => n + 1),
          release: () => Ref.update(acquired, (n) => n - 1)
        }
        const over = yield* Effect.flip(coordinator.allocateAll("c", [counted, counted, counted]))
        assert.instanceOf(over, ComponentError.ResourceLimitExceeded)
        assert.strictEqual(yield* Ref.get(acquired), 0)
        const failing: ComponentCoordinator.Resource<void, string> = {
          type: "buffer",
          acquire: Effect.fail("exhausted"),
          release: () => Effect.void
        }
        const failed = yield* Effect.flip(coordinator.allocateAll("c", [counted, failing]))
        assert.strictEqual(failed, "exhausted")
        assert.strictEqual(yield* Ref.get(acquired), 0)
        // the books are back to zero: two fit again
        const [a, b] = yield* coordinator.allocateAll("c", [counted, counted])
        assert.notStrictEqual(a.id, b.id)
        assert.strictEqual(yield* Ref.get(acquired), 2)
      }))

    it.scoped("tracks by identity: a double release is refused and changes nothing", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make()
        yield* coordinator.register({ id: "c" })
        const same = new Uint8Array(4)
        const one = yield* coordinator.allocate("c", {
          type: "buffer",
          acquire: Effect.succeed(same),
          release: () => Effect.void
        })
        const two = yield* coordinator.allocate("c", {
          type: "buffer",
          acquire: Effect.succeed(same),
          release: () => Effect.void
        })
        yield* coordinator.release(one)
        const again = yield* Effect.flip(coordinator.release(one))
        assert.instanceOf(again, ComponentError.UnknownAllocation)
        assert.deepStrictEqual((yield* coordinator.resources("c")).map((a) => a.id), [two.id])
      }))

    it.scoped("the leak report lists what a failed release left, with owner and site", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make()
        yield* coordinator.register({ id: "writer", channels: ["left"] })
        yield* coordinator.allocate("writer", {
          type: "file",
          channel: "left",
          acquire: Effect.succeed("out.wav"),
          release: () => Effect.fail("EBUSY")
        })
        yield* coordinator.allocate("writer", {
          type: "buffer",
          site: "writer.ts:12",
          acquire: Effect.void,
          release: () => Effect.void
        })
        yield* coordinator.stopAll
        const report = yield* coordinator.leakReport
        assert.strictEqual(report.allocations.length, 1)
        const [leak] = report.allocations
        assert.strictEqual(leak?.component, "writer")
        assert.strictEqual(leak?.channel, "left")
        assert.include(leak?.site ?? "", "ComponentCoordinator.test.ts")
        assert.include(leak?.releaseFailure ?? "", "EBUSY")
        const [line] = ComponentCoordinator.renderLeakReport(report)
        assert.match(line ?? "", /^file #1 x1 held by writer\/left \(allocated at .*ComponentCoordinator\.test\.ts/)
        assert.deepStrictEqual(yield* coordinator.leakProbe.leaks, [line!])
      }))
  })

  describe("cleanupComponent", () => {
    it.scoped("refuses while running dependents exist; cascades on request, newest first, with a report", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make()
        const released = yield* Ref.make<ReadonlyArray<string>>([])
        const start = (id: string) => (context: ComponentCoordinator.ComponentContext) =>
          Effect.zipRight(
            context.allocate({
              type: "buffer",
              acquire: Effect.void,
              release: () => Ref.update(released, (ids) => [...ids, id])
            }),
            context.fork(Effect.never)
          )
        yield* coordinator.registerAll([
          { id: "capture", start: start("capture") },
          { id: "processor", dependencies: ["capture"], start: start("processor") },
          { id: "writer", dependencies: ["processor"], start: start("writer") },
          { id: "meter", start: start("meter") }
        ])
        yield* coordinator.startAll
        const refused = yield* Effect.flip(coordinator.cleanupComponent("capture"))
        assert.instanceOf(refused, ComponentError.HasRunningDependents)
        assert.deepStrictEqual(refused._tag === "HasRunningDependents" ? refused.dependents : [], [
          "processor",
          "writer"
        ])
        const report = yield* coordinator.cleanupComponent("capture", { cascade: true })
        assert.strictEqual(report.status, "Completed")
        assert.deepStrictEqual(report.executionOrder, [
          "writer:stop-workers",
          "writer:release",
          "writer:stopped",
          "processor:stop-workers",
          "processor:release",
          "processor:stopped",
          "capture:stop-workers",
          "capture:release",
          "capture:stopped"
        ])
        assert.isTrue(report.steps.every((step) => step.status === "Verified"))
        assert.deepStrictEqual(yield* Ref.get(released), ["writer", "processor", "capture"])
        for (const id of ["capture", "processor", "writer"]) assert.strictEqual(yield* coordinator.state(id), "Stopped")
        assert.strictEqual(yield* coordinator.state("meter"), "Running")
        const history = yield* coordinator.history("capture")
        assert.deepStrictEqual(history.slice(-2).map((entry) => entry.to), ["Stopping", "Stopped"])
        // a stopped component starts again
        yield* coordinator.startAll
        assert.strictEqual(yield* coordinator.state("writer"), "Running")
      }))

    it.scoped("a release that fails makes the cleanup fail with its report and leaves the component in Error", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make()
        yield* coordinator.register({
          id: "writer",
          start: (context) =>
            context.allocate({ type: "file", acquire: Effect.void, release: () => Effect.fail("EBUSY") })
        })
        yield* coordinator.startAll
        const error = yield* Effect.flip(coordinator.cleanupComponent("writer"))
        assert.instanceOf(error, ComponentError.CleanupFailed)
        const report = (error as ComponentError.CleanupFailed).report
        assert.deepStrictEqual(report.steps.map((step) => [step.name, step.status]), [
          ["writer:stop-workers", "Verified"],
          ["writer:release", "Failed"],
          ["writer:stopped", "Skipped"]
        ])
        assert.strictEqual(yield* coordinator.state("writer"), "Error")
        assert.strictEqual((yield* coordinator.leakReport).allocations.length, 1)
      }))
  })

  describe("listeners and locks", () => {
    it.scoped("listeners run outside the lock: a listener may read state and restart components", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make()
        const restarted = yield* Deferred.make<ComponentCoordinator.ComponentState>()
        yield* coordinator.register({ id: "a" })
        yield* coordinator.subscribe((change) =>
          change.to === "Running" && change.generation === 1
            ? Effect.zipRight(
              coordinator.restart("a"),
              Effect.flatMap(coordinator.state("a"), (state) => Deferred.succeed(restarted, state))
            )
            : Effect.void
        )
        // a failing listener does not disturb the others nor the transition
        yield* coordinator.subscribe(() => Effect.die("listener bug"))
        yield* coordinator.startAll
        assert.strictEqual(yield* Deferred.await(restarted), "Running")
        const info = (yield* coordinator.components)[0]
        assert.strictEqual(info?.generation, 2)
      }))

    it.scoped("a start effect calling the lifecycle API fails with LockRecursion instead of hanging", () =>
      Effect.gen(function*() {
        const coordinator = yield* ComponentCoordinator.make()
        yield* coordinator.register({ id: "a" })
        yield* coordinator.register({ id: "b", start: () => coordinator.start("a") })
        const error = yield* Effect.flip(coordinator.start("b"))
        assert.instanceOf(error, ComponentError.StartFailed)
        const failure = Cause.failureOption((error as ComponentError.StartFailed).cause)
        assert.isTrue(Option.isSome(failure) && (failure.value as { _tag: string })._tag === "LockRecursion")
      }))
  })

  it.scoped("typed errors name the unknown component", () =>
    Effect.gen(function*() {
      const coordinator = yield* ComponentCoordinator.make()
      const exit = yield* Effect.exit(coordinator.state("ghost"))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(coordinator.allocate("ghost", buffer()))
      assert.strictEqual(error.message, `Component "ghost" is not registered`)
      assert.isTrue(Either.isLeft(yield* Effect.either(coordinator.cleanupComponent("ghost"))))
    }))
})
