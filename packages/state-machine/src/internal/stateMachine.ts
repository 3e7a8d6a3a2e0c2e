import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { format, NodeInspectSymbol } from "effect/Inspectable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import type * as StateMachine from "../StateMachine.js"
import {
  type CompareAndSetError,
  CompensationFailed,
  ConcurrentModification,
  InvalidTransition,
  InvariantViolated,
  NothingToRollback,
  UnknownSequence,
  ValidationFailed,
  ValidationTimeout
} from "../StateMachineError.js"
import type { ErrorInfo, Kind, TransitionRecord } from "../TransitionRecord.js"
import type { DefinitionImpl } from "./definition.js"
import { WILDCARD } from "./definition.js"
import { HistoryBuffer } from "./historyBuffer.js"
import * as hooks from "./hooks.js"
import * as lock from "./lock.js"
import { Mailbox } from "./mailbox.js"
import * as metrics from "./metrics.js"

/** @internal */
export const TypeId: StateMachine.TypeId = Symbol.for(
  "@core-stability/state-machine/StateMachine"
) as StateMachine.TypeId

/**
 * Wraps the exclusive section in the machine's ordered lock.
 *
 * @internal
 */
export type Exclusive = <A, E>(self: Effect.Effect<A, E>) => Effect.Effect<A, E>

type Record = TransitionRecord<string>
type Context = StateMachine.TransitionContext<string>

interface ValidatorEntry {
  readonly name: string
  readonly from: string
  readonly to: string
  readonly predicate: ((context: Context) => boolean) | undefined
  readonly effect: ((context: Context) => Effect.Effect<boolean, unknown>) | undefined
  readonly timeoutMs: number
  readonly retryTimes: number
  readonly retryDelayMs: number
}

interface InvariantEntry {
  readonly name: string
  readonly state: string
  readonly predicate: ((context: Context) => boolean) | undefined
  readonly effect: ((context: Context) => Effect.Effect<boolean, unknown>) | undefined
  readonly timeoutMs: number
}

interface CompensationEntry {
  readonly name: string
  readonly from: string
  readonly to: string
  readonly run: (record: Record) => Effect.Effect<void, unknown>
  readonly timeoutMs: number
}

interface ListenerEntry {
  readonly name: string
  readonly mailbox: Mailbox<Record>
  readonly droppedMetric: metrics.Series
  dropped: number
}

/** Per (from, to) pair: the counters of the stats snapshot, its metric handles and its resolved validators. */
class Pair {
  count = 0
  successes = 0
  failures = 0
  totalMs = 0
  minMs = Number.POSITIVE_INFINITY
  maxMs = 0
  validators: ReadonlyArray<ValidatorEntry> | undefined = undefined
  constructor(readonly from: string, readonly to: string, readonly metrics: metrics.PairMetrics) {}
}

/** One transition in flight. */
interface Attempt {
  readonly from: string
  readonly to: string
  readonly version: number
  readonly startNs: bigint
  readonly options: StateMachine.TransitionOptions | undefined
  readonly expected: string | undefined
  readonly pair: Pair
  /** The hooks' context of the first attempt, built on first use and shared by validators and invariants. */
  context: Context | undefined
}

const NO_ERROR: Exit.Exit<undefined> = Exit.succeed(undefined)
const EMPTY: ReadonlyArray<never> = []

/** @internal */
export interface ResolvedOptions {
  readonly name: string
  readonly channel: string | undefined
  readonly historySize: number
  readonly hookTimeoutMs: number
  readonly retryTimes: number
  readonly retryDelayMs: number
  readonly clock: Clock.Clock
  readonly exclusive: Exclusive
}

/** @internal */
export const toMillis = (duration: Duration.DurationInput): number => Duration.toMillis(Duration.decode(duration))

const positiveInt = (name: string, value: number): number => {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be an integer >= 1, got ${value}`)
  return value
}

const nonNegativeInt = (name: string, value: number): number => {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be an integer >= 0, got ${value}`)
  return value
}

/** @internal */
export const resolveOptions = (
  definition: DefinitionImpl,
  options: StateMachine.Options<string> | undefined,
  channel: string | undefined,
  clock: Clock.Clock,
  exclusive: Exclusive
): ResolvedOptions => ({
  name: options?.name ?? definition.name,
  channel,
  historySize: positiveInt("historySize", options?.historySize ?? 1000),
  hookTimeoutMs: toMillis(options?.hookTimeout ?? Duration.seconds(5)),
  retryTimes: nonNegativeInt("retry.times", options?.retry?.times ?? 0),
  retryDelayMs: toMillis(options?.retry?.delay ?? Duration.zero),
  clock,
  exclusive
})

const variance = { _D: (_: any) => _ }

/** @internal */
export class MachineImpl implements StateMachine.StateMachine<any> {
  readonly [TypeId] = variance
  readonly name: string
  readonly channel: string | undefined

  /** The current state; written only in synchronous commit steps. */
  private state: string
  /** Bumped by every commit, revert, rollback step and reset; the optimistic commit compares it. */
  private version = 0
  /** True while a fiber runs the exclusive (locked) section; the optimistic commit then defers to the lock. */
  private exclusive = false
  private seq = 0
  private readonly history: HistoryBuffer
  /** Committed transitions still in effect, newest last: what rollback undoes. */
  private readonly undo: HistoryBuffer

  private validators: ReadonlyArray<ValidatorEntry> = EMPTY
  private invariants: ReadonlyArray<InvariantEntry> = EMPTY
  /** Per state index: its synchronous invariants, then its effectful ones. */
  private syncInvariants: Array<ReadonlyArray<InvariantEntry>>
  private effectInvariants: Array<ReadonlyArray<InvariantEntry>>
  private compensations: ReadonlyArray<CompensationEntry> = EMPTY
  private listeners: ReadonlyArray<ListenerEntry> = EMPTY

  /** Per `from`, per `to`: the pair's statistics; `pairList` keeps them in first-attempt order. */
  private readonly pairs = new Map<string, Map<string, Pair>>()
  private readonly pairList: Array<Pair> = []
  private readonly errorCounts = new Map<string, number>()
  private transitionCount = 0
  private successCount = 0
  private totalMs = 0
  private retries = 0
  private retrySuccesses = 0
  private retryExhaustions = 0
  private rollbackCount = 0
  private rollbackSuccesses = 0
  private rollbackTotalMs = 0
  private resets = 0
  private delivered = 0
  private listenerFailureCount = 0

  private readonly clock: Clock.Clock
  private readonly lock: Exclusive
  private readonly metrics: metrics.MachineMetrics

  constructor(
    readonly definition: DefinitionImpl,
    private readonly options: ResolvedOptions,
    hooksOptions: StateMachine.Options<string> | undefined
  ) {
    this.name = options.name
    this.channel = options.channel
    this.state = definition.initial
    this.clock = options.clock
    this.lock = options.exclusive
    this.history = new HistoryBuffer(options.historySize)
    this.undo = new HistoryBuffer(options.historySize)
    this.syncInvariants = definition.states.map(() => EMPTY)
    this.effectInvariants = definition.states.map(() => EMPTY)
    this.metrics = metrics.forMachine(this.name, this.channel)
    for (const validator of hooksOptions?.validators ?? []) this.addValidator(validator)
    for (const invariant of hooksOptions?.invariants ?? []) this.addInvariant(invariant)
    for (const compensation of hooksOptions?.compensations ?? []) this.addCompensation(compensation)
  }

  // ---------------------------------------------------------------------------------------------------------------
  // registration (copy-on-write: a transition in flight keeps the snapshot it started with)
  // ---------------------------------------------------------------------------------------------------------------

  addValidator(validator: StateMachine.Validator<string>): void {
    this.checkPattern("validator", validator.name, validator.from)
    this.checkPattern("validator", validator.name, validator.to)
    const retry = validator.retry
    this.validators = [...this.validators, {
      name: validator.name,
      from: validator.from,
      to: validator.to,
      predicate: "predicate" in validator ? validator.predicate : undefined,
      effect: "effect" in validator ? validator.effect : undefined,
      timeoutMs: validator.timeout === undefined ? this.options.hookTimeoutMs : toMillis(validator.timeout),
      retryTimes: retry === undefined ? this.options.retryTimes : nonNegativeInt("retry.times", retry.times),
      retryDelayMs: retry === undefined ? this.options.retryDelayMs : toMillis(retry.delay)
    }]
    for (const pair of this.pairList) pair.validators = undefined
  }

  addInvariant(invariant: StateMachine.Invariant<string>): void {
    this.checkPattern("invariant", invariant.name, invariant.state)
    this.invariants = [...this.invariants, {
      name: invariant.name,
      state: invariant.state,
      predicate: "predicate" in invariant ? invariant.predicate : undefined,
      effect: "effect" in invariant ? invariant.effect : undefined,
      timeoutMs: invariant.timeout === undefined ? this.options.hookTimeoutMs : toMillis(invariant.timeout)
    }]
    this.syncInvariants = this.definition.states.map((state) =>
      this.invariants.filter((i) => i.predicate !== undefined && matches(i.state, state))
    )
    this.effectInvariants = this.definition.states.map((state) =>
      this.invariants.filter((i) => i.effect !== undefined && matches(i.state, state))
    )
  }

  addCompensation(compensation: StateMachine.Compensation<string>): void {
    this.checkPattern("compensation", compensation.name, compensation.from)
    this.checkPattern("compensation", compensation.name, compensation.to)
    this.compensations = [...this.compensations, {
      name: compensation.name,
      from: compensation.from,
      to: compensation.to,
      run: compensation.run,
      timeoutMs: compensation.timeout === undefined ? this.options.hookTimeoutMs : toMillis(compensation.timeout)
    }]
  }

  private checkPattern(kind: string, name: string, state: string): void {
    if (state !== WILDCARD && !this.definition.index.has(state)) {
      throw new RangeError(`${kind} "${name}" of machine "${this.name}" names unknown state ${state}`)
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // reads
  // ---------------------------------------------------------------------------------------------------------------

  unsafeGet(): string {
    return this.state
  }

  readonly get: Effect.Effect<string> = Effect.sync(() => this.state)

  historySnapshot(query: StateMachine.HistoryQuery | undefined): ReadonlyArray<Record> {
    let entries = this.history.toArray()
    if (query === undefined) return entries
    const { kind, since, success } = query
    if (since !== undefined || success !== undefined || kind !== undefined) {
      entries = entries.filter((entry) =>
        (since === undefined || entry.seq > since) &&
        (success === undefined || entry.success === success) &&
        (kind === undefined || entry.kind === kind)
      )
    }
    return query.last === undefined ? entries : entries.slice(Math.max(0, entries.length - query.last))
  }

  pruneHistory(maxAgeMs: number): number {
    const cutoff = this.clock.unsafeCurrentTimeMillis() - maxAgeMs
    let removed = 0
    while (this.history.size > 0 && this.history.timeAt(0) < cutoff) {
      this.history.shift()
      removed++
    }
    return removed
  }

  stats(): StateMachine.Stats {
    const failures = this.transitionCount - this.successCount
    return {
      machine: this.name,
      channel: this.channel,
      state: this.state,
      transitions: this.transitionCount,
      successes: this.successCount,
      failures,
      successRate: percent(this.successCount, this.transitionCount),
      averageDurationMs: this.transitionCount === 0 ? 0 : this.totalMs / this.transitionCount,
      pairs: this.pairList.filter((pair) => pair.count > 0).map((pair) => ({
        from: pair.from,
        to: pair.to,
        count: pair.count,
        successes: pair.successes,
        failures: pair.failures,
        successRate: percent(pair.successes, pair.count),
        totalDurationMs: pair.totalMs,
        averageDurationMs: pair.totalMs / pair.count,
        minDurationMs: pair.minMs,
        maxDurationMs: pair.maxMs
      })),
      errors: Object.fromEntries(this.errorCounts),
      retries: {
        count: this.retries,
        successes: this.retrySuccesses,
        exhaustions: this.retryExhaustions,
        successRate: percent(this.retrySuccesses, this.retrySuccesses + this.retryExhaustions)
      },
      rollbacks: {
        count: this.rollbackCount,
        successes: this.rollbackSuccesses,
        failures: this.rollbackCount - this.rollbackSuccesses,
        successRate: percent(this.rollbackSuccesses, this.rollbackCount),
        averageDurationMs: this.rollbackCount === 0 ? 0 : this.rollbackTotalMs / this.rollbackCount
      },
      resets: this.resets,
      listeners: {
        active: this.listeners.length,
        delivered: this.delivered,
        failures: this.listenerFailureCount,
        dropped: this.listeners.reduce((n, listener) => n + listener.dropped, this.droppedByRemoved)
      },
      history: { size: this.history.size, capacity: this.history.capacity }
    }
  }

  private droppedByRemoved = 0

  // ---------------------------------------------------------------------------------------------------------------
  // transitions
  // ---------------------------------------------------------------------------------------------------------------

  transitionTo(
    to: string,
    options: StateMachine.TransitionOptions | undefined,
    expected: string | undefined
  ): Effect.Effect<Record, CompareAndSetError> {
    return Effect.suspend(() => this.begin(to, options, expected))
  }

  private begin(
    to: string,
    options: StateMachine.TransitionOptions | undefined,
    expected: string | undefined
  ): Effect.Effect<Record, CompareAndSetError> {
    const startNs = this.clock.unsafeCurrentTimeNanos()
    const from = this.state
    // A refused compare-and-set is recorded and counted under the pair it asked for (`expected -> to`), not under
    // `actual -> to`, which nobody requested and which may not even be in the table; the error names `actual`.
    const requested = expected !== undefined && expected !== from ? expected : from
    const attempt: Attempt = {
      from: requested,
      to,
      version: this.version,
      startNs,
      options,
      expected,
      pair: this.pair(requested, to),
      context: undefined
    }
    if (requested !== from) return this.refuse(attempt, this.concurrent(attempt, from))
    if (!this.definition.canTransition(from, to)) return this.refuse(attempt, this.invalid(from, to))
    const validators = this.validatorsOf(attempt.pair)
    if (validators.length === 0) return this.commit(attempt)
    return andThen(
      this.validate(attempt, validators, 0),
      (error) => error === undefined ? this.commit(attempt) : this.refuse(attempt, error)
    )
  }

  /** The optimistic commit: one synchronous step when nobody holds the exclusive section and nothing changed. */
  private commit(attempt: Attempt): Effect.Effect<Record, CompareAndSetError> {
    if (
      !this.exclusive && this.version === attempt.version &&
      this.effectInvariants[this.definition.index.get(attempt.to)!]!.length === 0
    ) {
      return this.commitNow(attempt)
    }
    return this.lock(
      Effect.suspend(() => {
        this.exclusive = true
        return this.commitExclusive(attempt)
      }).pipe(Effect.ensuring(this.leave))
    )
  }

  private readonly leave = Effect.sync(() => {
    this.exclusive = false
  })

  private commitNow(attempt: Attempt): Exit.Exit<Record, CompareAndSetError> {
    this.state = attempt.to
    this.version++
    const violation = this.checkSyncInvariants(attempt)
    if (violation !== undefined) {
      this.state = attempt.from
      this.version++
      return this.refuse(attempt, violation)
    }
    return Exit.succeed(this.committed(attempt))
  }

  /** Runs holding the lock: re-checks what was validated, commits, checks effectful invariants, reverts on failure. */
  private commitExclusive(attempt: Attempt): Effect.Effect<Record, CompareAndSetError> {
    if (this.version === attempt.version) return this.commitLocked(attempt)
    const from = this.state
    // compare-and-set: `attempt` is `expected -> to`, the pair a refusal is recorded and counted under
    if (attempt.expected !== undefined && attempt.expected !== from) {
      return this.refuse(attempt, this.concurrent(attempt, from))
    }
    const current: Attempt = {
      ...attempt,
      from,
      version: this.version,
      pair: this.pair(from, attempt.to),
      context: undefined
    }
    if (!this.definition.canTransition(from, attempt.to)) return this.refuse(current, this.invalid(from, attempt.to))
    const validators = this.validatorsOf(current.pair)
    if (validators.length === 0) return this.commitLocked(current)
    return andThen(
      this.validate(current, validators, 0),
      (error) => error === undefined ? this.commitLocked(current) : this.refuse(current, error)
    )
  }

  /**
   * Commits holding the lock. With effectful invariants, the commit, the checks and the revert are one unit: the
   * state is written and the revert-on-interruption handler installed in one uninterruptible step, and only the
   * invariants' checks are interruptible. (The lock's body is interruptible, and an interruption landing between a
   * synchronous write and the installation of its handler would leave the state at an unchecked target, with no
   * history entry and no revert.) `settled` keeps the handler from reverting a commit or a revert already made.
   */
  private commitLocked(attempt: Attempt): Effect.Effect<Record, CompareAndSetError> {
    const effects = this.effectInvariants[this.definition.index.get(attempt.to)!]!
    if (effects.length === 0) return this.commitNow(attempt)
    return Effect.uninterruptibleMask((restore) => {
      this.state = attempt.to
      this.version++
      const violation = this.checkSyncInvariants(attempt)
      if (violation !== undefined) return this.revert(attempt, violation)
      const context = attempt.context ??= this.context(attempt, 1)
      let settled = false
      let i = 0
      const next = (): Effect.Effect<Record, CompareAndSetError> => {
        if (i === effects.length) {
          settled = true
          return Exit.succeed(this.committed(attempt))
        }
        const invariant = effects[i++]!
        return Effect.flatMap(
          hooks.run(hooks.build(() => invariant.effect!(context)), invariant.timeoutMs, this.clock, false),
          (outcome) => {
            const violation = this.violation(attempt, invariant, outcome)
            if (violation === undefined) return next()
            settled = true
            return this.revert(attempt, violation)
          }
        )
      }
      return Effect.onInterrupt(restore(Effect.suspend(next)), () =>
        Effect.sync(() => {
          if (settled) return
          settled = true
          this.state = attempt.from
          this.version++
          this.failed(attempt, { tag: "Interrupted", message: "interrupted while checking invariants; reverted" })
        }))
    })
  }

  private revert(attempt: Attempt, violation: InvariantViolated): Exit.Exit<never, InvariantViolated> {
    this.state = attempt.from
    this.version++
    return this.refuse(attempt, violation)
  }

  private checkSyncInvariants(attempt: Attempt): InvariantViolated | undefined {
    const invariants = this.syncInvariants[this.definition.index.get(attempt.to)!]!
    if (invariants.length === 0) return undefined
    const context = attempt.context ??= this.context(attempt, 1)
    for (const invariant of invariants) {
      let outcome: hooks.Outcome<boolean>
      try {
        outcome = invariant.predicate!(context) === true ? hooks.TRUE : hooks.FALSE
      } catch (defect) {
        outcome = hooks.failed(Cause.die(defect))
      }
      const violation = this.violation(attempt, invariant, outcome)
      if (violation !== undefined) return violation
    }
    return undefined
  }

  private violation(
    attempt: Attempt,
    invariant: InvariantEntry,
    outcome: hooks.Outcome<boolean>
  ): InvariantViolated | undefined {
    if (outcome._tag === "Done" && outcome.value === true) return undefined
    return new InvariantViolated({
      machine: this.name,
      channel: this.channel,
      from: attempt.from,
      to: attempt.to,
      invariant: invariant.name,
      cause: outcome._tag === "Done"
        ? undefined
        : outcome._tag === "Failed"
        ? outcome.cause
        : Cause.fail(new Cause.TimeoutException(`invariant timed out after ${invariant.timeoutMs} ms`))
    })
  }

  // ---------------------------------------------------------------------------------------------------------------
  // validators
  // ---------------------------------------------------------------------------------------------------------------

  private validatorsOf(pair: Pair): ReadonlyArray<ValidatorEntry> {
    if (pair.validators === undefined) {
      pair.validators = this.validators.filter((v) => matches(v.from, pair.from) && matches(v.to, pair.to))
    }
    return pair.validators
  }

  /** Runs the validators in registration order; succeeds with the first error, or `undefined` when all pass. */
  private validate(
    attempt: Attempt,
    validators: ReadonlyArray<ValidatorEntry>,
    start: number
  ): Effect.Effect<ValidationFailed | ValidationTimeout | undefined> {
    const context = attempt.context ??= this.context(attempt, 1)
    for (let i = start; i < validators.length; i++) {
      const validator = validators[i]!
      const result = validator.predicate !== undefined
        ? this.afterAttempt(validator, attempt, 1, runPredicate(validator.predicate, context))
        : this.attemptValidator(validator, attempt, context, 1)
      if (result === NO_ERROR) continue
      return andThen(
        result,
        (error) => error === undefined ? this.validate(attempt, validators, i + 1) : Exit.succeed(error)
      )
    }
    return NO_ERROR
  }

  private attemptValidator(
    validator: ValidatorEntry,
    attempt: Attempt,
    context: Context,
    n: number
  ): Effect.Effect<ValidationFailed | ValidationTimeout | undefined> {
    const outcome: Effect.Effect<hooks.Outcome<boolean>> = validator.predicate !== undefined
      ? Exit.succeed(runPredicate(validator.predicate, context))
      : hooks.run(hooks.build(() => validator.effect!(context)), validator.timeoutMs, this.clock, false)
    return andThen(outcome, (outcome) => this.afterAttempt(validator, attempt, n, outcome))
  }

  private afterAttempt(
    validator: ValidatorEntry,
    attempt: Attempt,
    n: number,
    outcome: hooks.Outcome<boolean>
  ): Effect.Effect<ValidationFailed | ValidationTimeout | undefined> {
    if (outcome._tag === "Done" && outcome.value === true) {
      if (n > 1) this.retrySuccesses++
      return NO_ERROR
    }
    if (n <= validator.retryTimes) {
      this.retries++
      metrics.update(this.metrics.retries, 1)
      const again = this.attemptValidator(validator, attempt, this.context(attempt, n + 1), n + 1)
      return validator.retryDelayMs > 0
        ? Effect.zipRight(this.clock.sleep(Duration.millis(validator.retryDelayMs)), again)
        : again
    }
    if (validator.retryTimes > 0) this.retryExhaustions++
    const base = { machine: this.name, channel: this.channel, from: attempt.from, to: attempt.to }
    return Exit.succeed(
      outcome._tag === "TimedOut"
        ? new ValidationTimeout({ ...base, validator: validator.name, attempts: n, timeoutMs: validator.timeoutMs })
        : new ValidationFailed({
          ...base,
          validator: validator.name,
          attempts: n,
          cause: outcome._tag === "Failed" ? outcome.cause : undefined
        })
    )
  }

  private context(attempt: Attempt, n: number): Context {
    return {
      machine: this.name,
      channel: this.channel,
      from: attempt.from,
      to: attempt.to,
      reason: attempt.options?.reason,
      metadata: attempt.options?.metadata,
      attempt: n
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // rollback and reset (always under the lock: compensations are effects)
  // ---------------------------------------------------------------------------------------------------------------

  rollback(
    options: StateMachine.TransitionOptions | undefined
  ): Effect.Effect<Record, NothingToRollback | CompensationFailed> {
    return this.exclusively((): Effect.Effect<Record, NothingToRollback | CompensationFailed> => {
      const top = this.undo.last()
      if (top === undefined) {
        return Exit.fail(new NothingToRollback({ machine: this.name, channel: this.channel, state: this.state }))
      }
      return Effect.map(this.unwind(this.undo.size - 1, options), (records) => records[0]!)
    })
  }

  rollbackTo(
    seq: number,
    options: StateMachine.TransitionOptions | undefined
  ): Effect.Effect<ReadonlyArray<Record>, UnknownSequence | CompensationFailed> {
    return this.exclusively((): Effect.Effect<ReadonlyArray<Record>, UnknownSequence | CompensationFailed> => {
      for (let i = this.undo.size - 1; i >= 0; i--) {
        if (this.undo.seqAt(i) === seq) return this.unwind(i, options)
      }
      return Exit.fail(
        new UnknownSequence({
          machine: this.name,
          channel: this.channel,
          seq,
          available: Array.from({ length: this.undo.size }, (_, i) => this.undo.seqAt(i))
        })
      )
    })
  }

  /** Undoes the committed transitions from the newest down to position `position` of the undo stack. */
  private unwind(
    position: number,
    options: StateMachine.TransitionOptions | undefined
  ): Effect.Effect<ReadonlyArray<Record>, CompensationFailed> {
    const records: Array<Record> = []
    const step = (): Effect.Effect<ReadonlyArray<Record>, CompensationFailed> => {
      if (this.undo.size <= position) return Exit.succeed(records)
      const top = this.undo.last()!
      const startNs = this.clock.unsafeCurrentTimeNanos()
      const compensations = this.compensations.filter((c) => matches(c.from, top.from) && matches(c.to, top.to))
      let i = compensations.length
      const compensate = (): Effect.Effect<ReadonlyArray<Record>, CompensationFailed> => {
        if (i === 0) {
          this.undo.pop()
          this.state = top.from
          this.version++
          const durationMs = this.elapsedMs(startNs)
          this.rollbackCount++
          this.rollbackSuccesses++
          this.rollbackTotalMs += durationMs
          metrics.update(this.metrics.rollbackSuccess, 1)
          const record = this.append(
            "rollback",
            top.to,
            top.from,
            durationMs,
            true,
            options?.reason ?? `rollback of #${top.seq}`,
            undefined,
            options?.metadata
          )
          this.dispatch(record)
          records.push(record)
          return step()
        }
        const compensation = compensations[--i]!
        return Effect.flatMap(
          hooks.run(hooks.build(() => compensation.run(top)), compensation.timeoutMs, this.clock, false),
          (outcome) => {
            if (outcome._tag === "Done") return compensate()
            const error = new CompensationFailed({
              machine: this.name,
              channel: this.channel,
              seq: top.seq,
              from: top.from,
              to: top.to,
              compensation: compensation.name,
              cause: outcome._tag === "Failed"
                ? outcome.cause
                : Cause.fail(new Cause.TimeoutException(`compensation timed out after ${compensation.timeoutMs} ms`))
            })
            const durationMs = this.elapsedMs(startNs)
            this.rollbackCount++
            this.rollbackTotalMs += durationMs
            metrics.update(this.metrics.rollbackFailure, 1)
            this.countError(error._tag)
            this.append(
              "rollback",
              top.to,
              top.from,
              durationMs,
              false,
              options?.reason,
              info(error),
              options?.metadata
            )
            return Exit.fail(error)
          }
        )
      }
      return compensate()
    }
    return step()
  }

  reset(options: StateMachine.TransitionOptions | undefined): Effect.Effect<Record> {
    return this.exclusively(() => {
      const from = this.state
      this.state = this.definition.initial
      this.version++
      this.undo.clear()
      this.resets++
      const record = this.append(
        "reset",
        from,
        this.state,
        0,
        true,
        options?.reason ?? "reset",
        undefined,
        options?.metadata
      )
      this.dispatch(record)
      return Exit.succeed(record)
    })
  }

  private exclusively<A, E>(body: () => Effect.Effect<A, E>): Effect.Effect<A, E> {
    return this.lock(
      Effect.suspend(() => {
        this.exclusive = true
        return body()
      }).pipe(Effect.ensuring(this.leave))
    )
  }

  // ---------------------------------------------------------------------------------------------------------------
  // listeners
  // ---------------------------------------------------------------------------------------------------------------

  subscribe(
    listener: StateMachine.Listener<string>,
    options: StateMachine.ListenerOptions | undefined
  ): Effect.Effect<void, never, Scope.Scope> {
    return Effect.suspend(() => {
      const name = options?.name ?? `listener-${this.listenerIds++}`
      const capacity = positiveInt("capacity", options?.capacity ?? 1024)
      const timeoutMs = options?.timeout === undefined ? Number.POSITIVE_INFINITY : toMillis(options.timeout)
      const listenerMetrics = metrics.forListener(this.name, this.channel, name)
      const entry: ListenerEntry = {
        name,
        mailbox: new Mailbox(capacity, options?.overflow ?? "sliding"),
        droppedMetric: listenerMetrics.dropped,
        dropped: 0
      }
      const failureMetric = listenerMetrics.failures
      const deliver = (record: Record): Effect.Effect<void> =>
        Effect.matchCauseEffect(hooks.run(hooks.build(() => listener(record)), timeoutMs, this.clock, true), {
          onSuccess: (outcome) => {
            if (outcome._tag === "Done") {
              this.delivered++
              return Effect.void
            }
            const cause = outcome._tag === "Failed"
              ? outcome.cause
              : Cause.fail(new Cause.TimeoutException(`listener timed out after ${timeoutMs} ms`))
            this.listenerFailureCount++
            metrics.update(failureMetric, 1)
            return Effect.logWarning(`state machine listener "${name}" failed on #${record.seq}`, cause).pipe(
              Effect.annotateLogs({ machine: this.name, channel: this.channel ?? "", listener: name })
            )
          },
          onFailure: () => Effect.void
        })
      const worker = Effect.forever(Effect.flatMap(entry.mailbox.take, deliver))
      return Effect.acquireRelease(
        Effect.sync(() => {
          this.listeners = [...this.listeners, entry]
        }),
        () =>
          Effect.sync(() => {
            this.listeners = this.listeners.filter((l) => l !== entry)
            this.droppedByRemoved += entry.dropped
          })
      ).pipe(Effect.zipRight(Effect.forkScoped(worker)), Effect.asVoid)
    })
  }

  private listenerIds = 1

  private dispatch(record: Record): void {
    const listeners = this.listeners
    for (let i = 0; i < listeners.length; i++) {
      const listener = listeners[i]!
      if (!listener.mailbox.put(record)) {
        listener.dropped++
        metrics.update(listener.droppedMetric, 1)
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // recording
  // ---------------------------------------------------------------------------------------------------------------

  private pair(from: string, to: string): Pair {
    let targets = this.pairs.get(from)
    if (targets === undefined) {
      targets = new Map()
      this.pairs.set(from, targets)
    }
    let pair = targets.get(to)
    if (pair === undefined) {
      pair = new Pair(from, to, metrics.forPair(this.name, this.channel, from, to))
      targets.set(to, pair)
      this.pairList.push(pair)
    }
    return pair
  }

  private elapsedMs(startNs: bigint): number {
    return Number(this.clock.unsafeCurrentTimeNanos() - startNs) / 1_000_000
  }

  private append(
    kind: Kind,
    from: string,
    to: string,
    durationMs: number,
    success: boolean,
    reason: string | undefined,
    error: ErrorInfo | undefined,
    metadata: Readonly<globalThis.Record<string, unknown>> | undefined
  ): Record {
    const record: Record = {
      seq: ++this.seq,
      kind,
      from,
      to,
      at: this.clock.unsafeCurrentTimeMillis(),
      durationMs,
      success,
      reason,
      error,
      metadata
    }
    this.history.push(record)
    return record
  }

  private measure(attempt: Attempt, success: boolean): number {
    const durationMs = this.elapsedMs(attempt.startNs)
    const pair = attempt.pair
    pair.count++
    pair.totalMs += durationMs
    if (durationMs < pair.minMs) pair.minMs = durationMs
    if (durationMs > pair.maxMs) pair.maxMs = durationMs
    metrics.update(pair.metrics.duration, durationMs)
    this.transitionCount++
    this.totalMs += durationMs
    if (success) {
      pair.successes++
      this.successCount++
      metrics.update(pair.metrics.success, 1)
    } else {
      pair.failures++
      metrics.update(pair.metrics.failure, 1)
    }
    return durationMs
  }

  private committed(attempt: Attempt): Record {
    const durationMs = this.measure(attempt, true)
    const options = attempt.options
    const record = this.append(
      "transition",
      attempt.from,
      attempt.to,
      durationMs,
      true,
      options?.reason,
      undefined,
      options?.metadata
    )
    this.undo.push(record)
    if (this.listeners.length > 0) this.dispatch(record)
    return record
  }

  private failed(attempt: Attempt, error: ErrorInfo): void {
    const durationMs = this.measure(attempt, false)
    this.countError(error.tag)
    const options = attempt.options
    this.append("transition", attempt.from, attempt.to, durationMs, false, options?.reason, error, options?.metadata)
  }

  private refuse<E extends { readonly _tag: string; readonly message: string }>(
    attempt: Attempt,
    error: E
  ): Exit.Exit<never, E> {
    this.failed(attempt, info(error))
    return Exit.fail(error)
  }

  private countError(tag: string): void {
    this.errorCounts.set(tag, (this.errorCounts.get(tag) ?? 0) + 1)
  }

  private invalid(from: string, to: string): InvalidTransition {
    return new InvalidTransition({
      machine: this.name,
      channel: this.channel,
      from,
      to,
      allowed: this.definition.targets(from)
    })
  }

  private concurrent(attempt: Attempt, actual: string): ConcurrentModification {
    return new ConcurrentModification({
      machine: this.name,
      channel: this.channel,
      expected: attempt.expected!,
      actual,
      to: attempt.to
    })
  }

  // ---------------------------------------------------------------------------------------------------------------

  pipe(...args: Array<unknown>) {
    return pipeArguments(this, args as unknown as IArguments)
  }

  toJSON() {
    return {
      _id: "StateMachine",
      name: this.name,
      channel: this.channel,
      state: this.state,
      history: this.history.size
    }
  }

  toString() {
    return format(this.toJSON())
  }

  [NodeInspectSymbol]() {
    return this.toJSON()
  }
}

/** `Effect.flatMap`, applied at once when `self` is already a success (the hot path's synchronous hooks). */
const andThen = <A, B, E1, E2>(
  self: Effect.Effect<A, E1>,
  f: (a: A) => Effect.Effect<B, E2>
): Effect.Effect<B, E1 | E2> =>
  Exit.isExit(self) && self._tag === "Success" ? f((self as Exit.Success<A, E1>).value) : Effect.flatMap(self, f)

const matches = (pattern: string, state: string): boolean => pattern === WILDCARD || pattern === state

const percent = (part: number, whole: number): number => whole === 0 ? 100 : (part / whole) * 100

const info = (error: { readonly _tag: string; readonly message: string }): ErrorInfo => ({
  tag: error._tag,
  message: error.message
})

const runPredicate = (predicate: (context: Context) => boolean, context: Context): hooks.Outcome<boolean> => {
  try {
    return predicate(context) === true ? hooks.TRUE : hooks.FALSE
  } catch (defect) {
    return hooks.failed(Cause.die(defect))
  }
}

/** @internal */
export const isStateMachine = (u: unknown): u is StateMachine.StateMachine<any> => Predicate.hasProperty(u, TypeId)

/** @internal */
export const unsafeMake = (
  definition: DefinitionImpl,
  options: StateMachine.Options<string> | undefined,
  channel: string | undefined
): MachineImpl => {
  const name = options?.name ?? definition.name
  const resolved = resolveOptions(
    definition,
    options,
    channel,
    options?.clock ?? Clock.make(),
    lock.unsafeMake(name, channel)
  )
  return new MachineImpl(definition, resolved, options)
}

/** @internal */
export const make = (
  definition: DefinitionImpl,
  options: StateMachine.Options<string> | undefined,
  channel: string | undefined
): Effect.Effect<MachineImpl> =>
  Effect.flatMap(Effect.clock, (clock) => {
    const name = options?.name ?? definition.name
    return Effect.map(lock.make(name, channel), (exclusive) =>
      new MachineImpl(
        definition,
        resolveOptions(definition, options, channel, options?.clock ?? clock, exclusive),
        options
      ))
  })
