/**
 * A health gate: a set of named component health checks that gate transitions, with per-check counts.
 *
 * `HealthGate.validator(gate)` is an ordinary `StateMachine.Validator` (`from: "*"`, `to: "*"` unless narrowed): every
 * transition it covers runs every registered check, in registration order, all of them even after one fails, so the
 * error names every unhealthy component. If any check returns `false`, fails, dies or throws, the validator fails with
 * `Unhealthy` and the transition fails with `ValidationFailed` (state unchanged; its `cause` holds the `Unhealthy`,
 * its message names the components). The gate counts runs, checks, failed checks and recoveries (a component whose
 * previous check failed and whose current one passes), per component and in total; `HealthGate.stats` reads them.
 *
 * The validator's timeout and retries are the machine's (or the ones given to `validator`): a retry runs every check
 * again and counts them again, so a component that fails and then passes on the retry counts one recovery. A timeout
 * interrupts the check in progress; the checks already finished stay counted. One gate may guard several machines
 * (channels, for instance); its counts are then their sum.
 *
 * This is the original's `register_component(name, obj)` with `obj.health_check()` run before every transition, and
 * its `get_health_metrics()` (total_checks, failed_checks, component_failures, recovery_count; origin.md, 3.1 #16).
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type { Inspectable } from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import * as internal from "./internal/healthGate.js"
import type * as StateMachine from "./StateMachine.js"
import type { Unhealthy } from "./StateMachineError.js"

/**
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = internal.TypeId as never

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * A set of named health checks. Obtain one with `make` / `unsafeMake`; every operation is a module function.
 *
 * @since 0.1.0
 * @category models
 */
export interface HealthGate extends Pipeable, Inspectable {
  readonly [TypeId]: TypeId
  /** The default validator name; used in `Unhealthy` and its message. */
  readonly name: string
}

/**
 * One component's health check: healthy when the effect succeeds with `true`. `false`, a failure, a defect or a throw
 * (from `check` itself too) is a failed check. The effect is built anew for every run.
 *
 * @since 0.1.0
 * @category models
 */
export interface Check {
  /** The component's name; unique within the gate. */
  readonly name: string
  readonly check: () => Effect.Effect<boolean, unknown>
}

/**
 * Options of `make` / `unsafeMake`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default `"health"`. */
  readonly name?: string | undefined
  readonly checks?: ReadonlyArray<Check> | undefined
}

/**
 * Narrows the gate's validator. Without `from` / `to` it guards every transition (`"*"`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ValidatorOptions<S extends string = string> {
  /** Default: the gate's name. */
  readonly name?: string | undefined
  readonly from?: NoInfer<S> | "*" | undefined
  readonly to?: NoInfer<S> | "*" | undefined
  /** For the whole run of every check; default: the machine's `hookTimeout`. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Default: the machine's `retry`. */
  readonly retry?: StateMachine.RetryPolicy | undefined
}

/**
 * One component's counts. `healthy` is the outcome of its latest check (`undefined` before the first);
 * `successRate` is a percentage (100 before the first check).
 *
 * @since 0.1.0
 * @category models
 */
export interface ComponentStats {
  readonly name: string
  readonly healthy: boolean | undefined
  readonly checks: number
  readonly failures: number
  readonly consecutiveFailures: number
  /** Times its check passed right after failing. */
  readonly recoveries: number
  readonly successRate: number
  /** `Tag: message` of its latest failure, or `"returned false"`. */
  readonly lastError: string | undefined
}

/**
 * A snapshot of a gate's counts, since it was made. The original's `get_health_metrics()`: `totalChecks` is
 * total_checks, `failedChecks` failed_checks, `components` (those with `failures > 0`) component_failures,
 * `recoveries` recovery_count. Rates are percentages (0-100, 100 when nothing was checked).
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly gate: string
  /** Runs of the gate (one per validator attempt). */
  readonly runs: number
  /** Runs with at least one failed check. */
  readonly rejections: number
  /** Checks run, over all components. */
  readonly totalChecks: number
  readonly failedChecks: number
  /** Passed checks / checks run x 100. */
  readonly successRate: number
  readonly recoveries: number
  /** Components whose latest check failed, in registration order. */
  readonly unhealthy: ReadonlyArray<string>
  /** Registered components, in registration order (an unregistered component's counts leave with it). */
  readonly components: ReadonlyArray<ComponentStats>
}

/**
 * Makes a gate. A duplicate check name is a defect (a programming error).
 *
 * @example
 * ```ts
 * import { HealthGate, Presets, StateMachine } from "@core-stability/state-machine"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const gate = yield* HealthGate.make({
 *     name: "components",
 *     checks: [
 *       { name: "capture", check: () => Effect.succeed(true) },
 *       { name: "storage", check: () => Effect.succeed(false) }
 *     ]
 *   })
 *   const recovery = yield* StateMachine.make(Presets.Recovery, { validators: [HealthGate.validator(gate)] })
 *   const refused = yield* Effect.either(StateMachine.transitionTo(recovery, "Initiating"))
 *   // Left(ValidationFailed): "... validator "components", 1 attempt): Unhealthy: storage (gate "components"; ...)"
 *   const stats = yield* HealthGate.stats(gate)
 *   // { totalChecks: 2, failedChecks: 1, unhealthy: ["storage"], ... }
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options | undefined): Effect.Effect<HealthGate> =>
  internal.make(options?.name ?? "health", options?.checks ?? [])

/**
 * Like `make`, outside an effect. A duplicate check name throws a `RangeError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake = (options?: Options | undefined): HealthGate =>
  new internal.GateImpl(options?.name ?? "health", options?.checks ?? [])

/**
 * Whether a value is a `HealthGate`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isHealthGate: (u: unknown) => u is HealthGate = internal.isHealthGate

/**
 * Registers a component's check; runs that start afterwards include it. A duplicate name is a defect. The original's
 * `register_component(name, obj)`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const register: {
  (check: Check): (self: HealthGate) => Effect.Effect<void>
  (self: HealthGate, check: Check): Effect.Effect<void>
} = dual(2, (self: HealthGate, check: Check) => internal.register(self as internal.GateImpl, check))

/**
 * Removes a component's check (and its counts); succeeds with whether it was registered.
 *
 * @since 0.1.0
 * @category combinators
 */
export const unregister: {
  (name: string): (self: HealthGate) => Effect.Effect<boolean>
  (self: HealthGate, name: string): Effect.Effect<boolean>
} = dual(2, (self: HealthGate, name: string) => internal.unregister(self as internal.GateImpl, name))

/**
 * Runs every check once, outside any machine, and records the outcomes like a gated transition would: succeeds with
 * `true`, or fails with `Unhealthy` naming the failed components.
 *
 * @since 0.1.0
 * @category combinators
 */
export const check = (self: HealthGate): Effect.Effect<boolean, Unhealthy> => (self as internal.GateImpl).run

/**
 * The gate as a validator of the machine's transitions (every transition unless `from` / `to` narrow it). Register it
 * like any validator: in `StateMachine.make`'s `validators`, or with `StateMachine.addValidator`.
 *
 * @example
 * ```ts
 * import { HealthGate, Presets, StateMachine } from "@core-stability/state-machine"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const gate = yield* HealthGate.make({ checks: [{ name: "capture", check: () => Effect.succeed(true) }] })
 *   const recovery = yield* StateMachine.make(Presets.Recovery)
 *   yield* StateMachine.addValidator(recovery, HealthGate.validator(gate, { to: "Initiating", timeout: "1 second" }))
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const validator = <S extends string = string>(
  self: HealthGate,
  options?: ValidatorOptions<S> | undefined
): StateMachine.Validator<S> => (self as internal.GateImpl).validator(options)

/**
 * A snapshot of the gate's counts.
 *
 * @since 0.1.0
 * @category getters
 */
export const stats = (self: HealthGate): Effect.Effect<Stats> => internal.stats(self as internal.GateImpl)
