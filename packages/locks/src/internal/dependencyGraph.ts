/**
 * The learned dependency graph of lock classes and its chain cache, after Linux lockdep
 * (`Documentation/locking/lockdep-design.rst`, `kernel/locking/lockdep.c`).
 *
 * Nodes are lock classes; an edge `A -> B` means "a fiber took B while holding A". Each edge carries up to four
 * dependency types, lockdep's `-(EN)->`, `-(ER)->`, `-(SN)->`, `-(SR)->`: the first letter is how A was held
 * (E: exclusively, S: shared, i.e. read), the second how B was taken (R: a recursive read, which waiting writers do not
 * block; N: anything else). A cycle is a potential deadlock only if it is *strong*: no two adjacent edges `-(xR)->`
 * then `-(Sx)->` (a lock entered as a recursive read and left as a held read blocks nobody), the wrap-around pair
 * included.
 *
 * The chain cache is a trie keyed by the held stack (class, mode, reader kind, try, batch) plus the new request: a
 * fiber keeps the node of its current stack, so finding the node of "stack + request" is one `Map` lookup, and a
 * validated node is never checked again (lockdep's `lookup_chain_cache`).
 *
 * This module knows nothing of fibers or locks: `core.ts` walks the held stack and calls it.
 */

/** Dependency types, as bit positions: `(prev held shared ? 2 : 0) | (next taken as recursive read ? 1 : 0)`. */
export const EN = 0
export const ER = 1
export const SN = 2
export const SR = 3

/** lockdep's names of the four dependency types, by bit position. */
export const typeNames: ReadonlyArray<"EN" | "ER" | "SN" | "SR"> = ["EN", "ER", "SN", "SR"]

export const dependencyType = (prevShared: boolean, nextRecursive: boolean): number =>
  (prevShared ? 2 : 0) | (nextRecursive ? 1 : 0)

/** Where and by whom an edge (of one dependency type) was first seen. */
export interface EdgeOrigin {
  /** The fiber label, e.g. `"#12 (worker)"`. */
  readonly fiber: string
  /** How the source lock was held and how the target was taken (`exclusive`, `read`, `write`). */
  readonly fromMode: string
  readonly toMode: string
  /** Where the source lock was taken, and where the target was being taken. */
  readonly fromSite: string | undefined
  readonly toSite: string | undefined
  /** When (ms since the epoch, from the Clock). */
  readonly at: number
}

let nextClassId = 1
let searchEpoch = 0

/**
 * The generation of the learned graph, process-wide: bumped whenever a class is forgotten, in any registry. The graph
 * is one graph over class nodes (edges cross registries), so a chain validated in any registry's trie may have found
 * a cycle through the forgotten class: every validated chain is checked again.
 */
export const learnedGraph = { generation: 0 }

/** A node of the graph: a lock class, owned by the graph of its registry. */
export class ClassNode {
  /** Process-wide unique: chain keys and cycle signatures are built from it. */
  readonly id = nextClassId++
  readonly out = new Map<ClassNode, Edge>()
  readonly in = new Map<ClassNode, Edge>()
  /**
   * Breadth-first search marks, one per arrival kind: arrived through a recursive read (`R`) or not (`N`), with a
   * non-batch edge on the path so far or (`0`) with batch edges only.
   */
  seenN = 0
  seenR = 0
  seenN0 = 0
  seenR0 = 0
  constructor(readonly name: string, readonly graph: DependencyGraph) {}
}

/** An edge `from -> to` with its dependency types. */
export class Edge {
  /** A bit set of dependency types. */
  types = 0
  /**
   * The dependency types seen only between members of one `withLocks` batch (a subset of `types`): a cycle made of
   * such edges only is not a deadlock (every batch is in canonical order), a cycle with one other edge is.
   */
  batchOnly = 0
  readonly origins: Array<EdgeOrigin | undefined> = [undefined, undefined, undefined, undefined]
  constructor(readonly from: ClassNode, readonly to: ClassNode) {}
}

/**
 * Whether an arrival at `node` is dominated by an earlier one of this search: arriving without a recursive read
 * dominates arriving with one (fewer edges are forbidden after it), and arriving with a non-batch edge on the path
 * dominates arriving without one.
 */
const seen = (node: ClassNode, epoch: number, r: boolean, m: boolean): boolean => {
  if (node.seenN === epoch) return true
  if (r && node.seenR === epoch) return true
  if (m) return false
  return node.seenN0 === epoch || (r && node.seenR0 === epoch)
}

const mark = (node: ClassNode, epoch: number, r: boolean, m: boolean): void => {
  if (m) {
    if (r) node.seenR = epoch
    else node.seenN = epoch
  } else if (r) node.seenR0 = epoch
  else node.seenN0 = epoch
}

const uncount = (edge: Edge): void => {
  edge.from.graph.edges--
  if (edge.to.graph !== edge.from.graph) edge.to.graph.edges--
}

/** One step of a path: an edge used with one of its types. */
export interface Step {
  readonly edge: Edge
  readonly type: number
}

/** A node of the chain cache: one held stack (from the root) in one trie. */
export class ChainNode {
  children: Map<number, ChainNode> | undefined = undefined
  /** The `learnedGraph.generation` at which this chain (as "stack + last request") was validated; -1 if never. */
  validated = -1
  /** The cycle found when it was validated with the `"fail"` reaction (the edge was not learned). */
  failure: Cycle | undefined = undefined
  constructor(readonly root: ChainNode | undefined) {}

  child(key: number): ChainNode {
    let children = this.children
    if (children === undefined) {
      children = new Map()
      this.children = children
    }
    let node = children.get(key)
    if (node === undefined) {
      node = new ChainNode(this.root ?? this)
      children.set(key, node)
    }
    return node
  }
}

/** A cycle closed by a new edge: the new edge (`prev -> next`, with its type), then the path `next -> ... -> prev`. */
export interface Cycle {
  readonly prev: ClassNode
  readonly next: ClassNode
  readonly type: number
  readonly path: ReadonlyArray<Step>
}

/**
 * The graph state of one registry: the chain cache, the counters, the cycles already reported. An edge between classes
 * of two registries is counted (`edges`) in both, as both export it.
 */
export class DependencyGraph {
  root = new ChainNode(undefined)
  edges = 0
  chains = 0
  cacheHits = 0
  /** New-edge checks (breadth-first searches). */
  checks = 0
  reports = 0
  readonly reported = new Set<string>()

  /** Records an edge type (`batch`: between two members of one `withLocks` batch); `false` if it was known. */
  addEdge(from: ClassNode, to: ClassNode, type: number, batch: boolean, origin: () => EdgeOrigin): boolean {
    let edge = from.out.get(to)
    if (edge === undefined) {
      edge = new Edge(from, to)
      from.out.set(to, edge)
      to.in.set(from, edge)
      from.graph.edges++
      if (to.graph !== from.graph) to.graph.edges++
    }
    const bit = 1 << type
    if ((edge.types & bit) !== 0) {
      if (batch || (edge.batchOnly & bit) === 0) return false
      edge.batchOnly &= ~bit
      return true
    }
    edge.types |= bit
    if (batch) edge.batchOnly |= bit
    edge.origins[type] = origin()
    return true
  }

  /**
   * Removes a class of this graph and its edges (uncounted in every registry that counted them); every cached chain,
   * in every registry, is validated again, and this registry's trie starts afresh.
   */
  forget(node: ClassNode): void {
    for (const edge of node.out.values()) {
      edge.to.in.delete(node)
      uncount(edge)
    }
    for (const edge of node.in.values()) {
      if (edge.from === node) continue
      edge.from.out.delete(node)
      uncount(edge)
    }
    node.out.clear()
    node.in.clear()
    learnedGraph.generation++
    this.root = new ChainNode(undefined)
  }

  /**
   * Whether the edge `prev -(type)-> next` would close a strong cycle: a breadth-first search from `next` for `prev`
   * over strong paths (lockdep's `check_noncircular` with its `-(xR)-> -(Sx)->` rule, the wrap-around pair included).
   * A cycle made of batch edges only (`batch`: the new edge is one) is not one. Returns the shortest such path
   * `next -> ... -> prev`.
   */
  findCycle(prev: ClassNode, next: ClassNode, type: number, batch: boolean): Cycle | undefined {
    this.checks++
    const prevShared = (type & 2) !== 0
    const epoch = ++searchEpoch
    const nodes: Array<ClassNode> = [next]
    const viaR: Array<boolean> = [(type & 1) !== 0]
    /** Whether the path (the new edge included) has an edge that is not a batch edge. */
    const mixed: Array<boolean> = [!batch]
    const parents: Array<number> = [-1]
    const steps: Array<Step | undefined> = [undefined]
    mark(next, epoch, viaR[0]!, !batch)
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!
      const arrivedR = viaR[i]!
      const arrivedMixed = mixed[i]!
      if (node === prev && arrivedMixed && !(arrivedR && prevShared)) {
        const path: Array<Step> = []
        for (let j = i; parents[j]! >= 0; j = parents[j]!) path.push(steps[j]!)
        return { prev, next, type, path: path.reverse() }
      }
      for (const edge of node.out.values()) {
        for (let t = 0; t < 4; t++) {
          if ((edge.types & (1 << t)) === 0) continue
          if (arrivedR && (t & 2) !== 0) continue
          const r = (t & 1) !== 0
          const m = arrivedMixed || (edge.batchOnly & (1 << t)) === 0
          const to = edge.to
          if (seen(to, epoch, r, m)) continue
          mark(to, epoch, r, m)
          nodes.push(to)
          viaR.push(r)
          mixed.push(m)
          parents.push(i)
          steps.push({ edge, type: t })
        }
      }
    }
    return undefined
  }

  /** A signature of the cycle's classes and types, independent of where it was closed: each cycle is reported once. */
  signature(cycle: Cycle): string {
    const parts = [`${cycle.prev.id}:${cycle.type}`, ...cycle.path.map((s) => `${s.edge.from.id}:${s.type}`)]
    let start = 0
    for (let i = 1; i < parts.length; i++) if (parts[i]! < parts[start]!) start = i
    return [...parts.slice(start), ...parts.slice(0, start)].join(">")
  }
}
