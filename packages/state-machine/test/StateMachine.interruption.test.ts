/**
 * Regressions for interruptions that land between two steps of a transition, found by `Explore` seeds (a concurrency
 * bug found by a seed becomes a test with that seed, plus a broader exploration).
 */
import { Definition, StateMachine } from "@core-stability/state-machine"
import { Explore } from "@core-stability/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Ref, Scope } from "effect"

const Pair = Definition.unsafeMake({
  name: "interruption",
  states: ["A", "B"],
  initial: "A",
  transitions: { A: ["B"], B: ["A"] }
})

/**
 * A transition to `B`, whose effectful invariant never holds, interrupted right after it started: whatever step the
 * interruption lands on, the machine must end in `A` (the `to` of the last committed entry, or the initial state)
 * and must not have committed anything.
 */
const interruptedSlowCommit = Effect.gen(function*() {
  const machine = yield* StateMachine.make(Pair, {
    invariants: [{ name: "never", state: "B", effect: () => Effect.succeed(false).pipe(Effect.delay("1 millis")) }]
  })
  const fiber = yield* Effect.fork(Effect.either(StateMachine.transitionTo(machine, "B")))
  yield* Effect.yieldNow()
  yield* Fiber.interrupt(fiber)
  const state = yield* StateMachine.get(machine)
  const history = yield* StateMachine.history(machine)
  const committed = history.filter((entry) => entry.success)
  const expected = committed.at(-1)?.to ?? "A"
  assert.strictEqual(
    state,
    expected,
    `state ${state}, last committed entry says ${expected}: ${JSON.stringify(history)}`
  )
  assert.deepStrictEqual(committed, [])
  assert.strictEqual(state, "A")
})

/**
 * A validator that never ends (and counts itself while it runs), its transition interrupted right after it started:
 * the validator's fiber must be interrupted with its caller, whatever step the interruption lands on.
 */
const interruptedValidator = Effect.gen(function*() {
  const running = yield* Ref.make(0)
  const machine = yield* StateMachine.make(Pair, {
    validators: [{
      name: "never-ends",
      from: "A",
      to: "B",
      effect: () =>
        Effect.acquireUseRelease(
          Ref.update(running, (n) => n + 1),
          () => Effect.never,
          () => Ref.update(running, (n) => n - 1)
        )
    }]
  })
  const fiber = yield* Effect.fork(StateMachine.transitionTo(machine, "B"))
  yield* Effect.yieldNow()
  yield* Fiber.interrupt(fiber)
  for (let i = 0; i < 500; i++) yield* Effect.yieldNow()
  yield* Effect.sleep("30 millis")
  assert.strictEqual(yield* Ref.get(running), 0, "validator fibers still running after the caller was interrupted")
  assert.strictEqual(yield* StateMachine.get(machine), "A")
})

/**
 * A listener whose delivery never ends (and counts itself while it runs), its subscription scope closed right after
 * the notification: the delivery's fiber must not outlive the subscription.
 */
const closedSubscription = Effect.gen(function*() {
  const running = yield* Ref.make(0)
  const machine = yield* StateMachine.make(Pair)
  const scope = yield* Scope.make()
  yield* Scope.extend(
    StateMachine.subscribe(machine, () =>
      Effect.acquireUseRelease(
        Ref.update(running, (n) => n + 1),
        () => Effect.never,
        () => Ref.update(running, (n) => n - 1)
      ), { timeout: "1 minute" }),
    scope
  )
  yield* StateMachine.transitionTo(machine, "B")
  yield* Effect.yieldNow()
  yield* Scope.close(scope, Exit.void)
  for (let i = 0; i < 500; i++) yield* Effect.yieldNow()
  yield* Effect.sleep("30 millis")
  assert.strictEqual(yield* Ref.get(running), 0, "listener deliveries still running after their scope closed")
})

// Live clock: the explored programs sleep, and Explore runs them under its own scheduler (see StateMachine.test.ts).
describe("StateMachine: an interruption between the slow-path commit and its revert handler", () => {
  it.live("replay seed 3: the state does not stay at a target whose invariant was never checked", () =>
    Explore.explore(interruptedSlowCommit, { seed: 3, runs: 1 }))

  it.live("every explored interruption of a slow-path commit leaves the committed state", () =>
    Effect.gen(function*() {
      const summary = yield* Explore.explore(interruptedSlowCommit, { runs: 300 })
      assert.isAbove(summary.distinctSchedules, 1)
    }), 120_000)
})

describe("StateMachine: a hook fiber interrupted with its caller", () => {
  it.live("replay seed 11: the validator is interrupted with the transition", () =>
    Explore.explore(interruptedValidator, { seed: 11, runs: 1 }))

  it.live("every explored interruption of a transition interrupts its validator", () =>
    Effect.gen(function*() {
      const summary = yield* Explore.explore(interruptedValidator, { runs: 200 })
      assert.isAbove(summary.distinctSchedules, 1)
    }), 120_000)

  it.live("replay seed 9: closing a subscription interrupts the listener's delivery", () =>
    Explore.explore(closedSubscription, { seed: 9, runs: 1 }))

  it.live("every explored close of a subscription interrupts the listener's delivery", () =>
    Effect.gen(function*() {
      const summary = yield* Explore.explore(closedSubscription, { runs: 200 })
      assert.isAbove(summary.distinctSchedules, 1)
    }), 120_000)
})
