/**
 * A state machine's definition: its states, initial state and transition table, validated once when it is defined.
 *
 * The table lists, per state, the states it may move to; `fromAny` adds "from any state" rules (`* -> Failed`), which
 * never produce a self-loop. Validation reports every unknown state, every state unreachable from the initial state and
 * every state with no exit that is not declared `final`, all at once. Deciding the next state is a pure function
 * (`decide`, `canTransition`); a `StateMachine` runs the effects around it. This split follows XState's pure
 * `transition()`; the up-front table validation is what the original lacked (origin.md, 2.1 and 3.1).
 *
 * States are string literal unions, given as an array or as a `Schema.Literal`; the definition carries a schema of its
 * states either way, so history can be serialised.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import { dual } from "effect/Function"
import type { Inspectable } from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import type * as Schema from "effect/Schema"
import type * as Types from "effect/Types"
import * as internal from "./internal/definition.js"
import type { DefinitionProblem, InvalidDefinition, InvalidTransition } from "./StateMachineError.js"

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
 * A transition table at the type level: each state mapped to the union of the states it may move to ("from any state"
 * rules included).
 *
 * @since 0.1.0
 * @category models
 */
export type Table = { readonly [state: string]: string }

/**
 * A validated definition. `T` is its table type: `keyof T` are the states, `T[S]` the targets allowed from `S`.
 *
 * @example
 * ```ts
 * import { Definition } from "@core-stability/state-machine"
 *
 * const Door = Definition.unsafeMake({
 *   name: "door",
 *   states: ["Closed", "Open", "Locked", "Broken"],
 *   initial: "Closed",
 *   transitions: { Closed: ["Open", "Locked"], Open: ["Closed"], Locked: ["Closed"] },
 *   fromAny: ["Broken"],
 *   final: ["Broken"]
 * })
 * type DoorState = Definition.State<typeof Door> // "Closed" | "Open" | "Locked" | "Broken"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Definition<in out T extends Table> extends Pipeable, Inspectable {
  readonly [TypeId]: { readonly _T: Types.Invariant<T> }
  /** Names the machines built from it (metrics, errors, lock keys). */
  readonly name: string
  /** Every state, in declaration order. */
  readonly states: ReadonlyArray<keyof T & string>
  readonly initial: keyof T & string
  /** The explicit edges per state (every state has an entry, possibly empty); `fromAny` rules are not repeated. */
  readonly transitions: { readonly [K in keyof T & string]: ReadonlyArray<T[K]> }
  /** Targets reachable from every other state. */
  readonly fromAny: ReadonlyArray<T[keyof T]>
  /** States allowed to have no exit. */
  readonly final: ReadonlyArray<keyof T & string>
  /** A schema of the states (the given `Schema.Literal`, or one built from the array). */
  readonly schema: Schema.Schema<keyof T & string>
}

/**
 * @since 0.1.0
 */
export declare namespace Definition {
  /**
   * Any definition.
   *
   * @since 0.1.0
   * @category models
   */
  export type Any = Definition<any>
}

/**
 * The states of a definition.
 *
 * @since 0.1.0
 * @category models
 */
export type State<D extends Definition.Any> = D extends Definition<infer T> ? keyof T & string : never

/**
 * The states some transition leads to: the only valid arguments of `transitionTo` when the table is static.
 *
 * @since 0.1.0
 * @category models
 */
export type Target<D extends Definition.Any> = D extends Definition<infer T> ? T[keyof T] : never

/**
 * The targets allowed from state `S`.
 *
 * @since 0.1.0
 * @category models
 */
export type TargetOf<D extends Definition.Any, S extends string> = D extends Definition<infer T>
  ? S extends keyof T ? T[S] : never
  : never

/**
 * The transition table as written: for some states, the states they may move to.
 *
 * @since 0.1.0
 * @category models
 */
export type Transitions<S extends string> = { readonly [K in S]?: ReadonlyArray<S> | undefined }

/**
 * The table type computed from the options: explicit targets plus `fromAny` targets (minus the state itself).
 *
 * @since 0.1.0
 * @category models
 */
export type TableOf<S extends string, T extends Transitions<S>, A extends S> = {
  readonly [K in S]: (T[K] extends ReadonlyArray<infer X extends string> | undefined ? X : never) | Exclude<A, K>
}

/**
 * Options of `make` / `unsafeMake` / `validate`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<S extends string, T extends Transitions<S>, A extends S> {
  /** Names the machines built from it; default `"state-machine"`. */
  readonly name?: string | undefined
  /**
   * The states: an array of string literals, or a `Schema.Literal` declared as a constant first (a `Schema.Literal(...)`
   * call written inline here is contextually typed and widens to `string`).
   */
  readonly states: ReadonlyArray<S> | (Schema.Schema.AnyNoContext & { readonly literals: ReadonlyArray<S> })
  readonly initial: NoInfer<S>
  /** Per state, the states it may move to. A state without an entry has only the `fromAny` exits. */
  readonly transitions: T & { readonly [K in Exclude<keyof T, S>]: never }
  /** "From any state" rules: each target is reachable from every other state (`* -> Failed`). */
  readonly fromAny?: ReadonlyArray<A> | undefined
  /** States that may have no exit (terminal states). */
  readonly final?: ReadonlyArray<NoInfer<S>> | undefined
}

/**
 * Validates and builds a definition; fails with every problem found.
 *
 * @example
 * ```ts
 * import { Definition } from "@core-stability/state-machine"
 * import { Effect } from "effect"
 *
 * const program = Definition.make({
 *   states: ["Idle", "Running", "Stopped"],
 *   initial: "Idle",
 *   transitions: { Idle: ["Running"], Running: ["Stopped"] }
 * })
 * // fails: InvalidDefinition (state Stopped has no exit and is not declared final)
 * Effect.runSync(Effect.either(program))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <const S extends string, const T extends Transitions<S>, const A extends S = never>(
  options: Options<S, T, A>
) => Effect.Effect<Definition<TableOf<S, T, A>>, InvalidDefinition> = internal.make as any

/**
 * Validates and builds a definition; throws `InvalidDefinition` (a programming error) when the table is invalid. Meant
 * for static tables defined at module level, such as the presets.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: <const S extends string, const T extends Transitions<S>, const A extends S = never>(
  options: Options<S, T, A>
) => Definition<TableOf<S, T, A>> = internal.unsafeMake as any

/**
 * Every problem of a transition table, without building it. An empty array means the table is valid.
 *
 * @since 0.1.0
 * @category utils
 */
export const validate: <const S extends string, const T extends Transitions<S>, const A extends S = never>(
  options: Options<S, T, A>
) => ReadonlyArray<DefinitionProblem> = internal.validate as any

/**
 * @since 0.1.0
 * @category guards
 */
export const isDefinition: (u: unknown) => u is Definition<Table> = internal.isDefinition

/**
 * Whether the table allows `from -> to` (an explicit edge or a "from any state" rule). Pure, O(1).
 *
 * @since 0.1.0
 * @category getters
 */
export const canTransition: {
  (from: string, to: string): <D extends Definition.Any>(self: D) => boolean
  <D extends Definition.Any>(self: D, from: string, to: string): boolean
} = dual(
  3,
  (self: Definition.Any, from: string, to: string) => (self as internal.DefinitionImpl).canTransition(from, to)
)

/**
 * The targets allowed from a state, explicit edges first, then "from any state" rules.
 *
 * @since 0.1.0
 * @category getters
 */
export const targets: {
  <D extends Definition.Any, S extends State<D>>(from: S): (self: D) => ReadonlyArray<TargetOf<D, S>>
  <D extends Definition.Any, S extends State<D>>(self: D, from: S): ReadonlyArray<TargetOf<D, S>>
} = dual(2, (self: Definition.Any, from: string) => (self as internal.DefinitionImpl).targets(from)) as any

/**
 * The pure transition function: `Right(to)` when the table allows `from -> to`, else `Left(InvalidTransition)`.
 * A `StateMachine` runs its validators, commit, invariants and listeners around this decision.
 *
 * @since 0.1.0
 * @category combinators
 */
export const decide: {
  <D extends Definition.Any>(from: State<D>, to: State<D>): (self: D) => Either.Either<State<D>, InvalidTransition>
  <D extends Definition.Any>(self: D, from: State<D>, to: State<D>): Either.Either<State<D>, InvalidTransition>
} = dual(3, (self: Definition.Any, from: string, to: string) => internal.decide(self as any, from, to)) as any

/**
 * Renders the definition as a Mermaid state diagram (`stateDiagram-v2`): the initial arrow, every explicit edge, one
 * dashed "any state" node for the `fromAny` rules, an arrow to `[*]` from each final state, and optionally a
 * highlighted state (for example a machine's current state).
 *
 * @example
 * ```ts
 * import { Definition, Presets } from "@core-stability/state-machine"
 *
 * console.log(Definition.toMermaid(Presets.Component))
 * ```
 *
 * @since 0.1.0
 * @category rendering
 */
export const toMermaid: {
  (
    options?: { readonly direction?: "TB" | "LR" | undefined; readonly highlight?: string | undefined }
  ): <D extends Definition.Any>(self: D) => string
  <D extends Definition.Any>(
    self: D,
    options?: { readonly direction?: "TB" | "LR" | undefined; readonly highlight?: string | undefined }
  ): string
} = dual(
  (args) => isDefinition(args[0]),
  (self: Definition.Any, options?: { readonly direction?: "TB" | "LR"; readonly highlight?: string }) =>
    internal.toMermaid(self as any, options)
)
