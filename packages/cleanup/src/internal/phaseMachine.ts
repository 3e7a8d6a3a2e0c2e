import { Presets, StateMachine } from "@core-stability/state-machine"
import * as Effect from "effect/Effect"
import type { Phase } from "../CleanupStep.js"

/**
 * The coordinator's view of its `CleanupPhase` machine: one run walks `NotStarted -> Initiating -> StoppingCapture ->
 * FlushingStorage -> ReleasingResources -> ClosingLogs -> Completed` (or `-> Failed`), every work phase in order,
 * and `reset` forces `NotStarted` (recorded as a reset in the machine's history).
 *
 * @internal
 */
export interface PhaseMachine {
  readonly machine: StateMachine.StateMachine<typeof Presets.CleanupPhase>
  readonly current: Effect.Effect<Presets.CleanupPhaseState>
  readonly initiate: Effect.Effect<void, unknown>
  readonly enter: (phase: Phase) => Effect.Effect<void, unknown>
  readonly complete: Effect.Effect<void, unknown>
  readonly fail: Effect.Effect<void, unknown>
  readonly reset: Effect.Effect<void>
}

/** @internal */
export const make = (
  shared: StateMachine.StateMachine<typeof Presets.CleanupPhase> | undefined
): Effect.Effect<PhaseMachine> =>
  Effect.map(
    shared === undefined ? StateMachine.make(Presets.CleanupPhase) : Effect.succeed(shared),
    (machine): PhaseMachine => ({
      machine,
      current: StateMachine.get(machine),
      initiate: Effect.asVoid(StateMachine.transitionTo(machine, "Initiating", { reason: "cleanup run started" })),
      enter: (phase) => Effect.asVoid(StateMachine.transitionTo(machine, phase, { reason: "cleanup phase" })),
      complete: Effect.asVoid(StateMachine.transitionTo(machine, "Completed", { reason: "every step succeeded" })),
      fail: Effect.asVoid(StateMachine.transitionTo(machine, "Failed", { reason: "a cleanup step did not succeed" })),
      reset: Effect.asVoid(StateMachine.reset(machine, { reason: "cleanup coordinator reset" }))
    })
  )
