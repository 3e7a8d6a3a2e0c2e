/**
 * mulberry32: a small seeded generator, so every sample of a benchmark works on the same random graph.
 *
 * @internal
 */
export const random = (seed: number): () => number => {
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
 * A random DAG of `count` nodes seeded with `count`: node i depends on up to 3 distinct earlier nodes picked at random
 * (none for node 0). Returns, per node, the indices of its dependencies.
 *
 * @internal
 */
export const randomDag = (count: number): ReadonlyArray<ReadonlyArray<number>> => {
  const next = random(count)
  return Array.from({ length: count }, (_, index) => {
    const dependsOn = new Set<number>()
    const wanted = index === 0 ? 0 : Math.floor(next() * 4)
    while (dependsOn.size < Math.min(wanted, index)) dependsOn.add(Math.floor(next() * index))
    return [...dependsOn]
  })
}
