/**
 * Fault-injection hooks for tests: make step X fail, hang, run slowly, or fail its verification. Pass the faults to
 * `CleanupCoordinator.make({ faults })`. Hangs and delays go through the Effect `Clock`, so `TestClock` drives them
 * deterministically: a hung step times out exactly when the test adjusts the clock past its timeout.
 *
 * @example
 * ```ts
 * import { CleanupCoordinator, CleanupFaults } from "@core-stability/cleanup"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const faults = yield* CleanupFaults.make
 *   const coordinator = yield* CleanupCoordinator.make({ faults })
 *   yield* coordinator.register({ name: "flush", run: Effect.void })
 *   yield* CleanupFaults.inject(faults, "flush", CleanupFaults.Fault.Fail(), { times: 1 })
 *   const report = yield* coordinator.shutdown // "flush" is Failed with an InjectedFaultError
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type { Inspectable } from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import * as internal from "./internal/faults.js"

/**
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * A fault:
 *
 * - `Fail`: the run fails with `InjectedFaultError` instead of running.
 * - `Hang`: the run never completes (interruptibly), so the step times out.
 * - `Delay`: the run starts after `duration` (read through the `Clock`).
 * - `FailVerification`: a verification attempt fails with `InjectedFaultError`; a step without `verify` gets one.
 *
 * @since 0.1.0
 * @category models
 */
export type Fault = Data.TaggedEnum<{
  Fail: {}
  Hang: {}
  Delay: { readonly duration: Duration.DurationInput }
  FailVerification: {}
}>

/**
 * Constructors and matchers for `Fault`: `Fault.Fail()`, `Fault.Hang()`, `Fault.Delay({ duration: "2 seconds" })`,
 * `Fault.FailVerification()`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const Fault: Data.TaggedEnum.Constructor<Fault> = internal.Fault

/**
 * A table of faults by step name. A step has at most one run fault (`Fail`, `Hang` or `Delay`) and one verification
 * fault at a time; injecting again replaces it.
 *
 * @since 0.1.0
 * @category models
 */
export interface CleanupFaults extends Pipeable, Inspectable {
  readonly [TypeId]: TypeId
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isCleanupFaults: (u: unknown) => u is CleanupFaults = internal.isCleanupFaults

/**
 * An empty fault table.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<CleanupFaults> = internal.make

/**
 * An empty fault table, synchronously.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: () => CleanupFaults = internal.unsafeMake

/**
 * Injects `fault` into `step`. `times` limits how many runs (for `FailVerification`: how many verification attempts)
 * it affects; by default every one. Injecting into a name that is not registered is allowed (it may be registered
 * later).
 *
 * @since 0.1.0
 * @category testing
 */
export const inject: {
  (
    step: string,
    fault: Fault,
    options?: { readonly times?: number | undefined } | undefined
  ): (self: CleanupFaults) => Effect.Effect<void>
  (
    self: CleanupFaults,
    step: string,
    fault: Fault,
    options?: { readonly times?: number | undefined } | undefined
  ): Effect.Effect<void>
} = internal.inject

/**
 * Removes the faults of `step`, or every fault without a step.
 *
 * @since 0.1.0
 * @category testing
 */
export const clear: {
  (step?: string | undefined): (self: CleanupFaults) => Effect.Effect<void>
  (self: CleanupFaults, step?: string | undefined): Effect.Effect<void>
} = internal.clear
