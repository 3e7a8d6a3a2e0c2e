/**
 * The lock metrics, as Effect `Metric`s in the global metric registry. Every update carries the tags
 * `lock` (the lock class name, e.g. `"StateMachine.state"`) and `mode` (`"exclusive"`, `"read"` or `"write"`), so
 * the values are per lock class and split by read/write. Recording is switched by `LockConfig` (`metrics`), and
 * costs a few counter and histogram updates per acquisition (the tag arrays are built once per class, so an update
 * is a cached lookup). The idea follows lockdep's `lock_stat`, which reuses the validator's hooks for contention and
 * wait/hold times.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { LockMetrics } from "@core-stability/locks"
 *
 * const acquisitionsOfState = Metric.value(
 *   LockMetrics.acquisitions.pipe(Metric.tagged("lock", "StateMachine.state"), Metric.tagged("mode", "exclusive"))
 * )
 * ```
 *
 * @since 0.1.0
 */
import type * as Metric from "effect/Metric"
import * as internal from "./internal/metrics.js"

/**
 * `lock_wait_ms`: how long contended acquisitions waited before they were granted (ms). Uncontended acquisitions
 * are not recorded here (they wait 0 ms; `acquisitions` minus `contended` counts them).
 *
 * @since 0.1.0
 * @category metrics
 */
export const waitTime: Metric.Metric.Histogram<number> = internal.waitTime

/**
 * `lock_hold_ms`: how long locks were held, from grant to release (ms).
 *
 * @since 0.1.0
 * @category metrics
 */
export const holdTime: Metric.Metric.Histogram<number> = internal.holdTime

/**
 * `lock_acquisitions`: granted acquisitions.
 *
 * @since 0.1.0
 * @category metrics
 */
export const acquisitions: Metric.Metric.Counter<number> = internal.acquisitions

/**
 * `lock_contended_acquisitions`: acquisitions that had to wait.
 *
 * @since 0.1.0
 * @category metrics
 */
export const contended: Metric.Metric.Counter<number> = internal.contended

/**
 * `lock_timeouts`: acquisitions that failed with `LockTimeout`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const timeouts: Metric.Metric.Counter<number> = internal.timeouts

/**
 * `lock_order_violations`: acquisitions that broke the declared order, failed (`"strict"`) or logged (`"warn"`).
 * Tagged with the requested lock's class.
 *
 * @since 0.1.0
 * @category metrics
 */
export const orderViolations: Metric.Metric.Counter<number> = internal.orderViolations

/**
 * `lock_potential_deadlocks`: distinct cycles of the learned lock-class graph reported, failed (`"fail"`) or logged
 * (`"warn"`), each cycle once. Tagged with the class of the acquisition that closed it.
 *
 * @since 0.1.0
 * @category metrics
 */
export const potentialDeadlocks: Metric.Metric.Counter<number> = internal.potentialDeadlocks

/**
 * `lock_deadlocks`: actual deadlocks broken: the victim's acquisition (or `DeadlockDetector.join`) failed with
 * `DeadlockDetected`. Tagged with the class the victim asked for; a join victim, which asked for no lock, is tagged
 * `lock: "(join)"`, `mode: "join"`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const deadlocks: Metric.Metric.Counter<number> = internal.deadlocks
