import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/** Milliseconds, from 10 us to about 40 s in factors of 4. */
const boundaries = MetricBoundaries.exponential({ start: 0.01, factor: 4, count: 12 })

/** @internal */
export const waitTime = Metric.histogram(
  "lock_wait_ms",
  boundaries,
  "time a contended acquisition waited before it was granted (ms)"
)

/** @internal */
export const holdTime = Metric.histogram("lock_hold_ms", boundaries, "time a lock was held (ms)")

/** @internal */
export const acquisitions = Metric.counter("lock_acquisitions", {
  description: "granted acquisitions",
  incremental: true
})

/** @internal */
export const contended = Metric.counter("lock_contended_acquisitions", {
  description: "acquisitions that had to wait",
  incremental: true
})

/** @internal */
export const timeouts = Metric.counter("lock_timeouts", {
  description: "acquisitions that timed out",
  incremental: true
})

/** @internal */
export const orderViolations = Metric.counter("lock_order_violations", {
  description: "acquisitions that broke the declared order (reported or failed)",
  incremental: true
})

/** @internal */
export const potentialDeadlocks = Metric.counter("lock_potential_deadlocks", {
  description: "distinct cycles of the learned lock-class graph reported (each cycle once)",
  incremental: true
})

/** @internal */
export const deadlocks = Metric.counter("lock_deadlocks", {
  description: "actual deadlocks broken (the victim's acquisition or join failed with DeadlockDetected)",
  incremental: true
})
