import * as Cause from "effect/Cause"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type * as CleanupReport from "../CleanupReport.js"
import { phases } from "../CleanupStep.js"
import type { Node } from "./graph.js"

/** @internal */
export const TypeId: CleanupReport.TypeId = Symbol.for("@core-stability/cleanup/CleanupReport") as CleanupReport.TypeId

/**
 * The names of the runner's step states, by state number (`Pending`, `Queued`, `Running`, then the six terminal
 * statuses); a queued step is shown as `Pending`.
 *
 * @internal
 */
export const stateNames = [
  "Pending",
  "Pending",
  "Running",
  "Succeeded",
  "Verified",
  "Failed",
  "TimedOut",
  "VerificationFailed",
  "Skipped"
] as const

const firstTerminal = 3

/**
 * What a finished run hands to the report: the snapshot, the per-step arrays of the runner, and the timings.
 *
 * @internal
 */
export interface RunData {
  readonly input: { readonly run: number }
  readonly nodes: ReadonlyArray<Node>
  readonly layout: {
    readonly effective: Int32Array
    readonly members: ReadonlyArray<ReadonlyArray<number>>
    readonly budgets: ReadonlyArray<number> | undefined
  }
  readonly state: Uint8Array
  readonly attempts: Int32Array
  readonly stepStart: Float64Array
  readonly stepEnd: Float64Array
  readonly causes: ReadonlyArray<Cause.Cause<unknown> | undefined>
  readonly order: ReadonlyArray<number>
  readonly phaseStart: ReadonlyArray<number>
  readonly phaseEnd: ReadonlyArray<number>
  readonly startedAt: number
  readonly endedAt: number
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000

/** @internal */
export const makeReport = (run: RunData): CleanupReport.CleanupReport => {
  const steps: Array<CleanupReport.StepReport> = []
  const rootCauses: Array<Cause.Cause<unknown>> = []
  let failed = false
  for (let i = 0; i < run.nodes.length; i++) {
    const node = run.nodes[i]!
    const state = run.state[i]!
    if (state < firstTerminal) {
      throw new Error(`BUG: cleanup step "${node.name}" ended the run in state ${stateNames[state]}`)
    }
    const status = stateNames[state] as CleanupReport.StepStatus
    const cause = run.causes[i]
    if (status !== "Succeeded" && status !== "Verified") {
      failed = true
      if (cause !== undefined && !isDependencySkip(cause)) rootCauses.push(cause)
    }
    steps.push({
      name: node.name,
      phase: node.phase < 0 ? undefined : phases[node.phase],
      effectivePhase: phases[run.layout.effective[i]!]!,
      status,
      attempts: run.attempts[i]!,
      startedAt: Math.floor(run.stepStart[i]!),
      endedAt: Math.floor(run.stepEnd[i]!),
      durationMs: round(run.stepEnd[i]! - run.stepStart[i]!),
      cause: cause === undefined ? Option.none() : Option.some(cause)
    })
  }
  const phaseReports: Array<CleanupReport.PhaseReport> = phases.map((phase, index) => ({
    phase,
    budgetMs: run.layout.budgets === undefined ? undefined : round(run.layout.budgets[index]!),
    startedAt: Math.floor(run.phaseStart[index]!),
    endedAt: Math.floor(run.phaseEnd[index]!),
    durationMs: round(run.phaseEnd[index]! - run.phaseStart[index]!),
    steps: run.layout.members[index]!.map((member) => run.nodes[member]!.name)
  }))
  return {
    [TypeId]: TypeId,
    run: run.input.run,
    status: failed ? "Failed" : "Completed",
    startedAt: Math.floor(run.startedAt),
    endedAt: Math.floor(run.endedAt),
    durationMs: round(run.endedAt - run.startedAt),
    steps,
    executionOrder: run.order.map((index) => run.nodes[index]!.name),
    phases: phaseReports,
    cause: rootCauses.length === 0
      ? Option.none()
      : Option.some(rootCauses.reduce((acc, cause) => Cause.parallel(acc, cause)))
  }
}

const isDependencySkip = (cause: Cause.Cause<unknown>): boolean =>
  Option.exists(Cause.failureOption(cause), (error) => Predicate.isTagged(error, "StepSkippedError"))

/** @internal */
export const isCleanupReport = (u: unknown): u is CleanupReport.CleanupReport => Predicate.hasProperty(u, TypeId)

/** @internal */
export const step = dual<
  (name: string) => (self: CleanupReport.CleanupReport) => Option.Option<CleanupReport.StepReport>,
  (self: CleanupReport.CleanupReport, name: string) => Option.Option<CleanupReport.StepReport>
>(2, (self, name) => Option.fromNullable(self.steps.find((entry) => entry.name === name)))

/** @internal */
export const failures = (self: CleanupReport.CleanupReport): ReadonlyArray<CleanupReport.StepReport> =>
  self.steps.filter((entry) => entry.status !== "Succeeded" && entry.status !== "Verified")

const firstLine = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (Predicate.hasProperty(error, "message") && typeof error.message === "string") {
      const tag = Predicate.hasProperty(error, "_tag") ? `${String(error._tag)}: ` : ""
      return `${tag}${error.message}`
    }
    return String(error)
  }
  return Cause.pretty(cause).split("\n")[0] ?? ""
}

const pad = (text: string, width: number): string =>
  text.length >= width ? text : text + " ".repeat(width - text.length)

const formatMs = (ms: number): string => `${Number.isInteger(ms) ? ms : ms.toFixed(1)} ms`

/** @internal */
export const render = (self: CleanupReport.CleanupReport): string => {
  const counts = new Map<string, number>()
  for (const entry of self.steps) counts.set(entry.status, (counts.get(entry.status) ?? 0) + 1)
  const summary = Array.from(counts, ([status, count]) => `${count} ${status}`).join(", ")
  const lines = [
    `Cleanup run ${self.run}: ${self.status} in ${formatMs(self.durationMs)} (${self.steps.length} steps${
      summary.length > 0 ? `: ${summary}` : ""
    })`
  ]
  const byName = new Map(self.steps.map((entry) => [entry.name, entry]))
  const ordered = self.executionOrder.map((name) => byName.get(name)!)
    .concat(self.steps.filter((entry) => !self.executionOrder.includes(entry.name)))
  const width = Math.max(4, ...ordered.map((entry) => entry.name.length))
  lines.push(`  ${pad("#", 3)} ${pad("step", width)}  ${pad("phase", 19)}  ${pad("status", 18)}  attempts  duration`)
  ordered.forEach((entry, index) => {
    const position = index < self.executionOrder.length ? String(index + 1) : "-"
    lines.push(
      `  ${pad(position, 3)} ${pad(entry.name, width)}  ${pad(entry.effectivePhase, 19)}  ${pad(entry.status, 18)}  ${
        pad(String(entry.attempts), 8)
      }  ${formatMs(entry.durationMs)}`
    )
    if (Option.isSome(entry.cause)) lines.push(`      ${firstLine(entry.cause.value)}`)
  })
  return lines.join("\n")
}
