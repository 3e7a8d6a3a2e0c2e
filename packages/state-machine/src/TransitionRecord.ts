/**
 * One entry of a machine's history: a committed transition, a rejected attempt, a rollback step or a reset.
 *
 * The history is a bounded ring buffer (default 1,000 entries, O(1) per append, stored by column so that it retains no
 * object per entry); `history` returns plain objects equal to the ones `transitionTo` returned and listeners received.
 * `schema` makes them serialisable with `Schema`, and every time in them comes from the machine's `Clock`, so tests
 * driven by `TestClock` get exact values. XState v5 dropped `state.history`; its users keep asking for it
 * (lifecycle.md).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * What produced the entry.
 *
 * - `transition`: `transitionTo` / `transition` (committed or rejected).
 * - `rollback`: one undone transition of `rollback` / `rollbackTo` (`from` is the state left, `to` the state restored).
 * - `reset`: `reset()`, which forces the initial state.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = "transition" | "rollback" | "reset"

/**
 * The error of a failed entry: the tag and message of the typed error the operation failed with.
 *
 * @since 0.1.0
 * @category models
 */
export interface ErrorInfo {
  readonly tag: string
  readonly message: string
}

/**
 * A history entry.
 *
 * @since 0.1.0
 * @category models
 */
export interface TransitionRecord<S extends string = string> {
  /** Position in the machine's history, from 1, strictly increasing; failed attempts get one too. */
  readonly seq: number
  readonly kind: Kind
  /**
   * The state before the entry (for a failure: the state the attempt started from; for a refused compare-and-set
   * `transition(from, to)`: the `from` it asked for, the actual state being in the error's message).
   */
  readonly from: S
  /** The state after the entry (for a failure: the target that was refused). */
  readonly to: S
  /** When it was committed or refused: epoch milliseconds from the machine's `Clock`. */
  readonly at: number
  /** From the call to the commit or refusal, in milliseconds (validators, retries, invariants and waits included). */
  readonly durationMs: number
  readonly success: boolean
  /** The caller's reason, when given. */
  readonly reason: string | undefined
  /** Why it failed, for `success: false`. */
  readonly error: ErrorInfo | undefined
  /** The caller's metadata, when given. */
  readonly metadata: Readonly<Record<string, unknown>> | undefined
}

/**
 * The schema of a history entry over a schema of the states (a definition's `schema`). Encodes to plain JSON
 * (metadata values are kept as given).
 *
 * @example
 * ```ts
 * import { Presets, TransitionRecord } from "@core-stability/state-machine"
 * import { Schema } from "effect"
 *
 * const History = Schema.Array(TransitionRecord.schema(Presets.Recovery.schema))
 * const json = Schema.encodeSync(Schema.parseJson(History))([])
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const schema = <S extends string>(
  states: Schema.Schema<S>
): Schema.Schema<TransitionRecord<S>> =>
  Schema.Struct({
    seq: Schema.Number,
    kind: Schema.Literal("transition", "rollback", "reset"),
    from: states,
    to: states,
    at: Schema.Number,
    durationMs: Schema.Number,
    success: Schema.Boolean,
    reason: Schema.UndefinedOr(Schema.String),
    error: Schema.UndefinedOr(Schema.Struct({ tag: Schema.String, message: Schema.String })),
    metadata: Schema.UndefinedOr(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
  })
