/**
 * Independent sub-machines per channel key (for example the `left` and `right` audio channels of the original app),
 * each with its own state, history, rollback window, statistics, metrics (tagged `channel`) and lock. Resetting,
 * rolling back or failing one channel leaves the others alone.
 *
 * **How a channel's table relates to the system table.** A channel group is built from its own definition: channel
 * sub-machines never consult a system machine's state or table, and a system machine never consults its channels.
 * The original documents promised per-channel states and its tests moved a channel `Idle -> StoppingCapture`, which
 * its single (system) table forbids (origin.md, 3.1 #12, #13). Here the two tables are separate on purpose: the
 * system table describes the whole recovery (with `Initiating` and the `...Left` / `...Right` variants), a channel
 * table describes the pipeline of one channel (see `Presets.RecoveryChannel`, where `Idle -> StoppingCapture` is
 * legal). A caller that wants a channel to move only in some system states expresses it as a validator of the
 * channel group that reads the system machine (`StateMachine.unsafeGet`) - explicit, and testable.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type { Inspectable } from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import type * as Types from "effect/Types"
import type * as Definition from "./Definition.js"
import * as internal from "./internal/channels.js"
import type { DefinitionImpl } from "./internal/definition.js"
import type * as StateMachine from "./StateMachine.js"
import type { TransitionRecord } from "./TransitionRecord.js"

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
 * A fixed set of channel sub-machines over one definition.
 *
 * @since 0.1.0
 * @category models
 */
export interface Channels<in out K extends string, in out D extends Definition.Definition.Any>
  extends Pipeable, Inspectable
{
  readonly [TypeId]: { readonly _K: Types.Invariant<K>; readonly _D: Types.Invariant<D> }
  /** The machines' shared name (their `channel` is the key). */
  readonly name: string
  readonly keys: ReadonlyArray<K>
  readonly definition: D
}

/**
 * Options of `make`: the channel keys plus the options every channel machine gets. Hooks are shared; they see the
 * channel key in `TransitionContext.channel`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<K extends string, S extends string> extends StateMachine.Options<S> {
  readonly keys: ReadonlyArray<K>
}

type S<D extends Definition.Definition.Any> = Definition.State<D>

/**
 * Makes one machine per key, each in the definition's initial state. Duplicate or missing keys are defects.
 *
 * @example
 * ```ts
 * import { Channels, Presets, StateMachine } from "@core-stability/state-machine"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const channels = yield* Channels.make(Presets.RecoveryChannel, { name: "recovery", keys: Presets.recoveryChannelKeys })
 *   yield* StateMachine.transitionTo(Channels.get(channels, "left"), "StoppingCapture")
 *   yield* Channels.reset(channels, "left") // "right" is untouched
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <D extends Definition.Definition.Any, const K extends string>(
  definition: D,
  options: Options<K, S<D>>
): Effect.Effect<Channels<K, D>> =>
  internal.make(definition as unknown as DefinitionImpl, options as unknown as Options<string, string>) as any

/**
 * Like `make`, synchronously (live clock unless `options.clock` is given). Throws `RangeError` on invalid options.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake = <D extends Definition.Definition.Any, const K extends string>(
  definition: D,
  options: Options<K, S<D>>
): Channels<K, D> =>
  internal.unsafeMake(definition as unknown as DefinitionImpl, options as unknown as Options<string, string>) as any

/**
 * @since 0.1.0
 * @category guards
 */
export const isChannels: (u: unknown) => u is Channels<string, Definition.Definition.Any> = internal.isChannels

/**
 * The machine of one channel; use every `StateMachine` operation on it.
 *
 * @since 0.1.0
 * @category getters
 */
export const get: {
  <K extends string>(
    key: NoInfer<K>
  ): <D extends Definition.Definition.Any>(self: Channels<K, D>) => StateMachine.StateMachine<D>
  <K extends string, D extends Definition.Definition.Any>(
    self: Channels<K, D>,
    key: NoInfer<K>
  ): StateMachine.StateMachine<D>
} = dual(2, (self: Channels<any, any>, key: string) => (self as unknown as internal.ChannelsImpl).get(key)) as any

/**
 * Resets one channel to the initial state (see `StateMachine.reset`); the other channels are not touched.
 *
 * @since 0.1.0
 * @category combinators
 */
export const reset: {
  <K extends string>(
    key: NoInfer<K>,
    options?: StateMachine.TransitionOptions | undefined
  ): <D extends Definition.Definition.Any>(self: Channels<K, D>) => Effect.Effect<TransitionRecord<S<D>>>
  <K extends string, D extends Definition.Definition.Any>(
    self: Channels<K, D>,
    key: NoInfer<K>,
    options?: StateMachine.TransitionOptions | undefined
  ): Effect.Effect<TransitionRecord<S<D>>>
} = dual(
  (args) => isChannels(args[0]),
  (self: Channels<any, any>, key: string, options?: StateMachine.TransitionOptions) =>
    (self as unknown as internal.ChannelsImpl).get(key).reset(options)
) as any

/**
 * The current state of every channel.
 *
 * @since 0.1.0
 * @category getters
 */
export const states = <K extends string, D extends Definition.Definition.Any>(
  self: Channels<K, D>
): Effect.Effect<{ readonly [key in K]: S<D> }> => internal.states(self as unknown as internal.ChannelsImpl) as any

/**
 * The statistics of every channel (see `StateMachine.stats`).
 *
 * @since 0.1.0
 * @category getters
 */
export const stats = <K extends string, D extends Definition.Definition.Any>(
  self: Channels<K, D>
): Effect.Effect<{ readonly [key in K]: StateMachine.Stats }> =>
  internal.stats(self as unknown as internal.ChannelsImpl) as any
