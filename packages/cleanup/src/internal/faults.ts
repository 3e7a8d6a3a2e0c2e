import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import { NodeInspectSymbol } from "effect/Inspectable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import { InjectedFaultError } from "../CleanupError.js"
import type * as CleanupFaults from "../CleanupFaults.js"

/** @internal */
export const TypeId: CleanupFaults.TypeId = Symbol.for("@core-stability/cleanup/CleanupFaults") as CleanupFaults.TypeId

/** @internal */
export const Fault = Data.taggedEnum<CleanupFaults.Fault>()

interface Entry {
  readonly fault: CleanupFaults.Fault
  remaining: number
}

/** @internal */
export class FaultsImpl implements CleanupFaults.CleanupFaults {
  readonly [TypeId]: CleanupFaults.TypeId = TypeId
  /** step name -> the run fault and the verification fault, each with the number of uses left */
  readonly runFaults = new Map<string, Entry>()
  readonly verifyFaults = new Map<string, Entry>()
  pipe(...args: Array<unknown>) {
    return pipeArguments(this, args as unknown as IArguments)
  }
  toJSON() {
    return {
      _id: "CleanupFaults",
      run: Array.from(
        this.runFaults,
        ([step, entry]) => ({ step, fault: entry.fault._tag, remaining: entry.remaining })
      ),
      verify: Array.from(this.verifyFaults, ([step, entry]) => ({ step, remaining: entry.remaining }))
    }
  }
  toString() {
    return JSON.stringify(this.toJSON())
  }
  [NodeInspectSymbol]() {
    return this.toJSON()
  }
}

/** @internal */
export const isCleanupFaults = (u: unknown): u is CleanupFaults.CleanupFaults => Predicate.hasProperty(u, TypeId)

/** @internal */
export const unsafeMake = (): CleanupFaults.CleanupFaults => new FaultsImpl()

/** @internal */
export const make: Effect.Effect<CleanupFaults.CleanupFaults> = Effect.sync(unsafeMake)

/** @internal */
export const inject = dual<
  (
    step: string,
    fault: CleanupFaults.Fault,
    options?: { readonly times?: number | undefined } | undefined
  ) => (self: CleanupFaults.CleanupFaults) => Effect.Effect<void>,
  (
    self: CleanupFaults.CleanupFaults,
    step: string,
    fault: CleanupFaults.Fault,
    options?: { readonly times?: number | undefined } | undefined
  ) => Effect.Effect<void>
>((args) => isCleanupFaults(args[0]), (self, step, fault, options) =>
  Effect.sync(() => {
    const impl = self as unknown as FaultsImpl
    const entry: Entry = { fault, remaining: options?.times ?? Infinity }
    if (fault._tag === "FailVerification") impl.verifyFaults.set(step, entry)
    else impl.runFaults.set(step, entry)
  }))

/** @internal */
export const clear = dual<
  (step?: string | undefined) => (self: CleanupFaults.CleanupFaults) => Effect.Effect<void>,
  (self: CleanupFaults.CleanupFaults, step?: string | undefined) => Effect.Effect<void>
>((args) => isCleanupFaults(args[0]), (self, step) =>
  Effect.sync(() => {
    const impl = self as unknown as FaultsImpl
    if (step === undefined) {
      impl.runFaults.clear()
      impl.verifyFaults.clear()
    } else {
      impl.runFaults.delete(step)
      impl.verifyFaults.delete(step)
    }
  }))

const take = (entries: Map<string, Entry>, step: string): CleanupFaults.Fault | undefined => {
  const entry = entries.get(step)
  if (entry === undefined) return undefined
  entry.remaining--
  if (entry.remaining <= 0) entries.delete(step)
  return entry.fault
}

/**
 * The replacement of the run of `step` when a run fault is injected (consuming one use), else `undefined`.
 *
 * @internal
 */
export const applyRun = (
  faults: CleanupFaults.CleanupFaults | undefined,
  step: string,
  run: Effect.Effect<unknown, unknown>
): Effect.Effect<unknown, unknown> | undefined => {
  if (faults === undefined) return undefined
  const fault = take((faults as unknown as FaultsImpl).runFaults, step)
  if (fault === undefined) return undefined
  switch (fault._tag) {
    case "Fail":
      return Effect.fail(new InjectedFaultError({ step, target: "run" }))
    case "Hang":
      return Effect.never
    case "Delay":
      return Effect.zipRight(Effect.sleep(Duration.decode(fault.duration)), run)
    case "FailVerification":
      return undefined
  }
}

/**
 * `true` when verification of `step` will be failed by an injection (so a step without `verify` still verifies).
 *
 * @internal
 */
export const hasVerifyFault = (faults: CleanupFaults.CleanupFaults | undefined, step: string): boolean =>
  faults !== undefined && (faults as unknown as FaultsImpl).verifyFaults.has(step)

/**
 * The replacement of one verification attempt of `step` when a verification fault is injected (consuming one use),
 * else `undefined`.
 *
 * @internal
 */
export const applyVerify = (
  faults: CleanupFaults.CleanupFaults | undefined,
  step: string
): Effect.Effect<boolean, unknown> | undefined =>
  faults !== undefined && take((faults as unknown as FaultsImpl).verifyFaults, step) !== undefined
    ? Effect.fail(new InjectedFaultError({ step, target: "verify" }))
    : undefined
