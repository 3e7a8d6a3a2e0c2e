/**
 * @since 0.1.0
 */

/**
 * An in-memory `FileSystem` for tests of code that persists files.
 *
 * @since 0.1.0
 */
export * as MemoryFileSystem from "./MemoryFileSystem.js"

/**
 * Runs recovery episodes on the `Recovery` state machine: supplied steps per phase and channel, timeouts, rollback
 * in reverse, joined triggers.
 *
 * @since 0.1.0
 */
export * as RecoveryCoordinator from "./RecoveryCoordinator.js"

/**
 * The typed errors of `@core-stability/recovery`.
 *
 * @since 0.1.0
 */
export * as RecoveryError from "./RecoveryError.js"

/**
 * Recovery attempts as structured, persisted records, with analytics and state dumps.
 *
 * @since 0.1.0
 */
export * as RecoveryLogger from "./RecoveryLogger.js"
