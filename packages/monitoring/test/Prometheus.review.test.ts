/**
 * Regression tests for the review findings on `Prometheus.render` (each `describe` names the bug it guards).
 */
import { ComponentCoordinator } from "@core-stability/coordinator"
import { MonitoringCoordinator, Prometheus } from "@core-stability/monitoring"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/** The sample lines of an exposition that repeat a label name. */
const duplicates = (text: string): Array<string> =>
  text.split("\n").filter((line) => line.length > 0 && !line.startsWith("#")).filter((line) => {
    const open = line.indexOf("{")
    if (open < 0) return false
    const names = [...line.slice(open).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)].map((match) => match[1])
    return new Set(names).size !== names.length
  })

const section = (text: string, name: string): Array<string> =>
  text.split("\n").filter((line) => line.includes(`${name} `) || line.includes(`${name}{`) || line.includes(`${name}_`))

describe("regression: a counter that can go down was exposed as a Prometheus counter", () => {
  // an Effect counter made without `incremental: true` accepts decrements (Effect's own effect_fiber_active goes up
  // when a fiber starts and down when it ends); Prometheus reads every decrease of a counter as a reset
  it.effect("a non-incremental counter is a gauge, an incremental one a counter", () =>
    Effect.gen(function*() {
      const inFlight = Metric.counter("review_requests_in_flight", { description: "requests being served" })
      const served = Metric.counter("review_requests_served", { incremental: true })
      yield* Metric.incrementBy(inFlight, 5)
      yield* Metric.incrementBy(inFlight, -3)
      yield* Metric.incrementBy(served, 5)
      const text = Prometheus.render(yield* Metric.snapshot)
      assert.deepStrictEqual(section(text, "review_requests_in_flight"), [
        "# HELP review_requests_in_flight requests being served",
        "# TYPE review_requests_in_flight gauge",
        "review_requests_in_flight 2"
      ])
      assert.deepStrictEqual(section(text, "review_requests_served"), [
        "# TYPE review_requests_served counter",
        "review_requests_served 5"
      ])
      assert.notInclude(text, "# TYPE effect_fiber_active counter")
    }))
})

describe("regression: a sample could repeat a label name", () => {
  // tags were written as they were, and the renderer's own le / quantile / key were added on top: Prometheus refuses
  // the whole scrape ("label name is not unique")
  it.scoped("a sample never repeats a label name", () =>
    Effect.gen(function*() {
      const components = yield* ComponentCoordinator.make()
      yield* components.register({ id: "capture" })
      yield* components.startAll
      const monitoring = yield* MonitoringCoordinator.make({ components })
      yield* monitoring.handleError(new Error("device lost"), { component: "capture" }).pipe(
        Effect.tagMetrics("component", "app")
      )
      const latency = Metric.histogram("review_latency_ms", MetricBoundaries.linear({ start: 0, width: 10, count: 3 }))
      yield* Metric.update(Metric.tagged(latency, "le", "interactive"), 5)
      const words = Metric.frequency("review_words")
      yield* Metric.update(Metric.tagged(words, "key", "dictionary"), "hello")
      const text = Prometheus.render(yield* Metric.snapshot)
      assert.deepStrictEqual(duplicates(text), [])
    }).pipe(Logger.withMinimumLogLevel(LogLevel.None)))

  it.effect("the last tag of a name wins it; earlier values and reserved names become exported_<name>", () =>
    Effect.gen(function*() {
      const errors = Metric.counter("review_label_errors", { incremental: true })
      // the metric's own tags come first, then the fiber's, outermost tagMetrics first
      yield* Metric.increment(Metric.tagged(Metric.tagged(errors, "component", "capture"), "channel", "left")).pipe(
        Effect.tagMetrics("component", "app"),
        Effect.tagMetrics("component", "process")
      )
      // an identical repetition (two spellings sanitised to one name) is one label
      yield* Metric.increment(Metric.tagged(Metric.tagged(errors, "route-id", "a"), "route_id", "a"))
      const latency = Metric.histogram("review_label_latency", MetricBoundaries.fromIterable([1]))
      yield* Metric.update(Metric.tagged(latency, "le", "interactive"), 0.5)
      const sizes = Metric.summary({
        name: "review_label_sizes",
        maxAge: "1 minute",
        maxSize: 10,
        error: 0.01,
        quantiles: [0.5]
      })
      yield* Metric.update(Metric.tagged(sizes, "quantile", "p"), 3)
      const text = Prometheus.render(yield* Metric.snapshot)
      assert.includeMembers(section(text, "review_label_errors"), [
        "review_label_errors{exported_exported_component=\"capture\",channel=\"left\",exported_component=\"process\",component=\"app\"} 1",
        "review_label_errors{route_id=\"a\"} 1"
      ])
      assert.deepStrictEqual(section(text, "review_label_latency"), [
        "# TYPE review_label_latency histogram",
        "review_label_latency_bucket{exported_le=\"interactive\",le=\"1\"} 1",
        "review_label_latency_bucket{exported_le=\"interactive\",le=\"+Inf\"} 1",
        "review_label_latency_sum{exported_le=\"interactive\"} 0.5",
        "review_label_latency_count{exported_le=\"interactive\"} 1"
      ])
      assert.include(text, "review_label_sizes{exported_quantile=\"p\",quantile=\"0.5\"} 3")
      assert.deepStrictEqual(duplicates(text), [])
    }))
})
