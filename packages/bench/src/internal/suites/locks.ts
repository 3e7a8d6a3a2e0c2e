import { LockConfig, LockRegistry, OrderedLock, OrderedRWLock } from "@core-stability/locks"
import { Mutex } from "async-mutex"
import { Effect, Layer, TReentrantLock } from "effect"
import type { Benchmark } from "../../Benchmark.js"
import * as Harness from "../harness.js"

/** The lock configuration layer, built once: providing its context costs a sample next to nothing. @internal */
export const configured = (options: LockConfig.Options) => {
  const context = Effect.runSync(Effect.scoped(Layer.build(LockConfig.layer(options))))
  return <A, E>(self: Effect.Effect<A, E>): Effect.Effect<A, E> => Effect.provide(self, context)
}

const freshLock = (name: string, rank = 1): OrderedLock.OrderedLock =>
  OrderedLock.unsafeMake({ name, rank, registry: LockRegistry.unsafeMake() })

const semaphoreLoop = (operations: number): Effect.Effect<void> => {
  const semaphore = Effect.unsafeMakeSemaphore(1)
  return Harness.loop(operations, semaphore.withPermits(1)(Effect.void))
}

const orderedLockLoop = (operations: number, options: LockConfig.Options): Effect.Effect<void, unknown> => {
  const lock = freshLock("bench.uncontended")
  return Harness.loop(operations, OrderedLock.withLock(lock, Effect.void)).pipe(configured(options))
}

const uncontended = (options: {
  readonly id: string
  readonly config: LockConfig.Options
  readonly subject: string
  readonly target: number
  readonly limits: string
}): Benchmark => ({
  id: options.id,
  subject: options.subject,
  baseline: "Effect Semaphore.withPermits(1)(Effect.void), one fiber",
  unit: "ops/s",
  direction: "higher",
  target: options.target,
  limits: options.limits,
  run: Effect.gen(function*() {
    const operations = yield* Harness.size(500, 50)
    return yield* Harness.compare({
      subject: { run: Harness.runEffect(orderedLockLoop(operations, options.config)) },
      baseline: { run: Harness.runEffect(semaphoreLoop(operations)) },
      unit: "ops/s",
      operations
    })
  })
})

/** @internal */
export const uncontendedVsSemaphore: Benchmark = uncontended({
  id: "locks.uncontended.vs-semaphore",
  config: { mode: "strict", metrics: true },
  subject: "OrderedLock.withLock(lock, Effect.void), strict mode, metrics on, one fiber",
  target: 1,
  limits: "Per acquisition, strict mode pushes and pops the fiber's held-lock stack, checks the order against the " +
    "top of the stack, and records the acquisition and hold-time metrics; the semaphore does none of that."
})

/** @internal */
export const offVsSemaphore: Benchmark = uncontended({
  id: "locks.off.vs-semaphore",
  config: { mode: "off" },
  subject: "OrderedLock.withLock(lock, Effect.void), off mode, one fiber",
  target: 1.5,
  limits: "Off mode keeps the recursion check and the timeout machinery, so the fast path still reads the fiber's " +
    "context and the lock's owner on every acquisition."
})

/** @internal */
export const uncontendedVsAsyncMutex: Benchmark = {
  id: "locks.uncontended.vs-async-mutex",
  subject: "OrderedLock.withLock(lock, Effect.void), strict mode, metrics off, one fiber",
  baseline: "async-mutex Mutex.runExclusive(() => {}), awaited in a loop",
  unit: "ops/s",
  direction: "higher",
  target: 1,
  limits: "async-mutex resolves a free mutex with a few promise reactions and tracks no owner, order or metrics; " +
    "an Effect acquisition also pays for the interruption mask and the release finalizer. Effect's own Semaphore " +
    "reaches well under half of async-mutex's rate in the same run (harness.semaphore.vs-async-mutex).",
  run: Effect.gen(function*() {
    const operations = yield* Harness.size(500, 50)
    const mutex = new Mutex()
    const noop = (): void => {}
    return yield* Harness.compare({
      subject: { run: Harness.runEffect(orderedLockLoop(operations, { mode: "strict", metrics: false })) },
      baseline: {
        run: async () => {
          for (let i = 0; i < operations; i++) await mutex.runExclusive(noop)
        }
      },
      unit: "ops/s",
      operations
    })
  })
}

/** @internal */
export const contendedVsSemaphore: Benchmark = {
  id: "locks.contended.vs-semaphore",
  subject: "OrderedLock.withLock(lock, Effect.yieldNow()), strict mode, metrics on: 100 fibers x 1,000 acquisitions",
  baseline: "Semaphore.withPermits(1)(Effect.yieldNow()): 100 fibers x 1,000 acquisitions",
  unit: "ops/s",
  direction: "higher",
  target: 1,
  limits: "Two costs per wait. Actual-deadlock detection (on by default) checks the wait-for graph for a cycle " +
    "every time a wait starts, and with 100 fibers queued on one lock that check walks the queue: measured about " +
    "10x slower than with detection.actual off at 100 waiters, 2x at 10. And FIFO hand-off: a release grants the " +
    "lock straight to the oldest waiter, so nearly every acquisition suspends and resumes its fiber, where Effect's " +
    "Semaphore lets the releasing fiber take the permit again before the woken waiter runs (barging, unfair).",
  run: Effect.gen(function*() {
    const fibers = yield* Harness.size(100, 4)
    const acquisitions = yield* Harness.size(1_000, 10)
    const contended = (acquire: Effect.Effect<void, unknown>) =>
      Effect.forEach(Array.from({ length: fibers }), () => Harness.loop(acquisitions, acquire), {
        concurrency: "unbounded",
        discard: true
      })
    const lock = freshLock("bench.contended")
    const semaphore = Effect.unsafeMakeSemaphore(1)
    return yield* Harness.compare({
      subject: {
        run: Harness.runEffect(
          contended(OrderedLock.withLock(lock, Effect.yieldNow())).pipe(configured({ mode: "strict", metrics: true }))
        )
      },
      baseline: { run: Harness.runEffect(contended(semaphore.withPermits(1)(Effect.yieldNow()))) },
      unit: "ops/s",
      operations: fibers * acquisitions,
      warmupRounds: 1,
      rounds: 3
    })
  })
}

/** @internal */
export const depth8: Benchmark = {
  id: "locks.depth8",
  subject: "OrderedLock.withLock(lock, Effect.void) with 7 locks of lower rank held (depth 8), strict mode, metrics on",
  baseline: "the same acquisition with no lock held (depth 1)",
  unit: "ns/op",
  direction: "lower",
  target: 1.3,
  limits: "The order check compares against the top of the held-lock stack only, so depth costs the push and pop " +
    "on a longer stack.",
  run: Effect.gen(function*() {
    const operations = yield* Harness.size(500, 50)
    const registry = LockRegistry.unsafeMake()
    const outer = Array.from(
      { length: 7 },
      (_, index) => OrderedLock.unsafeMake({ name: `bench.depth.${index + 1}`, rank: index + 1, registry })
    )
    const inner = OrderedLock.unsafeMake({ name: "bench.depth.8", rank: 8, registry })
    const shallow = freshLock("bench.depth.1")
    const deep = outer.reduceRight<Effect.Effect<void, unknown>>(
      (body, lock) => OrderedLock.withLock(lock, body),
      Harness.loop(operations, OrderedLock.withLock(inner, Effect.void))
    )
    const config = configured({ mode: "strict", metrics: true })
    return yield* Harness.compare({
      subject: { run: Harness.runEffect(deep.pipe(config)) },
      baseline: {
        run: Harness.runEffect(Harness.loop(operations, OrderedLock.withLock(shallow, Effect.void)).pipe(config))
      },
      unit: "ns/op",
      operations
    })
  })
}

/** @internal */
export const classes10k: Benchmark = {
  id: "locks.classes10k",
  subject: "OrderedLock.withLock(lock, Effect.void) in a registry with 10,000 lock classes, strict mode, metrics on",
  baseline: "the same in a registry with 10 lock classes",
  unit: "ns/op",
  direction: "lower",
  target: 1.1,
  limits: "An acquisition touches only its own lock's state and the fiber's held stack; the class count can only " +
    "matter through cache misses and the metric tags per class.",
  run: Effect.gen(function*() {
    const operations = yield* Harness.size(500, 50)
    const classes = yield* Harness.size(10_000, 100)
    const populated = (count: number): OrderedLock.OrderedLock => {
      const registry = LockRegistry.unsafeMake()
      for (let index = 1; index < count; index++) {
        OrderedLock.unsafeMake({ name: `bench.class.${index}`, rank: index, registry })
      }
      return OrderedLock.unsafeMake({ name: "bench.class.measured", rank: count, registry })
    }
    const config = configured({ mode: "strict", metrics: true })
    const many = populated(classes)
    const few = populated(10)
    return yield* Harness.compare({
      subject: {
        run: Harness.runEffect(Harness.loop(operations, OrderedLock.withLock(many, Effect.void)).pipe(config))
      },
      baseline: {
        run: Harness.runEffect(Harness.loop(operations, OrderedLock.withLock(few, Effect.void)).pipe(config))
      },
      unit: "ns/op",
      operations
    })
  })
}

/** @internal */
export const rwReadHeavy: Benchmark = {
  id: "locks.rw.read-heavy",
  subject: "OrderedRWLock read/write around Effect.yieldNow(), 90% reads, 4 fibers, strict mode, metrics on",
  baseline: "TReentrantLock.withReadLock/withWriteLock around Effect.yieldNow(), 90% reads, 4 fibers",
  unit: "ops/s",
  direction: "higher",
  target: null,
  limits: "Reported only. TReentrantLock commits an STM transaction per acquisition and per release and retries " +
    "blocked acquirers on every change; the ordered lock queues them.",
  run: Effect.gen(function*() {
    const fibers = 4
    const perFiber = yield* Harness.size(100, 10)
    const mixed = (read: Effect.Effect<void, unknown>, write: Effect.Effect<void, unknown>) =>
      Effect.forEach(
        Array.from({ length: fibers }),
        () =>
          Effect.suspend(() => {
            let index = 0
            return Harness.loop(perFiber, Effect.suspend(() => index++ % 10 === 0 ? write : read))
          }),
        { concurrency: "unbounded", discard: true }
      )
    const ordered = OrderedRWLock.unsafeMake({ name: "bench.rw", rank: 1, registry: LockRegistry.unsafeMake() })
    const reentrant = Effect.runSync(TReentrantLock.make)
    return yield* Harness.compare({
      subject: {
        run: Harness.runEffect(
          mixed(
            OrderedRWLock.withReadLock(ordered, Effect.yieldNow()),
            OrderedRWLock.withWriteLock(ordered, Effect.yieldNow())
          ).pipe(configured({ mode: "strict", metrics: true }))
        )
      },
      baseline: {
        run: Harness.runEffect(
          mixed(
            TReentrantLock.withReadLock(reentrant)(Effect.yieldNow()),
            TReentrantLock.withWriteLock(reentrant)(Effect.yieldNow())
          )
        )
      },
      unit: "ops/s",
      operations: fibers * perFiber
    })
  })
}

/** @internal */
export const memory: Benchmark = {
  id: "locks.memory",
  subject: "OrderedLock.unsafeMake({ name, rank, key }): retained heap per lock, 10,000 instances of one class",
  baseline: "Effect.unsafeMakeSemaphore(1): retained heap per semaphore",
  unit: "bytes",
  direction: "lower",
  target: null,
  limits: "Reported only. A lock also holds its class's identity, its key, a waiter queue and its registry entry.",
  run: Effect.gen(function*() {
    const count = yield* Harness.size(10_000, 100)
    return yield* Harness.memory({
      subject: {
        allocate: (instances) => {
          const registry = LockRegistry.unsafeMake()
          return Array.from(
            { length: instances },
            (_, index) => OrderedLock.unsafeMake({ name: "bench.memory", rank: 1, key: `${index}`, registry })
          )
        }
      },
      baseline: { allocate: (instances) => Array.from({ length: instances }, () => Effect.unsafeMakeSemaphore(1)) },
      count,
      rounds: 5
    })
  })
}

/** @internal */
export const benchmarks: ReadonlyArray<Benchmark> = [
  uncontendedVsSemaphore,
  uncontendedVsAsyncMutex,
  offVsSemaphore,
  contendedVsSemaphore,
  depth8,
  classes10k,
  rwReadHeavy,
  memory
]
