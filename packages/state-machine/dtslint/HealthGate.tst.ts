import { Definition, HealthGate, StateMachine } from "@core-stability/state-machine"
import type { StateMachineError } from "@core-stability/state-machine"
import type { Effect } from "effect"
import { describe, expect, test } from "tstyche"

const Job = Definition.unsafeMake({
  states: ["Queued", "Running", "Done", "Failed"],
  initial: "Queued",
  transitions: { Queued: ["Running"], Running: ["Done"], Done: ["Queued"], Failed: ["Queued"] },
  fromAny: ["Failed"]
})
type JobState = Definition.State<typeof Job>

declare const gate: HealthGate.HealthGate
declare const machine: StateMachine.StateMachine<typeof Job>

describe("HealthGate", () => {
  test("constructors, checks and stats", () => {
    expect(HealthGate.make({ checks: [{ name: "a", check: () => null! as Effect.Effect<boolean, Error> }] })).type
      .toBe<Effect.Effect<HealthGate.HealthGate>>()
    expect(HealthGate.unsafeMake()).type.toBe<HealthGate.HealthGate>()
    expect(HealthGate.check(gate)).type.toBe<Effect.Effect<boolean, StateMachineError.Unhealthy>>()
    expect(HealthGate.stats(gate)).type.toBe<Effect.Effect<HealthGate.Stats>>()
    expect(HealthGate.register(gate, { name: "a", check: () => null! as Effect.Effect<boolean> })).type
      .toBe<Effect.Effect<void>>()
    expect(gate.pipe(HealthGate.unregister("a"))).type.toBe<Effect.Effect<boolean>>()
    expect(HealthGate.register).type.not.toBeCallableWith(gate, {
      name: "a",
      check: () => null! as Effect.Effect<string>
    })
  })

  test("the validator takes the machine's states from where it is used", () => {
    expect(HealthGate.validator(gate)).type.toBe<StateMachine.Validator<string>>()
    expect(HealthGate.validator<JobState>(gate, { to: "Running" })).type.toBe<StateMachine.Validator<JobState>>()
    expect(StateMachine.make(Job, { validators: [HealthGate.validator(gate, { from: "Queued", to: "Running" })] }))
      .type.toBe<Effect.Effect<StateMachine.StateMachine<typeof Job>>>()
    expect(StateMachine.addValidator(machine, HealthGate.validator(gate, { to: "Done" }))).type
      .toBe<Effect.Effect<void>>()
  })

  test("a validator naming an unknown state does not compile", () => {
    expect(HealthGate.validator<JobState>).type.not.toBeCallableWith(gate, { to: "Sleeping" })
    expect(HealthGate.validator<JobState>).type.not.toBeCallableWith(gate, { from: "Paused" })
    const anyState: StateMachine.Validator<string> = HealthGate.validator(gate)
    expect(StateMachine.make).type.not.toBeCallableWith(Job, { validators: [anyState] })
  })
})
