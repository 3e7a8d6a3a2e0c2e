import { type CleanupReport, isCleanupReport } from "@core-stability/cleanup/CleanupReport"
import { Channels, Presets, StateMachine } from "@core-stability/state-machine"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as HashSet from "effect/HashSet"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Api from "../RecoveryCoordinator.js"
import { InvalidRecoveryOptions, RecoveryFailed } from "../RecoveryError.js"
import type {
  AttemptInput,
  ErrorInfo,
  RecoveryAttempt,
  RecoveryLogger,
  StateEntry,
  StepRecord
} from "../RecoveryLogger.js"
import { annotate, causeInfo, unrecordedAttempt } from "./recoveryLogger.js"

/** @internal */
export const tag = Context.GenericTag<Api.RecoveryCoordinator>("@core-stability/recovery/RecoveryCoordinator")

/** @internal */
export const phases: ReadonlyArray<Api.Phase> = ["StoppingCapture", "FlushingBuffers", "Reinitializing", "Verifying"]

/** @internal */
export const defaults: ReadonlyArray<Api.StepDefault & { readonly name: Api.DefaultStepName }> = [
  {
    name: "stop-capture",
    phase: "StoppingCapture",
    timeoutMs: 5_000,
    required: true,
    perChannel: true,
    pollMs: undefined
  },
  {
    name: "flush-storage",
    phase: "FlushingBuffers",
    timeoutMs: 10_000,
    required: true,
    perChannel: true,
    pollMs: undefined
  },
  {
    name: "reset-monitoring",
    phase: "Reinitializing",
    timeoutMs: 5_000,
    required: true,
    perChannel: false,
    pollMs: undefined
  },
  {
    name: "check-windows",
    phase: "Reinitializing",
    timeoutMs: 5_000,
    required: false,
    perChannel: false,
    pollMs: undefined
  },
  {
    name: "initialize-storage",
    phase: "Reinitializing",
    timeoutMs: 5_000,
    required: true,
    perChannel: false,
    pollMs: undefined
  },
  {
    name: "start-monitoring",
    phase: "Reinitializing",
    timeoutMs: 5_000,
    required: true,
    perChannel: false,
    pollMs: undefined
  },
  {
    name: "start-capture",
    phase: "Reinitializing",
    timeoutMs: 5_000,
    required: true,
    perChannel: false,
    pollMs: undefined
  },
  { name: "verify", phase: "Verifying", timeoutMs: 5_000, required: true, perChannel: false, pollMs: 100 }
]

/** @internal */
export const fromDefaults = <E, R>(
  handlers: { readonly [K in Api.DefaultStepName]: Api.Handler<E, R> }
): ReadonlyArray<Api.Step<E, R>> =>
  defaults.map((row): Api.Step<E, R> => {
    const handler = handlers[row.name]
    return {
      name: row.name,
      phase: row.phase,
      timeout: handler.timeout ?? row.timeoutMs,
      required: handler.required ?? row.required,
      perChannel: handler.perChannel ?? row.perChannel,
      poll: handler.poll ?? row.pollMs,
      run: handler.run,
      rollback: handler.rollback
    }
  })

/** @internal */
export const metrics = {
  episodes: Metric.counter("recovery_episodes", { description: "recovery episodes, by outcome", incremental: true }),
  duration: Metric.histogram(
    "recovery_duration_ms",
    MetricBoundaries.exponential({ start: 1, factor: 4, count: 10 }),
    "duration of recovery episodes (ms)"
  ),
  stepFailures: Metric.counter("recovery_step_failures", {
    description: "recovery steps that failed or timed out, by step",
    incremental: true
  }),
  joined: Metric.counter("recovery_joined_triggers", {
    description: "recovery triggers that joined an episode in progress",
    incremental: true
  })
}

interface ResolvedStep {
  readonly name: string
  readonly phase: Api.Phase
  readonly timeoutMs: number
  readonly required: boolean
  readonly perChannel: boolean
  readonly pollMs: number | undefined
  readonly run: (context: Api.StepContext) => Effect.Effect<unknown, unknown>
  readonly rollback: ((context: Api.StepContext) => Effect.Effect<unknown, unknown>) | undefined
}

type RecoveryMachine = StateMachine.StateMachine<typeof Presets.Recovery>
type ChannelMachines = Channels.Channels<string, typeof Presets.RecoveryChannel>

interface Machines {
  readonly machine: RecoveryMachine
  readonly channels: ChannelMachines | undefined
}

interface Episode {
  /**
   * Completed with the recorded attempt at the end of the episode (or, should the episode's fiber die, a defect of
   * this module, with that fiber's exit).
   */
  readonly done: Deferred.Deferred<RecoveryAttempt>
  /**
   * The previous episode of the component, if it was still being recorded when this one started: this one waits for
   * it before touching the machines. Cleared once waited for (so that episodes do not form a chain in memory).
   */
  previous: Deferred.Deferred<RecoveryAttempt> | undefined
  /** The triggers that joined; read when the episode stops being joinable (its final state is settled). */
  joined: number
}

/** Mutable books of one episode, so that an interruption can still record what happened. */
interface Run {
  readonly component: string
  readonly trigger: Api.Trigger
  readonly startedAt: number
  readonly states: Array<StateEntry>
  readonly steps: Array<StepRecord>
  readonly completed: Array<{ readonly index: number; readonly step: ResolvedStep; readonly context: Api.StepContext }>
  failure: { readonly step: string | undefined; readonly error: ErrorInfo } | undefined
  /** The last cleanup report a step returned. */
  cleanup: CleanupReport | undefined
  /** The step running now (set while `runStep` waits for it), for the record of an interrupted episode. */
  current: { readonly step: ResolvedStep; readonly channel: string | undefined; readonly startedAt: number } | undefined
  /** The episode was interrupted (its coordinator's scope closed) while its steps ran: no rollback. */
  interrupted: boolean
}

const stepLabel = (name: string, channel: string | undefined): string =>
  channel === undefined ? name : `${name}[${channel}]`

const toMillis = (
  field: string,
  value: Duration.DurationInput | undefined,
  fallback: number | undefined
): Effect.Effect<number | undefined, InvalidRecoveryOptions> => {
  if (value === undefined) return Effect.succeed(fallback)
  const decoded = Duration.decodeUnknown(value)
  if (Option.isNone(decoded)) return Effect.fail(new InvalidRecoveryOptions({ field, reason: "not a duration" }))
  const ms = Duration.toMillis(decoded.value)
  return ms > 0 && Number.isFinite(ms)
    ? Effect.succeed(ms)
    : Effect.fail(new InvalidRecoveryOptions({ field, reason: `must be a positive finite duration, got ${ms} ms` }))
}

const lockName = (error: unknown): string | undefined => {
  if (!Predicate.hasProperty(error, "lock") || !Predicate.hasProperty(error.lock, "name")) return undefined
  const lock = error.lock as { readonly name: unknown; readonly key?: unknown }
  return typeof lock.key === "string" ? `${String(lock.name)}:${lock.key}` : String(lock.name)
}

const defaultResources: Effect.Effect<Readonly<Record<string, number>>> = Effect.sync((): Readonly<
  Record<string, number>
> => {
  const process = (globalThis as { readonly process?: { readonly memoryUsage?: () => NodeJS.MemoryUsage } }).process
  if (process?.memoryUsage === undefined) return {}
  const usage = process.memoryUsage()
  return { heapUsedBytes: usage.heapUsed, rssBytes: usage.rss }
})

/** @internal */
export class CoordinatorImpl implements Api.RecoveryCoordinator {
  /** The episodes that can be joined: from their start until their final state is settled. */
  readonly episodes = new Map<string, Episode>()
  /** The latest episode of each component, until it has been recorded and its machines are back to Idle. */
  readonly running = new Map<string, Episode>()
  /** Step fibers that were abandoned (at their timeout, or when the episode was interrupted) and have not ended. */
  readonly abandoned = new Map<Fiber.RuntimeFiber<unknown, unknown>, Api.AbandonedStep>()
  readonly machines = new Map<string, Machines>()
  started = 0
  joinedCount = 0
  succeeded = 0
  failed = 0
  unrecorded = 0

  constructor(
    readonly logger: RecoveryLogger,
    readonly channels: ReadonlyArray<string>,
    readonly steps: ReadonlyArray<ResolvedStep>,
    readonly resources: Effect.Effect<Readonly<Record<string, number>>>,
    readonly historySize: number,
    readonly scope: Scope.Scope
  ) {}

  machinesOf(component: string): Effect.Effect<Machines> {
    return Effect.suspend(() => {
      const existing = this.machines.get(component)
      if (existing !== undefined) return Effect.succeed(existing)
      return Effect.gen(this, function*() {
        const machine = yield* StateMachine.make(Presets.Recovery, {
          name: `recovery:${component}`,
          historySize: this.historySize
        })
        const channels = this.channels.length === 0 ? undefined : yield* Channels.make(Presets.RecoveryChannel, {
          name: `recovery:${component}`,
          keys: this.channels,
          historySize: this.historySize
        })
        // a concurrent caller may have made them in the meantime: the first one wins
        const raced = this.machines.get(component)
        if (raced !== undefined) return raced
        const made: Machines = { machine, channels }
        this.machines.set(component, made)
        return made
      })
    })
  }

  machine(component: string): Effect.Effect<RecoveryMachine> {
    return Effect.map(this.machinesOf(component), (machines) => machines.machine)
  }

  channelMachines(component: string): Effect.Effect<ChannelMachines | undefined> {
    return Effect.map(this.machinesOf(component), (machines) => machines.channels)
  }

  get stats(): Effect.Effect<Api.Stats> {
    return Effect.sync(() => ({
      started: this.started,
      joined: this.joinedCount,
      succeeded: this.succeeded,
      failed: this.failed,
      inProgress: [...this.running.keys()],
      abandoned: [...this.abandoned.values()]
    }))
  }

  get awaitIdle(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.running.size === 0) return Effect.void
      // the latest episode of a component ends after the ones before it (it waits for them)
      return Effect.flatMap(
        Effect.forEach([...this.running.values()], (episode) => Effect.exit(Deferred.await(episode.done)), {
          discard: true
        }),
        () => this.awaitIdle
      )
    })
  }

  recover(component: string, trigger: Api.Trigger): Effect.Effect<RecoveryAttempt> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        // the check and the reservation are one synchronous step: no other fiber can start a second episode
        const existing = this.episodes.get(component)
        if (existing !== undefined) {
          existing.joined++
          this.joinedCount++
          return Effect.zipRight(Metric.increment(metrics.joined), restore(Deferred.await(existing.done)))
        }
        // an episode still being recorded is not joinable (its steps have all run); the new one waits for it
        const episode: Episode = {
          done: Deferred.unsafeMake<RecoveryAttempt>(FiberId.none),
          previous: this.running.get(component)?.done,
          joined: 0
        }
        this.episodes.set(component, episode)
        this.running.set(component, episode)
        this.started++
        // forked uninterruptible (the flags of this region): the episode opts into interruption for its steps only,
        // so that it always gets to record itself, even when its scope is closed before it starts
        return Effect.flatMap(Effect.forkIn(this.episode(component, trigger, episode), this.scope), (fiber) => {
          // only for a defect of this module: the episode completes `done` itself
          fiber.addObserver((exit) => this.release(component, episode, exit))
          return restore(Deferred.await(episode.done))
        })
      })
    )
  }

  /** No further trigger joins the episode: later ones start a new episode. */
  unregister(component: string, episode: Episode): void {
    if (this.episodes.get(component) === episode) this.episodes.delete(component)
  }

  /** The episode is over: its callers get `exit`, the next episode of the component may start. */
  release(component: string, episode: Episode, exit: Exit.Exit<RecoveryAttempt>): void {
    this.unregister(component, episode)
    if (this.running.get(component) === episode) this.running.delete(component)
    Deferred.unsafeDone(episode.done, exit)
  }

  recoverOrFail(component: string, trigger: Api.Trigger): Effect.Effect<RecoveryAttempt, RecoveryFailed> {
    return Effect.flatMap(this.recover(component, trigger), (attempt) => {
      if (attempt.outcome === "Succeeded") return Effect.succeed(attempt)
      const failed = attempt.steps.find((step) =>
        step.required && (step.status === "Failed" || step.status === "TimedOut" || step.status === "Interrupted")
      )
      return Effect.fail(
        new RecoveryFailed({
          component,
          attempt: attempt.id,
          step: failed === undefined ? undefined : stepLabel(failed.step, failed.channel),
          reason: attempt.error === undefined ? "unknown" : `${attempt.error.tag}: ${attempt.error.message}`
        })
      )
    })
  }

  /**
   * One episode, in its own fiber, which starts uninterruptible: only the steps (`body`) can be interrupted, so the
   * episode is always settled and recorded.
   */
  episode(component: string, trigger: Api.Trigger, episode: Episode): Effect.Effect<RecoveryAttempt> {
    return Effect.gen(this, function*() {
      const previous = episode.previous
      if (previous !== undefined) {
        // the previous episode is being recorded and moves its machines back to Idle: wait for it (bounded by its
        // writes; it completes `done` even when it records a failure)
        yield* Effect.exit(Deferred.await(previous))
        episode.previous = undefined
      }
      const machines = yield* this.machinesOf(component)
      const run: Run = {
        component,
        trigger,
        startedAt: yield* Clock.currentTimeMillis,
        states: [],
        steps: [],
        completed: [],
        failure: undefined,
        cleanup: undefined,
        current: undefined,
        interrupted: false
      }
      const exit = yield* Effect.exit(Effect.interruptible(this.body(run, machines)))
      // interrupted: the coordinator's scope is closing (callers cannot interrupt an episode). The body ends in a
      // failure only then or by a defect; an interruption arriving after the steps ended changes nothing
      const interrupted = Exit.isFailure(exit) && HashSet.size((yield* Effect.descriptor).interruptors) > 0
      if (interrupted) {
        const current = run.current
        run.interrupted = true
        run.failure = {
          step: current === undefined ? undefined : stepLabel(current.step.name, current.channel),
          error: {
            tag: "Interrupted",
            message: current === undefined
              ? "the recovery episode was interrupted (its coordinator's scope closed)"
              : `the recovery episode was interrupted (its coordinator's scope closed) during step ${
                stepLabel(current.step.name, current.channel)
              }`
          }
        }
      } else if (Exit.isFailure(exit) && run.failure === undefined) {
        run.failure = { step: undefined, error: causeInfo(exit.cause) }
      }
      return yield* this.finish(run, machines, episode)
    }).pipe(annotate({ component }))
  }

  /** The phases and steps; sets `run.failure` and returns at the first failure that aborts the episode. */
  body(run: Run, machines: Machines): Effect.Effect<void, unknown> {
    return Effect.gen(this, function*() {
      const machine = machines.machine
      const current = yield* StateMachine.get(machine)
      if (current !== "Idle") yield* StateMachine.reset(machine, { reason: "new recovery episode" })
      if (machines.channels !== undefined) {
        for (const key of this.channels) {
          const channel = Channels.get(machines.channels, key)
          if ((yield* StateMachine.get(channel)) !== "Idle") {
            yield* StateMachine.reset(channel, { reason: "new recovery episode" })
          }
        }
      }
      if (!(yield* this.move(run, machines, "Initiating"))) return
      for (const phase of phases) {
        if (!(yield* this.move(run, machines, phase))) return
        for (const step of this.steps) {
          if (step.phase !== phase) continue
          const channels: ReadonlyArray<string | undefined> = step.perChannel && this.channels.length > 0
            ? this.channels
            : [undefined]
          for (const channel of channels) {
            const ok = yield* this.runStep(run, step, channel)
            if (!ok) return
          }
        }
      }
    })
  }

  /**
   * Moves the machine (and the channel machines) to a state; a refusal aborts the episode (as does a validator that
   * dies: a defect in user code).
   */
  move(run: Run, machines: Machines, state: "Initiating" | Api.Phase | "Completed"): Effect.Effect<boolean> {
    return Effect.gen(this, function*() {
      const result = yield* Effect.exit(
        StateMachine.transitionTo(machines.machine, state, { reason: run.trigger.trigger })
      )
      if (Exit.isFailure(result)) {
        run.failure = { step: `transition:${state}`, error: causeInfo(result.cause) }
        return false
      }
      run.states.push({ state, at: result.value.at })
      if (machines.channels !== undefined && state !== "Initiating") {
        for (const key of this.channels) {
          const channel = Channels.get(machines.channels, key)
          const moved = yield* Effect.exit(StateMachine.transitionTo(channel, state, { reason: run.trigger.trigger }))
          if (Exit.isFailure(moved)) {
            run.failure = { step: `transition:${state}[${key}]`, error: causeInfo(moved.cause) }
            return false
          }
          run.states.push({ state, channel: key, at: moved.value.at })
        }
      }
      return true
    })
  }

  /**
   * Runs a step's effect (a run or a rollback) in its own fiber and waits for it at most `timeoutMs`: `Some` with
   * its value, `None` at the timeout, or its failure. At the timeout, or when the waiting fiber is interrupted, the
   * step's fiber is interrupted without waiting for it (the `Effect.disconnect` pattern): a step that does not yield
   * to interruption cannot hold the episode. Until it ends it is listed in `stats.abandoned` (and it is a live fiber
   * for leak checks).
   */
  bounded<A>(
    effect: Effect.Effect<A, unknown>,
    timeoutMs: number,
    label: Omit<Api.AbandonedStep, "at">
  ): Effect.Effect<Exit.Exit<Option.Option<A>, unknown>> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.gen(this, function*() {
        const fiber = yield* Effect.forkDaemon(Effect.interruptible(effect))
        // the wait itself is interruptible, so that the timeout can end it even where the caller is not (rollbacks
        // run in `finish`); the caller's own interruptibility (`restore`) decides whether closing the scope can
        const exit = yield* Effect.exit(
          restore(
            Effect.timeoutOption(Effect.interruptible(Effect.flatten(Fiber.await(fiber))), Duration.millis(timeoutMs))
          )
        )
        if (fiber.unsafePoll() === null) {
          const at = yield* Clock.currentTimeMillis
          const tracked = fiber as Fiber.RuntimeFiber<unknown, unknown>
          this.abandoned.set(tracked, { ...label, at })
          fiber.addObserver(() => this.abandoned.delete(tracked))
          yield* Fiber.interruptAsFork(fiber, yield* Effect.fiberId)
        }
        return exit
      })
    )
  }

  runStep(run: Run, step: ResolvedStep, channel: string | undefined): Effect.Effect<boolean> {
    const context: Api.StepContext = {
      component: run.component,
      channel,
      trigger: run.trigger.trigger,
      phase: step.phase,
      step: step.name
    }
    const attempt = step.pollMs === undefined
      ? step.run(context)
      : Effect.retry(step.run(context), Schedule.spaced(Duration.millis(step.pollMs)))
    return Effect.gen(this, function*() {
      const startedAt = yield* Clock.currentTimeMillis
      run.current = { step, channel, startedAt }
      const exit = yield* this.bounded(attempt, step.timeoutMs, {
        component: run.component,
        step: step.name,
        channel,
        kind: "run"
      })
      // not reached when the episode is interrupted while waiting: `finish` records the step as Interrupted
      run.current = undefined
      const endedAt = yield* Clock.currentTimeMillis
      const timedOut = Exit.isSuccess(exit) && Option.isNone(exit.value)
      const error: ErrorInfo | undefined = Exit.isFailure(exit)
        ? causeInfo(exit.cause)
        : timedOut
        ? { tag: "TimedOut", message: `step ${step.name} did not complete within ${step.timeoutMs} ms` }
        : undefined
      const status = error === undefined ? "Succeeded" : timedOut ? "TimedOut" : "Failed"
      run.steps.push({
        step: step.name,
        phase: step.phase,
        channel,
        required: step.required,
        status,
        startedAt,
        durationMs: endedAt - startedAt,
        error
      })
      const log = annotate({
        channel,
        state: step.phase,
        lock: Exit.isFailure(exit)
          ? Option.getOrUndefined(Option.map(Cause.failureOption(exit.cause), lockName))
          : undefined
      })
      if (error === undefined) {
        if (Exit.isSuccess(exit) && Option.isSome(exit.value) && isCleanupReport(exit.value.value)) {
          run.cleanup = exit.value.value
        }
        run.completed.push({ index: run.steps.length - 1, step, context })
        yield* log(Effect.logDebug(`recovery step ${step.name} succeeded`))
        return true
      }
      yield* Metric.increment(Metric.tagged(metrics.stepFailures, "step", step.name))
      yield* log(
        Effect.logWarning(`recovery step ${step.name} ${status === "TimedOut" ? "timed out" : "failed"}`).pipe(
          Effect.annotateLogs({ error: `${error.tag}: ${error.message}`, required: step.required })
        )
      )
      if (!step.required) return true
      run.failure = { step: stepLabel(step.name, channel), error }
      return false
    })
  }

  /**
   * Records the interrupted step, skips the rest, rolls back (unless interrupted), samples the resources, settles
   * the final state, stops the episode being joinable, records it, and moves the machines back to Idle. Runs
   * uninterruptibly; every user-supplied effect in it (rollbacks, the resources sampler, machine validators, the
   * logger) is run so that its defect cannot escape.
   */
  finish(run: Run, machines: Machines, episode: Episode): Effect.Effect<RecoveryAttempt> {
    return Effect.gen(this, function*() {
      const current = run.current
      if (run.interrupted && current !== undefined) {
        const now = yield* Clock.currentTimeMillis
        run.steps.push({
          step: current.step.name,
          phase: current.step.phase,
          channel: current.channel,
          required: current.step.required,
          status: "Interrupted",
          startedAt: current.startedAt,
          durationMs: now - current.startedAt,
          error: run.failure?.error
        })
        yield* Metric.increment(Metric.tagged(metrics.stepFailures, "step", current.step.name))
      }
      run.current = undefined
      if (run.failure !== undefined) {
        const done = new Set(run.steps.map((record) => `${record.step}\u0000${record.channel ?? ""}`))
        for (const step of this.steps) {
          const channels: ReadonlyArray<string | undefined> = step.perChannel && this.channels.length > 0
            ? this.channels
            : [undefined]
          for (const channel of channels) {
            if (done.has(`${step.name}\u0000${channel ?? ""}`)) continue
            run.steps.push({
              step: step.name,
              phase: step.phase,
              channel,
              required: step.required,
              status: "Skipped",
              startedAt: yield* Clock.currentTimeMillis,
              durationMs: 0,
              error: undefined
            })
          }
        }
        // an interrupted episode is not rolled back: its scope is closing
        if (!run.interrupted) yield* this.rollback(run)
      }
      const sampled = yield* Effect.exit(this.resources)
      if (Exit.isFailure(sampled)) {
        const error = causeInfo(sampled.cause)
        yield* Effect.logWarning("recovery resources sampler failed").pipe(
          Effect.annotateLogs({ error: `${error.tag}: ${error.message}` })
        )
        // a defect in user code fails the episode (its steps all ran: nothing to roll back for it)
        if (run.failure === undefined) run.failure = { step: "resources", error }
      }
      yield* this.settle(run, machines, run.failure === undefined ? "Completed" : "Failed")
      const endedAt = yield* Clock.currentTimeMillis
      // the final state is settled: a trigger from now on starts a new episode (which waits for this one)
      this.unregister(run.component, episode)
      const input: AttemptInput = {
        component: run.component,
        trigger: run.trigger.trigger,
        channels: this.channels,
        occurredAt: run.trigger.occurredAt,
        detectedAt: run.startedAt,
        startedAt: run.startedAt,
        endedAt,
        states: run.states,
        steps: run.steps,
        cleanup: run.cleanup,
        resources: Exit.isSuccess(sampled) ? sampled.value : {},
        outcome: run.failure === undefined ? "Succeeded" : "Failed",
        error: run.failure?.error,
        joined: episode.joined
      }
      const recorded = yield* Effect.exit(this.logger.record(input))
      let attempt: RecoveryAttempt
      if (Exit.isSuccess(recorded)) {
        attempt = recorded.value
      } else {
        // a logger that dies (a custom one): the episode's attempt is returned unrecorded, as failed, with the defect
        const error = causeInfo(recorded.cause)
        attempt = unrecordedAttempt(
          { ...input, outcome: "Failed", error },
          this.logger.session,
          ++this.unrecorded
        )
        yield* Effect.logError("recovery attempt could not be recorded").pipe(
          Effect.annotateLogs({ error: `${error.tag}: ${error.message}`, attempt: attempt.id })
        )
      }
      if (attempt.outcome === "Succeeded") this.succeeded++
      else this.failed++
      yield* Metric.increment(Metric.tagged(metrics.episodes, "outcome", attempt.outcome))
      yield* Metric.update(metrics.duration, endedAt - run.startedAt)
      // back to Idle, ready for the next episode
      yield* Effect.exit(StateMachine.transitionTo(machines.machine, "Idle", { reason: "episode recorded" }))
      if (machines.channels !== undefined) {
        for (const key of this.channels) {
          yield* Effect.exit(
            StateMachine.transitionTo(Channels.get(machines.channels, key), "Idle", { reason: "episode recorded" })
          )
        }
      }
      this.release(run.component, episode, Exit.succeed(attempt))
      return attempt
    })
  }

  /** Rolls back the completed steps, newest first, each bounded by its step's timeout. */
  rollback(run: Run): Effect.Effect<void> {
    return Effect.gen(this, function*() {
      for (const entry of run.completed.slice().reverse()) {
        const rollback = entry.step.rollback
        if (rollback === undefined) continue
        const exit = yield* this.bounded(rollback(entry.context), entry.step.timeoutMs, {
          component: run.component,
          step: entry.step.name,
          channel: entry.context.channel,
          kind: "rollback"
        })
        const failed = Exit.isFailure(exit) || Option.isNone(exit.value)
        const record = run.steps[entry.index]!
        run.steps[entry.index] = {
          ...record,
          status: failed ? "RollbackFailed" : "RolledBack",
          error: Exit.isFailure(exit)
            ? causeInfo(exit.cause)
            : failed
            ? {
              tag: "TimedOut",
              message: `rollback of ${entry.step.name} did not complete within ${entry.step.timeoutMs} ms`
            }
            : undefined
        }
        if (failed) {
          yield* Effect.logWarning(`recovery rollback of ${entry.step.name} failed`).pipe(
            annotate({ channel: entry.context.channel, state: entry.step.phase })
          )
        }
      }
    })
  }

  settle(run: Run, machines: Machines, state: "Completed" | "Failed"): Effect.Effect<void> {
    return Effect.gen(this, function*() {
      const moved = yield* Effect.exit(
        StateMachine.transitionTo(machines.machine, state, { reason: run.failure?.error.message ?? "recovered" })
      )
      if (Exit.isSuccess(moved)) run.states.push({ state, at: moved.value.at })
      else if (state === "Completed") {
        run.failure = { step: "transition:Completed", error: causeInfo(moved.cause) }
        return yield* this.settle(run, machines, "Failed")
      }
      if (machines.channels !== undefined) {
        for (const key of this.channels) {
          const channel = Channels.get(machines.channels, key)
          const result = yield* Effect.exit(StateMachine.transitionTo(channel, state, { reason: state }))
          if (Exit.isSuccess(result)) run.states.push({ state, channel: key, at: result.value.at })
        }
      }
    })
  }
}

/** @internal */
export const make = <E, R>(
  options: Api.Options<E, R>
): Effect.Effect<Api.RecoveryCoordinator, InvalidRecoveryOptions, Scope.Scope | R> =>
  Effect.gen(function*() {
    if (options.steps.length === 0) {
      return yield* Effect.fail(new InvalidRecoveryOptions({ field: "steps", reason: "no step" }))
    }
    const context = yield* Effect.context<R>()
    const names = new Set<string>()
    const steps: Array<ResolvedStep> = []
    for (const [index, step] of options.steps.entries()) {
      const field = `steps[${index}]`
      if (step.name.length === 0) {
        return yield* Effect.fail(new InvalidRecoveryOptions({ field: `${field}.name`, reason: "empty name" }))
      }
      if (names.has(step.name)) {
        return yield* Effect.fail(
          new InvalidRecoveryOptions({ field: `${field}.name`, reason: `duplicate step "${step.name}"` })
        )
      }
      if (!phases.includes(step.phase)) {
        return yield* Effect.fail(
          new InvalidRecoveryOptions({ field: `${field}.phase`, reason: `unknown phase "${String(step.phase)}"` })
        )
      }
      names.add(step.name)
      const timeoutMs = (yield* toMillis(`${field}.timeout`, step.timeout, 5_000))!
      const pollMs = yield* toMillis(`${field}.poll`, step.poll, undefined)
      const rollback = step.rollback
      steps.push({
        name: step.name,
        phase: step.phase,
        timeoutMs,
        required: step.required ?? true,
        perChannel: step.perChannel ?? false,
        pollMs,
        run: (stepContext) => Effect.provide(Effect.suspend(() => step.run(stepContext)), context),
        rollback: rollback === undefined
          ? undefined
          : (stepContext) => Effect.provide(Effect.suspend(() => rollback(stepContext)), context)
      })
    }
    const historySize = options.historySize ?? 100
    if (!Number.isInteger(historySize) || historySize < 1) {
      return yield* Effect.fail(
        new InvalidRecoveryOptions({ field: "historySize", reason: `must be a positive integer, got ${historySize}` })
      )
    }
    const channels = options.channels ?? []
    if (new Set(channels).size !== channels.length || channels.some((channel) => channel.length === 0)) {
      return yield* Effect.fail(
        new InvalidRecoveryOptions({ field: "channels", reason: "channel names must be unique and non-empty" })
      )
    }
    const scope = yield* Effect.scope
    const coordinator = new CoordinatorImpl(
      options.logger,
      channels,
      steps,
      options.resources ?? defaultResources,
      historySize,
      scope
    )
    // runs after the episodes' fibers are interrupted (finalizers run in reverse order)
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() =>
        coordinator.abandoned.size === 0 ? Effect.void : Effect.logWarning(
          "recovery coordinator closed with abandoned steps still running"
        ).pipe(
          Effect.annotateLogs({
            abandoned: [...coordinator.abandoned.values()].map((entry) =>
              `${entry.component}: ${entry.kind} of ${stepLabel(entry.step, entry.channel)}`
            ).join(", ")
          })
        )
      )
    )
    return coordinator
  })
