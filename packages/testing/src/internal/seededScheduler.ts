import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as Inspectable from "effect/Inspectable"
import * as Pipeable from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import type * as Scheduler from "effect/Scheduler"
import type * as SeededScheduler from "../SeededScheduler.js"
import * as Prng from "./prng.js"

/** @internal */
export const TypeId: SeededScheduler.TypeId = Symbol.for("@core-stability/testing/SeededScheduler") as any

/** @internal */
export const minimumOps = 16

/**
 * Effect's default `maxOpsBeforeYield`, given to every run's fiber whatever the caller's is.
 *
 * @internal
 */
export const defaultMaxOpsBeforeYield = 2048

/** @internal */
export const defaultOptions = {
  preemption: true,
  minOps: minimumOps,
  maxOps: 24,
  stepsPerTurn: 10_000
} as const

interface Resolved {
  readonly preemption: boolean
  readonly minOps: number
  readonly maxOps: number
  readonly stepsPerTurn: number
}

const isPositiveInteger = (n: number) => Number.isInteger(n) && n > 0

/** @internal */
export const resolveOptions = (options: SeededScheduler.Options | undefined): Resolved => {
  const preemption = options?.preemption ?? defaultOptions.preemption
  const minOps = options?.minOps ?? defaultOptions.minOps
  const maxOps = options?.maxOps ?? Math.max(minOps, defaultOptions.maxOps)
  const stepsPerTurn = options?.stepsPerTurn ?? defaultOptions.stepsPerTurn
  if (!Number.isInteger(minOps) || minOps < minimumOps) {
    throw new Cause.IllegalArgumentException(
      `SeededScheduler: minOps must be an integer >= ${minimumOps} (smaller op budgets livelock Effect 3.22's ` +
        `run loop), got ${minOps}`
    )
  }
  if (!Number.isInteger(maxOps) || maxOps < minOps) {
    throw new Cause.IllegalArgumentException(
      `SeededScheduler: maxOps must be an integer >= minOps (${minOps}), got ${maxOps}`
    )
  }
  if (!isPositiveInteger(stepsPerTurn)) {
    throw new Cause.IllegalArgumentException(
      `SeededScheduler: stepsPerTurn must be a positive integer, got ${stepsPerTurn}`
    )
  }
  return { preemption, minOps, maxOps, stepsPerTurn }
}

const resolvedPromise = Promise.resolve()

class SeededSchedulerImpl extends Pipeable.Class() implements SeededScheduler.SeededScheduler {
  readonly [TypeId]: SeededScheduler.TypeId = TypeId
  private readonly tasks: Array<Scheduler.Task> = []
  private readonly priorities: Array<number> = []
  private readonly random: () => number
  private draining = false
  private running = false
  private readonly budgets = new WeakMap<Fiber.RuntimeFiber<unknown, unknown>, number>()
  private stepCount = 0
  private hash = Prng.initialHash

  constructor(readonly seed: number, private readonly options: Resolved) {
    super()
    this.random = Prng.make(seed)
  }

  get steps(): number {
    return this.stepCount
  }

  get fingerprint(): number {
    return this.hash
  }

  get pending(): number {
    return this.tasks.length
  }

  shouldYield(fiber: Fiber.RuntimeFiber<unknown, unknown>): number | false {
    if (!this.running) {
      // Not a slice this scheduler started: the caller of `runWith` forking the run's fiber, still in a slice begun
      // elsewhere with an op count that depends on its history. Drawing from the generator (or comparing that op
      // count with a budget) now would make the schedule depend on the caller's history.
      return false
    }
    if (!this.options.preemption) {
      return fiber.currentOpCount > fiber.getFiberRef(FiberRef.currentMaxOpsBeforeYield)
        ? fiber.getFiberRef(FiberRef.currentSchedulingPriority)
        : false
    }
    const { maxOps, minOps } = this.options
    // Budgets are counted per fiber across suspensions. A fiber's first budget is a random phase in [1, maxOps], so
    // preemption can land anywhere in a fiber's first operations; every later slice is in [minOps, maxOps], so no
    // fiber is ever starved of progress by back-to-back forced yields.
    const remaining = (this.budgets.get(fiber) ?? 1 + Math.floor(this.random() * maxOps)) - 1
    if (remaining > 0) {
      this.budgets.set(fiber, remaining)
      return false
    }
    this.budgets.set(fiber, minOps + Math.floor(this.random() * (maxOps - minOps + 1)))
    return fiber.getFiberRef(FiberRef.currentSchedulingPriority)
  }

  scheduleTask(task: Scheduler.Task, priority: number): void {
    this.tasks.push(task)
    this.priorities.push(priority)
    if (!this.draining) {
      this.draining = true
      resolvedPromise.then(this.drain)
    }
  }

  private readonly drain = (): void => {
    let budget = this.options.stepsPerTurn
    const outer = this.running
    this.running = true
    try {
      while (this.tasks.length > 0 && budget > 0) {
        budget--
        this.next()()
      }
    } finally {
      this.running = outer
      if (this.tasks.length > 0) {
        // Hand the event loop a macrotask turn so real timers (and a watchdog) can run between long bursts.
        setTimeout(this.drain, 0)
      } else {
        this.draining = false
      }
    }
  }

  private next(): Scheduler.Task {
    const tasks = this.tasks
    const priorities = this.priorities
    let lowest = priorities[0]!
    let candidates = 0
    for (let i = 0; i < priorities.length; i++) {
      const priority = priorities[i]!
      if (priority < lowest) {
        lowest = priority
        candidates = 1
      } else if (priority === lowest) {
        candidates++
      }
    }
    let choice = Math.floor(this.random() * candidates)
    let index = 0
    for (; index < priorities.length; index++) {
      if (priorities[index] === lowest) {
        if (choice === 0) break
        choice--
      }
    }
    this.stepCount++
    if (candidates > 1) {
      this.hash = Prng.fold(Prng.fold(this.hash, index), candidates)
    }
    const task = tasks[index]!
    tasks.splice(index, 1)
    priorities.splice(index, 1)
    return task
  }

  toJSON() {
    return {
      _id: "SeededScheduler",
      seed: this.seed,
      steps: this.stepCount,
      pending: this.tasks.length,
      fingerprint: this.hash
    }
  }

  override toString() {
    return Inspectable.format(this.toJSON())
  }

  [Inspectable.NodeInspectSymbol]() {
    return this.toJSON()
  }
}

/** @internal */
export const unsafeMake = (seed: number, options?: SeededScheduler.Options): SeededScheduler.SeededScheduler =>
  new SeededSchedulerImpl(seed, resolveOptions(options))

/** @internal */
export const make = (seed: number, options?: SeededScheduler.Options): Effect.Effect<SeededScheduler.SeededScheduler> =>
  Effect.sync(() => unsafeMake(seed, options))

/** @internal */
export const isSeededScheduler = (u: unknown): u is SeededScheduler.SeededScheduler =>
  typeof u === "object" && u !== null && TypeId in u

/**
 * Effect's `TestClock` forks a fiber (the "test is using time but not advancing the clock" warning) at the first
 * `sleep` of a test, and only then: run on the seeded scheduler, it would make the first run of a test that sleeps
 * take another schedule than the same seed later in the test, or in a replay. Before every run, the caller (on its own
 * scheduler) settles that state as `TestClock.adjust` does, so every run finds it settled; the warning, which that
 * first adjust would cancel anyway, is not shown for the test. `warningState` and `warningDone` are members of Effect
 * 3's `TestClock` implementation, not of its interface: any other clock is left alone.
 */
const settleTestClock: Effect.Effect<void> = Effect.clockWith((clock) => {
  const testClock = clock as unknown as { readonly warningState?: unknown; readonly warningDone?: unknown }
  if (typeof testClock.warningDone !== "function" || !Predicate.hasProperty(testClock.warningState, Ref.RefTypeId)) {
    return Effect.void
  }
  const warningDone = testClock.warningDone as () => Effect.Effect<void>
  return Effect.flatMap(
    Ref.get(testClock.warningState as Ref.Ref<unknown>),
    (state) => Predicate.isTagged(state, "Start") ? warningDone.call(testClock) : Effect.void
  )
})

/** @internal */
export const runWith: {
  (scheduler: SeededScheduler.SeededScheduler): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, scheduler: SeededScheduler.SeededScheduler): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, scheduler: SeededScheduler.SeededScheduler): Effect.Effect<A, E, R> =>
    // The run gets a fiber of its own, so its schedule depends only on (effect, seed, options), never on the caller:
    // not on how the caller's current slice was started (`Effect.runPromise` starts a fiber's first slice
    // synchronously, later slices run from scheduler tasks, and the two hand a yield to the scheduler as a different
    // number of tasks), not on the caller's op count or `maxOpsBeforeYield`, not on what else the caller has pending.
    // The fiber is forked while the caller's scheduler is the seeded one (and its op budget Effect's default), so it
    // inherits both and its first task, like every later one, is queued there: it starts with a fresh op count in a
    // slice of the seeded scheduler. The caller stays on its own scheduler and joins the fiber (result, errors and
    // fiber refs set by the effect pass through as if it had run in place).
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(
        Effect.zipRight(
          settleTestClock,
          Effect.fork(restore(self)).pipe(
            Effect.withMaxOpsBeforeYield(defaultMaxOpsBeforeYield),
            Effect.withScheduler(scheduler)
          )
        ),
        (fiber) => Effect.onInterrupt(restore(Fiber.join(fiber)), () => Fiber.interrupt(fiber))
      )
    )
)

/** @internal */
export const run: {
  (seed: number, options?: SeededScheduler.Options): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, seed: number, options?: SeededScheduler.Options): Effect.Effect<A, E, R>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(self: Effect.Effect<A, E, R>, seed: number, options?: SeededScheduler.Options): Effect.Effect<A, E, R> =>
    Effect.flatMap(make(seed, options), (scheduler) => runWith(self, scheduler))
)
