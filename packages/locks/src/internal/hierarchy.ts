import * as Effect from "effect/Effect"
import { format, NodeInspectSymbol } from "effect/Inspectable"
import { pipeArguments } from "effect/Pipeable"
import { LockHierarchyError } from "../LockError.js"
import type * as LockHierarchy from "../LockHierarchy.js"

/** @internal */
export const TypeId: LockHierarchy.TypeId = Symbol.for("@core-stability/locks/LockHierarchy") as LockHierarchy.TypeId

const Proto = {
  [TypeId]: TypeId,
  pipe(...args: Array<unknown>) {
    return pipeArguments(this, args as unknown as IArguments)
  },
  toJSON(this: LockHierarchy.LockHierarchy) {
    return { _id: "LockHierarchy", name: this.name, levels: this.levels }
  },
  toString(this: LockHierarchy.LockHierarchy) {
    return format(this.toJSON())
  },
  [NodeInspectSymbol](this: LockHierarchy.LockHierarchy) {
    return this.toJSON()
  }
}

const build = (
  name: string,
  levels: ReadonlyArray<LockHierarchy.Level>,
  parts: ReadonlyArray<string>
): LockHierarchy.LockHierarchy => {
  const self = Object.create(Proto)
  self.name = name
  self.levels = levels
  self.parts = parts
  self.ranks = Object.freeze(Object.fromEntries(levels.map((level) => [level.name, level.rank])))
  self.index = new Map(levels.map((level) => [level.name, level]))
  return self
}

const fail = (hierarchy: string, reason: LockHierarchyError["reason"], conflict: ReadonlyArray<string>) =>
  new LockHierarchyError({ hierarchy, reason, conflict })

/** @internal */
export const unsafeMake = (options: LockHierarchy.MakeOptions): LockHierarchy.LockHierarchy => {
  if (options.levels.length === 0) throw fail(options.name, "Empty", [])
  const levels = options.levels.map((input, i): LockHierarchy.Level =>
    typeof input === "string" ? { name: input, rank: i + 1 } : { name: input.name, rank: input.rank }
  )
  const seen = new Set<string>()
  for (const level of levels) {
    if (seen.has(level.name)) throw fail(options.name, "DuplicateLevel", [level.name])
    seen.add(level.name)
    if (!Number.isFinite(level.rank)) throw fail(options.name, "InvalidRank", [level.name])
  }
  if (options.uniqueRanks !== false) {
    const byRank = new Map<number, string>()
    for (const level of levels) {
      const other = byRank.get(level.rank)
      if (other !== undefined) throw fail(options.name, "DuplicateRank", [other, level.name])
      byRank.set(level.rank, level.name)
    }
  }
  const sorted = levels.slice().sort((a, b) => a.rank - b.rank)
  return build(options.name, sorted, [])
}

/** Kahn's algorithm, taking ready parts in declaration order so the result is stable. */
const topologicalOrder = (options: LockHierarchy.ComposeOptions): ReadonlyArray<LockHierarchy.LockHierarchy> => {
  const byName = new Map(options.parts.map((part) => [part.name, part]))
  if (byName.size !== options.parts.length) {
    const names = options.parts.map((part) => part.name)
    throw fail(options.name, "DuplicateLevel", names.filter((n, i) => names.indexOf(n) !== i))
  }
  const after = new Map<string, Set<string>>(options.parts.map((part) => [part.name, new Set()]))
  const incoming = new Map<string, number>(options.parts.map((part) => [part.name, 0]))
  for (const [before, later] of options.order ?? []) {
    if (!byName.has(before) || !byName.has(later)) {
      throw fail(options.name, "UnknownPart", [before, later].filter((n) => !byName.has(n)))
    }
    if (before === later) throw fail(options.name, "Contradiction", [before, later])
    const edges = after.get(before)!
    if (!edges.has(later)) {
      edges.add(later)
      incoming.set(later, incoming.get(later)! + 1)
    }
  }
  const result: Array<LockHierarchy.LockHierarchy> = []
  const done = new Set<string>()
  while (result.length < options.parts.length) {
    const next = options.parts.find((part) => !done.has(part.name) && incoming.get(part.name) === 0)
    if (next === undefined) throw fail(options.name, "Contradiction", findCycle(after, done))
    done.add(next.name)
    result.push(next)
    for (const later of after.get(next.name)!) incoming.set(later, incoming.get(later)! - 1)
  }
  return result
}

const findCycle = (after: Map<string, Set<string>>, done: Set<string>): ReadonlyArray<string> => {
  const path: Array<string> = []
  const onPath = new Set<string>()
  const visit = (node: string): ReadonlyArray<string> | undefined => {
    if (onPath.has(node)) return [...path.slice(path.indexOf(node)), node]
    if (done.has(node)) return undefined
    onPath.add(node)
    path.push(node)
    for (const next of after.get(node)!) {
      const cycle = visit(next)
      if (cycle !== undefined) return cycle
    }
    path.pop()
    onPath.delete(node)
    done.add(node)
    return undefined
  }
  for (const node of after.keys()) {
    const cycle = visit(node)
    if (cycle !== undefined) return cycle
  }
  return []
}

/** @internal */
export const unsafeCompose = (options: LockHierarchy.ComposeOptions): LockHierarchy.LockHierarchy => {
  if (options.parts.length === 0) throw fail(options.name, "Empty", [])
  const ordered = topologicalOrder(options)
  const levels: Array<LockHierarchy.Level> = []
  let rank = 0
  for (const part of ordered) {
    let previous: number | undefined = undefined
    for (const level of part.levels) {
      if (level.rank !== previous) rank++
      previous = level.rank
      levels.push({ name: qualifiedName(part, level.name), rank })
    }
  }
  return build(options.name, levels, ordered.map((part) => part.name))
}

/** The name a lock of this level carries: `Part.level` for a base hierarchy, the level name for a composed one. */
export const qualifiedName = (hierarchy: LockHierarchy.LockHierarchy, level: string): string =>
  hierarchy.parts.length > 0 ? level : `${hierarchy.name}.${level}`

/** @internal */
export const make = (
  options: LockHierarchy.MakeOptions
): Effect.Effect<LockHierarchy.LockHierarchy, LockHierarchyError> =>
  Effect.try({ try: () => unsafeMake(options), catch: id })

/** @internal */
export const compose = (
  options: LockHierarchy.ComposeOptions
): Effect.Effect<LockHierarchy.LockHierarchy, LockHierarchyError> =>
  Effect.try({ try: () => unsafeCompose(options), catch: id })

const id = (error: unknown) => error as LockHierarchyError

/**
 * A seeded hierarchy (`LockHierarchy.Global`, ...), typed by the annotation of its constant. The annotation is not
 * computed from the constructor's input when a program is checked, which would cost every program that imports the
 * package; the type tests check it against what `make` and `compose` compute at the type level, and the tests
 * against what they compute at run time.
 *
 * @internal
 */
export const seeded = <H extends LockHierarchy.LockHierarchy>(hierarchy: LockHierarchy.LockHierarchy): H =>
  hierarchy as H

/** @internal */
export const findLevel = (hierarchy: LockHierarchy.LockHierarchy, level: string): LockHierarchy.Level | undefined =>
  (hierarchy as unknown as { readonly index: Map<string, LockHierarchy.Level> }).index.get(level)

/** @internal */
export const rankOf = (hierarchy: LockHierarchy.LockHierarchy, level: string): number => {
  const found = findLevel(hierarchy, level)
  if (found === undefined) {
    throw new Error(
      `lock hierarchy ${hierarchy.name} has no level "${level}"; levels: ${
        hierarchy.levels.map((l) => l.name).join(", ")
      }`
    )
  }
  return found.rank
}

/** @internal */
export const render = (hierarchy: LockHierarchy.LockHierarchy): string => {
  return [
    `${hierarchy.name}`,
    `${"rank".padStart(4)}  level`,
    ...hierarchy.levels.map((level) => `${String(level.rank).padStart(4)}  ${level.name}`)
  ].join("\n")
}

// ---------------------------------------------------------------------------------------------------------------------
// Rank tables at the type level: what `make` and `compose` compute at run time, computed by the compiler from literal
// inputs, so that a lock made from a hierarchy level (`TypedLock.fromLevel`) carries its rank as a literal. Every
// input that is not literal (a level list that is not a tuple, a name of type `string`, a rank of type `number`, an
// order that is not a tuple) gives the wide table `{ readonly [level: string]: number }`.
//
// Ranks are compared digit by digit on their decimal strings (a longer string is a larger number; strings of one
// length compare lexicographically through a ten-entry table), so a comparison costs a handful of instantiations
// whatever the size of the ranks, instead of building tuples as long as the ranks.
// ---------------------------------------------------------------------------------------------------------------------

/** For each decimal digit, the digits below it. */
interface DigitsBelow {
  readonly "0": never
  readonly "1": "0"
  readonly "2": "0" | "1"
  readonly "3": "0" | "1" | "2"
  readonly "4": "0" | "1" | "2" | "3"
  readonly "5": "0" | "1" | "2" | "3" | "4"
  readonly "6": "0" | "1" | "2" | "3" | "4" | "5"
  readonly "7": "0" | "1" | "2" | "3" | "4" | "5" | "6"
  readonly "8": "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7"
  readonly "9": "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8"
}

/**
 * Compares two digit strings in one pass: `First` is the verdict of the first differing digit (`"eq"` until one
 * differs); a string that ends first is the smaller number, whatever its digits.
 */
type CompareDigits<A extends string, B extends string, First extends "lt" | "eq" | "gt"> = A extends
  `${infer HeadA}${infer RestA}` ? B extends `${infer HeadB extends keyof DigitsBelow}${infer RestB}` ? CompareDigits<
      RestA,
      RestB,
      First extends "eq" ? HeadA extends HeadB ? "eq" : HeadA extends DigitsBelow[HeadB] ? "lt" : "gt" : First
    >
  : "gt"
  : B extends "" ? First
  : "lt"

/** `true` when the non-negative integer literal `A` is below `B`. */
export type LessThan<A extends number, B extends number> = [A] extends [B] ? false
  : CompareDigits<`${A}`, `${B}`, "eq"> extends "lt" ? true
  : false

/**
 * `true` when `N` is a literal non-negative integer (`0`, `7`, `120`): a rank the compiler can check. `number`,
 * negative, fractional and exponent literals are not.
 */
export type IsStaticRank<N extends number> = number extends N ? false
  : `${N}` extends `-${string}` ? false
  : `${N}` extends `${bigint}` ? true
  : false

/** Any hierarchy: the type every hierarchy is assignable to. */
type AnyHierarchy = LockHierarchy.LockHierarchy

/** The wide table: what is known of a hierarchy built from input that is not literal. */
type Wide = LockHierarchy.RankTable

/** Flattens an intersection of one-entry tables into one table (inferred, so that it displays as an object type). */
type Flatten<Table> = Table extends infer T ? { readonly [K in keyof T]: T[K] } : never

/** The name of a level as `make` takes it: a string, or an object's `name`. */
type InputName<Input> = Input extends string ? Input : Input extends LockHierarchy.Level ? Input["name"] : never

/** The table of a tuple of levels, the position (1-based) of a string level being its rank. */
type Positional<Levels, Position extends ReadonlyArray<unknown>, Table> = Levels extends
  readonly [infer Head, ...infer Tail] ? Positional<
    Tail,
    [...Position, unknown],
    & Table
    & (Head extends string ? { readonly [K in Head]: Position["length"] }
      : Head extends LockHierarchy.Level ? { readonly [K in Head["name"]]: Head["rank"] }
      : never)
  >
  : Flatten<Table>

/**
 * The rank table `make` builds from `levels`: level name to rank, a string level ranked by its position (1-based),
 * an object by its own rank. Wide when the list is not a tuple or a name is not a literal.
 */
export type MadeRanks<Levels extends ReadonlyArray<string | LockHierarchy.Level>> = number extends Levels["length"]
  ? Wide
  : string extends InputName<Levels[number]> ? Wide
  : Positional<Levels, [unknown], unknown>

/** The hierarchy `make` builds. */
export type Made<Name extends string, Levels extends ReadonlyArray<string | LockHierarchy.Level>> =
  LockHierarchy.LockHierarchy<MadeRanks<Levels>, Name, readonly []>

/** `true` for every member of a union of ranks that is a static rank. */
type StaticRanks<Ranks extends number> = Ranks extends number ? IsStaticRank<Ranks> : never

/**
 * `true` when the compiler can rank the levels of this part: a literal name, a known kind (base or composed), a
 * literal table of non-negative integer ranks.
 */
type IsLiteralPart<H extends AnyHierarchy> = string extends H["name"] ? false
  : number extends H["parts"]["length"] ? false
  : string extends keyof H["ranks"] ? false
  : false extends StaticRanks<H["ranks"][keyof H["ranks"]]> ? false
  : true

/** `true` when every part is literal (see `IsLiteralPart`). */
type AllLiteralParts<Parts extends ReadonlyArray<AnyHierarchy>> = false extends
  (Parts[number] extends infer H extends AnyHierarchy ? IsLiteralPart<H> : never) ? false : true

/** The part names a `[before, after]` pair mentions. */
type PairNames<Pair> = Pair extends readonly [infer Before extends string, infer After extends string] ? Before | After
  : never

/** The parts that must come before the part named `Name`. */
type Predecessors<Pair, Name extends string> = Pair extends readonly [infer Before, infer After]
  ? [After] extends [Name] ? Before : never
  : never

/** The first part, in declaration order, not yet taken whose predecessors are all taken (Kahn's algorithm). */
type NextReady<Parts, Order extends ReadonlyArray<unknown>, Done extends string> = Parts extends
  readonly [infer H extends AnyHierarchy, ...infer Rest] ? [H["name"]] extends [Done] ? NextReady<Rest, Order, Done>
  : [Exclude<Predecessors<Order[number], H["name"]>, Done>] extends [never] ? H
  : NextReady<Rest, Order, Done>
  : false

/** The parts in the order `compose` chooses, or `false` when there is none (a cycle, a duplicate part name). */
type Topological<
  Parts extends ReadonlyArray<AnyHierarchy>,
  Order extends ReadonlyArray<unknown>,
  Done extends string,
  Out extends ReadonlyArray<AnyHierarchy>
> = Out["length"] extends Parts["length"] ? Out
  : NextReady<Parts, Order, Done> extends infer H ? [H] extends [AnyHierarchy] ? Topological<
        Parts,
        Order,
        Done | H["name"],
        [...Out, H]
      >
    : false
  : false

/**
 * The ordered parts, or `false` when the compiler cannot compute them: input not literal, or input the run time
 * rejects (no part, an unknown part, a cycle, a duplicate part name).
 */
type Ordered<Parts extends ReadonlyArray<AnyHierarchy>, Order extends ReadonlyArray<unknown>> = number extends
  Parts["length"] ? false
  : Parts extends readonly [] ? false
  : number extends Order["length"] ? false
  : string extends PairNames<Order[number]> ? false
  : [Exclude<PairNames<Order[number]>, Parts[number]["name"]>] extends [never] ?
    AllLiteralParts<Parts> extends true ? Topological<Parts, Order, never, []> : false
  : false

/** A member of a union (which one is unspecified: `Members` only counts them). */
type LastOf<U> = (U extends unknown ? (last: () => U) => void : never) extends (last: infer I) => void
  ? I extends () => infer L ? L : never
  : never
/** A tuple with one element per member of a union. */
type Members<U, Acc extends ReadonlyArray<unknown> = []> = [U] extends [never] ? Acc
  : Members<Exclude<U, LastOf<U>>, [...Acc, unknown]>

/** The ranks of a union that are below `Rank`. */
type Below<Ranks extends number, Rank extends number> = Ranks extends number ?
  LessThan<Ranks, Rank> extends true ? Ranks
  : never
  : never

/** The name of a part's level in the composed hierarchy: `Part.level`, or the level name for a composed part. */
type ComposedLevel<H extends AnyHierarchy, Level extends string> = H["parts"] extends readonly [] ?
  `${H["name"]}.${Level}`
  : Level

/**
 * The composed table: the parts' levels renumbered 1, 2, ... in the order of the parts, equal ranks of one part kept
 * equal. `Offset` holds one element per rank of the parts already numbered.
 */
type ComposedRanks<Ordered, Offset extends ReadonlyArray<unknown>, Table> = Ordered extends
  readonly [infer H extends AnyHierarchy, ...infer Rest] ? ComposedRanks<
    Rest,
    [...Offset, ...Members<H["ranks"][keyof H["ranks"]]>],
    & Table
    & {
      readonly [K in keyof H["ranks"] & string as ComposedLevel<H, K>]: [
        ...Offset,
        ...Members<Below<H["ranks"][keyof H["ranks"]], H["ranks"][K]>>,
        unknown
      ]["length"]
    }
  >
  : Flatten<Table>

/** The names of the ordered parts. */
type PartNames<Ordered, Names extends ReadonlyArray<string> = readonly []> = Ordered extends
  readonly [infer H extends AnyHierarchy, ...infer Rest] ? PartNames<Rest, readonly [...Names, H["name"]]>
  : Names

/**
 * The hierarchy `compose` builds: the composed table and the ordered part names when the parts and the order are
 * literal, else the wide table and a non-empty list of part names.
 */
export type Composed<
  Name extends string,
  Parts extends ReadonlyArray<AnyHierarchy>,
  Order extends ReadonlyArray<unknown>
> = Ordered<Parts, Order> extends infer O ?
  [O] extends [ReadonlyArray<AnyHierarchy>] ?
    LockHierarchy.LockHierarchy<ComposedRanks<O, [], unknown>, Name, PartNames<O>>
  : LockHierarchy.LockHierarchy<Wide, Name, readonly [string, ...Array<string>]>
  : never

/** The rank `rankOf` returns: the table's, or `number` for a level the type does not know. */
export type RankOf<Ranks extends LockHierarchy.RankTable, Level extends string> = Level extends keyof Ranks ?
  Ranks[Level]
  : number

/** The class name of a lock of that level (`qualifiedName` at the type level); `string` when the kind is unknown. */
export type LockName<H extends AnyHierarchy, Level extends string> = H["parts"] extends readonly [] ?
  string extends H["name"] ? string : `${H["name"]}.${Level}`
  : H["parts"] extends readonly [string, ...ReadonlyArray<string>] ? Level
  : string
