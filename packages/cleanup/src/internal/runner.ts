import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import { DeadlineExceededError, StepSkippedError, StepTimeoutError, VerificationFailedError } from "../CleanupError.js"
import type * as CleanupFaults from "../CleanupFaults.js"
import type { CleanupReport } from "../CleanupReport.js"
import type { Phase } from "../CleanupStep.js"
import { phases } from "../CleanupStep.js"
import * as faults_ from "./faults.js"
import { effectivePhases, type Node, splitBudget, worstCaseMs } from "./graph.js"
import { makeReport } from "./report.js"

/** Step states during a run; the numbering is the index into `stateNames` of the report module. */
const enum State {
  Pending = 0,
  Queued = 1,
  Running = 2,
  Succeeded = 3,
  Verified = 4,
  Failed = 5,
  TimedOut = 6,
  VerificationFailed = 7,
  Skipped = 8
}

type Stage = "run" | "verify" | "retryDelay"

/**
 * One worker position. While its worker is inside user code (`index >= 0`), the fields say which step, which stage,
 * and the deadline the watchdog enforces. Mutated in place: no allocation per step.
 */
interface Slot {
  /** Incremented when the watchdog takes a step away from the slot's worker: the old worker then records nothing. */
  epoch: number
  fiber: Fiber.RuntimeFiber<void> | undefined
  /** The context last installed on the slot's worker, so it is set only when it changes. */
  context: Context.Context<never> | undefined
  index: number
  stage: Stage
  deadline: number
  bound: "step" | "phase" | "total"
  allowedMs: number
  attempt: number
  causes: Array<Cause.Cause<unknown>> | undefined
}

const makeSlot = (): Slot => ({
  epoch: 0,
  fiber: undefined,
  context: undefined,
  index: -1,
  stage: "run",
  deadline: Infinity,
  bound: "step",
  allowedMs: 0,
  attempt: 0,
  causes: undefined
})

/**
 * What a run needs besides the graph snapshot.
 *
 * @internal
 */
export interface RunInput {
  readonly run: number
  readonly nodes: ReadonlyArray<Node>
  readonly concurrency: number
  readonly deadlineMs: number | undefined
  readonly faults: CleanupFaults.CleanupFaults | undefined
  /** Moves the phase machine into a work phase; called once per work phase, in order, between phases. */
  readonly enterPhase: (phase: Phase) => Effect.Effect<void>
}

/**
 * The planned shape of a run: effective phases, phase weights and budgets, and the order a sequential run takes when
 * every step succeeds. Shared by `plan()` and the run itself, O(V + E).
 *
 * @internal
 */
export interface Layout {
  readonly effective: Int32Array
  readonly members: Array<Array<number>>
  readonly budgets: Array<number> | undefined
  /** Cumulative phase deadlines as offsets from the start, in ms; `Infinity` without a deadline. */
  readonly offsets: Array<number>
}

/** @internal */
export const layout = (
  nodes: ReadonlyArray<Node>,
  deadlineMs: number | undefined,
  faults: CleanupFaults.CleanupFaults | undefined
): Layout => {
  const effective = effectivePhases(nodes)
  const members: Array<Array<number>> = phases.map(() => [])
  const weights = phases.map(() => 0)
  for (let i = 0; i < nodes.length; i++) {
    const phase = effective[i]!
    members[phase]!.push(i)
    weights[phase]! += worstCaseMs(nodes[i]!, faults_.hasVerifyFault(faults, nodes[i]!.name))
  }
  if (deadlineMs === undefined) {
    return { effective, members, budgets: undefined, offsets: phases.map(() => Infinity) }
  }
  const split = splitBudget(weights, deadlineMs)
  return { effective, members, budgets: split.budgets, offsets: split.offsets }
}

/**
 * The order a sequential run takes when every step succeeds: Kahn's algorithm with one FIFO queue per phase, roots
 * in registration order. O(V + E).
 *
 * @internal
 */
export const plannedOrder = (nodes: ReadonlyArray<Node>, effective: Int32Array): Array<number> => {
  const indegree = new Int32Array(nodes.length)
  const queues: Array<Array<number>> = phases.map(() => [])
  for (let i = 0; i < nodes.length; i++) {
    indegree[i] = nodes[i]!.deps.length
    if (indegree[i] === 0) queues[effective[i]!]!.push(i)
  }
  const order: Array<number> = []
  for (const queue of queues) {
    for (let head = 0; head < queue.length; head++) {
      const index = queue[head]!
      order.push(index)
      for (const dependent of nodes[index]!.dependents) {
        if (--indegree[dependent]! === 0) queues[effective[dependent]!]!.push(dependent)
      }
    }
  }
  return order
}

const nowOf = (clock: Clock.Clock) => () => clock.unsafeCurrentTimeMillis()

/**
 * The mutable state of one run. Only fibers of the run touch it, and each decision (take a step, finish it, time it
 * out) happens in one synchronous segment, so no lock is needed and none is held while a step runs.
 *
 * @internal
 */
export class Run {
  readonly now: () => number
  readonly startedAt: number
  readonly nodes: ReadonlyArray<Node>
  readonly layout: Layout
  readonly state: Uint8Array
  readonly attempts: Int32Array
  readonly stepStart: Float64Array
  readonly stepEnd: Float64Array
  readonly causes: Array<Cause.Cause<unknown> | undefined>
  readonly order: Array<number> = []
  readonly indegree: Int32Array
  readonly queues: Array<Array<number>>
  readonly heads: Array<number>
  readonly phaseStart: Array<number>
  readonly phaseEnd: Array<number>
  readonly deadlines: Array<number>
  readonly slots: Array<Slot> = []
  currentPhase = -1
  phaseOpen = false
  running = 0
  waiting = 0
  done = false
  endedAt = 0
  wake: Deferred.Deferred<void> = Deferred.unsafeMake(FiberId.none)
  phaseDone: Deferred.Deferred<void> = Deferred.unsafeMake(FiberId.none)
  watchdogSignal: Deferred.Deferred<void> = Deferred.unsafeMake(FiberId.none)
  armedAt = Infinity

  constructor(readonly input: RunInput, readonly clock: Clock.Clock) {
    this.now = nowOf(clock)
    this.startedAt = this.now()
    const count = input.nodes.length
    this.nodes = input.nodes
    this.layout = layout(input.nodes, input.deadlineMs, input.faults)
    this.state = new Uint8Array(count)
    this.attempts = new Int32Array(count)
    this.stepStart = new Float64Array(count)
    this.stepEnd = new Float64Array(count)
    this.causes = new Array(count)
    this.indegree = new Int32Array(count)
    this.queues = phases.map(() => [])
    this.heads = phases.map(() => 0)
    this.phaseStart = phases.map(() => 0)
    this.phaseEnd = phases.map(() => 0)
    this.deadlines = this.layout.offsets.map((offset) => this.startedAt + offset)
    for (let i = 0; i < count; i++) {
      const deps = input.nodes[i]!.deps.length
      this.indegree[i] = deps
      if (deps === 0) {
        this.state[i] = State.Queued
        this.queues[this.layout.effective[i]!]!.push(i)
      }
    }
  }

  /** The bound of the phase deadline of a phase: the last phase's deadline is the total one. */
  boundOf(phase: number): "phase" | "total" {
    return this.layout.offsets[phase] === this.input.deadlineMs ? "total" : "phase"
  }

  /**
   * Pops the next step of the open phase, marks it running and records its start, or returns -1 (closing the phase
   * if it is done). Steps whose phase deadline has passed are skipped on the way.
   */
  take(): number {
    if (!this.phaseOpen) return -1
    const phase = this.currentPhase
    const queue = this.queues[phase]!
    const deadline = this.deadlines[phase]!
    while (this.heads[phase]! < queue.length) {
      const index = queue[this.heads[phase]!++]!
      this.state[index] = State.Running
      this.running++
      const now = this.now()
      this.stepStart[index] = now
      if (now >= deadline) {
        this.skipOverdue(index, now)
        if (!this.phaseOpen) return -1
        continue
      }
      this.order.push(index)
      return index
    }
    if (this.running === 0) this.closePhase()
    return -1
  }

  closePhase(): void {
    if (!this.phaseOpen) return
    this.phaseOpen = false
    this.phaseEnd[this.currentPhase] = this.now()
    Deferred.unsafeDone(this.phaseDone, Exit.void)
  }

  /** Opens a phase; returns `false` when it has nothing to run (and is closed already). */
  openPhase(phase: number): boolean {
    this.currentPhase = phase
    this.phaseStart[phase] = this.now()
    this.phaseOpen = true
    this.phaseDone = Deferred.unsafeMake(FiberId.none)
    if (this.heads[phase]! >= this.queues[phase]!.length && this.running === 0) {
      this.closePhase()
      return false
    }
    this.signalWorkers()
    return true
  }

  signalWorkers(): void {
    if (this.waiting === 0) return
    const wake = this.wake
    this.wake = Deferred.unsafeMake(FiberId.none)
    Deferred.unsafeDone(wake, Exit.void)
  }

  /** Records that a slot's worker enters user code that must end by a deadline (`now` is the current time). */
  begin(slot: Slot, index: number, stage: Stage, stepMs: number, now: number): void {
    const phase = this.layout.effective[index]!
    const budget = this.deadlines[phase]!
    const stepDeadline = now + stepMs
    const deadline = stepDeadline <= budget ? stepDeadline : budget
    slot.index = index
    slot.stage = stage
    slot.deadline = deadline
    slot.bound = stepDeadline <= budget ? "step" : this.boundOf(phase)
    slot.allowedMs = deadline - now
    if (deadline < this.armedAt) {
      this.armedAt = deadline
      const signal = this.watchdogSignal
      this.watchdogSignal = Deferred.unsafeMake(FiberId.none)
      Deferred.unsafeDone(signal, Exit.void)
    }
  }

  /** Ends a step: records its outcome, releases or skips its dependents, and wakes whoever waits. */
  finish(index: number, state: State, cause: Cause.Cause<unknown> | undefined): void {
    const now = this.now()
    this.state[index] = state
    this.stepEnd[index] = now
    this.causes[index] = cause
    this.running--
    const node = this.nodes[index]!
    if (state === State.Succeeded || state === State.Verified) {
      for (const dependent of node.dependents) {
        if (this.state[dependent] === State.Pending && --this.indegree[dependent]! === 0) {
          this.state[dependent] = State.Queued
          this.queues[this.layout.effective[dependent]!]!.push(dependent)
        }
      }
    } else {
      this.skipDependents(index, now)
    }
    if (this.running === 0 && this.phaseOpen) {
      const phase = this.currentPhase
      if (this.heads[phase]! >= this.queues[phase]!.length) this.closePhase()
    }
    this.signalWorkers()
  }

  /** Marks every transitive dependent of a step that did not succeed `Skipped`; each node is visited once. */
  skipDependents(root: number, now: number): void {
    const rootName = this.nodes[root]!.name
    const stack: Array<number> = [root]
    while (stack.length > 0) {
      const index = stack.pop()!
      const name = this.nodes[index]!.name
      for (const dependent of this.nodes[index]!.dependents) {
        if (this.state[dependent] !== State.Pending) continue
        this.state[dependent] = State.Skipped
        this.stepStart[dependent] = now
        this.stepEnd[dependent] = now
        this.causes[dependent] = Cause.fail(
          new StepSkippedError({ step: this.nodes[dependent]!.name, dependency: name, root: rootName })
        )
        stack.push(dependent)
      }
    }
  }

  /** A queued step whose turn came at or after its phase deadline: skip it and its dependents without running it. */
  skipOverdue(index: number, now: number): void {
    const phase = this.layout.effective[index]!
    this.finish(
      index,
      State.Skipped,
      Cause.fail(
        new DeadlineExceededError({
          step: this.nodes[index]!.name,
          bound: this.boundOf(phase),
          // to the µs, like the report's durations: phase deadlines are fractional ms
          overdueMs: Math.round((now - this.deadlines[phase]!) * 1000) / 1000
        })
      )
    )
  }

  report(): CleanupReport {
    return makeReport(this)
  }
}

const sequentialCauses = (causes: ReadonlyArray<Cause.Cause<unknown>>): Cause.Cause<unknown> =>
  causes.reduce((acc, cause) => Cause.sequential(acc, cause), Cause.empty as Cause.Cause<unknown>)

const stop = Effect.void

const verified = Effect.succeed(true)

/**
 * One worker fiber of a slot, for one epoch. Its continuations are allocated once, so a step costs one
 * `matchCauseEffect` and a few runtime operations; every continuation first checks that the worker still owns the
 * slot (a timed-out worker records nothing), then decides synchronously and returns the next effect.
 *
 * The worker fiber is interruptible throughout, so user code runs interruptibly even when the run was started from
 * an (uninterruptible) Scope finalizer. Only the watchdog interrupts a worker, and only after it has taken the slot
 * away (incremented its epoch) in the same synchronous segment; the bookkeeping between steps is synchronous, so an
 * interruption always lands in the user code of the step the watchdog timed out, or finds the worker stale.
 */
class Worker {
  constructor(readonly run: Run, readonly slot: Slot, readonly epoch: number) {}

  get stale(): boolean {
    return this.slot.epoch !== this.epoch
  }

  /** Takes the next step, or waits for one, or stops when the run is over. */
  next(): Effect.Effect<void> {
    const run = this.run
    if (this.stale || run.done) return stop
    const index = run.take()
    if (index >= 0) return this.execute(index)
    const wake = run.wake
    run.waiting++
    return Effect.flatMap(Deferred.await(wake), this.afterWake)
  }

  readonly afterWake = (): Effect.Effect<void> => {
    this.run.waiting--
    return this.next()
  }

  /** Installs the step's context on the fiber when it differs from the one installed last. */
  withContext<A>(node: Node, effect: Effect.Effect<A, unknown>): Effect.Effect<A, unknown> {
    if (this.slot.context === node.context) return effect
    this.slot.context = node.context
    return Effect.zipRight(FiberRef.set(FiberRef.currentContext, node.context), effect)
  }

  execute(index: number): Effect.Effect<void> {
    const run = this.run
    const node = run.nodes[index]!
    run.begin(this.slot, index, "run", node.timeoutMs, run.stepStart[index]!)
    const faulted = faults_.applyRun(run.input.faults, node.name, node.run)
    return Effect.matchCauseEffect(this.withContext(node, faulted ?? node.run), this.runHandlers)
  }

  readonly runHandlers = {
    onFailure: (cause: Cause.Cause<unknown>): Effect.Effect<void> => {
      if (this.stale) return stop
      const index = this.slot.index
      this.slot.index = -1
      this.run.finish(index, State.Failed, cause)
      return this.next()
    },
    onSuccess: (): Effect.Effect<void> => {
      if (this.stale) return stop
      const index = this.slot.index
      this.slot.index = -1
      const node = this.run.nodes[index]!
      if (node.verify === undefined && !faults_.hasVerifyFault(this.run.input.faults, node.name)) {
        this.run.finish(index, State.Succeeded, undefined)
        return this.next()
      }
      this.slot.causes = []
      return this.verify(index, 1)
    }
  }

  verify(index: number, attempt: number): Effect.Effect<void> {
    const run = this.run
    const node = run.nodes[index]!
    run.attempts[index] = attempt
    this.slot.attempt = attempt
    run.begin(this.slot, index, "verify", node.timeoutMs, run.now())
    const faulted = faults_.applyVerify(run.input.faults, node.name)
    return Effect.matchCauseEffect(this.withContext(node, faulted ?? node.verify ?? verified), this.verifyHandlers)
  }

  readonly verifyHandlers = {
    onFailure: (cause: Cause.Cause<unknown>): Effect.Effect<void> => {
      if (this.stale) return stop
      const index = this.slot.index
      this.slot.index = -1
      this.slot.causes!.push(cause)
      return this.retryOrFail(index, this.slot.attempt)
    },
    onSuccess: (verified: boolean): Effect.Effect<void> => {
      if (this.stale) return stop
      const index = this.slot.index
      this.slot.index = -1
      if (verified === true) {
        this.run.finish(index, State.Verified, undefined)
        return this.next()
      }
      const attempt = this.slot.attempt
      this.slot.causes!.push(Cause.fail(new VerificationFailedError({ step: this.run.nodes[index]!.name, attempt })))
      return this.retryOrFail(index, attempt)
    }
  }

  retryOrFail(index: number, attempt: number): Effect.Effect<void> {
    const run = this.run
    const node = run.nodes[index]!
    if (attempt >= node.retries) {
      run.finish(index, State.VerificationFailed, sequentialCauses(this.slot.causes!))
      return this.next()
    }
    if (node.retryDelayMs <= 0) return this.verify(index, attempt + 1)
    run.begin(this.slot, index, "retryDelay", Infinity, run.now())
    return Effect.matchCauseEffect(Effect.sleep(Duration.millis(node.retryDelayMs)), this.delayHandlers)
  }

  /** After the pause between attempts (a pause cannot fail; a failure other than the watchdog's is kept). */
  readonly delayHandlers = {
    onFailure: (cause: Cause.Cause<unknown>): Effect.Effect<void> => {
      if (this.stale) return stop
      this.slot.causes!.push(cause)
      return this.delayHandlers.onSuccess()
    },
    onSuccess: (): Effect.Effect<void> => {
      if (this.stale) return stop
      const index = this.slot.index
      this.slot.index = -1
      return this.verify(index, this.slot.attempt + 1)
    }
  }
}

/**
 * Takes a step away from a slot whose deadline passed: the old worker becomes inert, the step is recorded, and a new
 * worker takes over the slot (continuing the verification when attempts are left). Returns the effect that
 * interrupts the old worker without waiting for it and starts the new one.
 */
const expire = (run: Run, slot: Slot): Effect.Effect<void> => {
  const index = slot.index
  const stage = slot.stage
  const node = run.nodes[index]!
  slot.index = -1
  slot.epoch++
  slot.context = undefined
  const old = slot.fiber
  slot.fiber = undefined
  const worker = new Worker(run, slot, slot.epoch)
  const timeout = Cause.fail(
    new StepTimeoutError({ step: node.name, stage, bound: slot.bound, timeoutMs: slot.allowedMs })
  )
  let body: Effect.Effect<void>
  if (stage === "run") {
    run.finish(index, State.TimedOut, timeout)
    body = Effect.suspend(() => worker.next())
  } else {
    slot.causes!.push(timeout)
    if (stage === "verify" && slot.bound === "step") {
      body = Effect.suspend(() => worker.retryOrFail(index, slot.attempt))
    } else {
      run.finish(index, State.TimedOut, sequentialCauses(slot.causes!))
      body = Effect.suspend(() => worker.next())
    }
  }
  return Effect.zipRight(old === undefined ? Effect.void : Fiber.interruptFork(old), spawn(slot, body))
}

const spawn = (slot: Slot, body: Effect.Effect<void>): Effect.Effect<void> =>
  Effect.map(Effect.forkDaemon(Effect.interruptible(body)), (fiber) => {
    slot.fiber = fiber
  })

/**
 * Sleeps until the earliest deadline of a busy slot, or until a worker announces an earlier one. Runs
 * uninterruptibly except while it waits, so a timeout it decided is always carried out.
 */
const watchdog = (run: Run): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (run.done) return stop
    const now = run.now()
    let earliest = Infinity
    const actions: Array<Effect.Effect<void>> = []
    for (const slot of run.slots) {
      if (slot.index < 0) continue
      if (slot.deadline <= now) actions.push(expire(run, slot))
      else if (slot.deadline < earliest) earliest = slot.deadline
    }
    const signal = run.watchdogSignal
    run.armedAt = earliest
    const wait = Effect.interruptible(
      earliest === Infinity
        ? Deferred.await(signal)
        : Effect.raceFirst(Effect.sleep(Duration.millis(earliest - now)), Deferred.await(signal))
    )
    return Effect.zipRight(Effect.zipRight(Effect.all(actions, { discard: true }), wait), watchdog(run))
  })

/**
 * Runs every step of the snapshot: phases in order, steps in topological order within the open phase, `concurrency`
 * workers, one watchdog for all deadlines. Never fails; the report holds every outcome.
 *
 * @internal
 */
export const runSteps = (input: RunInput, onStart: (run: Run) => void): Effect.Effect<CleanupReport> =>
  Effect.clockWith((clock) =>
    Effect.gen(function*() {
      const run = new Run(input, clock)
      onStart(run)
      const timer = yield* Effect.forkDaemon(Effect.uninterruptible(watchdog(run)))
      for (let i = 0; i < Math.max(1, input.concurrency); i++) {
        const slot = makeSlot()
        run.slots.push(slot)
        const worker = new Worker(run, slot, 0)
        yield* spawn(slot, Effect.suspend(() => worker.next()))
      }
      for (let phase = 0; phase < phases.length; phase++) {
        yield* input.enterPhase(phases[phase]!)
        if (run.openPhase(phase)) yield* Deferred.await(run.phaseDone)
      }
      run.done = true
      run.endedAt = run.now()
      run.signalWorkers()
      // Wake the watchdog and let it see `done`, rather than interrupt it: in Effect 3.22.4 an interrupt that lands
      // between `raceFirst` forking its two fibers and starting them leaves them unstarted, and the interrupted fiber
      // then waits for them forever (found by the seeded scheduler; see test/chaos).
      Deferred.unsafeDone(run.watchdogSignal, Exit.void)
      yield* Fiber.await(timer)
      yield* Effect.forEach(run.slots, (slot) => slot.fiber === undefined ? Effect.void : Fiber.await(slot.fiber), {
        discard: true
      })
      return run.report()
    })
  )
