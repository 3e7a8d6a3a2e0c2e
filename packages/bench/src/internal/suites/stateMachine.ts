import { Definition, StateMachine } from "@core-stability/state-machine"
import { Effect } from "effect"
import { createActor, setup } from "xstate"
import type { Benchmark } from "../../Benchmark.js"
import * as Harness from "../harness.js"

const states = ["S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9"] as const

type Ring = (typeof states)[number]

// A ring of 10 states, each moving to the next: every transition is allowed and none is ever a self-loop.
const Ring = Definition.unsafeMake({
  name: "bench.ring",
  states,
  initial: "S0",
  transitions: {
    S0: ["S1"],
    S1: ["S2"],
    S2: ["S3"],
    S3: ["S4"],
    S4: ["S5"],
    S5: ["S6"],
    S6: ["S7"],
    S7: ["S8"],
    S8: ["S9"],
    S9: ["S0"]
  }
})

const hooks = {
  validators: [{ name: "allowed", from: "*", to: "*", predicate: () => true }],
  invariants: [{ name: "known", state: "*", predicate: (context) => context.to.length > 0 }]
} satisfies StateMachine.Options<Ring>

const ringMachine = (historySize: number): StateMachine.StateMachine<typeof Ring> =>
  StateMachine.unsafeMake(Ring, { ...hooks, historySize })

// `count` transitions around the ring, starting from the machine's current state.
const transitions = (
  machine: StateMachine.StateMachine<typeof Ring>,
  count: number
): Effect.Effect<void, unknown> =>
  Effect.suspend(() => {
    let index = states.indexOf(StateMachine.unsafeGet(machine))
    return Harness.loop(
      count,
      Effect.suspend(() => {
        index = (index + 1) % states.length
        return StateMachine.transitionTo(machine, states[index]!)
      })
    )
  })

// The XState v5 equivalent: the same ring, the validator as a guard, the invariant as an entry action.
const xstateRing = setup({
  guards: { allowed: () => true },
  actions: {
    known: ({ self }) => {
      if (String(self.getSnapshot().value).length === 0) throw new Error("unknown state")
    }
  }
}).createMachine({
  id: "bench.ring",
  initial: "S0",
  states: Object.fromEntries(
    states.map((state, index) => [state, {
      entry: "known" as const,
      on: { NEXT: { target: states[(index + 1) % states.length]!, guard: "allowed" as const } }
    }])
  )
})

/** @internal */
export const vsXState: Benchmark = {
  id: "state-machine.vs-xstate",
  subject: "StateMachine.transitionTo around a 10-state ring, one predicate validator, one predicate invariant, " +
    "history on (1,000 entries)",
  baseline: "XState v5 createActor(machine).start() then send({ type: \"NEXT\" }) around the same ring, " +
    "the validator as a guard, the invariant as an entry action",
  unit: "ops/s",
  direction: "higher",
  target: 1,
  limits: "A transition is an Effect: it reads the state, runs the validator, commits with a history entry, stats " +
    "and metrics, and hands the record to listeners; XState's send is a synchronous function call with no history.",
  run: Effect.gen(function*() {
    const operations = yield* Harness.size(1_000, 20)
    let machine = ringMachine(1_000)
    let actor = createActor(xstateRing)
    return yield* Harness.compare({
      subject: {
        setup: () => {
          machine = ringMachine(1_000)
        },
        run: () => Effect.runPromise(transitions(machine, operations))
      },
      baseline: {
        setup: () => {
          actor = createActor(xstateRing).start()
        },
        run: () => {
          for (let i = 0; i < operations; i++) actor.send({ type: "NEXT" })
        },
        teardown: () => {
          actor.stop()
        }
      },
      unit: "ops/s",
      operations
    })
  })
}

/** @internal */
export const history100k: Benchmark = {
  id: "state-machine.history-100k",
  subject: "StateMachine.transitionTo with a full 100,000-entry history (10-state ring, one validator, one invariant)",
  baseline: "the same with a full 10-entry history",
  unit: "ns/op",
  direction: "lower",
  target: 1.1,
  limits: "History is a ring buffer: a full one overwrites its oldest slot, so its size can only matter through " +
    "cache misses.",
  run: Effect.gen(function*() {
    const operations = yield* Harness.size(1_000, 20)
    const large = yield* Harness.size(100_000, 1_000)
    const deep = ringMachine(large)
    const shallow = ringMachine(10)
    yield* transitions(deep, large).pipe(Effect.orDie)
    yield* transitions(shallow, 10).pipe(Effect.orDie)
    return yield* Harness.compare({
      subject: { run: Harness.runEffect(transitions(deep, operations)) },
      baseline: { run: Harness.runEffect(transitions(shallow, operations)) },
      unit: "ns/op",
      operations
    })
  })
}

/** @internal */
export const memory: Benchmark = {
  id: "state-machine.memory",
  subject: "StateMachine.unsafeMake of the 10-state ring with one validator and one invariant, default history " +
    "(1,000 entries), no transition yet: retained heap per machine",
  baseline: "XState v5 createActor(machine).start() of the same ring: retained heap per actor",
  unit: "bytes",
  direction: "lower",
  target: null,
  limits: "Reported only. A machine also owns its ordered lock, its stats and metric handles, and its history buffer.",
  run: Effect.gen(function*() {
    const count = yield* Harness.size(1_000, 50)
    return yield* Harness.memory({
      subject: { allocate: (instances) => Array.from({ length: instances }, () => ringMachine(1_000)) },
      baseline: { allocate: (instances) => Array.from({ length: instances }, () => createActor(xstateRing).start()) },
      count
    })
  })
}

/** @internal */
export const benchmarks: ReadonlyArray<Benchmark> = [vsXState, history100k, memory]
