import { assert, describe, it, layer } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Option, Scope } from "effect"
import * as LeakCheck from "../src/LeakCheck.js"

const leaksOf = <A, E>(exit: Exit.Exit<A, E | LeakCheck.LeakDetected>): LeakCheck.LeakDetected => {
  assert.isTrue(Exit.isFailure(exit))
  const failure = Cause.failureOption((exit as Exit.Failure<A, E>).cause)
  assert.isTrue(failure._tag === "Some" && LeakCheck.isLeakDetected(failure.value))
  return (failure as { readonly value: LeakCheck.LeakDetected }).value
}

/** A probe over a set the test controls, like a lock table. */
const makeProbe = (name: string) => {
  const held = new Set<string>()
  const probe: LeakCheck.LeakProbe = {
    name,
    leaks: Effect.sync(() => Array.from(held, (key) => `lock "${key}" is held`))
  }
  return { held, probe }
}

describe("LeakCheck", () => {
  it.effect("passes a clean effect's value through", () =>
    Effect.gen(function*() {
      const value = yield* LeakCheck.expectNoLeaks(Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.succeed(1))
        yield* Effect.scoped(Effect.acquireRelease(Effect.void, () => Effect.void))
        return (yield* Fiber.join(fiber)) + 1
      }))
      assert.strictEqual(value, 2)
    }))

  it.effect("passes a failure through when nothing leaked", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(LeakCheck.expectNoLeaks(Effect.fail("boom")))
      assert.deepStrictEqual(exit, Exit.fail("boom"))
    }))

  it.effect("reports a daemon fiber that outlives the effect, then interrupts it", () =>
    Effect.gen(function*() {
      const stopped = yield* Deferred.make<void>()
      let worker: Fiber.RuntimeFiber<never> | undefined
      const exit = yield* Effect.exit(LeakCheck.expectNoLeaks(Effect.gen(function*() {
        worker = yield* Effect.forkDaemon(Effect.onInterrupt(Effect.never, () => Deferred.succeed(stopped, undefined)))
      })))
      const detected = leaksOf(exit)
      assert.strictEqual(detected.leaks.length, 1)
      assert.strictEqual(detected.leaks[0]!.kind, "fiber")
      assert.include(detected.leaks[0]!.description, `fiber #${worker!.id().id}`)
      assert.include(detected.leaks[0]!.description, "still alive")
      assert.include(detected.message, "expectNoLeaks: 1 leak(s) when the effect ended:")
      yield* Deferred.await(stopped)
    }))

  it.effect("reports a forked fiber left running and a nested one", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(LeakCheck.expectNoLeaks(Effect.gen(function*() {
        yield* Effect.fork(Effect.zipRight(Effect.fork(Effect.never), Effect.never))
        yield* Effect.yieldNow()
      })))
      const detected = leaksOf(exit)
      assert.deepStrictEqual(detected.leaks.map((leak) => leak.kind), ["fiber", "fiber"])
      assert.include(detected.leaks[1]!.description, "forked by #")
    }))

  it.effect("keeps leaked fibers alive when asked to", () =>
    Effect.gen(function*() {
      let worker: Fiber.RuntimeFiber<never> | undefined
      const exit = yield* Effect.exit(LeakCheck.expectNoLeaks(
        Effect.map(Effect.forkDaemon(Effect.never), (fiber) => {
          worker = fiber
        }),
        { interruptLeakedFibers: false }
      ))
      leaksOf(exit)
      yield* Effect.yieldNow()
      assert.isNull(worker!.unsafePoll())
      yield* Fiber.interrupt(worker!)
    }))

  it.effect("reports resources acquired into the effect's scope, then releases them", () =>
    Effect.gen(function*() {
      let released = 0
      const exit = yield* Effect.exit(LeakCheck.expectNoLeaks(Effect.gen(function*() {
        yield* Effect.acquireRelease(Effect.void, () => Effect.sync(() => released++))
        yield* Effect.addFinalizer(() => Effect.sync(() => released++))
        yield* Effect.forkScoped(Effect.never)
      })))
      const detected = leaksOf(exit)
      const scope = detected.leaks.find((leak) => leak.kind === "scope")
      assert.isDefined(scope)
      assert.include(scope!.description, "3 finalizer(s) never ran")
      assert.strictEqual(released, 2)
    }))

  it.effect("a forkScoped fiber that finished is not a scope leak", () =>
    Effect.gen(function*() {
      const value = yield* LeakCheck.expectNoLeaks(Effect.gen(function*() {
        const fiber = yield* Effect.forkScoped(Effect.succeed(5))
        return yield* Fiber.join(fiber)
      }))
      assert.strictEqual(value, 5)
    }))

  it.effect("reports scopes from makeScope left open and resources from track still held", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(LeakCheck.expectNoLeaks(Effect.gen(function*() {
        const closed = yield* LeakCheck.makeScope("request scope")
        yield* Scope.close(closed, Exit.void)
        const open = yield* LeakCheck.makeScope("session scope")
        yield* Scope.extend(LeakCheck.track("db connection"), open)
        yield* Effect.scoped(LeakCheck.track("released connection"))
      })))
      const detected = leaksOf(exit)
      assert.deepStrictEqual(detected.leaks.map((leak) => [leak.kind, leak.source]), [
        ["scope", "session scope"],
        ["resource", "db connection"]
      ])
      assert.include(detected.leaks[0]!.description, "1 finalizer(s) pending")
    }))

  it.effect("track and makeScope work outside expectNoLeaks", () =>
    Effect.gen(function*() {
      const scope = yield* LeakCheck.makeScope("plain")
      yield* Scope.extend(LeakCheck.track("plain resource"), scope)
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("reports what probes given per call report", () =>
    Effect.gen(function*() {
      const { held, probe } = makeProbe("locks")
      const exit = yield* Effect.exit(
        LeakCheck.expectNoLeaks(Effect.sync(() => held.add("accounts")), { probes: [probe] })
      )
      const detected = leaksOf(exit)
      assert.deepStrictEqual(detected.leaks, [{
        kind: "probe",
        source: "locks",
        description: `lock "accounts" is held`
      }])
      assert.include(detected.message, `[probe: locks] lock "accounts" is held`)
    }))

  it.effect("keeps the effect's own failure next to the leaks", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        LeakCheck.expectNoLeaks(Effect.zipRight(Effect.forkDaemon(Effect.never), Effect.fail("boom")))
      )
      const detected = leaksOf(exit)
      assert.isTrue(Option.isSome(detected.failure))
      assert.include(detected.message, "the effect itself also failed")
    }))

  const installed = makeProbe("installed locks")
  layer(LeakCheck.layer([installed.probe]))("with probes installed by a layer", (it) => {
    it.effect("reports what installed probes report", () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(LeakCheck.expectNoLeaks(Effect.sync(() => installed.held.add("ledger"))))
        installed.held.clear()
        assert.deepStrictEqual(leaksOf(exit).leaks.map((leak) => leak.source), ["installed locks"])
        assert.strictEqual((yield* LeakCheck.LeakProbes).length, 1)
      }))
  })
})
