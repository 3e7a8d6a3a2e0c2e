import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as LockConfig from "../src/LockConfig.js"
import * as LockHierarchy from "../src/LockHierarchy.js"
import * as LockMetrics from "../src/LockMetrics.js"
import * as LockRegistry from "../src/LockRegistry.js"
import * as OrderedLock from "../src/OrderedLock.js"
import * as OrderedRWLock from "../src/OrderedRWLock.js"
import { assertNoLeaks, entryOf, expectFailure, untilWaiting } from "./utils.js"

const provide = <A, E>(self: Effect.Effect<A, E, Scope.Scope>, settings: LockConfig.Options = {}) =>
  self.pipe(Effect.scoped, Effect.provide(LockConfig.layer(settings)), Effect.provide(LockRegistry.layer))

describe("snapshot", () => {
  it.effect("lists holders (fiber and name, since, site), waiters (fiber, since, mode) and held stacks", () =>
    provide(
      Effect.gen(function*() {
        const state = yield* OrderedLock.make({ hierarchy: LockHierarchy.Global, level: "StateMachine.state" })
        const history = yield* OrderedRWLock.make({ hierarchy: LockHierarchy.Global, level: "StateMachine.history" })
        yield* TestClock.setTime(1_000)
        const gate = yield* Deferred.make<void>()
        const holder = yield* Effect.fork(
          OrderedLock.withLock(state, OrderedRWLock.withReadLock(history, Deferred.await(gate))).pipe(
            LockRegistry.withFiberName("worker-1")
          )
        )
        yield* Effect.yieldNow()
        yield* TestClock.adjust("5 millis")
        const waiter = yield* Effect.fork(OrderedRWLock.withWriteLock(history, Effect.void))
        yield* untilWaiting(history, 1)
        yield* TestClock.adjust("2 millis")
        const snapshot = yield* LockRegistry.snapshot()
        assert.strictEqual(snapshot.at, 1_007)
        assert.strictEqual(snapshot.classes, 2)
        assert.deepStrictEqual(snapshot.locks.map((e) => e.lock.name), ["StateMachine.state", "StateMachine.history"])
        const [stateEntry, historyEntry] = snapshot.locks
        const holderName = `#${holder.id().id} (worker-1)`
        assert.deepStrictEqual(stateEntry!.holders.map((h) => [h.fiber, h.mode, h.since, h.heldMs]), [
          [holderName, "exclusive", 1_000, 7]
        ])
        assert.match(stateEntry!.holders[0]!.site!, /introspection\.test\.ts:\d+:\d+/)
        assert.deepStrictEqual(historyEntry!.waiters.map((w) => [w.fiber, w.mode, w.since, w.waitedMs]), [
          [`#${waiter.id().id}`, "write", 1_005, 2]
        ])
        assert.deepStrictEqual(snapshot.fibers.map((f) => [f.fiber, f.held.map((h) => h.lock.name)]), [
          [holderName, ["StateMachine.state", "StateMachine.history"]]
        ])
        assert.isUndefined(stateEntry!.holders[0]!.stack)

        const rendered = LockRegistry.render(snapshot)
        assert.include(rendered, "locks: 2 busy, 2 classes")
        assert.match(rendered, /StateMachine\.state\s+15\s+held\s+exclusive\s+#\d+ \(worker-1\)\s+7 ms/)
        assert.match(rendered, /StateMachine\.history\s+16\s+waiting\s+write\s+#\d+\s+2 ms/)
        assert.include(rendered, "held stacks (oldest first):")

        const withStacks = yield* LockRegistry.snapshot({ stacks: true })
        assert.isAbove(withStacks.locks[0]!.holders[0]!.stack!.length, 0)
        assert.include(LockRegistry.render(withStacks), "stacks:")

        assert.strictEqual(LockRegistry.leakProbe.name, "locks")
        assert.strictEqual((yield* LockRegistry.leakProbe.leaks).length, 3)
        assert.match((yield* LockRegistry.leakProbe.leaks)[0]!, /^StateMachine\.state still held \(exclusive\) by #\d+/)
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(holder)
        yield* Fiber.join(waiter)
        assert.deepStrictEqual((yield* LockRegistry.snapshot()).locks, [])
        yield* assertNoLeaks
      }),
      { sites: "stack" }
    ))

  it.effect("a call site is the first frame outside the library", () =>
    provide(Effect.gen(function*() {
      const lock = yield* OrderedLock.make({ name: "accounts", rank: 1 })
      const piped = yield* Effect.map(entryOf(lock), (e) => e?.holders[0]?.site).pipe(OrderedLock.withLock(lock))
      assert.match(piped!, /introspection\.test\.ts:\d+:\d+/)
      const scoped = yield* Effect.scoped(Effect.zipRight(OrderedLock.lock(lock), entryOf(lock)))
      assert.match(scoped!.holders[0]!.site!, /introspection\.test\.ts/)
      const batch = yield* OrderedLock.withLocks([lock], entryOf(lock))
      assert.match(batch!.holders[0]!.site!, /introspection\.test\.ts/)
    })))

  it.effect("without captured sites, the site is the span the fiber was in", () =>
    provide(
      Effect.gen(function*() {
        const lock = yield* OrderedLock.make({ name: "accounts", rank: 1 })
        const site = yield* OrderedLock.withLock(lock, Effect.map(entryOf(lock), (e) => e?.holders[0]?.site)).pipe(
          Effect.withSpan("transfer")
        )
        assert.strictEqual(site, "span transfer")
        assert.isUndefined(yield* OrderedLock.withLock(lock, Effect.map(entryOf(lock), (e) => e?.holders[0]?.site)))
      }),
      { sites: "none" }
    ))

  it.effect("locks belong to the registry in effect when they are made", () =>
    Effect.gen(function*() {
      const registry = LockRegistry.unsafeMake()
      const lock = OrderedLock.unsafeMake({ name: "mine", rank: 1, registry })
      const seen = yield* OrderedLock.withLock(lock, LockRegistry.snapshot()).pipe(
        Effect.provideService(LockRegistry.LockRegistry, registry)
      )
      assert.deepStrictEqual(seen.locks.map((e) => e.lock.name), ["mine"])
      const other = yield* LockRegistry.snapshot().pipe(Effect.provide(LockRegistry.layer))
      assert.strictEqual(other.classes, 0)
    }))

  it.effect("a class declared twice with different ranks is a defect", () =>
    provide(Effect.gen(function*() {
      yield* OrderedLock.make({ name: "twice", rank: 1 })
      const exit = yield* Effect.exit(OrderedLock.make({ name: "twice", rank: 2 }))
      assert.isTrue(Exit.isFailure(exit) && String(exit.cause).includes("exists with rank 1"))
    })))
})

describe("metrics", () => {
  const value = <In, Out>(metric: Metric.Metric<any, In, Out>, lock: string, mode: string) =>
    Metric.value(metric.pipe(Metric.tagged("lock", lock), Metric.tagged("mode", mode)))

  it.effect("counts acquisitions, contention and timeouts, and times waits and holds (ms) per class and mode", () =>
    provide(Effect.gen(function*() {
      const lock = yield* OrderedRWLock.make({ name: "metrics.rw", rank: 1 })
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(OrderedRWLock.withWriteLock(lock, Deferred.await(gate)))
      yield* Effect.yieldNow()
      const reader = yield* Effect.fork(OrderedRWLock.withReadLock(lock, Effect.void))
      yield* untilWaiting(lock, 1)
      const hasty = yield* Effect.fork(
        Effect.exit(OrderedRWLock.withReadLock(lock, Effect.void, { timeout: "1 millis" }))
      )
      yield* untilWaiting(lock, 2)
      yield* TestClock.adjust("10 millis")
      expectFailure(yield* Fiber.join(hasty), "LockTimeout")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      yield* Fiber.join(reader)
      assert.strictEqual((yield* value(LockMetrics.acquisitions, "metrics.rw", "write")).count, 1)
      assert.strictEqual((yield* value(LockMetrics.acquisitions, "metrics.rw", "read")).count, 1)
      assert.strictEqual((yield* value(LockMetrics.contended, "metrics.rw", "read")).count, 1)
      assert.strictEqual((yield* value(LockMetrics.contended, "metrics.rw", "write")).count, 0)
      assert.strictEqual((yield* value(LockMetrics.timeouts, "metrics.rw", "read")).count, 1)
      const hold = yield* value(LockMetrics.holdTime, "metrics.rw", "write")
      assert.strictEqual(hold.count, 1)
      assert.strictEqual(hold.max, 10)
      const wait = yield* value(LockMetrics.waitTime, "metrics.rw", "read")
      assert.strictEqual(wait.count, 1)
      assert.strictEqual(wait.max, 10)
    })))

  it.effect("records nothing when metrics are off", () =>
    provide(
      Effect.gen(function*() {
        const lock = yield* OrderedLock.make({ name: "metrics.off", rank: 1 })
        yield* OrderedLock.withLock(lock, Effect.void)
        assert.strictEqual((yield* value(LockMetrics.acquisitions, "metrics.off", "exclusive")).count, 0)
      }),
      { metrics: false }
    ))
})

describe("modes", () => {
  it.effect("warn: logs the report, counts it, and proceeds", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        logs.push(`${logLevel.label}: ${String(message)}`)
      })
      const a = yield* OrderedLock.make({ name: "warn.a", rank: 1 })
      const b = yield* OrderedLock.make({ name: "warn.b", rank: 2 })
      const result = yield* OrderedLock.withLock(b, OrderedLock.withLock(a, Effect.succeed("proceeded"))).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      assert.strictEqual(result, "proceeded")
      assert.strictEqual(logs.length, 1)
      assert.match(logs[0]!, /^WARN: possible circular locking dependency: #\d+ is taking warn\.a/)
      const count = yield* Metric.value(
        LockMetrics.orderViolations.pipe(Metric.tagged("lock", "warn.a"), Metric.tagged("mode", "exclusive"))
      )
      assert.strictEqual(count.count, 1)
      yield* assertNoLeaks
    }).pipe(Effect.provide(LockConfig.layer({ mode: "warn" })), Effect.provide(LockRegistry.layer)))

  it.effect("off: no order checking, no held stack, but recursion still fails instead of hanging", () =>
    provide(
      Effect.gen(function*() {
        const a = yield* OrderedLock.make({ name: "a", rank: 1 })
        const b = yield* OrderedLock.make({ name: "b", rank: 2 })
        assert.strictEqual(yield* OrderedLock.withLock(b, OrderedLock.withLock(a, Effect.succeed(1))), 1)
        expectFailure(
          yield* Effect.exit(OrderedLock.withLock(a, OrderedLock.withLock(a, Effect.void))),
          "LockRecursion"
        )
        const holders = yield* OrderedLock.withLock(a, Effect.map(entryOf(a), (e) => e!.holders))
        assert.isUndefined(holders[0]!.since)
        yield* assertNoLeaks
      }),
      { mode: "off" }
    ))

  it.effect("the acquisition's timeout wins over the lock's, which wins over the configuration's", () =>
    provide(
      Effect.gen(function*() {
        const lock = yield* OrderedLock.make({ name: "t", rank: 1, timeout: "50 millis" })
        const plain = yield* OrderedLock.make({ name: "u", rank: 2 })
        const attempt = (l: OrderedLock.OrderedLock, options?: OrderedLock.AcquireOptions) =>
          Effect.flatMap(
            Effect.fork(Effect.exit(OrderedLock.withLock(l, Effect.void, options))),
            (f) => Effect.zipRight(untilWaiting(l, 1), Effect.zipRight(TestClock.adjust("1 second"), Fiber.join(f)))
          )
        const holder = yield* Effect.fork(
          Effect.zipRight(
            Effect.all([OrderedLock.lock(lock), OrderedLock.lock(plain)]),
            Effect.never
          ).pipe(Effect.scoped)
        )
        yield* Effect.yieldNow()
        assert.strictEqual(expectFailure(yield* attempt(lock, { timeout: "10 millis" }), "LockTimeout").timeoutMs, 10)
        assert.strictEqual(expectFailure(yield* attempt(lock), "LockTimeout").timeoutMs, 50)
        assert.strictEqual(expectFailure(yield* attempt(plain), "LockTimeout").timeoutMs, 200)
        yield* Fiber.interrupt(holder)
        yield* assertNoLeaks
      }),
      { timeout: "200 millis" }
    ))
})
