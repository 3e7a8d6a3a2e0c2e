/**
 * @since 0.1.0
 */

/**
 * The typed errors of the buffer modules (`ResourcePool` and `BufferManager`).
 *
 * @since 0.1.0
 */
export * as BufferError from "./BufferError.js"

/**
 * Bounded queues of byte payloads, one per (stage, channel), with counted overflow and flush on cleanup.
 *
 * @since 0.1.0
 */
export * as BufferManager from "./BufferManager.js"

/**
 * A pool of tiered byte buffers, tracked by identity.
 *
 * @since 0.1.0
 */
export * as ResourcePool from "./ResourcePool.js"

/**
 * Components with a dependency-ordered lifecycle, per-channel resources, fiber supervision and OTP restart policies.
 *
 * @since 0.1.0
 */
export * as ComponentCoordinator from "./ComponentCoordinator.js"

/**
 * The typed errors of the `ComponentCoordinator`.
 *
 * @since 0.1.0
 */
export * as ComponentError from "./ComponentError.js"
