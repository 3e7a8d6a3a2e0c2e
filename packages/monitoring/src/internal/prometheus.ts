import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricKeyType from "effect/MetricKeyType"
import type * as MetricLabel from "effect/MetricLabel"
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

type Label = readonly [name: string, value: string]

const labels = (pairs: ReadonlyArray<Label>): string =>
  pairs.length === 0 ? "" : `{${pairs.map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(",")}}`

/**
 * A metric key's tags as labels with one value per label name (the exposition format refuses a sample that repeats
 * one). Names are sanitised first. When a name comes more than once (nested `Effect.tagMetrics`, a fiber's
 * `tagMetrics` over a `Metric.tagged` of the same key), the last tag of the key wins the name (the innermost
 * `tagMetrics`; a fiber's tags come after the metric's own), an identical repetition is dropped, and each earlier
 * value is kept as `exported_<name>` (`exported_exported_<name>`, ...), as Prometheus renames a scraped label that
 * clashes with a target label. A tag named like the renderer's own label of the metric type (`reserved`: `le`,
 * `quantile`, `key`) is renamed the same way, so `le="interactive"` becomes `exported_le="interactive"`.
 */
const labelsOf = (tags: ReadonlyArray<MetricLabel.MetricLabel>, reserved?: string): Array<Label> => {
  const taken = new Map<string, string | undefined>(reserved === undefined ? [] : [[reserved, undefined]])
  const out: Array<Label> = []
  for (let i = tags.length - 1; i >= 0; i--) {
    const tag = tags[i]!
    let name = sanitize(tag.key, false)
    if (taken.has(name) && taken.get(name) === tag.value) continue
    while (taken.has(name)) name = `exported_${name}`
    taken.set(name, tag.value)
    out.push([name, tag.value])
  }
  return out.reverse()
}

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
    const state = pair.metricState
    if (MetricState.isCounterState(state)) {
      // only a counter that refuses decrements is monotonic; an up/down counter (e.g. Effect's effect_fiber_active)
      // is a gauge for Prometheus, whose rate() reads every decrease of a counter as a reset
      const monotonic = MetricKeyType.isCounterKey(key.keyType) && key.keyType.incremental
      family(name, monotonic ? "counter" : "gauge", help)?.lines.push(
        `${name}${labels(labelsOf(key.tags))} ${formatValue(state.count)}`
      )
    } else if (MetricState.isGaugeState(state)) {
      family(name, "gauge", help)?.lines.push(`${name}${labels(labelsOf(key.tags))} ${formatValue(state.value)}`)
    } else if (MetricState.isHistogramState(state)) {
      const target = family(name, "histogram", help)
      if (target === undefined) continue
      const tags = labelsOf(key.tags, "le")
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
      const tags = labelsOf(key.tags, "quantile")
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
      const tags = labelsOf(key.tags, "key")
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
