/**
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as CleanupCoordinator from "./CleanupCoordinator.js"

/**
 * @since 0.1.0
 */
export * as CleanupError from "./CleanupError.js"

/**
 * @since 0.1.0
 */
export * as CleanupFaults from "./CleanupFaults.js"

/**
 * @since 0.1.0
 */
export * as CleanupMain from "./CleanupMain.js"

/**
 * @since 0.1.0
 */
export * as CleanupPlan from "./CleanupPlan.js"

/**
 * @since 0.1.0
 */
export * as CleanupReport from "./CleanupReport.js"

/**
 * @since 0.1.0
 */
export * as CleanupStep from "./CleanupStep.js"
