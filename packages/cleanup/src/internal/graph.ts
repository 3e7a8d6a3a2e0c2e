import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import {
  DependencyCycleError,
  DuplicateStepError,
  InvalidStepError,
  type RegistrationError,
  UnknownDependencyError
} from "../CleanupError.js"
import type { Phase } from "../CleanupStep.js"
import { phases } from "../CleanupStep.js"

/** @internal */
export const defaultTimeoutMs = 5_000
/** @internal */
export const defaultRetries = 3
/** @internal */
export const defaultRetryDelayMs = 1_000

const phaseRank: ReadonlyMap<string, number> = new Map(phases.map((phase, index) => [phase, index]))

/**
 * A step after validation: names resolved to indices, durations to ms, and the registrar's context captured so the
 * step runs with the services it was declared with.
 *
 * @internal
 */
export interface Node {
  readonly name: string
  readonly index: number
  /** Declared phase rank, -1 without a phase. */
  readonly phase: number
  /**
   * The earliest phase rank the step may run in besides its own phase and its dependencies' (0 when registered).
   * Raised when `reset` retires a released resource the step depended on, so its effective phase does not change.
   */
  readonly minPhase: number
  /** Whether the step is the release of a resource registered by `acquire` (released at most once). */
  readonly resource: boolean
  /** Indices of the steps that must finish first. Resources add entries to existing nodes. */
  readonly deps: Array<number>
  /** Indices of the steps that wait for this one. */
  readonly dependents: Array<number>
  readonly run: Effect.Effect<unknown, unknown>
  readonly verify: Effect.Effect<boolean, unknown> | undefined
  readonly context: Context.Context<never>
  readonly timeoutMs: number
  readonly retries: number
  readonly retryDelayMs: number
}

/** @internal */
export interface Graph {
  readonly nodes: Array<Node>
  readonly byName: Map<string, Node>
  /** How many nodes are resource releases (so a `reset` without any costs O(1)). */
  resources: number
}

/** @internal */
export const makeGraph = (): Graph => ({ nodes: [], byName: new Map(), resources: 0 })

/**
 * A declaration ready for validation: `uses` adds this step to the dependencies of the named steps (a resource is
 * released before what it uses).
 *
 * @internal
 */
export interface Declaration {
  readonly name: string
  readonly phase: Phase | undefined
  readonly dependsOn: Iterable<string> | undefined
  readonly uses: Iterable<string> | undefined
  readonly resource: boolean
  readonly run: Effect.Effect<unknown, unknown>
  readonly verify: Effect.Effect<boolean, unknown> | undefined
  readonly context: Context.Context<never>
  readonly timeout: Duration.DurationInput | undefined
  readonly retries: number | undefined
  readonly retryDelay: Duration.DurationInput | undefined
}

/** @internal */
export interface Defaults {
  readonly timeoutMs: number
  readonly retries: number
  readonly retryDelayMs: number
}

/** @internal */
export const toMillis = (input: Duration.DurationInput): number | undefined => {
  const decoded = Duration.decodeUnknown(input)
  return decoded._tag === "Some" ? Duration.toMillis(decoded.value) : undefined
}

const checkDeclaration = (
  declaration: Declaration,
  defaults: Defaults
): Either.Either<{ timeoutMs: number; retries: number; retryDelayMs: number; phase: number }, InvalidStepError> => {
  const fail = (reason: string) => Either.left(new InvalidStepError({ step: String(declaration.name), reason }))
  if (typeof declaration.name !== "string" || declaration.name.length === 0) {
    return fail("the name must be a non-empty string")
  }
  let phase = -1
  if (declaration.phase !== undefined) {
    const rank = phaseRank.get(declaration.phase)
    if (rank === undefined) {
      return fail(`unknown phase "${String(declaration.phase)}" (expected one of ${phases.join(", ")})`)
    }
    phase = rank
  }
  const timeoutMs = declaration.timeout === undefined ? defaults.timeoutMs : toMillis(declaration.timeout)
  if (timeoutMs === undefined || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    return fail("the timeout must be a positive, finite duration")
  }
  const retries = declaration.retries ?? defaults.retries
  if (!Number.isInteger(retries) || retries < 1) {
    return fail(`retries must be an integer >= 1 (attempts in all), got ${retries}`)
  }
  const retryDelayMs = declaration.retryDelay === undefined ? defaults.retryDelayMs : toMillis(declaration.retryDelay)
  if (retryDelayMs === undefined || !(retryDelayMs >= 0) || !Number.isFinite(retryDelayMs)) {
    return fail("the retry delay must be a finite duration >= 0")
  }
  return Either.right({ timeoutMs, retries, retryDelayMs, phase })
}

/**
 * Validates a batch against the graph and adds it, or leaves the graph untouched and returns the first error.
 * Cost: O(batch + its edges) unless a declaration has `uses`, which adds edges into existing steps; then the cycle
 * search may walk the part of the graph reachable from the batch.
 *
 * @internal
 */
export const addAll = (
  graph: Graph,
  batch: ReadonlyArray<Declaration>,
  defaults: Defaults
): Either.Either<ReadonlyArray<Node>, RegistrationError> => {
  const base = graph.nodes.length
  const batchIndex = new Map<string, number>()
  const checked: Array<{ timeoutMs: number; retries: number; retryDelayMs: number; phase: number }> = []
  for (let i = 0; i < batch.length; i++) {
    const declaration = batch[i]!
    const check = checkDeclaration(declaration, defaults)
    if (Either.isLeft(check)) return Either.left(check.left)
    if (graph.byName.has(declaration.name) || batchIndex.has(declaration.name)) {
      return Either.left(new DuplicateStepError({ step: declaration.name }))
    }
    batchIndex.set(declaration.name, base + i)
    checked.push(check.right)
  }
  const resolve = (name: string): number | undefined => batchIndex.get(name) ?? graph.byName.get(name)?.index
  const batchDeps: Array<Array<number>> = []
  // existing node index -> new dependencies it gains through `uses`
  const gained = new Map<number, Array<number>>()
  for (let i = 0; i < batch.length; i++) {
    const declaration = batch[i]!
    const deps: Array<number> = []
    for (const name of declaration.dependsOn ?? []) {
      const index = resolve(name)
      if (index === undefined) {
        return Either.left(new UnknownDependencyError({ step: declaration.name, dependency: String(name) }))
      }
      if (!deps.includes(index)) deps.push(index)
    }
    batchDeps.push(deps)
  }
  for (let i = 0; i < batch.length; i++) {
    const declaration = batch[i]!
    for (const name of declaration.uses ?? []) {
      const index = resolve(name)
      if (index === undefined) {
        return Either.left(new UnknownDependencyError({ step: declaration.name, dependency: String(name) }))
      }
      const owner = base + i
      const target = index >= base ? batchDeps[index - base]! : (gained.get(index) ?? [])
      if (index < base && !gained.has(index)) gained.set(index, target)
      if (!target.includes(owner)) target.push(owner)
    }
  }
  const depsOf = (index: number): ReadonlyArray<number> => {
    if (index >= base) return batchDeps[index - base]!
    const extra = gained.get(index)
    const existing = graph.nodes[index]!.deps
    return extra === undefined ? existing : existing.concat(extra)
  }
  const cycle = findCycle(base, batch.length, depsOf, gained.size > 0)
  if (cycle !== undefined) {
    const nameOf = (index: number) => index >= base ? batch[index - base]!.name : graph.nodes[index]!.name
    return Either.left(new DependencyCycleError({ path: cycle.map(nameOf) }))
  }
  const added: Array<Node> = []
  for (let i = 0; i < batch.length; i++) {
    const declaration = batch[i]!
    const settings = checked[i]!
    const node: Node = {
      name: declaration.name,
      index: base + i,
      phase: settings.phase,
      minPhase: 0,
      resource: declaration.resource,
      deps: batchDeps[i]!,
      dependents: [],
      run: declaration.run,
      verify: declaration.verify,
      context: declaration.context,
      timeoutMs: settings.timeoutMs,
      retries: settings.retries,
      retryDelayMs: settings.retryDelayMs
    }
    graph.nodes.push(node)
    graph.byName.set(node.name, node)
    if (node.resource) graph.resources++
    added.push(node)
  }
  for (const node of added) {
    for (const dep of node.deps) graph.nodes[dep]!.dependents.push(node.index)
  }
  for (const [index, extra] of gained) {
    const node = graph.nodes[index]!
    for (const dep of extra) {
      node.deps.push(dep)
      graph.nodes[dep]!.dependents.push(index)
    }
  }
  return Either.right(added)
}

const WHITE = 0
const GREY = 1
const BLACK = 2

/**
 * Iterative depth-first search from the batch nodes `[base, base + count)`. Every new cycle contains a batch node
 * (each new edge starts or ends at one), so starting there is enough; when no existing node gained an edge, a path
 * that leaves the batch cannot come back, so the search stays inside the batch. Returns the cycle in dependency
 * direction with its first node repeated at the end.
 */
const findCycle = (
  base: number,
  count: number,
  depsOf: (index: number) => ReadonlyArray<number>,
  wholeGraph: boolean
): Array<number> | undefined => {
  const offset = wholeGraph ? 0 : base
  const color = new Uint8Array(wholeGraph ? base + count : count)
  const stack: Array<number> = []
  const cursor: Array<number> = []
  for (let start = base; start < base + count; start++) {
    if (color[start - offset] !== WHITE) continue
    stack.push(start)
    cursor.push(0)
    color[start - offset] = GREY
    while (stack.length > 0) {
      const top = stack.length - 1
      const node = stack[top]!
      const deps = depsOf(node)
      const next = cursor[top]!
      if (next < deps.length) {
        cursor[top] = next + 1
        const dep = deps[next]!
        if (dep < offset) continue
        const state = color[dep - offset]
        if (state === GREY) return stack.slice(stack.indexOf(dep)).concat([dep])
        if (state === WHITE) {
          color[dep - offset] = GREY
          stack.push(dep)
          cursor.push(0)
        }
      } else {
        color[node - offset] = BLACK
        stack.pop()
        cursor.pop()
      }
    }
  }
  return undefined
}

/**
 * The effective phase of every node: the latest of its own phase and its dependencies' effective phases (0 when
 * neither gives one). Kahn's algorithm, O(V + E).
 *
 * @internal
 */
export const effectivePhases = (nodes: ReadonlyArray<Node>): Int32Array => {
  const count = nodes.length
  const effective = new Int32Array(count)
  const indegree = new Int32Array(count)
  const queue = new Int32Array(count)
  let tail = 0
  for (let i = 0; i < count; i++) {
    const node = nodes[i]!
    indegree[i] = node.deps.length
    effective[i] = node.phase > node.minPhase ? node.phase : node.minPhase
    if (node.deps.length === 0) queue[tail++] = i
  }
  for (let head = 0; head < tail; head++) {
    const index = queue[head]!
    const phase = effective[index]!
    for (const dependent of nodes[index]!.dependents) {
      if (effective[dependent]! < phase) effective[dependent] = phase
      if (--indegree[dependent]! === 0) queue[tail++] = dependent
    }
  }
  return effective
}

/**
 * The longest a step can take when everything times out: the run, every verification attempt and the pauses
 * between them, in ms. Phases share a total deadline in proportion to the sum of their steps' worst cases.
 *
 * @internal
 */
export const worstCaseMs = (node: Node, injectedVerify: boolean): number =>
  node.verify === undefined && !injectedVerify
    ? node.timeoutMs
    : node.timeoutMs + node.retries * node.timeoutMs + (node.retries - 1) * node.retryDelayMs

/**
 * Splits `deadlineMs` across phases in proportion to their weights. Returns the cumulative deadline of each phase
 * as an offset from the start of the run (unused budget carries over to later phases) and each phase's share.
 *
 * @internal
 */
export const splitBudget = (
  weights: ReadonlyArray<number>,
  deadlineMs: number
): { readonly budgets: Array<number>; readonly offsets: Array<number> } => {
  const total = weights.reduce((sum, weight) => sum + weight, 0)
  const budgets = weights.map((weight) => total === 0 ? 0 : (deadlineMs * weight) / total)
  const offsets: Array<number> = []
  let sum = 0
  let last = -1
  for (let i = 0; i < weights.length; i++) if (weights[i]! > 0) last = i
  for (let i = 0; i < weights.length; i++) {
    sum += budgets[i]!
    offsets.push(i >= last ? deadlineMs : sum)
  }
  return { budgets, offsets }
}

/**
 * Removes the nodes of `drop` from the graph, keeping every order and effective phase among the others: a kept node
 * that depended on a removed one now depends on what the removed one depended on (transitively, through removed
 * nodes), and its `minPhase` keeps the phase the removed one imposed. Indices are renumbered in registration order
 * and the removed names become free. O(V + E) plus the bypass edges.
 *
 * @internal
 */
export const removeNodes = (graph: Graph, drop: ReadonlySet<number>): void => {
  if (drop.size === 0) return
  const nodes = graph.nodes
  const count = nodes.length
  const renumbered = new Int32Array(count)
  let next = 0
  for (let i = 0; i < count; i++) renumbered[i] = drop.has(i) ? -1 : next++
  // per node, in topological order: the kept nodes it reaches through removed dependencies, and the phase floor
  // those removed dependencies impose
  const keptDeps: Array<Array<number>> = new Array(count)
  const floors = new Int32Array(count)
  const indegree = new Int32Array(count)
  const queue = new Int32Array(count)
  let tail = 0
  for (let i = 0; i < count; i++) {
    indegree[i] = nodes[i]!.deps.length
    if (indegree[i] === 0) queue[tail++] = i
  }
  for (let head = 0; head < tail; head++) {
    const index = queue[head]!
    const node = nodes[index]!
    const deps: Array<number> = []
    let floor = node.minPhase
    for (const dep of node.deps) {
      if (renumbered[dep]! >= 0) {
        if (!deps.includes(dep)) deps.push(dep)
        continue
      }
      const removed = nodes[dep]!
      const imposed = removed.phase > floors[dep]! ? removed.phase : floors[dep]!
      if (imposed > floor) floor = imposed
      for (const through of keptDeps[dep]!) if (!deps.includes(through)) deps.push(through)
    }
    keptDeps[index] = deps
    floors[index] = floor
    for (const dependent of node.dependents) {
      if (--indegree[dependent]! === 0) queue[tail++] = dependent
    }
  }
  const kept: Array<Node> = []
  for (let i = 0; i < count; i++) {
    if (renumbered[i]! < 0) continue
    const node = nodes[i]!
    kept.push({
      ...node,
      index: renumbered[i]!,
      minPhase: floors[i]!,
      deps: keptDeps[i]!.map((dep) => renumbered[dep]!),
      dependents: []
    })
  }
  for (const node of kept) {
    for (const dep of node.deps) kept[dep]!.dependents.push(node.index)
  }
  nodes.length = 0
  graph.byName.clear()
  graph.resources = 0
  for (const node of kept) {
    nodes.push(node)
    graph.byName.set(node.name, node)
    if (node.resource) graph.resources++
  }
}
