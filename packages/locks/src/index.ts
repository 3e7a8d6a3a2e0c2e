/**
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as DeadlockDetector from "./DeadlockDetector.js"

/**
 * @since 0.1.0
 */
export * as GuardedLock from "./GuardedLock.js"

/**
 * @since 0.1.0
 */
export * as LockConfig from "./LockConfig.js"

/**
 * @since 0.1.0
 */
export * as LockError from "./LockError.js"

/**
 * @since 0.1.0
 */
export * as LockHierarchy from "./LockHierarchy.js"

/**
 * @since 0.1.0
 */
export * as LockMetrics from "./LockMetrics.js"

/**
 * @since 0.1.0
 */
export * as LockRegistry from "./LockRegistry.js"

/**
 * @since 0.1.0
 */
export * as OrderedLock from "./OrderedLock.js"

/**
 * @since 0.1.0
 */
export * as OrderedRWLock from "./OrderedRWLock.js"

/**
 * @since 0.1.0
 */
export * as TypedLock from "./TypedLock.js"
