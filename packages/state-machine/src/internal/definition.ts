import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { format, NodeInspectSymbol, toJSON } from "effect/Inspectable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Definition from "../Definition.js"
import { type DefinitionProblem, InvalidDefinition, InvalidTransition } from "../StateMachineError.js"

/** @internal */
export const TypeId: Definition.TypeId = Symbol.for("@core-stability/state-machine/Definition") as Definition.TypeId

/** @internal */
export const WILDCARD = "*"

/** The options in their loosest form, as the runtime sees them. */
interface LooseOptions {
  readonly name?: string | undefined
  readonly states: ReadonlyArray<string> | { readonly literals: ReadonlyArray<unknown> }
  readonly initial: string
  readonly transitions: { readonly [state: string]: ReadonlyArray<string> | undefined }
  readonly fromAny?: ReadonlyArray<string> | undefined
  readonly final?: ReadonlyArray<string> | undefined
}

const variance = { _T: (_: any) => _ }

/** @internal */
export class DefinitionImpl implements Definition.Definition<any> {
  readonly [TypeId] = variance
  /** Position of each state in `states`. */
  readonly index: ReadonlyMap<string, number>
  /** Per state (by index): every allowed target, explicit edges and "from any" rules, without self-loops from rules. */
  readonly allowed: ReadonlyArray<ReadonlySet<string>>
  readonly allowedList: ReadonlyArray<ReadonlyArray<string>>

  constructor(
    readonly name: string,
    readonly states: ReadonlyArray<string>,
    readonly initial: string,
    readonly transitions: { readonly [state: string]: ReadonlyArray<string> },
    readonly fromAny: ReadonlyArray<string>,
    readonly final: ReadonlyArray<string>,
    readonly schema: Schema.Schema<any>
  ) {
    const index = new Map<string, number>()
    states.forEach((state, i) => index.set(state, i))
    this.index = index
    this.allowedList = states.map((state) => {
      const targets: Array<string> = []
      for (const to of transitions[state] ?? []) if (!targets.includes(to)) targets.push(to)
      for (const to of fromAny) if (to !== state && !targets.includes(to)) targets.push(to)
      return targets
    })
    this.allowed = this.allowedList.map((targets) => new Set(targets))
  }

  canTransition(from: string, to: string): boolean {
    const i = this.index.get(from)
    return i !== undefined && this.allowed[i]!.has(to)
  }

  targets(from: string): ReadonlyArray<string> {
    const i = this.index.get(from)
    return i === undefined ? [] : this.allowedList[i]!
  }

  pipe(...args: Array<unknown>) {
    return pipeArguments(this, args as unknown as IArguments)
  }

  toJSON() {
    return {
      _id: "Definition",
      name: this.name,
      states: this.states,
      initial: this.initial,
      transitions: toJSON(this.transitions),
      fromAny: this.fromAny,
      final: this.final
    }
  }

  toString() {
    return format(this.toJSON())
  }

  [NodeInspectSymbol]() {
    return this.toJSON()
  }
}

const statesOf = (options: LooseOptions): ReadonlyArray<string> =>
  Array.isArray(options.states)
    ? options.states as ReadonlyArray<string>
    : (options.states as { readonly literals: ReadonlyArray<unknown> }).literals.map(String)

/** @internal */
export const validate = (options: LooseOptions): ReadonlyArray<DefinitionProblem> => {
  const problems: Array<DefinitionProblem> = []
  const states = statesOf(options)
  const known = new Set<string>()
  for (const state of states) {
    if (state === WILDCARD) problems.push({ _tag: "ReservedName", state })
    else if (known.has(state)) problems.push({ _tag: "DuplicateState", state })
    known.add(state)
  }
  if (!known.has(options.initial)) problems.push({ _tag: "UnknownInitial", state: options.initial })
  const fromAny = options.fromAny ?? []
  const final = options.final ?? []
  for (const [from, targets] of Object.entries(options.transitions)) {
    if (!known.has(from)) problems.push({ _tag: "UnknownState", state: from, where: "the transition table's keys" })
    for (const to of targets ?? []) {
      if (!known.has(to)) problems.push({ _tag: "UnknownState", state: to, where: `the targets of ${from}` })
    }
  }
  for (const to of fromAny) {
    if (!known.has(to)) problems.push({ _tag: "UnknownState", state: to, where: "fromAny" })
  }
  for (const state of final) {
    if (!known.has(state)) problems.push({ _tag: "UnknownState", state, where: "final" })
  }
  const exits = (state: string): ReadonlyArray<string> => [
    ...(options.transitions[state] ?? []).filter((to) => known.has(to)),
    ...fromAny.filter((to) => to !== state && known.has(to))
  ]
  if (known.has(options.initial)) {
    const reached = new Set<string>([options.initial])
    const queue = [options.initial]
    while (queue.length > 0) {
      for (const to of exits(queue.shift()!)) {
        if (!reached.has(to)) {
          reached.add(to)
          queue.push(to)
        }
      }
    }
    for (const state of known) if (!reached.has(state)) problems.push({ _tag: "UnreachableState", state })
  }
  for (const state of known) {
    if (exits(state).length === 0 && !final.includes(state)) problems.push({ _tag: "NoExit", state })
  }
  return problems
}

/** @internal */
export const unsafeMake = (options: LooseOptions): DefinitionImpl => {
  const name = options.name ?? "state-machine"
  const problems = validate(options)
  if (problems.length > 0) throw new InvalidDefinition({ name, problems })
  const states = statesOf(options)
  const transitions: Record<string, ReadonlyArray<string>> = {}
  for (const state of states) transitions[state] = [...new Set(options.transitions[state] ?? [])]
  const schema = Schema.isSchema(options.states)
    ? options.states as unknown as Schema.Schema<any>
    : Schema.Literal(...states as [string, ...Array<string>])
  return new DefinitionImpl(
    name,
    states,
    options.initial,
    transitions,
    [...new Set(options.fromAny ?? [])],
    [...new Set(options.final ?? [])],
    schema
  )
}

/** @internal */
export const make = (options: LooseOptions): Effect.Effect<DefinitionImpl, InvalidDefinition> =>
  Effect.suspend(() => {
    const name = options.name ?? "state-machine"
    const problems = validate(options)
    return problems.length > 0
      ? Effect.fail(new InvalidDefinition({ name, problems }))
      : Effect.succeed(unsafeMake(options))
  })

/** @internal */
export const isDefinition = (u: unknown): u is Definition.Definition<any> => Predicate.hasProperty(u, TypeId)

/** @internal */
export const decide = (
  self: DefinitionImpl,
  from: string,
  to: string
): Either.Either<string, InvalidTransition> =>
  self.canTransition(from, to)
    ? Either.right(to)
    : Either.left(
      new InvalidTransition({ machine: self.name, channel: undefined, from, to, allowed: self.targets(from) })
    )

const mermaidId = (state: string): string => state.replace(/[^A-Za-z0-9_]/g, "_")

/** @internal */
export const toMermaid = (
  self: DefinitionImpl,
  options?: { readonly direction?: "TB" | "LR" | undefined; readonly highlight?: string | undefined }
): string => {
  const lines: Array<string> = ["stateDiagram-v2"]
  if (options?.direction !== undefined) lines.push(`  direction ${options.direction}`)
  for (const state of self.states) {
    if (mermaidId(state) !== state) lines.push(`  state "${state}" as ${mermaidId(state)}`)
  }
  lines.push(`  [*] --> ${mermaidId(self.initial)}`)
  for (const from of self.states) {
    for (const to of self.transitions[from]!) lines.push(`  ${mermaidId(from)} --> ${mermaidId(to)}`)
  }
  if (self.fromAny.length > 0) {
    lines.push(`  state "any state" as ${ANY_NODE}`)
    for (const to of self.fromAny) lines.push(`  ${ANY_NODE} --> ${mermaidId(to)}: from any state`)
    lines.push(`  classDef anyState stroke-dasharray: 4 4`)
    lines.push(`  class ${ANY_NODE} anyState`)
  }
  for (const state of self.final) lines.push(`  ${mermaidId(state)} --> [*]`)
  if (options?.highlight !== undefined) {
    lines.push(`  classDef current font-weight: bold, stroke-width: 3px`)
    lines.push(`  class ${mermaidId(options.highlight)} current`)
  }
  return lines.join("\n")
}

const ANY_NODE = "__any_state__"
