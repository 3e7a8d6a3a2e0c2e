/**
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Channels from "./Channels.js"

/**
 * @since 0.1.0
 */
export * as Definition from "./Definition.js"

/**
 * @since 0.1.0
 */
export * as HealthGate from "./HealthGate.js"

/**
 * @since 0.1.0
 */
export * as Presets from "./Presets.js"

/**
 * @since 0.1.0
 */
export * as StateMachine from "./StateMachine.js"

/**
 * @since 0.1.0
 */
export * as StateMachineError from "./StateMachineError.js"

/**
 * @since 0.1.0
 */
export * as TransitionRecord from "./TransitionRecord.js"
