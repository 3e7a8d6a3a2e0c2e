import { Prometheus } from "@core-stability/monitoring"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

describe("Prometheus", () => {
  it.effect("renders counters, gauges, histograms, summaries and frequencies in the text exposition format", () =>
    Effect.gen(function*() {
      const counter = Metric.counter("prom_test_requests", { description: "requests\nserved", incremental: true })
      const gauge = Metric.gauge("prom_test.level")
      const histogram = Metric.histogram("prom_test_latency_ms", MetricBoundaries.fromIterable([1, 10]), "latency")
      const summary = Metric.summary({
        name: "prom_test_sizes",
        maxAge: "1 minute",
        maxSize: 10,
        error: 0.01,
        quantiles: [0.5]
      })
      const frequency = Metric.frequency("prom_test_kinds")
      yield* Metric.increment(Metric.tagged(counter, "route", "/a\"b"))
      yield* Metric.incrementBy(Metric.tagged(counter, "route", "/c"), 2)
      yield* Metric.set(gauge, 0.5)
      yield* Metric.update(histogram, 0.5)
      yield* Metric.update(histogram, 5)
      yield* Metric.update(histogram, 50)
      yield* Metric.update(summary, 3)
      yield* Metric.update(frequency, "x")
      const text = yield* Prometheus.snapshot
      const section = (name: string) => text.split("\n").filter((line) => line.includes(name)).join("\n")
      assert.strictEqual(
        section("prom_test_requests"),
        [
          "# HELP prom_test_requests requests\\nserved",
          "# TYPE prom_test_requests counter",
          "prom_test_requests{route=\"/a\\\"b\"} 1",
          "prom_test_requests{route=\"/c\"} 2"
        ].join("\n")
      )
      assert.strictEqual(section("prom_test_level"), "# TYPE prom_test_level gauge\nprom_test_level 0.5")
      assert.strictEqual(
        section("prom_test_latency_ms"),
        [
          "# HELP prom_test_latency_ms latency",
          "# TYPE prom_test_latency_ms histogram",
          "prom_test_latency_ms_bucket{le=\"1\"} 1",
          "prom_test_latency_ms_bucket{le=\"10\"} 2",
          "prom_test_latency_ms_bucket{le=\"+Inf\"} 3",
          "prom_test_latency_ms_sum 55.5",
          "prom_test_latency_ms_count 3"
        ].join("\n")
      )
      assert.include(section("prom_test_sizes"), "# TYPE prom_test_sizes summary")
      assert.include(section("prom_test_sizes"), "prom_test_sizes{quantile=\"0.5\"} 3")
      assert.include(section("prom_test_sizes"), "prom_test_sizes_count 1")
      assert.include(section("prom_test_kinds"), "prom_test_kinds{key=\"x\"} 1")
      assert.isTrue(text.endsWith("\n"))
    }))

  it("renders nothing for no metric", () => {
    assert.strictEqual(Prometheus.render([]), "")
  })
})
