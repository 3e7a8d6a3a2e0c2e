import * as Metric from "effect/Metric"
import type * as MetricBoundaries from "effect/MetricBoundaries"
import type * as MetricHook from "effect/MetricHook"
import * as MetricKey from "effect/MetricKey"
import type * as MetricKeyType from "effect/MetricKeyType"
import * as MetricLabel from "effect/MetricLabel"
import type * as MetricState from "effect/MetricState"

/**
 * A metric together with its resolved registry hook. The hook is looked up once, so an update on a hot path is a
 * plain method call (no label merging, no registry lookup), while the metric reads the same registry entry.
 *
 * @internal
 */
export interface Instrument<Type, In, Out> {
  readonly metric: Metric.Metric<Type, In, Out>
  readonly hook: MetricHook.MetricHook<In, Out>
}

const labelsOf = (labels: Readonly<Record<string, string>>): Array<MetricLabel.MetricLabel> =>
  Object.entries(labels).map(([key, value]) => MetricLabel.make(key, value))

const instrument = <Type extends MetricKeyType.MetricKeyType<any, any>>(
  key: MetricKey.MetricKey<Type>,
  labels: Readonly<Record<string, string>>
): Instrument<Type, MetricKeyType.MetricKeyType.InType<Type>, MetricKeyType.MetricKeyType.OutType<Type>> => {
  const tagged = MetricKey.taggedWithLabels(key, labelsOf(labels))
  return { metric: Metric.fromMetricKey(tagged), hook: Metric.globalMetricRegistry.get(tagged) }
}

/** @internal */
export type Counter = Instrument<
  MetricKeyType.MetricKeyType.Counter<number>,
  number,
  MetricState.MetricState.Counter<number>
>

/** @internal */
export type Gauge = Instrument<MetricKeyType.MetricKeyType.Gauge<number>, number, MetricState.MetricState.Gauge<number>>

/** @internal */
export type Histogram = Instrument<MetricKeyType.MetricKeyType.Histogram, number, MetricState.MetricState.Histogram>

/** @internal */
export const counter = (name: string, description: string, labels: Readonly<Record<string, string>>): Counter =>
  instrument(MetricKey.counter(name, { description, incremental: true }), labels)

/** @internal */
export const gauge = (name: string, description: string, labels: Readonly<Record<string, string>>): Gauge =>
  instrument(MetricKey.gauge(name, { description }), labels)

/** @internal */
export const histogram = (
  name: string,
  description: string,
  boundaries: MetricBoundaries.MetricBoundaries,
  labels: Readonly<Record<string, string>>
): Histogram => instrument(MetricKey.histogram(name, boundaries, description), labels)
