import * as Effect from "effect/Effect"
import { format, NodeInspectSymbol } from "effect/Inspectable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import type * as Channels from "../Channels.js"
import type * as StateMachine from "../StateMachine.js"
import type { DefinitionImpl } from "./definition.js"
import * as machine from "./stateMachine.js"

/** @internal */
export const TypeId: Channels.TypeId = Symbol.for("@core-stability/state-machine/Channels") as Channels.TypeId

const variance = { _K: (_: any) => _, _D: (_: any) => _ }

/** @internal */
export class ChannelsImpl implements Channels.Channels<any, any> {
  readonly [TypeId] = variance
  readonly keys: ReadonlyArray<string>
  constructor(
    readonly name: string,
    readonly definition: DefinitionImpl,
    readonly machines: ReadonlyMap<string, machine.MachineImpl>
  ) {
    this.keys = [...machines.keys()]
  }

  get(key: string): machine.MachineImpl {
    const found = this.machines.get(key)
    if (found === undefined) {
      throw new RangeError(`unknown channel "${key}" of "${this.name}" (channels: ${this.keys.join(", ")})`)
    }
    return found
  }

  pipe(...args: Array<unknown>) {
    return pipeArguments(this, args as unknown as IArguments)
  }

  toJSON() {
    return {
      _id: "Channels",
      name: this.name,
      states: Object.fromEntries([...this.machines].map(([key, m]) => [key, m.unsafeGet()]))
    }
  }

  toString() {
    return format(this.toJSON())
  }

  [NodeInspectSymbol]() {
    return this.toJSON()
  }
}

const checkKeys = (keys: ReadonlyArray<string>): void => {
  if (keys.length === 0) throw new RangeError("Channels need at least one key")
  const seen = new Set<string>()
  for (const key of keys) {
    if (seen.has(key)) throw new RangeError(`channel key "${key}" is listed twice`)
    seen.add(key)
  }
}

/** @internal */
export const unsafeMake = (
  definition: DefinitionImpl,
  options: Channels.Options<string, string>
): ChannelsImpl => {
  checkKeys(options.keys)
  const machines = new Map<string, machine.MachineImpl>()
  for (const key of options.keys) machines.set(key, machine.unsafeMake(definition, options, key))
  return new ChannelsImpl(options.name ?? definition.name, definition, machines)
}

/** @internal */
export const make = (
  definition: DefinitionImpl,
  options: Channels.Options<string, string>
): Effect.Effect<ChannelsImpl> =>
  Effect.suspend(() => {
    checkKeys(options.keys)
    return Effect.map(
      Effect.forEach(
        options.keys,
        (key) => Effect.map(machine.make(definition, options, key), (m) => [key, m] as const)
      ),
      (entries) => new ChannelsImpl(options.name ?? definition.name, definition, new Map(entries))
    )
  })

/** @internal */
export const isChannels = (u: unknown): u is Channels.Channels<string, any> => Predicate.hasProperty(u, TypeId)

/** @internal */
export const states = (self: ChannelsImpl): Effect.Effect<Record<string, string>> =>
  Effect.sync(() => Object.fromEntries([...self.machines].map(([key, m]) => [key, m.unsafeGet()])))

/** @internal */
export const stats = (self: ChannelsImpl): Effect.Effect<Record<string, StateMachine.Stats>> =>
  Effect.sync(() => Object.fromEntries([...self.machines].map(([key, m]) => [key, m.stats()])))
