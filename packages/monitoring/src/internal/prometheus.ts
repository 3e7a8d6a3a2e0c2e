import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"

/** Metric and label names: `[a-zA-Z_:][a-zA-Z0-9_:]*` (labels without `:`); other characters become `_`. */
const sanitize = (name: string, colons: boolean): string => {
  const body = name.replace(colons ? /[^a-zA-Z0-9_:]/g : /[^a-zA-Z0-9_]/g, "_")
  return /^[0-9]/.test(body) ? `_${body}` : body.length === 0 ? "_" : body
}

const escapeLabel = (value: string): string => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, "\\\"")

const escapeHelp = (value: string): string => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

/** A sample value: integers as such, `+Inf` / `-Inf` / `NaN` spelled the Prometheus way. */
const formatValue = (value: number | bigint): string => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(value)
}

const labels = (pairs: ReadonlyArray<readonly [string, string]>): string =>
  pairs.length === 0
    ? ""
    : `{${pairs.map(([key, value]) => `${sanitize(key, false)}="${escapeLabel(value)}"`).join(",")}}`

interface Family {
  readonly name: string
  readonly type: "counter" | "gauge" | "histogram" | "summary"
  help: string | undefined
  readonly lines: Array<string>
}

/** @internal */
export const render = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): string => {
  const families = new Map<string, Family>()
  const family = (name: string, type: Family["type"], help: string | undefined): Family | undefined => {
    const existing = families.get(name)
    if (existing !== undefined) {
      // one name, two types: keep the first family (the exposition format allows one TYPE per name)
      if (existing.type !== type) return undefined
      if (existing.help === undefined) existing.help = help
      return existing
    }
    const made: Family = { name, type, help, lines: [] }
    families.set(name, made)
    return made
  }
  const sorted = pairs.slice().sort((a, b) =>
    a.metricKey.name < b.metricKey.name ? -1 : a.metricKey.name > b.metricKey.name ? 1 : 0
  )
  for (const pair of sorted) {
    const key = pair.metricKey
    const name = sanitize(key.name, true)
    const help = Option.getOrUndefined(key.description)
    const tags: ReadonlyArray<readonly [string, string]> = key.tags.map((tag) => [tag.key, tag.value] as const)
    const state = pair.metricState
    if (MetricState.isCounterState(state)) {
      family(name, "counter", help)?.lines.push(`${name}${labels(tags)} ${formatValue(state.count)}`)
    } else if (MetricState.isGaugeState(state)) {
      family(name, "gauge", help)?.lines.push(`${name}${labels(tags)} ${formatValue(state.value)}`)
    } else if (MetricState.isHistogramState(state)) {
      const target = family(name, "histogram", help)
      if (target === undefined) continue
      let sawInfinity = false
      for (const [boundary, count] of state.buckets) {
        if (boundary === Number.POSITIVE_INFINITY) sawInfinity = true
        target.lines.push(`${name}_bucket${labels([...tags, ["le", formatValue(boundary)]])} ${formatValue(count)}`)
      }
      if (!sawInfinity) {
        target.lines.push(`${name}_bucket${labels([...tags, ["le", "+Inf"]])} ${formatValue(state.count)}`)
      }
      target.lines.push(`${name}_sum${labels(tags)} ${formatValue(state.sum)}`)
      target.lines.push(`${name}_count${labels(tags)} ${formatValue(state.count)}`)
    } else if (MetricState.isSummaryState(state)) {
      const target = family(name, "summary", help)
      if (target === undefined) continue
      for (const [quantile, value] of state.quantiles) {
        target.lines.push(
          `${name}${labels([...tags, ["quantile", formatValue(quantile)]])} ${
            formatValue(Option.getOrElse(value, () => Number.NaN))
          }`
        )
      }
      target.lines.push(`${name}_sum${labels(tags)} ${formatValue(state.sum)}`)
      target.lines.push(`${name}_count${labels(tags)} ${formatValue(state.count)}`)
    } else if (MetricState.isFrequencyState(state)) {
      const target = family(name, "counter", help)
      if (target === undefined) continue
      for (const [value, count] of [...state.occurrences.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        target.lines.push(`${name}${labels([...tags, ["key", value]])} ${formatValue(count)}`)
      }
    }
  }
  const out: Array<string> = []
  for (const entry of families.values()) {
    if (entry.help !== undefined && entry.help.length > 0) out.push(`# HELP ${entry.name} ${escapeHelp(entry.help)}`)
    out.push(`# TYPE ${entry.name} ${entry.type}`)
    out.push(...entry.lines)
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}

/** @internal */
export const snapshot: Effect.Effect<string> = Effect.map(Metric.snapshot, render)

/** @internal */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"
