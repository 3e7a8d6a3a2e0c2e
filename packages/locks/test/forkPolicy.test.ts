/**
 * Fork policy regressions: a child inherits the holds its parent has at fork time, and only those. Forking from a
 * fiber that holds nothing used to hand the child the parent's own mutable record, so a grandchild forked later
 * snapshot whatever the record's owner held then (a lock taken after the child was forked), and a child claiming the
 * shared record leaked its locks into its siblings' later forks: spurious `held-by-ancestor` / `rank-inversion`
 * violations in strict mode. Also `OrderedLock.forkDetached`, which forks a fiber that inherits nothing.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as LockConfig from "../src/LockConfig.js"
import * as LockRegistry from "../src/LockRegistry.js"
import * as OrderedLock from "../src/OrderedLock.js"
import { assertNoLeaks, expectFailure, waitersOf } from "./utils.js"

const Strict = Layer.merge(LockRegistry.layer, LockConfig.layer({ mode: "strict" }))

/** Yields until the lock has a waiter or the fiber is done (a wrongly refused acquisition ends the fiber at once). */
const untilWaitingOrDone = (lock: OrderedLock.OrderedLock, fiber: Fiber.Fiber<unknown, unknown>) =>
  Effect.gen(function*() {
    for (let turns = 0; turns < 1000; turns++) {
      if ((yield* waitersOf(lock)) >= 1 || (yield* Fiber.poll(fiber))._tag === "Some") return
      yield* Effect.yieldNow()
    }
    assert.fail(`${lock.name} never had a waiter`)
  })

describe("fork policy", () => {
  it.effect("a grandchild of a child forked before the parent took L does not inherit L: it waits", () =>
    Effect.gen(function*() {
      const warm = yield* OrderedLock.make({ name: "warm", rank: 1 })
      const l = yield* OrderedLock.make({ name: "L", rank: 5 })
      yield* OrderedLock.withLock(warm, Effect.void) // binds the parent's record; it holds nothing afterwards
      const go = yield* Deferred.make<void>()
      const child = yield* Effect.fork(Effect.gen(function*() { // forked while the parent holds nothing
        yield* Deferred.await(go)
        const grandchild = yield* Effect.fork(OrderedLock.withLock(l, Effect.succeed("got L")))
        return yield* Fiber.await(grandchild)
      }))
      yield* OrderedLock.withLock(
        l,
        Effect.zipRight(Deferred.succeed(go, undefined), untilWaitingOrDone(l, child))
      )
      assert.deepStrictEqual(yield* Fiber.join(child), Exit.succeed("got L"))
      yield* assertNoLeaks
    }).pipe(Effect.provide(Strict)))

  it.effect("same, rank-inversion flavour: the grandchild takes a lock ranked below the parent's", () =>
    Effect.gen(function*() {
      const warm = yield* OrderedLock.make({ name: "warm", rank: 1 })
      const low = yield* OrderedLock.make({ name: "low", rank: 2 })
      const high = yield* OrderedLock.make({ name: "high", rank: 5 })
      yield* OrderedLock.withLock(warm, Effect.void)
      const go = yield* Deferred.make<void>()
      const done = yield* Deferred.make<void>()
      const child = yield* Effect.fork(Effect.gen(function*() {
        yield* Deferred.await(go)
        const exit = yield* Effect.flatMap(
          Effect.fork(Effect.exit(OrderedLock.withLock(low, Effect.succeed("ok")))),
          Fiber.join
        )
        yield* Deferred.succeed(done, undefined)
        return exit
      }))
      yield* OrderedLock.withLock(high, Effect.zipRight(Deferred.succeed(go, undefined), Deferred.await(done)))
      assert.deepStrictEqual(yield* Fiber.join(child), Exit.succeed("ok"))
      yield* assertNoLeaks
    }).pipe(Effect.provide(Strict)))

  it.effect("a sibling's locks do not leak into a later fork through a shared record", () =>
    Effect.gen(function*() {
      const lx = yield* OrderedLock.make({ name: "Lx", rank: 1 })
      const m = yield* OrderedLock.make({ name: "M", rank: 5 })
      const k = yield* OrderedLock.make({ name: "K", rank: 2 })
      const goD = yield* Deferred.make<void>()
      const eHolds = yield* Deferred.make<void>()
      const eDone = yield* Deferred.make<void>()
      // P holds Lx and forks C (C inherits Lx); P then releases Lx
      const c = yield* OrderedLock.withLock(
        lx,
        Effect.fork(Effect.gen(function*() {
          yield* Deferred.await(goD)
          // C forks D after Lx was released: D inherits nothing
          const d = yield* Effect.fork(Effect.gen(function*() {
            // D forks E, which takes M
            const e = yield* Effect.fork(
              OrderedLock.withLock(m, Effect.zipRight(Deferred.succeed(eHolds, undefined), Deferred.await(eDone)))
            )
            yield* Deferred.await(eHolds)
            // D forks F while its sibling E holds M: F must not inherit M (K, rank 2, is legal for it)
            const exit = yield* Effect.flatMap(
              Effect.fork(Effect.exit(OrderedLock.withLock(k, Effect.succeed("ok")))),
              Fiber.join
            )
            yield* Deferred.succeed(eDone, undefined)
            yield* Fiber.join(e)
            return exit
          }))
          return yield* Fiber.join(d)
        }))
      )
      yield* Deferred.succeed(goD, undefined)
      assert.deepStrictEqual(yield* Fiber.join(c), Exit.succeed("ok"))
      yield* assertNoLeaks
    }).pipe(Effect.provide(Strict)))

  it.effect("a worker forked at startup wraps its acquisition in Effect.timeout (which forks): it waits", () =>
    Effect.gen(function*() {
      const config = yield* OrderedLock.make({ name: "config", rank: 1 })
      const db = yield* OrderedLock.make({ name: "db", rank: 5 })
      yield* OrderedLock.withLock(config, Effect.void) // main used a lock once at startup
      const go = yield* Deferred.make<void>()
      const worker = yield* Effect.fork(Effect.zipRight(
        Deferred.await(go),
        Effect.exit(Effect.timeout(OrderedLock.withLock(db, Effect.succeed("worker wrote")), "1 second"))
      ))
      // later, main holds db for a moment; the worker simply waits for it
      yield* OrderedLock.withLock(db, Effect.zipRight(Deferred.succeed(go, undefined), untilWaitingOrDone(db, worker)))
      assert.deepStrictEqual(yield* Fiber.join(worker), Exit.succeed("worker wrote"))
      yield* assertNoLeaks
    }).pipe(Effect.provide(Strict)))

  it.effect("a listener worker forked by a subscriber that holds nothing: a delivery's hook fiber waits for the lock", () =>
    // the state-machine listener shape: the subscriber used the machine lock once, forks a worker (forkScoped), the
    // worker forks one hook fiber per delivery, and the subscriber holds the lock during a later delivery
    Effect.scoped(Effect.gen(function*() {
      const state = yield* OrderedLock.make({ name: "StateMachine.state", rank: 1 })
      yield* OrderedLock.withLock(state, Effect.void)
      const deliveries = yield* Deferred.make<void>()
      const worker = yield* Effect.forkScoped(Effect.gen(function*() {
        yield* Deferred.await(deliveries)
        const hook = yield* Effect.fork(OrderedLock.withLock(state, Effect.succeed("committed")))
        return yield* Fiber.await(hook)
      }))
      yield* OrderedLock.withLock(
        state,
        Effect.zipRight(Deferred.succeed(deliveries, undefined), untilWaitingOrDone(state, worker))
      )
      assert.deepStrictEqual(yield* Fiber.join(worker), Exit.succeed("committed"))
      yield* assertNoLeaks
    })).pipe(Effect.provide(Strict)))

  it.effect("a child forked while the parent holds L still inherits it (held-by-ancestor), and its own forks too", () =>
    Effect.gen(function*() {
      const l = yield* OrderedLock.make({ name: "L", rank: 1 })
      const exits = yield* OrderedLock.withLock(
        l,
        Effect.gen(function*() {
          const child = yield* Effect.fork(Effect.exit(OrderedLock.withLock(l, Effect.void)))
          const grandchild = yield* Effect.fork(
            Effect.flatMap(Effect.fork(Effect.exit(OrderedLock.withLock(l, Effect.void))), Fiber.join)
          )
          return [yield* Fiber.join(child), yield* Fiber.join(grandchild)] as const
        })
      )
      for (const exit of exits) assert.strictEqual(expectFailure(exit, "LockOrderViolation").rule, "held-by-ancestor")
      yield* assertNoLeaks
    }).pipe(Effect.provide(Strict)))

  it.effect("a child forked by a fiber whose inherited holds were all released inherits nothing", () =>
    Effect.gen(function*() {
      const l = yield* OrderedLock.make({ name: "L", rank: 1 })
      const go = yield* Deferred.make<void>()
      // the child inherits L, which the parent releases before the child forks
      const child = yield* OrderedLock.withLock(
        l,
        Effect.fork(Effect.zipRight(
          Deferred.await(go),
          Effect.flatMap(Effect.fork(OrderedLock.withLock(l, Effect.succeed("ok"))), Fiber.join)
        ))
      )
      yield* Deferred.succeed(go, undefined)
      assert.strictEqual(yield* Fiber.join(child), "ok")
      yield* assertNoLeaks
    }).pipe(Effect.provide(Strict)))
})

describe("OrderedLock.forkDetached", () => {
  it.effect("the child inherits none of the parent's held locks: it waits for them instead of failing", () =>
    Effect.gen(function*() {
      const low = yield* OrderedLock.make({ name: "low", rank: 1 })
      const high = yield* OrderedLock.make({ name: "high", rank: 5 })
      const order: Array<string> = []
      const fiber = yield* OrderedLock.withLock(
        high,
        Effect.gen(function*() {
          // a plain fork would fail: held-by-ancestor on high, rank-inversion on low
          const detached = yield* OrderedLock.forkDetached(
            OrderedLock.withLock(low, OrderedLock.withLock(high, Effect.sync(() => order.push("child"))))
          )
          yield* untilWaitingOrDone(high, detached)
          order.push("parent")
          return detached
        })
      )
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(order, ["parent", "child"])
      yield* assertNoLeaks
    }).pipe(Effect.provide(Strict)))

  it.effect("the child does not own the parent's locks, and the parent's held set is untouched", () =>
    Effect.gen(function*() {
      const l = yield* OrderedLock.make({ name: "L", rank: 1 })
      const result = yield* OrderedLock.withLock(
        l,
        Effect.gen(function*() {
          const inChild = yield* Effect.flatMap(OrderedLock.forkDetached(OrderedLock.heldByCurrentFiber(l)), Fiber.join)
          return [inChild, yield* OrderedLock.heldByCurrentFiber(l)] as const
        })
      )
      assert.deepStrictEqual(result, [false, true])
      yield* assertNoLeaks
    }).pipe(Effect.provide(Strict)))
})
