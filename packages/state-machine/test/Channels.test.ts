import { Channels, Presets, StateMachine } from "@core-stability/state-machine"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Metric, Ref } from "effect"

describe("Channels", () => {
  it.effect("#12 channels have independent states and histories (one entry per channel)", () =>
    Effect.gen(function*() {
      const channels = yield* Channels.make(Presets.RecoveryChannel, { keys: Presets.recoveryChannelKeys })
      const left = Channels.get(channels, "left")
      const right = Channels.get(channels, "right")
      yield* StateMachine.transitionTo(left, "StoppingCapture")
      assert.deepStrictEqual(yield* Channels.states(channels), { left: "StoppingCapture", right: "Idle" })
      yield* StateMachine.transitionTo(right, "StoppingCapture")
      yield* StateMachine.transitionTo(right, "FlushingBuffers")
      assert.deepStrictEqual(yield* Channels.states(channels), { left: "StoppingCapture", right: "FlushingBuffers" })
      assert.strictEqual((yield* StateMachine.history(left)).length, 1)
      assert.strictEqual((yield* StateMachine.history(right)).length, 2)
      assert.deepStrictEqual([left.channel, right.channel], ["left", "right"])
    }))

  it.effect("the channel table is separate from the system table: Idle -> StoppingCapture is a channel move only", () =>
    Effect.gen(function*() {
      const system = yield* StateMachine.make(Presets.Recovery)
      const channels = yield* Channels.make(Presets.RecoveryChannel, { name: "recovery", keys: ["left", "right"] })
      const refused = yield* Effect.flip(StateMachine.transitionTo(system, "StoppingCapture"))
      assert.strictEqual(refused._tag, "InvalidTransition")
      yield* StateMachine.transitionTo(Channels.get(channels, "left"), "StoppingCapture")
      assert.strictEqual(yield* StateMachine.get(system), "Idle")
    }))

  it.effect("a channel can be gated on the system state with an explicit validator", () =>
    Effect.gen(function*() {
      const system = yield* StateMachine.make(Presets.Recovery)
      const channels = yield* Channels.make(Presets.RecoveryChannel, {
        keys: ["left", "right"],
        validators: [{
          name: "system-is-stopping-capture",
          from: "Idle",
          to: "StoppingCapture",
          predicate: (context) => {
            const state = StateMachine.unsafeGet(system)
            return state === "StoppingCapture" ||
              state === `StoppingCapture${context.channel === "left" ? "Left" : "Right"}`
          }
        }]
      })
      const left = Channels.get(channels, "left")
      assert.strictEqual(
        (yield* Effect.flip(StateMachine.transitionTo(left, "StoppingCapture")))._tag,
        "ValidationFailed"
      )
      yield* StateMachine.transitionTo(system, "Initiating")
      yield* StateMachine.transitionTo(system, "StoppingCaptureLeft")
      yield* StateMachine.transitionTo(left, "StoppingCapture")
      const right = Channels.get(channels, "right")
      assert.strictEqual(
        (yield* Effect.flip(StateMachine.transitionTo(right, "StoppingCapture")))._tag,
        "ValidationFailed"
      )
    }))

  it.effect("resetting one channel leaves the others alone", () =>
    Effect.gen(function*() {
      const channels = yield* Channels.make(Presets.RecoveryChannel, { keys: ["left", "right"] })
      for (const key of ["left", "right"] as const) {
        yield* StateMachine.transitionTo(Channels.get(channels, key), "StoppingCapture")
        yield* StateMachine.transitionTo(Channels.get(channels, key), "FlushingBuffers")
      }
      const record = yield* Channels.reset(channels, "left")
      assert.deepStrictEqual([record.kind, record.from, record.to], ["reset", "FlushingBuffers", "Idle"])
      assert.deepStrictEqual(yield* Channels.states(channels), { left: "Idle", right: "FlushingBuffers" })
      assert.strictEqual((yield* StateMachine.history(Channels.get(channels, "right"))).length, 2)
      yield* StateMachine.rollback(Channels.get(channels, "right"))
      assert.deepStrictEqual(yield* Channels.states(channels), { left: "Idle", right: "StoppingCapture" })
    }))

  it.effect("#13 metrics per channel: each channel counts its own transitions, tagged by channel", () =>
    Effect.gen(function*() {
      const system = yield* StateMachine.make(Presets.Recovery, { name: "metrics-13" })
      const channels = yield* Channels.make(Presets.RecoveryChannel, { name: "metrics-13", keys: ["left", "right"] })
      yield* StateMachine.transitionTo(system, "Initiating")
      yield* StateMachine.transitionTo(Channels.get(channels, "left"), "StoppingCapture")
      yield* StateMachine.transitionTo(Channels.get(channels, "right"), "StoppingCapture")
      const stats = yield* Channels.stats(channels)
      assert.strictEqual(stats.left.transitions, 1)
      assert.strictEqual(stats.right.transitions, 1)
      assert.strictEqual(stats.left.successRate, 100)
      const systemStats = yield* StateMachine.stats(system)
      assert.strictEqual(systemStats.transitions + stats.left.transitions + stats.right.transitions, 3)
      const leftCount = yield* Metric.value(
        StateMachine.metrics.transitions.pipe(
          Metric.tagged("machine", "metrics-13"),
          Metric.tagged("channel", "left"),
          Metric.tagged("from", "Idle"),
          Metric.tagged("to", "StoppingCapture"),
          Metric.tagged("outcome", "success")
        )
      )
      assert.strictEqual(leftCount.count, 1)
    }))

  it.effect("hooks are shared and see the channel key", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const channels = yield* Channels.make(Presets.RecoveryChannel, {
        keys: ["left", "right"],
        validators: [{
          name: "log",
          from: "*",
          to: "*",
          effect: (context) =>
            Ref.update(seen, (xs) => [...xs, `${context.channel}:${context.to}`]).pipe(Effect.as(true))
        }]
      })
      yield* StateMachine.transitionTo(Channels.get(channels, "right"), "StoppingCapture")
      yield* StateMachine.transitionTo(Channels.get(channels, "left"), "Failed")
      assert.deepStrictEqual(yield* Ref.get(seen), ["right:StoppingCapture", "left:Failed"])
    }))

  it("rejects duplicate or missing keys and unknown channels", () => {
    assert.throws(() => Channels.unsafeMake(Presets.RecoveryChannel, { keys: [] }), /at least one key/)
    assert.throws(() => Channels.unsafeMake(Presets.RecoveryChannel, { keys: ["a", "a"] }), /listed twice/)
    const channels = Channels.unsafeMake(Presets.RecoveryChannel, { keys: ["a"] })
    assert.isTrue(Channels.isChannels(channels))
    assert.throws(
      () => Channels.get(channels as Channels.Channels<string, typeof Presets.RecoveryChannel>, "b"),
      /unknown channel "b"/
    )
  })
})
