import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"

/** @internal */
export const transitions = Metric.counter("state_machine_transitions_total", {
  description: "Transition attempts, tagged machine, channel, from, to and outcome (success | failure).",
  incremental: true
})

/** @internal */
export const transitionDuration = Metric.histogram(
  "state_machine_transition_duration_ms",
  MetricBoundaries.exponential({ start: 0.005, factor: 4, count: 12 }),
  "Transition durations in milliseconds (call to commit or refusal), tagged machine, channel, from and to."
)

/** @internal */
export const validatorRetries = Metric.counter("state_machine_validator_retries_total", {
  description: "Validator retries (attempts after the first), tagged machine and channel.",
  incremental: true
})

/** @internal */
export const rollbacks = Metric.counter("state_machine_rollbacks_total", {
  description: "Rolled-back transitions, tagged machine, channel and outcome (success | failure).",
  incremental: true
})

/** @internal */
export const listenerDropped = Metric.counter("state_machine_listener_dropped_total", {
  description: "Notifications a listener's full queue dropped, tagged machine, channel and listener.",
  incremental: true
})

/** @internal */
export const listenerFailures = Metric.counter("state_machine_listener_failures_total", {
  description: "Listener runs that failed, died or timed out, tagged machine, channel and listener.",
  incremental: true
})

/** @internal */
export const labels = (
  machine: string,
  channel: string | undefined,
  extra: ReadonlyArray<readonly [string, string]>
): Array<MetricLabel.MetricLabel> => {
  const out = [MetricLabel.make("machine", machine)]
  if (channel !== undefined) out.push(MetricLabel.make("channel", channel))
  for (const [key, value] of extra) out.push(MetricLabel.make(key, value))
  return out
}

/**
 * One time series: a metric and the labels that select it. The label array is built once and passed by reference on
 * every update, so Effect finds the series through its per-array hook cache instead of rebuilding and hashing a
 * tagged key each time (what `Metric.tagged` would do on every update).
 *
 * @internal
 */
export interface Series {
  readonly metric: Metric.Metric<any, number, any>
  readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
}

/** @internal */
export const update = (series: Series, value: number): void => series.metric.unsafeUpdate(value, series.labels)

const series = (metric: Metric.Metric<any, number, any>, labelSet: ReadonlyArray<MetricLabel.MetricLabel>): Series => ({
  metric,
  labels: labelSet
})

/**
 * The series of one machine (or channel).
 *
 * @internal
 */
export interface MachineMetrics {
  readonly retries: Series
  readonly rollbackSuccess: Series
  readonly rollbackFailure: Series
}

/**
 * The series of one (from, to) pair of one machine.
 *
 * @internal
 */
export interface PairMetrics {
  readonly success: Series
  readonly failure: Series
  readonly duration: Series
}

/*
 * Series are shared by every machine with the same name (and channel), like the series they update in Effect's
 * metric registry, so a machine instance carries no metric objects of its own.
 */
const machineCache = new Map<string, MachineMetrics>()
const pairCache = new Map<string, PairMetrics>()

/** @internal */
export const forMachine = (machine: string, channel: string | undefined): MachineMetrics => {
  const key = `${machine}\u0000${channel ?? ""}`
  let found = machineCache.get(key)
  if (found === undefined) {
    found = {
      retries: series(validatorRetries, labels(machine, channel, [])),
      rollbackSuccess: series(rollbacks, labels(machine, channel, [["outcome", "success"]])),
      rollbackFailure: series(rollbacks, labels(machine, channel, [["outcome", "failure"]]))
    }
    machineCache.set(key, found)
  }
  return found
}

/** @internal */
export const forPair = (machine: string, channel: string | undefined, from: string, to: string): PairMetrics => {
  const key = `${machine}\u0000${channel ?? ""}\u0000${from}\u0000${to}`
  let found = pairCache.get(key)
  if (found === undefined) {
    found = {
      success: series(transitions, labels(machine, channel, [["from", from], ["to", to], ["outcome", "success"]])),
      failure: series(transitions, labels(machine, channel, [["from", from], ["to", to], ["outcome", "failure"]])),
      duration: series(transitionDuration, labels(machine, channel, [["from", from], ["to", to]]))
    }
    pairCache.set(key, found)
  }
  return found
}

/** @internal */
export const forListener = (
  machine: string,
  channel: string | undefined,
  listener: string
): { readonly dropped: Series; readonly failures: Series } => ({
  dropped: series(listenerDropped, labels(machine, channel, [["listener", listener]])),
  failures: series(listenerFailures, labels(machine, channel, [["listener", listener]]))
})
