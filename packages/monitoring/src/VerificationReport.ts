/**
 * The result of a system verification: one entry per check (status, details a person can act on, duration in ms,
 * the check's typed data), an overall verdict, and, for a restart verification, what was restarted. It is plain
 * data (a check's `data` may hold anything, `bigint`s included): {@link toJson} writes it as JSON, {@link render}
 * prints it as a text table.
 *
 * The shape follows the original `SystemVerifier`'s report (origin.md, 2.8: per check `passed` / `failed` with
 * details or an error; an overall `passed` / `failed` / `error`), which its code could never produce.
 *
 * @example
 * ```ts
 * import { VerificationReport } from "@core-stability/monitoring"
 *
 * const report: VerificationReport.VerificationReport = {
 *   startedAt: 0,
 *   durationMs: 3,
 *   verdict: VerificationReport.verdictOf([]),
 *   checks: [],
 *   restart: undefined
 * }
 * console.log(VerificationReport.render(report))
 * ```
 *
 * @since 0.1.0
 */

/**
 * A check's status: `passed`, `failed` (its condition is broken), or `error` (it could not run: it failed, died or
 * timed out).
 *
 * @since 0.1.0
 * @category models
 */
export type CheckStatus = "passed" | "failed" | "error"

/**
 * The overall verdict: `failed` when any check failed, else `error` when any check could not run, else `passed`.
 *
 * @since 0.1.0
 * @category models
 */
export type Verdict = "passed" | "failed" | "error"

/**
 * One check's entry.
 *
 * - `details`: one line per finding (what is wrong and where), or a summary of what was checked when it passed;
 *   for `error`, why the check could not run.
 * - `durationMs`: from the `Clock` (so `0` under an unadjusted `TestClock`).
 * - `data`: the check's typed result (see the check constructors of `SystemVerifier`); `undefined` for `error`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckResult {
  readonly name: string
  readonly status: CheckStatus
  readonly details: ReadonlyArray<string>
  readonly durationMs: number
  readonly data: unknown
}

/**
 * What a restart verification restarted: the target (a component id, or `"system"`), and the generation of each
 * restarted component before and after.
 *
 * @since 0.1.0
 * @category models
 */
export interface RestartSummary {
  readonly target: string
  readonly components: ReadonlyArray<{
    readonly id: string
    readonly generationBefore: number
    readonly generationAfter: number
  }>
}

/**
 * A verification report. `startedAt` is epoch ms from the `Clock`; `durationMs` covers every check (they run
 * concurrently, so it is at most their sum).
 *
 * @since 0.1.0
 * @category models
 */
export interface VerificationReport {
  readonly startedAt: number
  readonly durationMs: number
  readonly verdict: Verdict
  readonly checks: ReadonlyArray<CheckResult>
  readonly restart: RestartSummary | undefined
}

/**
 * The verdict of a list of check results (`passed` for an empty list).
 *
 * @since 0.1.0
 * @category constructors
 */
export const verdictOf = (checks: ReadonlyArray<CheckResult>): Verdict =>
  checks.some((check) => check.status === "failed")
    ? "failed"
    : checks.some((check) => check.status === "error")
    ? "error"
    : "passed"

/**
 * The checks that did not pass.
 *
 * @since 0.1.0
 * @category getters
 */
export const problems = (report: VerificationReport): ReadonlyArray<CheckResult> =>
  report.checks.filter((check) => check.status !== "passed")

const isObject = (value: unknown): value is object =>
  (typeof value === "object" && value !== null) || typeof value === "function"

const unserializable = (error: unknown): string =>
  `[Unserializable: ${error instanceof Error ? error.message : String(error)}]`

/**
 * `value` as plain JSON data: what `JSON.stringify` would write, except that a `bigint` becomes its decimal string, a
 * `Map` an array of `[key, value]` entries, a `Set` an array, an `Error` `{ name, message }` (with its own enumerable
 * fields), a value met again inside itself `"[Circular]"`, and a value whose reading throws (a `toJSON`, a getter)
 * `"[Unserializable: <message>]"`. A repeated value that is not a cycle is written each time.
 */
const toPlain = (value: unknown, ancestors: Set<object>): unknown => {
  if (typeof value === "bigint") return value.toString()
  if (!isObject(value)) return value
  if (ancestors.has(value)) return "[Circular]"
  ancestors.add(value)
  try {
    const current: unknown = typeof (value as { readonly toJSON?: unknown }).toJSON === "function"
      ? (value as { readonly toJSON: () => unknown }).toJSON()
      : value
    if (typeof current === "bigint") return current.toString()
    if (typeof current === "function") return undefined
    if (!isObject(current)) return current
    if (current !== value && ancestors.has(current)) return "[Circular]"
    if (current instanceof Map) {
      return [...current].map(([key, entry]) => [toPlain(key, ancestors), toPlain(entry, ancestors)])
    }
    if (current instanceof Set) return [...current].map((entry) => toPlain(entry, ancestors))
    if (Array.isArray(current)) return current.map((entry) => toPlain(entry, ancestors))
    const out: Record<string, unknown> = current instanceof Error
      ? { name: current.name, message: current.message }
      : {}
    for (const [key, entry] of Object.entries(current)) out[key] = toPlain(entry, ancestors)
    return out
  } catch (error) {
    return unserializable(error)
  } finally {
    ancestors.delete(value)
  }
}

/**
 * The report as JSON text (2-space indentation); `undefined` fields are left out. Never throws, whatever a check's
 * `data` holds (`SystemVerifier.Check<A>` does not constrain `A`): a `bigint` is written as its decimal string
 * (`123n` as `"123"`), a `Map` as an array of `[key, value]` entries, a `Set` as an array, an `Error` as
 * `{ name, message }` with its own fields, a reference to an enclosing value (a cycle) as `"[Circular]"`, and a value
 * whose reading throws (a `toJSON`, a getter) as `"[Unserializable: <message>]"`; functions and symbols are left out,
 * as by `JSON.stringify`.
 *
 * @example
 * ```ts
 * import { VerificationReport } from "@core-stability/monitoring"
 *
 * const json = VerificationReport.toJson({
 *   startedAt: 0,
 *   durationMs: 1,
 *   verdict: "passed",
 *   checks: [{ name: "disk", status: "passed", details: ["ok"], durationMs: 1, data: { freeBytes: 5n } }],
 *   restart: undefined
 * })
 * assert.strictEqual(JSON.parse(json).checks[0].data.freeBytes, "5")
 * ```
 *
 * @since 0.1.0
 * @category rendering
 */
export const toJson = (report: VerificationReport): string => JSON.stringify(toPlain(report, new Set()), null, 2)

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): Array<string> => {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)]
}

const summaryWidth = 100

const summary = (detail: string | undefined): string =>
  detail === undefined ? "" : detail.length <= summaryWidth ? detail : `${detail.slice(0, summaryWidth - 3)}...`

/**
 * The report as a text table: the verdict line, one row per check (check, status, duration in ms, its first detail
 * line cut at 100 characters), then every detail line of the checks that did not pass, in full, under their check.
 * For a restart verification whose component's left handle could not be released:
 *
 * ```text
 * verification: failed (0 ms, 10 checks, 3 failed, 0 errors, restart of device)
 * check              status  ms  details
 * -----------------  ------  --  ----------------------------------------------------------------------------
 * restart            passed  0   restarted device
 * restart-running    passed  0   1 component running again, in a new generation
 * restart-resources  failed  0   allocation #1 of the old instance is still held instead of being re-acquired
 * restart-leftovers  failed  0   handle #1 of the old device is still held: release failed: Error: stuck
 * components         passed  0   1 component in their expected states
 * health             passed  0   1 component healthy
 * locks              passed  0   0 holders and 0 waiters, all live fibers
 * resources          failed  0   handle #1 x1 held by device/left (Running), allocated at device.ts:12:7: release failed: Error: stuck
 * histories          passed  0   1 history (6 entries) linked
 * fibers             passed  0   0 live workers, none left over from a stopped incarnation
 *
 * restart-resources:
 *   allocation #1 of the old instance is still held instead of being re-acquired
 *
 * restart-leftovers:
 *   handle #1 of the old device is still held: release failed: Error: stuck
 *
 * resources:
 *   handle #1 x1 held by device/left (Running), allocated at device.ts:12:7: release failed: Error: stuck
 * ```
 *
 * @example
 * ```ts
 * import { VerificationReport } from "@core-stability/monitoring"
 *
 * const checks: Array<VerificationReport.CheckResult> = [
 *   { name: "health", status: "passed", details: ["1 component healthy"], durationMs: 0, data: undefined },
 *   { name: "locks", status: "failed", details: ["lock orders held by a stopped fiber"], durationMs: 2, data: undefined }
 * ]
 * const text = VerificationReport.render({
 *   startedAt: 0,
 *   durationMs: 2,
 *   verdict: VerificationReport.verdictOf(checks),
 *   checks,
 *   restart: undefined
 * })
 * const lines = text.split("\n")
 * assert.strictEqual(lines[0], "verification: failed (2 ms, 2 checks, 1 failed, 0 errors)")
 * assert.strictEqual(lines[1], "check   status  ms  details")
 * // the details of the check that did not pass, in full, under its name
 * assert.deepStrictEqual(lines.slice(-2), ["locks:", "  lock orders held by a stopped fiber"])
 * ```
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (report: VerificationReport): string => {
  const failed = report.checks.filter((check) => check.status === "failed").length
  const errors = report.checks.filter((check) => check.status === "error").length
  const restart = report.restart === undefined ? "" : `, restart of ${report.restart.target}`
  const out = [
    `verification: ${report.verdict} (${report.durationMs} ms, ${report.checks.length} checks, ${failed} failed, ${errors} errors${restart})`
  ]
  if (report.checks.length > 0) {
    out.push(
      ...table(
        ["check", "status", "ms", "details"],
        report.checks.map((check) => [check.name, check.status, String(check.durationMs), summary(check.details[0])])
      )
    )
  }
  for (const check of problems(report)) {
    out.push("", `${check.name}:`, ...check.details.map((detail) => `  ${detail}`))
  }
  return out.join("\n")
}
