import { LockRegistry, OrderedLock } from "@core-stability/locks"
import { Effect } from "effect"
import type { Benchmark } from "../../Benchmark.js"
import * as Harness from "../harness.js"
import { configured } from "./locks.js"

const detecting = { mode: "strict", metrics: true, detection: { potential: "fail", actual: "fail" } } as const
const notDetecting = { mode: "strict", metrics: true, detection: { potential: "off", actual: "off" } } as const

// `withLock` of each lock in turn, the first outermost: the fiber holds all of them around `Effect.void`.
const nested = (locks: ReadonlyArray<OrderedLock.OrderedLock>): Effect.Effect<void, unknown> =>
  locks.reduceRight<Effect.Effect<void, unknown>>((body, lock) => OrderedLock.withLock(lock, body), Effect.void)

const classes = (prefix: string, count: number): ReadonlyArray<OrderedLock.OrderedLock> => {
  const registry = LockRegistry.unsafeMake()
  return Array.from(
    { length: count },
    (_, index) => OrderedLock.unsafeMake({ name: `${prefix}.${index + 1}`, rank: index + 1, registry })
  )
}

/** @internal */
export const cachedChain: Benchmark = {
  id: "deadlock.cached-chain",
  subject: "a chain of 3 OrderedLock.withLock (ranks 1, 2, 3) taken over and over, strict mode, metrics on, " +
    "potential and actual deadlock detection on (every chain already validated)",
  baseline: "the same chain, strict mode, metrics on, detection off",
  unit: "ops/s",
  direction: "higher",
  target: 0.7,
  limits: "A validated chain costs one lookup per acquisition in the chain cache, keyed by the held stack and the " +
    "request (lockdep's chain hash); the lookup key is built per acquisition.",
  run: Effect.gen(function*() {
    const chains = yield* Harness.size(200, 20)
    const subject = Harness.loop(chains, nested(classes("bench.chain.on", 3))).pipe(configured(detecting))
    const baseline = Harness.loop(chains, nested(classes("bench.chain.off", 3))).pipe(configured(notDetecting))
    return yield* Harness.compare({
      subject: { run: Harness.runEffect(subject) },
      baseline: { run: Harness.runEffect(baseline) },
      unit: "ops/s",
      operations: chains
    })
  })
}

/** @internal */
export const firstSeen: Benchmark = {
  id: "deadlock.first-seen",
  subject: "OrderedLock.withLock(a, withLock(b, Effect.void)) where the pair of classes a -> b was never seen " +
    "(a new chain and a new edge with its cycle check), potential detection on",
  baseline: "the same with a pair seen before (a cached chain)",
  unit: "ns/op",
  direction: "lower",
  target: null,
  limits: "Reported only. A first-seen chain validates the held stack against the learned graph and records the " +
    "new edge after a breadth-first search for a cycle; later acquisitions of the chain are a cache lookup.",
  run: Effect.gen(function*() {
    const pairs = yield* Harness.size(200, 10)
    const config = configured(detecting)
    let fresh: Effect.Effect<void, unknown> = Effect.void
    let generation = 0
    const seen = classes("bench.seen", 2)
    const cached = Harness.loop(pairs, nested(seen)).pipe(config)
    return yield* Harness.compare({
      subject: {
        setup: () => {
          const registry = LockRegistry.unsafeMake()
          generation++
          const chains = Array.from(
            { length: pairs },
            (_, index) =>
              nested(
                [1, 2].map((rank) =>
                  OrderedLock.unsafeMake({ name: `bench.fresh.${generation}.${index}.${rank}`, rank, registry })
                )
              )
          )
          fresh = Effect.forEach(chains, (chain) => chain, { discard: true }).pipe(config)
        },
        run: () => Effect.runPromise(fresh)
      },
      baseline: { run: Harness.runEffect(cached) },
      unit: "ns/op",
      operations: pairs
    })
  })
}

// mulberry32: a small seeded generator, so both graphs are the same every run
const random = (seed: number): () => number => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A registry with `count` classes (ranks 1..count) and `edges` learned edges between random pairs, lower rank first,
 * so the graph is acyclic; and an operation that takes a pair never taken before (a new edge and its cycle check).
 */
const learnedGraph = (
  prefix: string,
  count: number,
  edges: number
): Effect.Effect<Effect.Effect<void, unknown>, unknown> =>
  Effect.gen(function*() {
    const locks = classes(prefix, count)
    const next = random(count * 31 + edges)
    const taken = new Set<number>()
    const pairs = (count * (count - 1)) / 2
    const pair = (): Effect.Effect<void, unknown> => {
      if (taken.size >= pairs) {
        throw new RangeError(`every pair of the ${count} classes of ${prefix} is an edge already`)
      }
      for (;;) {
        const a = Math.floor(next() * count)
        const b = Math.floor(next() * count)
        const [low, high] = a < b ? [a, b] : [b, a]
        if (low === high || taken.has(low * count + high)) continue
        taken.add(low * count + high)
        return nested([locks[low]!, locks[high]!])
      }
    }
    const config = configured(detecting)
    for (let index = 0; index < edges; index++) yield* pair().pipe(config)
    return Effect.suspend(pair).pipe(config)
  })

/** @internal */
export const graph1k: Benchmark = {
  id: "deadlock.graph-1k",
  subject: "p99 of an acquisition that adds a new edge (cycle check included) to a learned graph of 1,000 lock " +
    "classes and 10,000 edges, potential detection on",
  baseline: "the same in a graph of 100 classes and 1,000 edges",
  unit: "us",
  direction: "lower",
  target: null,
  limits: "Reported only. A new edge a -> b is checked by a breadth-first search from b for a path back to a, so its " +
    "cost grows with the part of the graph reachable from b.",
  run: Effect.gen(function*() {
    // smoke: 100 classes and 1,000 edges against 20 and 40
    const subject = yield* learnedGraph(
      "bench.graph.large",
      yield* Harness.size(1_000, 100),
      yield* Harness.size(10_000, 1_000)
    ).pipe(Effect.orDie)
    const baseline = yield* learnedGraph(
      "bench.graph.small",
      yield* Harness.size(100, 20),
      yield* Harness.size(1_000, 40)
    ).pipe(Effect.orDie)
    return yield* Harness.latency({
      subject: { operation: subject },
      baseline: { operation: baseline },
      operations: yield* Harness.size(200, 10),
      percentile: 0.99,
      warmupRounds: 1,
      rounds: 5
    })
  })
}

/** @internal */
export const benchmarks: ReadonlyArray<Benchmark> = [cachedChain, firstSeen, graph1k]
