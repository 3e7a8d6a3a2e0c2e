/**
 * Fiber-level testing kit for Effect: seeded interleavings, fault injection, leak checks, a deadlock watchdog.
 *
 * The contract suites (`Contract`, `LockContract`, `CleanupContract`) import `@effect/vitest` and are therefore
 * not re-exported here: import them from `@core-stability/testing/LockContract` and
 * `@core-stability/testing/CleanupContract`, so that code which only injects faults does not load vitest.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Explore from "./Explore.js"

/**
 * @since 0.1.0
 */
export * as FaultInjector from "./FaultInjector.js"

/**
 * @since 0.1.0
 */
export * as LeakCheck from "./LeakCheck.js"

/**
 * @since 0.1.0
 */
export * as SeededScheduler from "./SeededScheduler.js"

/**
 * @since 0.1.0
 */
export * as Watchdog from "./Watchdog.js"
