import { Definition, Presets, StateMachine } from "@core-stability/state-machine"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

describe("Presets", () => {
  it("every preset validates", () => {
    for (const preset of [Presets.Recovery, Presets.RecoveryChannel, Presets.Component, Presets.CleanupPhase]) {
      assert.isTrue(Definition.isDefinition(preset))
    }
  })

  it("Recovery keeps the original table: aborts to Idle, Failed from anywhere, Failed -> Idle only", () => {
    const def = Presets.Recovery
    for (const state of def.states) {
      if (state !== "Failed") assert.isTrue(Definition.canTransition(def, state, "Failed"), `${state} -> Failed`)
      if (state !== "Idle" && state !== "Failed") {
        assert.isTrue(Definition.canTransition(def, state, "Idle"), `${state} -> Idle`)
      }
    }
    assert.deepStrictEqual(Definition.targets(def, "Failed"), ["Idle"])
    assert.deepStrictEqual(Definition.targets(def, "StoppingCaptureRight"), [
      "FlushingBuffers",
      "FlushingBuffersLeft",
      "Idle",
      "Failed"
    ])
  })

  it.effect("Recovery runs the channel variants left then right", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Presets.Recovery)
      const path = [
        "Initiating",
        "StoppingCaptureLeft",
        "StoppingCaptureRight",
        "FlushingBuffersLeft",
        "FlushingBuffersRight",
        "Reinitializing",
        "VerifyingResources",
        "VerifyingComponents",
        "Verifying",
        "Completed",
        "Idle"
      ] as const
      for (const state of path) yield* StateMachine.transitionTo(machine, state)
      assert.strictEqual((yield* StateMachine.stats(machine)).successes, path.length)
      const error = yield* Effect.flip(StateMachine.transitionTo(machine, "StoppingCaptureRight"))
      assert.strictEqual(error._tag, "InvalidTransition")
    }))

  it.effect("Component: the lifecycle from Uninitialized, Error from anywhere and its recovery", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Presets.Component)
      for (
        const state of [
          "Initializing",
          "Running",
          "Paused",
          "Running",
          "StoppingCapture",
          "Stopping",
          "Stopped"
        ] as const
      ) {
        yield* StateMachine.transitionTo(machine, state)
      }
      yield* StateMachine.transitionTo(machine, "Error")
      yield* StateMachine.transitionTo(machine, "Initializing")
      assert.strictEqual(yield* StateMachine.get(machine), "Initializing")
      assert.isFalse(Definition.canTransition(Presets.Component, "Error", "Running"))
    }))

  it.effect("Component: an Idle component stops without being started (Idle -> Stopping, added to the original)", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(Definition.targets(Presets.Component, "Idle"), ["Initiating", "Stopping", "Error"])
      assert.isFalse(Definition.canTransition(Presets.Component, "Idle", "Stopped"))
      const machine = yield* StateMachine.make(Presets.Component)
      for (const state of ["Initializing", "Idle", "Stopping", "Stopped"] as const) {
        yield* StateMachine.transitionTo(machine, state)
      }
      const history = yield* StateMachine.history(machine)
      assert.deepStrictEqual(history.map((entry) => entry.to), ["Initializing", "Idle", "Stopping", "Stopped"])
      assert.isTrue(history.every((entry) => entry.success))
    }))

  it.effect("CleanupPhase can run again after Completed or Failed", () =>
    Effect.gen(function*() {
      const machine = yield* StateMachine.make(Presets.CleanupPhase)
      for (const phase of ["Initiating", "StoppingCapture", "FlushingStorage", "Completed", "NotStarted"] as const) {
        yield* StateMachine.transitionTo(machine, phase)
      }
      yield* StateMachine.transitionTo(machine, "Initiating")
      yield* StateMachine.transitionTo(machine, "Failed")
      yield* StateMachine.transitionTo(machine, "NotStarted")
      yield* StateMachine.transitionTo(machine, "Initiating")
      assert.strictEqual(yield* StateMachine.get(machine), "Initiating")
    }))

  it("every preset renders as a Mermaid diagram", () => {
    const diagram = Definition.toMermaid(Presets.Recovery)
    assert.isTrue(diagram.startsWith("stateDiagram-v2\n  [*] --> Idle"))
    assert.include(diagram, "StoppingCaptureLeft --> StoppingCaptureRight")
    assert.include(diagram, "__any_state__ --> Failed: from any state")
    assert.include(Definition.toMermaid(Presets.Component), "__any_state__ --> Error")
    assert.include(Definition.toMermaid(Presets.CleanupPhase), "Completed --> NotStarted")
  })
})
