/**
 * origin.md 3.6 #1-3 and #7, adapted to the typed API: the original's `update_metrics` / `get_metrics` dictionary,
 * per-channel fields and `update_performance_stats` are Effect `Metric`s (gauges, counters, histograms tagged by
 * channel or component) read back through `Metric.value`, `Metric.snapshot` and the coordinator's `snapshot`.
 */
import { ComponentCoordinator } from "@core-stability/coordinator"
import { MonitoringCoordinator } from "@core-stability/monitoring"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricState from "effect/MetricState"

const setup = Effect.gen(function*() {
  const components = yield* ComponentCoordinator.make()
  yield* components.register({ id: "capture", channels: ["left", "right"] })
  yield* components.startAll
  return yield* MonitoringCoordinator.make({ components, recoveryPolicy: MonitoringCoordinator.neverRecover })
})

/** The gauge value of `name` with the given tags, read from `Metric.snapshot`. */
const gaugeIn = (name: string, tags: Readonly<Record<string, string>> = {}) =>
  Effect.map(Metric.snapshot, (pairs) => {
    const pair = pairs.find((pair) =>
      pair.metricKey.name === name &&
      pair.metricKey.tags.length === Object.keys(tags).length &&
      pair.metricKey.tags.every((tag) => tags[tag.key] === tag.value)
    )
    return pair !== undefined && MetricState.isGaugeState(pair.metricState) ? pair.metricState.value : undefined
  })

describe("MonitoringCoordinator metrics (origin 3.6 #1-3, #7, adapted)", () => {
  it.scoped("#1 the snapshot exists from the start; a metric reads back what was set, before and after updates", () =>
    Effect.gen(function*() {
      const monitoring = yield* setup
      const snapshot = yield* monitoring.snapshot
      assert.deepStrictEqual(snapshot.errors, { total: 0, byComponent: {}, byChannel: {} })
      assert.strictEqual(snapshot.health, undefined)
      assert.isFalse(snapshot.shutdownRequested)
      // a metric is never "uninitialised": a fresh gauge reads 0, an update reads back at once
      const cpu = Metric.gauge("scenario1_cpu_usage")
      assert.strictEqual((yield* Metric.value(cpu)).value, 0)
      yield* Metric.set(cpu, 50)
      assert.strictEqual((yield* Metric.value(cpu)).value, 50)
      assert.strictEqual(yield* gaugeIn("scenario1_cpu_usage"), 50)
    }))

  it.scoped("#2 system metrics read back exactly; per-channel metrics are tagged series; error counts per channel", () =>
    Effect.gen(function*() {
      const monitoring = yield* setup
      const gauges = {
        cpu: Metric.gauge("scenario2_cpu_usage"),
        memory: Metric.gauge("scenario2_memory_usage"),
        disk: Metric.gauge("scenario2_disk_usage")
      }
      yield* Metric.set(gauges.cpu, 50)
      yield* Metric.set(gauges.memory, 80)
      yield* Metric.set(gauges.disk, 60)
      yield* monitoring.handleError("e1", { component: "capture", channel: "left" })
      yield* monitoring.handleError("e2", { component: "capture", channel: "right" })
      assert.deepStrictEqual(
        [
          yield* gaugeIn("scenario2_cpu_usage"),
          yield* gaugeIn("scenario2_memory_usage"),
          yield* gaugeIn("scenario2_disk_usage")
        ],
        [50, 80, 60]
      )
      const snapshot = yield* monitoring.snapshot
      assert.strictEqual(snapshot.errors.total, 2)
      assert.deepStrictEqual(snapshot.errors.byChannel, { left: 1, right: 1 })
      // per-channel queue / buffer sizes and transcription confidence: one tagged series per channel
      const queue = Metric.gauge("scenario2_queue_size")
      const confidence = Metric.gauge("scenario2_transcription_confidence")
      yield* Metric.set(Metric.tagged(queue, "channel", "left"), 3)
      yield* Metric.set(Metric.tagged(queue, "channel", "right"), 5)
      yield* Metric.set(Metric.tagged(confidence, "channel", "left"), 0.92)
      assert.strictEqual(yield* gaugeIn("scenario2_queue_size", { channel: "left" }), 3)
      assert.strictEqual(yield* gaugeIn("scenario2_queue_size", { channel: "right" }), 5)
      assert.strictEqual(yield* gaugeIn("scenario2_transcription_confidence", { channel: "left" }), 0.92)
      assert.strictEqual(yield* gaugeIn("scenario2_transcription_confidence", { channel: "right" }), undefined)
    }).pipe(Logger.withMinimumLogLevel(LogLevel.None)))

  it.effect("#3 performance stats per component and per channel: a histogram reads back count, sum, min, max", () =>
    Effect.gen(function*() {
      const stats = Metric.histogram("scenario3_step_ms", MetricBoundaries.linear({ start: 0, width: 10, count: 5 }))
      const component = Metric.tagged(stats, "component", "c")
      for (const ms of [4, 12, 30]) yield* Metric.update(component, ms)
      const state = yield* Metric.value(component)
      assert.deepStrictEqual([state.count, state.sum, state.min, state.max], [3, 46, 4, 30])
      const left = Metric.tagged(component, "channel", "left")
      yield* Metric.update(left, 7)
      const perChannel = yield* Metric.value(left)
      assert.deepStrictEqual([perChannel.count, perChannel.sum], [1, 7])
      // the component's own series is untouched by the channel's
      assert.strictEqual((yield* Metric.value(component)).count, 3)
    }))

  it.scoped("#7 5 fibers x 100 concurrent updates lose nothing and keep their types", () =>
    Effect.gen(function*() {
      const monitoring = yield* setup
      const updates = Metric.counter("scenario7_updates", { incremental: true })
      const cpu = Metric.gauge("scenario7_cpu_usage")
      const memory = Metric.gauge("scenario7_memory_bytes", { bigint: true })
      yield* Effect.forEach(
        [0, 1, 2, 3, 4],
        (worker) =>
          Effect.forEach(
            Array.from({ length: 100 }, (_, i) => i),
            (i) =>
              Effect.all([
                Metric.increment(updates),
                Metric.set(cpu, 50.5),
                Metric.set(memory, BigInt(80 + worker)),
                monitoring.handleError(`e${worker}:${i}`, {
                  component: "capture",
                  channel: i % 2 === 0 ? "left" : "right"
                }),
                Effect.yieldNow()
              ]),
            { discard: true }
          ),
        { concurrency: "unbounded", discard: true }
      )
      assert.strictEqual((yield* Metric.value(updates)).count, 500)
      const cpuValue = (yield* Metric.value(cpu)).value
      assert.strictEqual(cpuValue, 50.5)
      const memoryValue = (yield* Metric.value(memory)).value
      assert.strictEqual(typeof memoryValue, "bigint")
      assert.isTrue(memoryValue >= 80n && memoryValue <= 84n)
      const counts = yield* monitoring.errorCounts
      assert.deepStrictEqual(counts, {
        total: 500,
        byComponent: { capture: 500 },
        byChannel: { left: 250, right: 250 }
      })
    }).pipe(Logger.withMinimumLogLevel(LogLevel.None)))
})
