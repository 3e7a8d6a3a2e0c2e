import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as DeadlockDetector from "../DeadlockDetector.js"
import type { DeadlockDetected } from "../LockError.js"
import type * as LockRegistry from "../LockRegistry.js"
import * as core from "./core.js"
import { type ClassNode, type Edge, typeNames } from "./dependencyGraph.js"
import * as registry from "./registry.js"
import { lockLabel } from "./render.js"

/** @internal */
export const dependencyGraphOf = (reg: LockRegistry.Registry): DeadlockDetector.DependencyGraph => {
  const r = registry.unwrap(reg)
  const classes = Array.from(r.classes.values())
  const known = new Set<string>(classes.map((cls) => cls.name))
  const nodes: Array<DeadlockDetector.ClassEntry> = classes.map((cls) => ({ name: cls.name, rank: cls.rank }))
  const foreign = (node: ClassNode): void => {
    if (known.has(node.name)) return
    known.add(node.name)
    nodes.push({ name: node.name, rank: node instanceof core.LockClass ? node.rank : undefined })
  }
  // the edges with either end in this registry (an edge between two registries is listed, and counted, by both)
  const all: Array<Edge> = []
  for (const cls of classes) {
    for (const edge of cls.out.values()) all.push(edge)
    for (const edge of cls.in.values()) if (edge.from.graph !== r.graph) all.push(edge)
  }
  const edges: Array<DeadlockDetector.DependencyEdge> = []
  for (const edge of all) {
    foreign(edge.from)
    foreign(edge.to)
    const types: Array<"EN" | "ER" | "SN" | "SR"> = []
    // the first sighting of the edge: the earliest origin of its types (the lowest type on a tie)
    let origin = undefined
    for (let t = 0; t < 4; t++) {
      if ((edge.types & (1 << t)) === 0) continue
      types.push(typeNames[t]!)
      const candidate = edge.origins[t]
      if (candidate !== undefined && (origin === undefined || candidate.at < origin.at)) origin = candidate
    }
    edges.push({
      from: edge.from.name,
      to: edge.to.name,
      types,
      fiber: origin?.fiber,
      fromSite: origin?.fromSite,
      toSite: origin?.toSite,
      at: origin?.at
    })
  }
  return { _tag: "DependencyGraph", classes: nodes, edges }
}

/** @internal */
export const waitForGraphOf = (reg: LockRegistry.Registry, now: number): DeadlockDetector.WaitForGraph => {
  const fibers = new Set<string>()
  const edges: Array<DeadlockDetector.WaitForEdge> = []
  for (const lock of registry.unwrap(reg).busyLocks().sort(core.canonicalOrder)) {
    for (const holder of lock.writer === undefined ? lock.readers : [lock.writer, ...lock.readers]) {
      fibers.add(core.fiberLabel(holder.fiber))
    }
    for (const waiter of lock.waiters()) {
      const p = waiter.pending
      fibers.add(core.fiberLabel(p.fiber))
      for (const blocker of core.blockersOf(lock, p.fiber, p.req.access, waiter)) {
        edges.push({ ...core.describeWaitStep(p, blocker), waitedMs: now - waiter.since })
      }
    }
  }
  for (const join of registry.unwrap(reg).joins) {
    const link = core.describeJoin(join)
    fibers.add(link.waiter)
    fibers.add(link.blocker)
    edges.push({ ...link, waitedMs: now - join.since })
  }
  return { _tag: "WaitForGraph", at: now, fibers: Array.from(fibers), edges }
}

/** @internal */
export const statsOf = (reg: LockRegistry.Registry): DeadlockDetector.Stats => {
  const r = registry.unwrap(reg)
  return {
    classes: r.classes.size,
    edges: r.graph.edges,
    chains: r.graph.chains,
    cacheHits: r.graph.cacheHits,
    checks: r.graph.checks,
    reports: r.graph.reports,
    deadlocks: r.deadlocks,
    joins: r.joinWaits
  }
}

const inRegistry = <A>(f: (reg: LockRegistry.Registry, now: number) => A): Effect.Effect<A> =>
  Effect.withFiberRuntime((fiber) =>
    Effect.sync(() =>
      f(
        Context.get(fiber.currentContext, registry.LockRegistryTag),
        Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
      )
    )
  )

/** @internal */
export const dependencyGraph: Effect.Effect<DeadlockDetector.DependencyGraph> = inRegistry(dependencyGraphOf)

/** @internal */
export const waitForGraph: Effect.Effect<DeadlockDetector.WaitForGraph> = inRegistry(waitForGraphOf)

/** @internal */
export const stats: Effect.Effect<DeadlockDetector.Stats> = inRegistry(statsOf)

const quote = (text: string): string => `"${text.replace(/\\/g, "\\\\").replace(/"/g, "\\\"")}"`

const waitLabel = (edge: DeadlockDetector.WaitForEdge): string =>
  edge.via === "join"
    ? "joins (waits for it to exit)"
    : `${edge.reason === "holds" ? "waits for" : "queued behind"} ${edge.mode} ${lockLabel(edge.lock)}`

/** @internal */
export const toDot = (graph: DeadlockDetector.DependencyGraph | DeadlockDetector.WaitForGraph): string => {
  const lines: Array<string> = []
  if (graph._tag === "DependencyGraph") {
    lines.push(`digraph "lock dependencies" {`)
    for (const cls of graph.classes) {
      lines.push(
        `  ${quote(cls.name)} [label=${quote(cls.rank === undefined ? cls.name : `${cls.name} (rank ${cls.rank})`)}];`
      )
    }
    for (const edge of graph.edges) {
      lines.push(`  ${quote(edge.from)} -> ${quote(edge.to)} [label=${quote(edge.types.join(","))}];`)
    }
  } else {
    lines.push(`digraph "wait-for" {`)
    for (const fiber of graph.fibers) lines.push(`  ${quote(fiber)};`)
    for (const edge of graph.edges) {
      lines.push(
        `  ${quote(edge.waiter)} -> ${quote(edge.blocker)} [label=${quote(waitLabel(edge))}${
          edge.via === "join" ? ", style=dashed" : ""
        }];`
      )
    }
  }
  lines.push("}")
  return lines.join("\n")
}

const mermaidText = (text: string): string => text.replace(/"/g, "#quot;")

/** @internal */
export const toMermaid = (graph: DeadlockDetector.DependencyGraph | DeadlockDetector.WaitForGraph): string => {
  const ids = new Map<string, string>()
  const lines = ["flowchart LR"]
  const node = (name: string, label: string): string => {
    let id = ids.get(name)
    if (id === undefined) {
      id = `n${ids.size}`
      ids.set(name, id)
      lines.push(`  ${id}["${mermaidText(label)}"]`)
    }
    return id
  }
  if (graph._tag === "DependencyGraph") {
    for (const cls of graph.classes) {
      node(cls.name, cls.rank === undefined ? cls.name : `${cls.name} (rank ${cls.rank})`)
    }
    for (const edge of graph.edges) {
      lines.push(`  ${node(edge.from, edge.from)} -->|${edge.types.join(",")}| ${node(edge.to, edge.to)}`)
    }
  } else {
    for (const fiber of graph.fibers) node(fiber, fiber)
    for (const edge of graph.edges) {
      const from = node(edge.waiter, edge.waiter)
      const to = node(edge.blocker, edge.blocker)
      lines.push(`  ${from} ${edge.via === "join" ? "-.->" : "-->"}|"${mermaidText(waitLabel(edge))}"| ${to}`)
    }
  }
  return lines.join("\n")
}

/** @internal */
export const toJson = (graph: DeadlockDetector.DependencyGraph | DeadlockDetector.WaitForGraph): string =>
  JSON.stringify(graph, null, 2)

/** @internal */
export const renderWaitFor = (graph: DeadlockDetector.WaitForGraph): string => {
  if (graph.edges.length === 0) return `wait-for graph: ${graph.fibers.length} fibers, nobody waits`
  return [
    `wait-for graph: ${graph.fibers.length} fibers, ${graph.edges.length} edges`,
    ...graph.edges.map((edge) =>
      `  ${edge.waiter} -> ${edge.blocker}: ${waitLabel(edge)}, waiting ${edge.waitedMs} ms${
        edge.site === undefined ? "" : ` at ${edge.site}`
      }; ${
        edge.via === "join"
          ? `${edge.blocker} has not exited`
          : `${edge.blocker} ${edge.reason === "holds" ? "holds" : "asked for"} it (${edge.blockerMode})${
            edge.blockerSite === undefined ? "" : ` at ${edge.blockerSite}`
          }`
      }`
    )
  ].join("\n")
}

/** @internal */
export const waitForProbe: DeadlockDetector.DiagnosticsProbe = {
  name: "lock wait-for graph",
  report: Effect.map(waitForGraph, renderWaitFor)
}

/**
 * `DeadlockDetector.await`: `Fiber.await` with a wait-for edge "joiner -> joinee" in the registry in effect for
 * exactly the duration of the wait. A fiber that has exited is awaited without an edge (there is nothing to wait
 * for). The edge is registered and its removal installed in one masked step, so it leaves the graph on success,
 * failure and interruption alike; only the wait itself is interruptible.
 */
export const awaitFiber = <A, E>(
  joinee: Fiber.RuntimeFiber<A, E>,
  site: core.Site | undefined
): Effect.Effect<Exit.Exit<A, E>, DeadlockDetected> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<Exit.Exit<A, E>, DeadlockDetected>((joiner) => {
      const done = joinee.unsafePoll()
      if (done !== null) return Effect.succeed(done)
      const started = core.beginJoin(
        joiner,
        joinee as core.AnyFiber,
        registry.unwrap(Context.get(joiner.currentContext, registry.LockRegistryTag)),
        site
      )
      if (!(started instanceof core.JoinWait)) return Effect.fail(started)
      return Effect.ensuring(restore(joinee.await), Effect.sync(() => core.endJoin(started)))
    })
  )

/** `DeadlockDetector.await`, as the user calls it: the call site is captured here. */
export const await_ = <A, E>(fiber: Fiber.RuntimeFiber<A, E>): Effect.Effect<Exit.Exit<A, E>, DeadlockDetected> =>
  awaitFiber(fiber, core.captureSite("call-site", await_))

/**
 * `DeadlockDetector.join`: like `Fiber.join` (the joined fiber's failure is the joiner's, its FiberRefs are inherited),
 * through `awaitFiber`.
 */
export const join = <A, E>(fiber: Fiber.RuntimeFiber<A, E>): Effect.Effect<A, E | DeadlockDetected> =>
  Effect.zipLeft(Effect.flatten(awaitFiber(fiber, core.captureSite("call-site", join))), fiber.inheritAll)
