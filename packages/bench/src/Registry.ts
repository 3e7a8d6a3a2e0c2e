/**
 * Every benchmark the harness knows, in run order, and selection by id prefix. A benchmark whose subject does not exist
 * yet is absent, never faked.
 *
 * @since 0.1.0
 */
import type { Benchmark } from "./Benchmark.js"
import * as buffer from "./internal/suites/buffer.js"
import * as cleanup from "./internal/suites/cleanup.js"
import * as components from "./internal/suites/components.js"
import * as deadlock from "./internal/suites/deadlock.js"
import * as demo from "./internal/suites/demo.js"
import * as harness from "./internal/suites/harness.js"
import * as locks from "./internal/suites/locks.js"
import * as stateMachine from "./internal/suites/stateMachine.js"
import * as typedLockOrder from "./internal/suites/typedLockOrder.js"

/**
 * All registered benchmarks, grouped by area: the harness's own sanity checks (anchor against anchor) first.
 *
 * @since 0.1.0
 * @category constructors
 */
export const all: ReadonlyArray<Benchmark> = [
  ...harness.benchmarks,
  ...locks.benchmarks,
  ...deadlock.benchmarks,
  ...stateMachine.benchmarks,
  ...cleanup.benchmarks,
  ...components.benchmarks,
  ...buffer.benchmarks,
  ...typedLockOrder.benchmarks,
  ...demo.benchmarks
]

/**
 * The benchmarks whose id starts with one of `prefixes` (all of them when `prefixes` is empty), in registry order.
 *
 * @example
 * ```ts
 * import { Registry } from "@core-stability/bench"
 *
 * const lockBenchmarks = Registry.select(Registry.all, ["locks."])
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const select = (
  benchmarks: ReadonlyArray<Benchmark>,
  prefixes: ReadonlyArray<string>
): ReadonlyArray<Benchmark> =>
  prefixes.length === 0
    ? benchmarks
    : benchmarks.filter((benchmark) => prefixes.some((prefix) => benchmark.id.startsWith(prefix)))

/**
 * The registered benchmark with this id, if any.
 *
 * @since 0.1.0
 * @category getters
 */
export const find = (id: string): Benchmark | undefined => all.find((benchmark) => benchmark.id === id)

/**
 * Every benchmark id the capability issues name, measurable or not yet: the results page lists those a run lacks.
 * Memory per lock, per machine instance and per component are `locks.memory`, `state-machine.memory` and
 * `components.memory`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const named: ReadonlyArray<string> = [
  "locks.uncontended.vs-semaphore",
  "locks.uncontended.vs-async-mutex",
  "locks.off.vs-semaphore",
  "locks.contended.vs-semaphore",
  "locks.depth8",
  "locks.classes10k",
  "locks.rw.read-heavy",
  "locks.memory",
  "deadlock.cached-chain",
  "deadlock.first-seen",
  "deadlock.graph-1k",
  "state-machine.vs-xstate",
  "state-machine.history-100k",
  "state-machine.memory",
  "cleanup.vs-scope",
  "cleanup.growth",
  "components.vs-layer",
  "components.alloc.vs-acquire-release",
  "components.memory",
  "buffer.vs-queue",
  "buffer.memory",
  "typed-lock-order.check-time",
  "demo.realtime-factor",
  "demo.rss-1h"
]
