/**
 * Helpers the `ComponentCoordinator` tests share: waiting, without letting time pass, for a condition or a state.
 */
import type { ComponentCoordinator } from "@core-stability/coordinator"
import { Effect } from "effect"

/** Lets the supervisor and listener fibers run until `done` holds (no time passes). */
export const eventually = (done: Effect.Effect<boolean>, what = "condition"): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let turn = 0; turn < 5_000; turn++) {
      if (yield* done) return
      yield* Effect.yieldNow()
    }
    return yield* Effect.dieMessage(`${what} never held`)
  })

/** Waits (no time passes) until component `id` of `coordinator` is in `state`. */
export const stateIs = (
  coordinator: ComponentCoordinator.ComponentCoordinator,
  id: string,
  state: ComponentCoordinator.ComponentState
) => eventually(Effect.map(Effect.orDie(coordinator.state(id)), (current) => current === state), `${id} is ${state}`)

/** Lets every runnable fiber run for a while (no time passes). */
export const settle = Effect.gen(function*() {
  for (let turn = 0; turn < 500; turn++) yield* Effect.yieldNow()
})
