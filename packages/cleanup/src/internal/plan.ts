import type * as CleanupFaults from "../CleanupFaults.js"
import type * as CleanupPlan from "../CleanupPlan.js"
import { phases } from "../CleanupStep.js"
import * as faults_ from "./faults.js"
import { type Node, worstCaseMs } from "./graph.js"
import { layout, plannedOrder } from "./runner.js"

const round = (ms: number): number => Math.round(ms * 1000) / 1000

/** @internal */
export const makePlan = (
  nodes: ReadonlyArray<Node>,
  deadlineMs: number | undefined,
  concurrency: number,
  faults: CleanupFaults.CleanupFaults | undefined
): CleanupPlan.CleanupPlan => {
  const shape = layout(nodes, deadlineMs, faults)
  const order = plannedOrder(nodes, shape.effective)
  return {
    order: order.map((index) => nodes[index]!.name),
    phases: phases.map((phase, index) => ({
      phase,
      steps: shape.members[index]!.map((member) => nodes[member]!.name),
      budgetMs: shape.budgets === undefined ? undefined : round(shape.budgets[index]!),
      deadlineMs: deadlineMs === undefined ? undefined : round(shape.offsets[index]!)
    })),
    steps: nodes.map((node, index) => {
      const injected = faults_.hasVerifyFault(faults, node.name)
      return {
        name: node.name,
        phase: node.phase < 0 ? undefined : phases[node.phase],
        effectivePhase: phases[shape.effective[index]!]!,
        dependsOn: node.deps.map((dep) => nodes[dep]!.name),
        timeoutMs: node.timeoutMs,
        retries: node.retries,
        retryDelayMs: node.retryDelayMs,
        verifies: node.verify !== undefined || injected,
        worstCaseMs: worstCaseMs(node, injected)
      }
    }),
    deadlineMs,
    concurrency
  }
}

const formatBudget = (phase: CleanupPlan.PlannedPhase): string =>
  phase.budgetMs === undefined ?
    "no budget" :
    `budget ${phase.budgetMs.toFixed(0)} ms, done by ${(phase.deadlineMs ?? 0).toFixed(0)} ms`

/** @internal */
export const render = (self: CleanupPlan.CleanupPlan): string => {
  const byName = new Map(self.steps.map((step) => [step.name, step]))
  const lines = [
    `Cleanup plan: ${self.steps.length} steps, concurrency ${self.concurrency}, ${
      self.deadlineMs === undefined ? "no total deadline" : `total deadline ${self.deadlineMs} ms`
    }`
  ]
  let position = 1
  for (const phase of self.phases) {
    const count = `${phase.steps.length} ${phase.steps.length === 1 ? "step" : "steps"}`
    lines.push(`  ${phase.phase} (${count}, ${formatBudget(phase)})`)
    const members = new Set(phase.steps)
    for (const name of self.order) {
      if (!members.has(name)) continue
      const step = byName.get(name)!
      const after = step.dependsOn.length === 0 ? "" : ` after ${step.dependsOn.join(", ")}`
      const declared = step.phase !== undefined && step.phase !== step.effectivePhase
        ? ` (declared ${step.phase})`
        : ""
      lines.push(
        `    ${position++}. ${name}${after}${declared}: timeout ${step.timeoutMs} ms${
          step.verifies ? `, verify ${step.retries}x every ${step.retryDelayMs} ms` : ""
        }`
      )
    }
  }
  return lines.join("\n")
}
