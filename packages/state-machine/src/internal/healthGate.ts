import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { format, NodeInspectSymbol } from "effect/Inspectable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import type * as HealthGate from "../HealthGate.js"
import type * as StateMachine from "../StateMachine.js"
import { Unhealthy } from "../StateMachineError.js"
import { describeCause } from "./describe.js"

/** @internal */
export const TypeId: HealthGate.TypeId = Symbol.for("@core-stability/state-machine/HealthGate") as HealthGate.TypeId

class Component {
  checks = 0
  failures = 0
  recoveries = 0
  consecutiveFailures = 0
  healthy: boolean | undefined = undefined
  lastError: string | undefined = undefined
  constructor(readonly name: string, readonly check: () => Effect.Effect<boolean, unknown>) {}
}

type Failure = { readonly component: string; readonly cause: Cause.Cause<unknown> | undefined }

/** @internal */
export class GateImpl implements HealthGate.HealthGate {
  readonly [TypeId]: HealthGate.TypeId = TypeId
  /** Copy-on-write: a run in progress keeps the components it started with. */
  private components: ReadonlyArray<Component> = []
  private runs = 0
  private rejections = 0
  private totalChecks = 0
  private failedChecks = 0
  private recoveries = 0

  constructor(readonly name: string, checks: ReadonlyArray<HealthGate.Check>) {
    for (const check of checks) this.register(check)
  }

  register(check: HealthGate.Check): void {
    if (this.components.some((c) => c.name === check.name)) {
      throw new RangeError(`health gate "${this.name}" already has a check named "${check.name}"`)
    }
    this.components = [...this.components, new Component(check.name, check.check)]
  }

  unregister(name: string): boolean {
    const before = this.components.length
    this.components = this.components.filter((c) => c.name !== name)
    return this.components.length < before
  }

  /** Runs every check in registration order, records each outcome, fails with `Unhealthy` naming the failed ones. */
  readonly run: Effect.Effect<boolean, Unhealthy> = Effect.suspend(() => {
    const components = this.components
    const failures: Array<Failure> = []
    this.runs++
    let i = 0
    const next = (): Effect.Effect<boolean, Unhealthy> => {
      if (i === components.length) {
        if (failures.length === 0) return Exit.succeed(true)
        this.rejections++
        return Exit.fail(new Unhealthy({ gate: this.name, failures }))
      }
      const component = components[i++]!
      return Effect.flatMap(Effect.exit(build(component.check)), (exit) => {
        const cause = Exit.isSuccess(exit) ? (exit.value === true ? null : undefined) : exit.cause
        this.record(component, cause)
        if (cause !== null) failures.push({ component: component.name, cause })
        return next()
      })
    }
    return next()
  })

  /** `cause`: `null` when the check passed, `undefined` when it returned `false`, else its cause. */
  private record(component: Component, cause: Cause.Cause<unknown> | undefined | null): void {
    component.checks++
    this.totalChecks++
    if (cause === null) {
      if (component.healthy === false) {
        component.recoveries++
        this.recoveries++
      }
      component.healthy = true
      component.consecutiveFailures = 0
      return
    }
    component.failures++
    component.consecutiveFailures++
    component.healthy = false
    component.lastError = cause === undefined ? "returned false" : describeCause(cause)
    this.failedChecks++
  }

  stats(): HealthGate.Stats {
    const components = this.components.map((c): HealthGate.ComponentStats => ({
      name: c.name,
      healthy: c.healthy,
      checks: c.checks,
      failures: c.failures,
      consecutiveFailures: c.consecutiveFailures,
      recoveries: c.recoveries,
      successRate: percent(c.checks - c.failures, c.checks),
      lastError: c.lastError
    }))
    return {
      gate: this.name,
      runs: this.runs,
      rejections: this.rejections,
      totalChecks: this.totalChecks,
      failedChecks: this.failedChecks,
      successRate: percent(this.totalChecks - this.failedChecks, this.totalChecks),
      recoveries: this.recoveries,
      unhealthy: components.filter((c) => c.healthy === false).map((c) => c.name),
      components
    }
  }

  validator<S extends string>(options: HealthGate.ValidatorOptions<S> | undefined): StateMachine.Validator<S> {
    return {
      name: options?.name ?? this.name,
      from: options?.from ?? "*",
      to: options?.to ?? "*",
      timeout: options?.timeout,
      retry: options?.retry,
      effect: () => this.run
    }
  }

  pipe(...args: Array<unknown>) {
    return pipeArguments(this, args as unknown as IArguments)
  }

  toJSON() {
    return { _id: "HealthGate", name: this.name, components: this.components.map((c) => c.name) }
  }

  toString() {
    return format(this.toJSON())
  }

  [NodeInspectSymbol]() {
    return this.toJSON()
  }
}

const build = (f: () => Effect.Effect<boolean, unknown>): Effect.Effect<boolean, unknown> => {
  try {
    return f()
  } catch (defect) {
    return Exit.die(defect)
  }
}

const percent = (part: number, whole: number): number => whole === 0 ? 100 : (part / whole) * 100

/** @internal */
export const isHealthGate = (u: unknown): u is HealthGate.HealthGate => Predicate.hasProperty(u, TypeId)

/** @internal */
export const make = (name: string, checks: ReadonlyArray<HealthGate.Check>): Effect.Effect<HealthGate.HealthGate> =>
  Effect.sync(() => new GateImpl(name, checks))

/** @internal */
export const register = (self: GateImpl, check: HealthGate.Check): Effect.Effect<void> =>
  Effect.sync(() => self.register(check))

/** @internal */
export const unregister = (self: GateImpl, name: string): Effect.Effect<boolean> =>
  Effect.sync(() => self.unregister(name))

/** @internal */
export const stats = (self: GateImpl): Effect.Effect<HealthGate.Stats> => Effect.sync(() => self.stats())
