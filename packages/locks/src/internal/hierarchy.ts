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
export const make = (options: LockHierarchy.MakeOptions) => Effect.try({ try: () => unsafeMake(options), catch: id })

/** @internal */
export const compose = (options: LockHierarchy.ComposeOptions) =>
  Effect.try({ try: () => unsafeCompose(options), catch: id })

const id = (error: unknown) => error as LockHierarchyError

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
