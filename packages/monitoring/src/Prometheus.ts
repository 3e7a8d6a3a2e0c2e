/**
 * The Prometheus text exposition format (version 0.0.4) of Effect's metrics, rendered from `Metric.snapshot`
 * without `@effect/opentelemetry`.
 *
 * - counters made with `incremental: true` become `counter` families; other counters accept decrements (they are
 *   up/down counters, such as Effect's own `effect_fiber_active`) and become `gauge` families, since Prometheus reads
 *   every decrease of a counter as a reset; gauges become `gauge`, histograms `histogram` (cumulative
 *   `_bucket{le=...}` lines ending with `+Inf`, then `_sum` and `_count`), summaries `summary` (`{quantile=...}`,
 *   `_sum`, `_count`), and frequencies `counter` families with one series per observed value (label `key`);
 * - a metric's tags are its labels, one value per label name: when a key has several tags of one name (nested
 *   `Effect.tagMetrics`, or a fiber's `tagMetrics` over the metric's own `Metric.tagged`), the last one wins the name
 *   (the innermost `tagMetrics`; a fiber's tags come after the metric's own) and each earlier value is kept as
 *   `exported_<name>`; a tag named like the renderer's own label (`le` of a histogram, `quantile` of a summary, `key`
 *   of a frequency) becomes `exported_le` and so on, as Prometheus renames a clashing label;
 * - the description is the `# HELP` line;
 * - names are sanitised to `[a-zA-Z_:][a-zA-Z0-9_:]*` (label names without `:`; other characters become `_`), label
 *   values escaped (`\\`, `\n`, `"`); families come in name order;
 * - when one name is used with two metric types, the first family in name order is kept and the other dropped.
 *
 * @example
 * ```ts
 * import { Prometheus } from "@core-stability/monitoring"
 * import { Effect, Metric } from "effect"
 *
 * const requests = Metric.counter("http_requests", { description: "requests served", incremental: true })
 * const program = Effect.gen(function*() {
 *   yield* Metric.increment(Metric.tagged(requests, "route", "/healthz"))
 *   return yield* Prometheus.snapshot
 *   // # HELP http_requests requests served
 *   // # TYPE http_requests counter
 *   // http_requests{route="/healthz"} 1
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as MetricPair from "effect/MetricPair"
import * as internal from "./internal/prometheus.js"

/**
 * Renders metric pairs (from `Metric.snapshot`) as the text exposition; empty for no metric, else ending with a
 * newline.
 *
 * @since 0.1.0
 * @category rendering
 */
export const render: (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>) => string = internal.render

/**
 * Every metric of the global registry, rendered.
 *
 * @since 0.1.0
 * @category rendering
 */
export const snapshot: Effect.Effect<string> = internal.snapshot

/**
 * The `Content-Type` of the exposition: `text/plain; version=0.0.4; charset=utf-8`.
 *
 * @since 0.1.0
 * @category rendering
 */
export const contentType: string = internal.contentType
