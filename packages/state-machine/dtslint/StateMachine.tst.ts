import { Channels, Definition, Presets, StateMachine } from "@core-stability/state-machine"
import type { StateMachineError, TransitionRecord } from "@core-stability/state-machine"
import type { Effect, Scope } from "effect"
import { Schema } from "effect"
import { describe, expect, test } from "tstyche"

const Job = Definition.unsafeMake({
  states: ["Queued", "Running", "Done", "Failed"],
  initial: "Queued",
  transitions: { Queued: ["Running"], Running: ["Done"], Done: ["Queued"], Failed: ["Queued"] },
  fromAny: ["Failed"]
})
type Job = typeof Job

/** "Start" is never a target: nothing leads back to it. */
const OneWay = Definition.unsafeMake({
  states: ["Start", "Middle", "End"],
  initial: "Start",
  transitions: { Start: ["Middle"], Middle: ["End"], End: ["Middle"] }
})

declare const machine: StateMachine.StateMachine<Job>
declare const oneWay: StateMachine.StateMachine<typeof OneWay>

describe("Definition", () => {
  test("states and per-state targets are inferred from a static table", () => {
    expect<Definition.State<Job>>().type.toBe<"Queued" | "Running" | "Done" | "Failed">()
    expect<Definition.TargetOf<Job, "Queued">>().type.toBe<"Running" | "Failed">()
    expect<Definition.TargetOf<Job, "Failed">>().type.toBe<"Queued">()
    expect<Definition.Target<typeof OneWay>>().type.toBe<"Middle" | "End">()
    expect(OneWay.initial).type.toBe<"Start" | "Middle" | "End">()
  })

  test("a table naming an unknown state does not compile", () => {
    expect(Definition.unsafeMake).type.not.toBeCallableWith({
      states: ["A", "B"],
      initial: "A",
      transitions: { A: ["C"] }
    })
    expect(Definition.unsafeMake).type.not.toBeCallableWith({
      states: ["A", "B"],
      initial: "Z",
      transitions: { A: ["B"], B: ["A"] }
    })
    expect(Definition.unsafeMake).type.not.toBeCallableWith({
      states: ["A", "B"],
      initial: "A",
      transitions: { A: ["B"], B: ["A"], Q: ["A"] }
    })
  })

  test("states given as a Schema.Literal", () => {
    const SwitchState = Schema.Literal("Off", "On")
    const Switch = Definition.unsafeMake({
      states: SwitchState,
      initial: "Off",
      transitions: { Off: ["On"], On: ["Off"] }
    })
    expect(Switch.initial).type.toBe<"Off" | "On">()
  })

  test("make is effectful and fails with InvalidDefinition", () => {
    expect(Definition.make({ states: ["A"], initial: "A", transitions: {}, final: ["A"] })).type.toBe<
      Effect.Effect<Definition.Definition<{ readonly A: never }>, StateMachineError.InvalidDefinition>
    >()
  })
})

describe("StateMachine", () => {
  test("transitionTo: the record is typed by the states, the error is TransitionError", () => {
    expect(StateMachine.transitionTo(machine, "Running")).type.toBe<
      Effect.Effect<TransitionRecord.TransitionRecord<Definition.State<Job>>, StateMachineError.TransitionError>
    >()
    expect(machine.pipe(StateMachine.transitionTo("Done"))).type.toBe<
      Effect.Effect<TransitionRecord.TransitionRecord<Definition.State<Job>>, StateMachineError.TransitionError>
    >()
  })

  test("an impossible target does not compile (data-first and piped)", () => {
    expect(StateMachine.transitionTo).type.not.toBeCallableWith(machine, "Sleeping")
    expect(StateMachine.transitionTo).type.not.toBeCallableWith(oneWay, "Start")
    expect(StateMachine.transitionTo).type.toBeCallableWith(oneWay, "End")
    expect(StateMachine.transitionTo("Sleeping")).type.not.toBeCallableWith(machine)
    expect(StateMachine.transitionTo("Start")).type.not.toBeCallableWith(oneWay)
    expect(StateMachine.transitionTo("Middle")).type.toBeCallableWith(oneWay)
  })

  test("compare-and-set: only pairs of the table compile", () => {
    expect(StateMachine.transition(machine, "Queued", "Running")).type.toBe<
      Effect.Effect<TransitionRecord.TransitionRecord<Definition.State<Job>>, StateMachineError.CompareAndSetError>
    >()
    expect(StateMachine.transition).type.toBeCallableWith(machine, "Running", "Failed")
    expect(StateMachine.transition).type.not.toBeCallableWith(machine, "Queued", "Done")
    expect(StateMachine.transition).type.not.toBeCallableWith(machine, "Nowhere", "Done")
    expect(StateMachine.transition("Queued", "Done")).type.not.toBeCallableWith(machine)
    expect(StateMachine.transition("Queued", "Running")).type.toBeCallableWith(machine)
  })

  test("hooks are typed by the machine's states", () => {
    expect(StateMachine.make).type.toBeCallableWith(Job, {
      validators: [{ name: "v", from: "Queued", to: "*", predicate: () => true }]
    })
    expect(StateMachine.make).type.not.toBeCallableWith(Job, {
      validators: [{ name: "v", from: "Paused", to: "*", predicate: () => true }]
    })
    expect(StateMachine.make).type.not.toBeCallableWith(Job, {
      invariants: [{ name: "i", state: "Paused", predicate: () => true }]
    })
  })

  test("rollback, subscribe and get", () => {
    expect(StateMachine.rollback(machine)).type.toBe<
      Effect.Effect<
        TransitionRecord.TransitionRecord<Definition.State<Job>>,
        StateMachineError.NothingToRollback | StateMachineError.CompensationFailed
      >
    >()
    expect(StateMachine.subscribe(machine, (record) => {
      expect(record.to).type.toBe<Definition.State<Job>>()
      return Effect_void
    })).type.toBe<Effect.Effect<void, never, Scope.Scope>>()
    expect(StateMachine.get(machine)).type.toBe<Effect.Effect<Definition.State<Job>>>()
  })
})

describe("Channels and Presets", () => {
  test("channel keys are typed", () => {
    const channels = Channels.unsafeMake(Presets.RecoveryChannel, { keys: ["left", "right"] })
    expect(Channels.get(channels, "left")).type.toBe<StateMachine.StateMachine<typeof Presets.RecoveryChannel>>()
    expect(Channels.get).type.not.toBeCallableWith(channels, "center")
    expect<Presets.RecoveryChannelState>().type.toBe<
      "Idle" | "StoppingCapture" | "FlushingBuffers" | "Reinitializing" | "Verifying" | "Completed" | "Failed"
    >()
  })

  test("preset state unions", () => {
    expect<Presets.CleanupPhaseState>().type.toBe<
      | "NotStarted"
      | "Initiating"
      | "StoppingCapture"
      | "FlushingStorage"
      | "ReleasingResources"
      | "ClosingLogs"
      | "Completed"
      | "Failed"
    >()
    expect<Definition.TargetOf<typeof Presets.Recovery, "Idle">>().type.toBe<"Initiating" | "Failed">()
    expect<Definition.TargetOf<typeof Presets.Component, "Idle">>().type.toBe<"Initiating" | "Stopping" | "Error">()
  })
})

declare const Effect_void: Effect.Effect<void>
