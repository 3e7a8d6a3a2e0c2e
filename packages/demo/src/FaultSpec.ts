/**
 * The `--faults` specification: which fault to inject where, and when.
 *
 * Grammar (whitespace around tokens is ignored):
 *
 * ```text
 * spec    := rule ("," rule)*
 * rule    := point ":" kind "@" trigger
 * point   := "capture" | ("processor" | "writer") "-" ("left" | "right")
 * kind    := "crash" | "io-error" | "hang" | "delay"
 * trigger := "p=" probability     (0 <= p <= 1: fires on each operation at the point with that probability)
 *          | "n=" integer          (n >= 1: fires once, on the n-th operation at the point)
 * ```
 *
 * For example `processor-left:crash@p=0.01,writer-right:io-error@n=3`. An operation is one frame handled by the
 * point's stage. Parsing is pure and yields a plain list; mapping it onto a fault injector is up to the runner.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import type { ChannelName } from "./Frame.js"

/**
 * The kinds of fault: a stage crashes (its fiber fails), an I/O operation fails, a stage stops responding, or a
 * stage is slowed down.
 *
 * @since 0.1.0
 * @category models
 */
export type FaultKind = "crash" | "io-error" | "hang" | "delay"

/**
 * Every {@link FaultKind}, in the order the grammar lists them.
 *
 * @since 0.1.0
 * @category models
 */
export const kinds: ReadonlyArray<FaultKind> = ["crash", "io-error", "hang", "delay"]

/**
 * Where a fault fires: the capture stage, or one channel's processor or writer.
 *
 * @since 0.1.0
 * @category models
 */
export type FaultPoint = "capture" | `processor-${ChannelName}` | `writer-${ChannelName}`

/**
 * The fault points of a pipeline over `channels`.
 *
 * @since 0.1.0
 * @category getters
 */
export const points = (channels: ReadonlyArray<ChannelName>): ReadonlyArray<FaultPoint> => [
  "capture",
  ...channels.map((channel) => `processor-${channel}` as const),
  ...channels.map((channel) => `writer-${channel}` as const)
]

const allPoints = points(["left", "right"])

/**
 * When a fault fires: with probability `p` on every operation, or once on the `n`-th operation (1-based).
 *
 * @since 0.1.0
 * @category models
 */
export type FaultTrigger =
  | { readonly _tag: "Probability"; readonly p: number }
  | { readonly _tag: "Nth"; readonly n: number }

/**
 * One parsed rule of a specification.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultRule {
  readonly point: FaultPoint
  readonly kind: FaultKind
  readonly trigger: FaultTrigger
}

/**
 * A `--faults` specification that does not follow the grammar: `token` is the offending part, `reason` says what is
 * wrong with it.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidFaultSpec extends Data.TaggedError("InvalidFaultSpec")<{
  readonly spec: string
  readonly token: string
  readonly reason: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `invalid --faults spec: "${this.token}": ${this.reason}`
  }
}

/**
 * The faults the demo injects when `--faults` is not given: four faults, one per kind, that all fire during a run
 * over the bundled sample (782 frames per channel).
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultSpec = "processor-left:crash@n=150,writer-right:io-error@n=300,capture:delay@n=450," +
  "processor-right:hang@n=600"

const parseTrigger = (text: string): Either.Either<FaultTrigger, string> => {
  const eq = text.indexOf("=")
  const key = eq < 0 ? text : text.slice(0, eq)
  const value = eq < 0 ? "" : text.slice(eq + 1)
  if (eq < 0 || (key !== "p" && key !== "n")) {
    return Either.left("the trigger must be p=<probability from 0 to 1> or n=<operation number from 1>")
  }
  if (key === "p") {
    const p = /^(0|1|0?\.\d+|[01]\.\d+)$/.test(value) ? Number(value) : Number.NaN
    return Number.isNaN(p) || p > 1
      ? Either.left(`the probability "${value}" is not a number from 0 to 1`)
      : Either.right({ _tag: "Probability", p })
  }
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN
  return Number.isSafeInteger(n) && n >= 1
    ? Either.right({ _tag: "Nth", n })
    : Either.left(`the operation number "${value}" is not an integer of at least 1`)
}

/**
 * Parses a `--faults` specification (see the module docs for the grammar). Fails with {@link InvalidFaultSpec}
 * naming the first offending token: an empty rule, a missing `:` or `@`, an unknown point or kind, a malformed
 * trigger, or a second rule for the same point (one fault per point, as a fault injector keyed by point takes them).
 *
 * @example
 * ```ts
 * import { FaultSpec } from "@core-stability/demo"
 *
 * const rules = FaultSpec.parse("processor-left:crash@p=0.01,writer-right:io-error@n=3")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (spec: string): Either.Either<ReadonlyArray<FaultRule>, InvalidFaultSpec> => {
  const rules: Array<FaultRule> = []
  const invalid = (token: string, reason: string) => Either.left(new InvalidFaultSpec({ spec, token, reason }))
  if (spec.trim() === "") {
    return invalid(spec, "the spec is empty (use --no-faults to run without faults)")
  }
  for (const raw of spec.split(",")) {
    const token = raw.trim()
    if (token === "") {
      return invalid(raw, "empty rule (two commas in a row, or a comma at an end)")
    }
    const colon = token.indexOf(":")
    const at = token.indexOf("@")
    if (colon < 0 || at < colon) {
      return invalid(token, "a rule is <point>:<kind>@<trigger>, e.g. processor-left:crash@p=0.01")
    }
    const point = token.slice(0, colon).trim()
    const kind = token.slice(colon + 1, at).trim()
    const trigger = parseTrigger(token.slice(at + 1).trim())
    if (!(allPoints as ReadonlyArray<string>).includes(point)) {
      return invalid(token, `unknown point "${point}" (expected one of ${allPoints.join(", ")})`)
    }
    if (!(kinds as ReadonlyArray<string>).includes(kind)) {
      return invalid(token, `unknown kind "${kind}" (expected one of ${kinds.join(", ")})`)
    }
    if (Either.isLeft(trigger)) {
      return invalid(token, trigger.left)
    }
    if (rules.some((rule) => rule.point === point)) {
      return invalid(token, `a second rule for ${point} (one fault per point)`)
    }
    rules.push({ point: point as FaultPoint, kind: kind as FaultKind, trigger: trigger.right })
  }
  return Either.right(rules)
}

/**
 * Checks that every rule names a point that exists in a pipeline over `channels` (a mono input has no right
 * channel). Fails with {@link InvalidFaultSpec} naming the first rule that does not.
 *
 * @since 0.1.0
 * @category combinators
 */
export const validateFor = (
  rules: ReadonlyArray<FaultRule>,
  channels: ReadonlyArray<ChannelName>
): Either.Either<ReadonlyArray<FaultRule>, InvalidFaultSpec> => {
  const available = points(channels)
  const missing = rules.find((rule) => !available.includes(rule.point))
  return missing === undefined
    ? Either.right(rules)
    : Either.left(
      new InvalidFaultSpec({
        spec: format(rules),
        token: format([missing]),
        reason: `the input has ${channels.length} channel(s), so there is no point "${missing.point}"`
      })
    )
}

/**
 * Formats rules back into the grammar; `parse(format(rules))` gives back `rules`.
 *
 * @since 0.1.0
 * @category utils
 */
export const format = (rules: ReadonlyArray<FaultRule>): string =>
  rules.map((rule) =>
    `${rule.point}:${rule.kind}@${rule.trigger._tag === "Probability" ? `p=${rule.trigger.p}` : `n=${rule.trigger.n}`}`
  ).join(",")
