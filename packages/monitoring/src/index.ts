/**
 * @since 0.1.0
 */

/**
 * HTTP endpoints: liveness, readiness, Prometheus metrics, the lock snapshot.
 *
 * @since 0.1.0
 */
export * as MonitoringHttp from "./MonitoringHttp.js"

/**
 * The monitoring hub: health loop, metrics snapshot, error handling, cleanup of every component, shutdown, fiber
 * status.
 *
 * @since 0.1.0
 */
export * as MonitoringCoordinator from "./MonitoringCoordinator.js"

/**
 * The typed errors of `@core-stability/monitoring`.
 *
 * @since 0.1.0
 */
export * as MonitoringError from "./MonitoringError.js"

/**
 * The Prometheus text exposition of Effect's metrics.
 *
 * @since 0.1.0
 */
export * as Prometheus from "./Prometheus.js"

/**
 * Whole-system checks with a report (components, health, lock liveness, resources, buffer counters, histories,
 * stray fibers) and restart verification.
 *
 * @since 0.1.0
 */
export * as SystemVerifier from "./SystemVerifier.js"

/**
 * The report of a system verification: per check status, details and duration; the verdict; text and JSON.
 *
 * @since 0.1.0
 */
export * as VerificationReport from "./VerificationReport.js"
