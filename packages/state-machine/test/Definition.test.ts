import { Definition, Presets, StateMachineError } from "@core-stability/state-machine"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"

describe("Definition", () => {
  it("builds a valid table, with fromAny rules that never loop", () => {
    const def = Definition.unsafeMake({
      name: "door",
      states: ["Closed", "Open", "Broken"],
      initial: "Closed",
      transitions: { Closed: ["Open"], Open: ["Closed"] },
      fromAny: ["Broken"],
      final: ["Broken"]
    })
    assert.deepStrictEqual(def.states, ["Closed", "Open", "Broken"])
    assert.deepStrictEqual(Definition.targets(def, "Closed"), ["Open", "Broken"])
    assert.deepStrictEqual(Definition.targets(def, "Broken"), [])
    assert.isTrue(Definition.canTransition(def, "Open", "Broken"))
    assert.isFalse(Definition.canTransition(def, "Broken", "Broken"))
    assert.isFalse(Definition.canTransition(def, "Closed", "Closed"))
    assert.isFalse(Definition.canTransition(def, "Nope", "Open"))
  })

  it("reports every problem at once: unknown, unreachable, no exit, duplicates, reserved names", () => {
    const problems = Definition.validate({
      states: ["A", "B", "C", "D", "A", "*"] as Array<string>,
      initial: "A",
      transitions: { A: ["B", "X"], B: ["A"], Y: ["A"] },
      final: ["Z"]
    })
    const tags = problems.map((p) => `${p._tag}:${p.state}`)
    assert.includeMembers(tags, [
      "DuplicateState:A",
      "ReservedName:*",
      "UnknownState:X",
      "UnknownState:Y",
      "UnknownState:Z",
      "UnreachableState:C",
      "UnreachableState:D",
      "UnreachableState:*",
      "NoExit:C",
      "NoExit:D"
    ])
  })

  it("reports an unknown initial state", () => {
    const problems = Definition.validate({
      states: ["A"] as Array<string>,
      initial: "Q",
      transitions: {},
      final: ["A"]
    })
    assert.deepStrictEqual(problems, [{ _tag: "UnknownInitial", state: "Q" }])
  })

  it.effect("make fails with InvalidDefinition listing the problems; unsafeMake throws it", () =>
    Effect.gen(function*() {
      const options = {
        name: "bad",
        states: ["Idle", "Running", "Stopped"],
        initial: "Idle",
        transitions: { Idle: ["Running"], Running: ["Stopped"] }
      } as const
      const error = yield* Effect.flip(Definition.make(options))
      assert.strictEqual(error._tag, "InvalidDefinition")
      assert.deepStrictEqual(error.problems, [{ _tag: "NoExit", state: "Stopped" }])
      assert.include(error.message, "state Stopped has no exit and is not declared final")
      assert.throws(() => Definition.unsafeMake(options), StateMachineError.InvalidDefinition)
    }))

  it("the \"* -> Failed\" rule gives every state an exit and makes Failed reachable", () => {
    const problems = Definition.validate({
      states: ["Idle", "Done", "Failed"],
      initial: "Idle",
      transitions: { Idle: ["Done"], Failed: ["Idle"] },
      fromAny: ["Failed"]
    })
    assert.deepStrictEqual(problems, [])
  })

  it("decide is the pure transition function", () => {
    const allowed = Definition.decide(Presets.Recovery, "Idle", "Initiating")
    assert.isTrue(Either.isRight(allowed) && allowed.right === "Initiating")
    const refused = Definition.decide(Presets.Recovery, "Idle", "Completed")
    assert.isTrue(Either.isLeft(refused))
    if (Either.isLeft(refused)) {
      assert.strictEqual(refused.left._tag, "InvalidTransition")
      assert.deepStrictEqual(refused.left.allowed, ["Initiating", "Failed"])
      assert.include(refused.left.message, "Invalid transition: Idle -> Completed")
    }
  })

  it("accepts a Schema.Literal of states and keeps it as the states' schema", () => {
    const States = Schema.Literal("Off", "On")
    const def = Definition.unsafeMake({ states: States, initial: "Off", transitions: { Off: ["On"], On: ["Off"] } })
    assert.deepStrictEqual(def.states, ["Off", "On"])
    assert.strictEqual(def.schema, States)
    assert.isTrue(Schema.is(def.schema)("On"))
    assert.isFalse(Schema.is(def.schema)("Dim"))
  })

  it("renders a Mermaid state diagram", () => {
    const def = Definition.unsafeMake({
      name: "door",
      states: ["Closed", "Open", "Broken down"],
      initial: "Closed",
      transitions: { Closed: ["Open"], Open: ["Closed"] },
      fromAny: ["Broken down"],
      final: ["Broken down"]
    })
    assert.strictEqual(
      Definition.toMermaid(def, { direction: "LR" }),
      [
        "stateDiagram-v2",
        "  direction LR",
        "  state \"Broken down\" as Broken_down",
        "  [*] --> Closed",
        "  Closed --> Open",
        "  Open --> Closed",
        "  state \"any state\" as __any_state__",
        "  __any_state__ --> Broken_down: from any state",
        "  classDef anyState stroke-dasharray: 4 4",
        "  class __any_state__ anyState",
        "  Broken_down --> [*]"
      ].join("\n")
    )
  })
})
