import * as Cause from "effect/Cause"
import * as Predicate from "effect/Predicate"

/** @internal */
export interface ErrorSummary {
  readonly tag: string
  readonly message: string
}

/**
 * The tag and message of any failure value: `_tag` when it has one, else the `Error` name, else its type.
 *
 * @internal
 */
export const summarize = (u: unknown): ErrorSummary => {
  const tag = Predicate.hasProperty(u, "_tag") && typeof u._tag === "string"
    ? u._tag
    : u instanceof Error
    ? u.name
    : typeof u
  const message = u instanceof Error
    ? u.message
    : Predicate.hasProperty(u, "message") && typeof u.message === "string"
    ? u.message
    : typeof u === "string"
    ? u
    : safeString(u)
  return { tag, message }
}

/**
 * A one-line description of a cause: `Tag: message` of its first failure or defect, or "interrupted".
 *
 * @internal
 */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const summary = summarizeCause(cause)
  return summary.message === "" ? summary.tag : `${summary.tag}: ${summary.message}`
}

/** @internal */
export const summarizeCause = (cause: Cause.Cause<unknown>): ErrorSummary => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") return summarize(failure.value)
  const defect = Cause.dieOption(cause)
  if (defect._tag === "Some") return summarize(defect.value)
  if (Cause.isInterruptedOnly(cause)) return { tag: "Interrupted", message: "interrupted" }
  return { tag: "Empty", message: "" }
}

const safeString = (u: unknown): string => {
  try {
    return JSON.stringify(u) ?? String(u)
  } catch {
    return String(u)
  }
}
