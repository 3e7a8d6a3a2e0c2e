/**
 * A validated state machine: typed transitions checked against the table, effectful validators with timeouts and
 * counted retries, invariants checked after the commit with automatic rollback, a bounded history, rollback with
 * compensations, isolated asynchronous listeners and metrics.
 *
 * **How a transition runs.** `transitionTo(to)` reads the state, asks the definition's pure decision whether
 * `from -> to` is allowed, runs the pair's validators *outside any lock*, then commits in one synchronous step if the
 * state did not move meanwhile and the target has no effectful invariant. Otherwise it takes the machine's ordered
 * lock (`StateMachine.state` of `@core-stability/locks`), re-checks the state it validated against (running the
 * validators again, under the lock, if it moved), commits, runs the target's effectful invariants and reverts the
 * state if one fails. Either way the commit, its history entry, its metrics and the hand-off to listeners happen in
 * one step, so the history is linear: every entry's `from` is the previous committed entry's `to`.
 *
 * **Listeners** run after the commit, each in its own fiber with its own bounded queue, outside every lock; a listener
 * may read the state or start a transition. A failing listener is logged and counted and affects nothing else.
 *
 * **What the original did** (origin.md, 2.1): it held the state lock across validators and callbacks (a callback that
 * read the state deadlocked), committed and then crashed, never recorded a success, kept an unbounded history and
 * reported rates as fractions. Each of those is a tested property here. The seed's five locks map as follows:
 *
 * | seed lock | here |
 * | --- | --- |
 * | `_callbacks_lock` | gone: the listener list is replaced, never mutated (copy-on-write), and listeners run in their own fibers |
 * | `_state_lock` | one `OrderedLock` at level `StateMachine.state`, held only for the slow path (effectful invariants, a state that moved during validation, rollback, reset) |
 * | `_history_lock` | gone: history, metrics and stats are written in the commit's synchronous step |
 * | `_invariants_lock` | gone: copy-on-write registry, resolved per state at registration |
 * | `_validators_lock` | gone: copy-on-write registry, resolved per pair on first use |
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type { Inspectable } from "effect/Inspectable"
import type * as Metric from "effect/Metric"
import type { Pipeable } from "effect/Pipeable"
import type * as Scope from "effect/Scope"
import type * as Types from "effect/Types"
import type * as Definition from "./Definition.js"
import type { DefinitionImpl } from "./internal/definition.js"
import * as internalDefinition from "./internal/definition.js"
import * as internalMetrics from "./internal/metrics.js"
import * as internal from "./internal/stateMachine.js"
import type {
  CompareAndSetError,
  CompensationFailed,
  NothingToRollback,
  TransitionError,
  UnknownSequence
} from "./StateMachineError.js"
import type { Kind, TransitionRecord } from "./TransitionRecord.js"

/**
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * A running machine over definition `D`. Obtain one with `make` (or `unsafeMake`); every operation is a module
 * function.
 *
 * @since 0.1.0
 * @category models
 */
export interface StateMachine<in out D extends Definition.Definition.Any> extends Pipeable, Inspectable {
  readonly [TypeId]: { readonly _D: Types.Invariant<D> }
  /** Used in errors, metrics tags, log annotations and the lock key; default: the definition's name. */
  readonly name: string
  /** The channel key of a channel sub-machine (see `Channels`), else `undefined`. */
  readonly channel: string | undefined
  readonly definition: D
}

/**
 * What a caller attaches to a transition; both land in the history entry and in the hooks' context.
 *
 * @since 0.1.0
 * @category models
 */
export interface TransitionOptions {
  readonly reason?: string | undefined
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
}

/**
 * What validators and invariants receive.
 *
 * @since 0.1.0
 * @category models
 */
export interface TransitionContext<S extends string = string> {
  readonly machine: string
  readonly channel: string | undefined
  readonly from: S
  readonly to: S
  readonly reason: string | undefined
  readonly metadata: Readonly<Record<string, unknown>> | undefined
  /** 1 for the first attempt, 2 for the first retry, ... (always 1 for invariants). */
  readonly attempt: number
}

/**
 * Retries of a validator: `times` more attempts after the first (so `times + 1` in all), `delay` between attempts
 * (slept on the machine's `Clock`, so `TestClock` drives it). A rejection, a failure, a defect and a timeout are all
 * retried. The original retried only its coordinator veto (2 tries, 50 ms; origin.md, 2.1).
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryPolicy {
  readonly times: number
  readonly delay: Duration.DurationInput
}

/**
 * A validator of the transitions from `from` to `to` (`"*"` matches any state). It passes by returning `true`; `false`,
 * a failure, a throw or a timeout rejects the transition with `ValidationFailed` / `ValidationTimeout` after the
 * configured retries, leaving the state unchanged. Validators of a pair run in registration order and stop at the
 * first rejection.
 *
 * Give either `effect` or `predicate` (a synchronous function, the cheapest, never timed out). An `effect` that is
 * already a value (`Effect.succeed(x)`) is read without running anything; with `timeout: Duration.infinity` it runs
 * inline in the transition's fiber; otherwise it runs in its own fiber under its timeout (about one fiber start, 1-2 us,
 * when it completes synchronously). That fiber is interrupted at the timeout and with the transition: an interruption
 * of the caller at any step either comes before the fiber starts or interrupts it. A validator must not start a
 * transition of its own machine: when the state moved during validation it is run again under the machine's lock.
 *
 * @since 0.1.0
 * @category models
 */
export type Validator<S extends string = string> =
  & {
    readonly name: string
    readonly from: S | "*"
    readonly to: S | "*"
    /** Per attempt; default: the machine's `hookTimeout`. */
    readonly timeout?: Duration.DurationInput | undefined
    /** Default: the machine's `retry`. */
    readonly retry?: RetryPolicy | undefined
  }
  & (
    | { readonly effect: (context: TransitionContext<S>) => Effect.Effect<boolean, unknown> }
    | { readonly predicate: (context: TransitionContext<S>) => boolean }
  )

/**
 * An invariant of `state` (`"*"`: of every state), checked right after every transition into it commits. If it does
 * not hold (`false`, a failure, a throw, a timeout) the state is rolled back to where the transition started and the
 * transition fails with `InvariantViolated`.
 *
 * A `predicate` invariant runs inside the commit's synchronous step, so no one ever observes the rejected state. An
 * `effect` invariant runs under the machine's lock after the commit (other transitions wait; reads see the new
 * state until it is reverted), with `timeout`. If the transition is interrupted at any step after its commit and
 * before its invariants all passed, the state is reverted and the attempt recorded as `Interrupted`: the commit and
 * the installation of its revert are one uninterruptible step, only the checks are interruptible. Invariants are not
 * re-checked by `rollback` and `reset`.
 *
 * @since 0.1.0
 * @category models
 */
export type Invariant<S extends string = string> =
  & {
    readonly name: string
    readonly state: S | "*"
    /** For `effect` invariants; default: the machine's `hookTimeout`. */
    readonly timeout?: Duration.DurationInput | undefined
  }
  & (
    | { readonly effect: (context: TransitionContext<S>) => Effect.Effect<boolean, unknown> }
    | { readonly predicate: (context: TransitionContext<S>) => boolean }
  )

/**
 * Undo work for the transitions from `from` to `to` (`"*"` matches any state), run by `rollback` / `rollbackTo` when
 * such a transition is undone. Compensations of one transition run in reverse registration order, transitions newest
 * first. The original's `rollback_fn` (origin.md, 2.1).
 *
 * @since 0.1.0
 * @category models
 */
export interface Compensation<S extends string = string> {
  readonly name: string
  readonly from: S | "*"
  readonly to: S | "*"
  /** Receives the history entry of the transition being undone. */
  readonly run: (record: TransitionRecord<S>) => Effect.Effect<void, unknown>
  /** Default: the machine's `hookTimeout`. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * Receives every committed change (transitions, rollback steps, resets), in commit order.
 *
 * @since 0.1.0
 * @category models
 */
export type Listener<S extends string = string> = (record: TransitionRecord<S>) => Effect.Effect<void, unknown>

/**
 * The delivery contract of one listener.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListenerOptions {
  /** In logs, metrics tags and errors; default `listener-N`. */
  readonly name?: string | undefined
  /** Pending notifications kept for this listener; default 1,024. */
  readonly capacity?: number | undefined
  /**
   * What a full queue does with a new notification: `"sliding"` (default) drops the oldest pending one, so a slow
   * listener catches up with the latest changes; `"dropping"` drops the new one. Drops are counted (stats and the
   * `state_machine_listener_dropped_total` metric); the commit never waits.
   */
  readonly overflow?: "sliding" | "dropping" | undefined
  /** Per notification; a listener that takes longer is interrupted and counted as failed. Default: no timeout. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * A history query; all filters combine.
 *
 * @since 0.1.0
 * @category models
 */
export interface HistoryQuery {
  /** Only entries with `seq` greater than this. */
  readonly since?: number | undefined
  readonly success?: boolean | undefined
  readonly kind?: Kind | undefined
  /** Only the newest N matching entries. */
  readonly last?: number | undefined
}

/**
 * Per (from, to) pair statistics. Durations in milliseconds; rates are percentages (0-100).
 *
 * @since 0.1.0
 * @category models
 */
export interface PairStats {
  readonly from: string
  readonly to: string
  readonly count: number
  readonly successes: number
  readonly failures: number
  readonly successRate: number
  readonly totalDurationMs: number
  readonly averageDurationMs: number
  readonly minDurationMs: number
  readonly maxDurationMs: number
}

/**
 * A snapshot of a machine's statistics. Counts are since the machine was made (they survive history pruning); rates
 * are percentages (0-100, and 100 when nothing was attempted); durations are in milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly machine: string
  readonly channel: string | undefined
  readonly state: string
  /** Transition attempts (`transitionTo` / `transition`), committed or refused. */
  readonly transitions: number
  readonly successes: number
  readonly failures: number
  readonly successRate: number
  readonly averageDurationMs: number
  /** Pairs attempted at least once, in first-attempt order. */
  readonly pairs: ReadonlyArray<PairStats>
  /** Failures by error tag (transitions and rollbacks). */
  readonly errors: Readonly<Record<string, number>>
  readonly retries: {
    /** Retry attempts made. */
    readonly count: number
    /** Validations that passed after at least one retry. */
    readonly successes: number
    /** Validations that used every retry and still failed. */
    readonly exhaustions: number
    readonly successRate: number
  }
  readonly rollbacks: {
    /** Rollback steps (one per undone transition), successful or not. */
    readonly count: number
    readonly successes: number
    readonly failures: number
    readonly successRate: number
    readonly averageDurationMs: number
  }
  readonly resets: number
  readonly listeners: {
    readonly active: number
    readonly delivered: number
    readonly failures: number
    readonly dropped: number
  }
  readonly history: { readonly size: number; readonly capacity: number }
}

/**
 * Options of `make` / `unsafeMake`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<S extends string = string> {
  /** Default: the definition's name. */
  readonly name?: string | undefined
  /** History entries kept (a ring buffer: the oldest is evicted); also the rollback window. Default 1,000. */
  readonly historySize?: number | undefined
  /**
   * Default timeout of validators, effectful invariants and compensations. Default 5 seconds. `Duration.infinity`
   * disables it: such hooks then run inline in the caller's fiber, which is the cheapest way to run an effectful hook.
   */
  readonly hookTimeout?: Duration.DurationInput | undefined
  /** Default retry policy of validators. Default: no retries. */
  readonly retry?: RetryPolicy | undefined
  readonly validators?: ReadonlyArray<Validator<S>> | undefined
  readonly invariants?: ReadonlyArray<Invariant<S>> | undefined
  readonly compensations?: ReadonlyArray<Compensation<S>> | undefined
  /**
   * Where `at`, durations and retry delays come from. Default: for `make`, the `Clock` of the fiber that makes the
   * machine (so `TestClock` in tests); for `unsafeMake`, the live clock.
   */
  readonly clock?: Clock.Clock | undefined
}

type S<D extends Definition.Definition.Any> = Definition.State<D>

/**
 * Makes a machine in the definition's initial state, with its ordered lock. Invalid options (a `historySize` below 1,
 * a hook naming an unknown state, negative retries) are defects: they are programming errors.
 *
 * @example
 * ```ts
 * import { Definition, StateMachine } from "@core-stability/state-machine"
 * import { Effect } from "effect"
 *
 * const Job = Definition.unsafeMake({
 *   name: "job",
 *   states: ["Queued", "Running", "Done", "Failed"],
 *   initial: "Queued",
 *   transitions: { Queued: ["Running"], Running: ["Done"], Done: ["Queued"], Failed: ["Queued"] },
 *   fromAny: ["Failed"]
 * })
 *
 * const program = Effect.gen(function*() {
 *   const machine = yield* StateMachine.make(Job, {
 *     validators: [{ name: "has-worker", from: "Queued", to: "Running", effect: () => Effect.succeed(true) }],
 *     invariants: [{ name: "running-is-tracked", state: "Running", predicate: () => true }]
 *   })
 *   const record = yield* StateMachine.transitionTo(machine, "Running", { reason: "picked up" })
 *   // record: { seq: 1, from: "Queued", to: "Running", success: true, ... }
 *   return yield* StateMachine.get(machine) // "Running"
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <D extends Definition.Definition.Any>(
  definition: D,
  options?: Options<S<D>> | undefined
): Effect.Effect<StateMachine<D>> =>
  internal.make(definition as unknown as DefinitionImpl, options as unknown as Options, undefined) as any

/**
 * Like `make`, synchronously; uses the live clock unless `options.clock` is given. Throws `RangeError` on invalid
 * options.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake = <D extends Definition.Definition.Any>(
  definition: D,
  options?: Options<S<D>> | undefined
): StateMachine<D> =>
  internal.unsafeMake(definition as unknown as DefinitionImpl, options as unknown as Options, undefined) as any

/**
 * @since 0.1.0
 * @category guards
 */
export const isStateMachine: (u: unknown) => u is StateMachine<Definition.Definition.Any> = internal.isStateMachine

/**
 * The current state.
 *
 * @since 0.1.0
 * @category getters
 */
export const get = <D extends Definition.Definition.Any>(self: StateMachine<D>): Effect.Effect<S<D>> =>
  (self as unknown as internal.MachineImpl).get as Effect.Effect<S<D>>

/**
 * The current state, read synchronously (for renderers and health probes outside Effect).
 *
 * @since 0.1.0
 * @category getters
 */
export const unsafeGet = <D extends Definition.Definition.Any>(self: StateMachine<D>): S<D> =>
  (self as unknown as internal.MachineImpl).unsafeGet() as S<D>

/**
 * Rejects, at compile time, a target no transition of a static table leads to.
 *
 * @since 0.1.0
 * @category models
 */
export type ValidTarget<D extends Definition.Definition.Any, To extends string> = [To] extends [Definition.Target<D>] ?
  unknown
  : { readonly "no transition of this machine leads to": To }

/**
 * Moves to `to` and returns the committed history entry.
 *
 * Fails with `InvalidTransition` (not in the table), `ValidationFailed` (a validator rejected, failed or threw; its
 * `cause` is kept), `ValidationTimeout` (its last attempt timed out) or `InvariantViolated` (an invariant of `to` did
 * not hold; the state was rolled back). A refusal leaves the state unchanged and records a failed history entry with
 * the error's tag and message. Nothing is thrown past the API. When the table is static, a target no transition leads
 * to does not compile.
 *
 * @example
 * ```ts
 * import { Presets, StateMachine } from "@core-stability/state-machine"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const recovery = yield* StateMachine.make(Presets.Recovery)
 *   yield* StateMachine.transitionTo(recovery, "Initiating", { reason: "3 processing errors" })
 *   const refused = yield* Effect.either(StateMachine.transitionTo(recovery, "Completed"))
 *   // Left(InvalidTransition): Initiating -> Completed is not in the table
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const transitionTo: {
  <const To extends string>(
    to: To,
    options?: TransitionOptions | undefined
  ): <D extends Definition.Definition.Any>(
    self: StateMachine<D> & ValidTarget<D, To>
  ) => Effect.Effect<TransitionRecord<S<D>>, TransitionError>
  <D extends Definition.Definition.Any, const To extends Definition.Target<D>>(
    self: StateMachine<D>,
    to: To,
    options?: TransitionOptions | undefined
  ): Effect.Effect<TransitionRecord<S<D>>, TransitionError>
} = dual(
  (args) => isStateMachine(args[0]),
  (self: StateMachine<any>, to: string, options?: TransitionOptions) =>
    (self as unknown as internal.MachineImpl).transitionTo(to, options, undefined)
)

/**
 * Rejects, at compile time, a compare-and-set pair that a static table does not allow.
 *
 * @since 0.1.0
 * @category models
 */
export type ValidPair<D extends Definition.Definition.Any, From extends string, To extends string> = [From] extends
  [S<D>] ? [To] extends [Definition.TargetOf<D, From>] ? unknown
  : { readonly "this transition is not in the table": [From, To] }
  : { readonly "not a state of this machine": From }

/**
 * Compare-and-set: moves from `from` to `to` only if the machine is in `from` when the call starts and at the commit
 * (if the state moved away and back meanwhile, the validators run again); otherwise fails with
 * `ConcurrentModification` and changes nothing. Otherwise like `transitionTo`.
 *
 * A refused compare-and-set is recorded (history entry, `stats().pairs`, the `from` / `to` metric tags) under the pair
 * it asked for, `from -> to`; the error's `actual` says where the machine was.
 *
 * @since 0.1.0
 * @category combinators
 */
export const transition: {
  <const From extends string, const To extends string>(
    from: From,
    to: To,
    options?: TransitionOptions | undefined
  ): <D extends Definition.Definition.Any>(
    self: StateMachine<D> & ValidPair<D, From, To>
  ) => Effect.Effect<TransitionRecord<S<D>>, CompareAndSetError>
  <D extends Definition.Definition.Any, const From extends S<D>, const To extends Definition.TargetOf<D, From>>(
    self: StateMachine<D>,
    from: From,
    to: To,
    options?: TransitionOptions | undefined
  ): Effect.Effect<TransitionRecord<S<D>>, CompareAndSetError>
} = dual(
  (args) => isStateMachine(args[0]),
  (self: StateMachine<any>, from: string, to: string, options?: TransitionOptions) =>
    (self as unknown as internal.MachineImpl).transitionTo(to, options, from)
)

/**
 * Undoes the newest committed transition still in effect: runs its compensations (reverse registration order), then
 * restores its `from` state, records a `rollback` history entry and notifies listeners. It bypasses the table (an undo
 * is not a forward transition) and does not re-check invariants. Runs under the machine's lock.
 *
 * Fails with `NothingToRollback`, or `CompensationFailed` (the state is unchanged).
 *
 * @since 0.1.0
 * @category combinators
 */
export const rollback: {
  (
    options?: TransitionOptions | undefined
  ): <D extends Definition.Definition.Any>(
    self: StateMachine<D>
  ) => Effect.Effect<TransitionRecord<S<D>>, NothingToRollback | CompensationFailed>
  <D extends Definition.Definition.Any>(
    self: StateMachine<D>,
    options?: TransitionOptions | undefined
  ): Effect.Effect<TransitionRecord<S<D>>, NothingToRollback | CompensationFailed>
} = dual(
  (args) => isStateMachine(args[0]),
  (self: StateMachine<any>, options?: TransitionOptions) => (self as unknown as internal.MachineImpl).rollback(options)
)

/**
 * Undoes committed transition `seq` and every later one still in effect, newest first, returning to the state before
 * `seq`. Each undone transition runs its compensations, gets its own `rollback` history entry and is notified; the
 * entries are returned in that order. Runs under the machine's lock.
 *
 * Fails with `UnknownSequence` (not a committed transition in effect, or older than the history size), or
 * `CompensationFailed` (the steps already undone stay undone; the state is the failed step's `to`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const rollbackTo: {
  (
    seq: number,
    options?: TransitionOptions | undefined
  ): <D extends Definition.Definition.Any>(
    self: StateMachine<D>
  ) => Effect.Effect<ReadonlyArray<TransitionRecord<S<D>>>, UnknownSequence | CompensationFailed>
  <D extends Definition.Definition.Any>(
    self: StateMachine<D>,
    seq: number,
    options?: TransitionOptions | undefined
  ): Effect.Effect<ReadonlyArray<TransitionRecord<S<D>>>, UnknownSequence | CompensationFailed>
} = dual(
  (args) => isStateMachine(args[0]),
  (self: StateMachine<any>, seq: number, options?: TransitionOptions) =>
    (self as unknown as internal.MachineImpl).rollbackTo(seq, options)
)

/**
 * Forces the initial state without validators, invariants or compensations, records a `reset` entry (reason
 * `"reset"` unless given), clears the rollback window and notifies listeners. Runs under the machine's lock.
 *
 * @since 0.1.0
 * @category combinators
 */
export const reset: {
  (
    options?: TransitionOptions | undefined
  ): <D extends Definition.Definition.Any>(self: StateMachine<D>) => Effect.Effect<TransitionRecord<S<D>>>
  <D extends Definition.Definition.Any>(
    self: StateMachine<D>,
    options?: TransitionOptions | undefined
  ): Effect.Effect<TransitionRecord<S<D>>>
} = dual(
  (args) => isStateMachine(args[0]),
  (self: StateMachine<any>, options?: TransitionOptions) => (self as unknown as internal.MachineImpl).reset(options)
)

/**
 * The history, oldest first, filtered by the query. At most `historySize` entries are kept.
 *
 * @since 0.1.0
 * @category getters
 */
export const history: {
  (
    query?: HistoryQuery | undefined
  ): <D extends Definition.Definition.Any>(
    self: StateMachine<D>
  ) => Effect.Effect<ReadonlyArray<TransitionRecord<S<D>>>>
  <D extends Definition.Definition.Any>(
    self: StateMachine<D>,
    query?: HistoryQuery | undefined
  ): Effect.Effect<ReadonlyArray<TransitionRecord<S<D>>>>
} = dual(
  (args) => isStateMachine(args[0]),
  (self: StateMachine<any>, query?: HistoryQuery) =>
    Effect.sync(() => (self as unknown as internal.MachineImpl).historySnapshot(query))
)

/**
 * Removes history entries older than `maxAge` (by their `at`, against the machine's clock) and returns how many were
 * removed. Statistics and the rollback window are not affected.
 *
 * @since 0.1.0
 * @category combinators
 */
export const pruneHistory: {
  (
    maxAge: Duration.DurationInput
  ): <D extends Definition.Definition.Any>(self: StateMachine<D>) => Effect.Effect<number>
  <D extends Definition.Definition.Any>(self: StateMachine<D>, maxAge: Duration.DurationInput): Effect.Effect<number>
} = dual(
  2,
  (self: StateMachine<any>, maxAge: Duration.DurationInput) =>
    Effect.sync(() => (self as unknown as internal.MachineImpl).pruneHistory(internal.toMillis(maxAge)))
)

/**
 * A snapshot of the machine's statistics (per pair counts, successes, failures, durations; success rates as
 * percentages; retries, rollbacks, listeners, errors by tag).
 *
 * @since 0.1.0
 * @category getters
 */
export const stats = <D extends Definition.Definition.Any>(self: StateMachine<D>): Effect.Effect<Stats> =>
  Effect.sync(() => (self as unknown as internal.MachineImpl).stats())

/**
 * Subscribes a listener for the lifetime of the current scope.
 *
 * The contract (lifecycle.md, idea 10): notifications are handed over after the commit, in commit order, and the
 * listener runs asynchronously in its own fiber, outside every lock, one notification at a time. Its queue is bounded
 * (`capacity`) with a stated `overflow` policy; drops are counted. A failure, defect or timeout of the listener is
 * logged (`logWarning`) and counted and affects neither the machine nor other listeners. The listener may read the
 * state or start transitions of the same machine. Closing the scope stops the listener, interrupting a notification
 * in progress; pending notifications are discarded.
 *
 * The listener's fiber is forked by `subscribe` itself, never while the machine's lock is held by the machine, so it
 * never inherits that lock from a transition. Like any fiber (see the fork policy of `@core-stability/locks`), it
 * inherits for order checking the locks the subscribing fiber holds at the call, as long as they stay held: subscribe
 * outside the locks a listener's transitions would have to be ordered after (for example, not from a hook running
 * under the machine's own lock).
 *
 * @example
 * ```ts
 * import { Presets, StateMachine } from "@core-stability/state-machine"
 * import { Console, Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const machine = yield* StateMachine.make(Presets.Component)
 *   yield* StateMachine.subscribe(machine, (record) => Console.log(`${record.from} -> ${record.to}`), {
 *     name: "console",
 *     capacity: 100,
 *     overflow: "dropping"
 *   })
 *   yield* StateMachine.transitionTo(machine, "Initializing")
 * }))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const subscribe: {
  <D extends Definition.Definition.Any>(
    listener: Listener<S<D>>,
    options?: ListenerOptions | undefined
  ): (self: StateMachine<D>) => Effect.Effect<void, never, Scope.Scope>
  <D extends Definition.Definition.Any>(
    self: StateMachine<D>,
    listener: Listener<S<D>>,
    options?: ListenerOptions | undefined
  ): Effect.Effect<void, never, Scope.Scope>
} = dual(
  (args) => isStateMachine(args[0]),
  (self: StateMachine<any>, listener: Listener, options?: ListenerOptions) =>
    (self as unknown as internal.MachineImpl).subscribe(listener, options)
)

/**
 * Registers a validator; transitions that start afterwards use it. A validator naming an unknown state is a defect.
 *
 * @since 0.1.0
 * @category combinators
 */
export const addValidator: {
  <D extends Definition.Definition.Any>(validator: Validator<S<D>>): (self: StateMachine<D>) => Effect.Effect<void>
  <D extends Definition.Definition.Any>(self: StateMachine<D>, validator: Validator<S<D>>): Effect.Effect<void>
} = dual(
  2,
  (self: StateMachine<any>, validator: Validator) =>
    Effect.sync(() => (self as unknown as internal.MachineImpl).addValidator(validator))
)

/**
 * Registers an invariant; transitions that commit afterwards check it. An invariant naming an unknown state is a
 * defect.
 *
 * @since 0.1.0
 * @category combinators
 */
export const addInvariant: {
  <D extends Definition.Definition.Any>(invariant: Invariant<S<D>>): (self: StateMachine<D>) => Effect.Effect<void>
  <D extends Definition.Definition.Any>(self: StateMachine<D>, invariant: Invariant<S<D>>): Effect.Effect<void>
} = dual(
  2,
  (self: StateMachine<any>, invariant: Invariant) =>
    Effect.sync(() => (self as unknown as internal.MachineImpl).addInvariant(invariant))
)

/**
 * Registers a compensation; rollbacks that start afterwards run it. A compensation naming an unknown state is a
 * defect.
 *
 * @since 0.1.0
 * @category combinators
 */
export const addCompensation: {
  <D extends Definition.Definition.Any>(
    compensation: Compensation<S<D>>
  ): (self: StateMachine<D>) => Effect.Effect<void>
  <D extends Definition.Definition.Any>(self: StateMachine<D>, compensation: Compensation<S<D>>): Effect.Effect<void>
} = dual(
  2,
  (self: StateMachine<any>, compensation: Compensation) =>
    Effect.sync(() => (self as unknown as internal.MachineImpl).addCompensation(compensation))
)

/**
 * The machine's definition as a Mermaid state diagram with the current state highlighted.
 *
 * @since 0.1.0
 * @category rendering
 */
export const toMermaid = <D extends Definition.Definition.Any>(self: StateMachine<D>): Effect.Effect<string> =>
  Effect.sync(() =>
    internalDefinition.toMermaid(self.definition as unknown as DefinitionImpl, {
      highlight: (self as unknown as internal.MachineImpl).unsafeGet()
    })
  )

/**
 * The Effect metrics every machine updates, tagged `machine` (and `channel` for channel sub-machines):
 *
 * - `transitions`: counter `state_machine_transitions_total`, also tagged `from`, `to`, `outcome` (success | failure).
 * - `transitionDuration`: histogram `state_machine_transition_duration_ms` (milliseconds), tagged `from`, `to`.
 * - `validatorRetries`: counter `state_machine_validator_retries_total`.
 * - `rollbacks`: counter `state_machine_rollbacks_total`, tagged `outcome`.
 * - `listenerDropped`, `listenerFailures`: counters `state_machine_listener_dropped_total`,
 *   `state_machine_listener_failures_total`, tagged `listener`.
 *
 * Read them with `Metric.value(StateMachine.metrics.transitions.pipe(Metric.tagged(...)))` or export them with any
 * Effect metrics exporter. The success rate is derived: successes / (successes + failures) x 100.
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics: {
  readonly transitions: Metric.Metric.Counter<number>
  readonly transitionDuration: Metric.Metric.Histogram<number>
  readonly validatorRetries: Metric.Metric.Counter<number>
  readonly rollbacks: Metric.Metric.Counter<number>
  readonly listenerDropped: Metric.Metric.Counter<number>
  readonly listenerFailures: Metric.Metric.Counter<number>
} = {
  transitions: internalMetrics.transitions,
  transitionDuration: internalMetrics.transitionDuration,
  validatorRetries: internalMetrics.validatorRetries,
  rollbacks: internalMetrics.rollbacks,
  listenerDropped: internalMetrics.listenerDropped,
  listenerFailures: internalMetrics.listenerFailures
}
