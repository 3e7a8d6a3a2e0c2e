/**
 * The state machines of the original application (origin.md, 2.1-2.3), as validated definitions for the other
 * core-stability packages. State names are the original enum members in PascalCase (`STOPPING_CAPTURE_LEFT` is
 * `StoppingCaptureLeft`); the states other modules referred to but that never existed (`NOT_STARTED` and `VERIFIED` as
 * recovery states) are not invented. Every table is the original's, with "to FAILED / ERROR from any state" written as
 * one `fromAny` rule.
 *
 * @since 0.1.0
 */
import * as Definition from "./Definition.js"

/**
 * The recovery process (the original `RecoveryState`): `Idle -> Initiating -> StoppingCapture -> FlushingBuffers ->
 * Reinitializing -> Verifying -> Completed`, with the per-channel variants (`StoppingCaptureLeft ->
 * StoppingCaptureRight`, `FlushingBuffersLeft -> FlushingBuffersRight`) and the split verification
 * (`VerifyingResources -> VerifyingComponents`). Every state but `Idle` may abort to `Idle`; every state may move to
 * `Failed`; `Failed` goes back to `Idle` only.
 *
 * @example
 * ```ts
 * import { Presets, StateMachine } from "@core-stability/state-machine"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const recovery = yield* StateMachine.make(Presets.Recovery)
 *   for (const state of ["Initiating", "StoppingCapture", "FlushingBuffers", "Reinitializing", "Verifying", "Completed"] as const) {
 *     yield* StateMachine.transitionTo(recovery, state)
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const Recovery = Definition.unsafeMake({
  name: "recovery",
  states: [
    "Idle",
    "Initiating",
    "StoppingCapture",
    "StoppingCaptureLeft",
    "StoppingCaptureRight",
    "FlushingBuffers",
    "FlushingBuffersLeft",
    "FlushingBuffersRight",
    "Reinitializing",
    "Verifying",
    "VerifyingResources",
    "VerifyingComponents",
    "Completed",
    "Failed"
  ],
  initial: "Idle",
  transitions: {
    Idle: ["Initiating"],
    Initiating: ["StoppingCapture", "StoppingCaptureLeft", "Idle"],
    StoppingCapture: ["FlushingBuffers", "Idle"],
    StoppingCaptureLeft: ["StoppingCaptureRight", "Idle"],
    StoppingCaptureRight: ["FlushingBuffers", "FlushingBuffersLeft", "Idle"],
    FlushingBuffers: ["Reinitializing", "Idle"],
    FlushingBuffersLeft: ["FlushingBuffersRight", "Idle"],
    FlushingBuffersRight: ["Reinitializing", "Idle"],
    Reinitializing: ["Verifying", "VerifyingResources", "Idle"],
    VerifyingResources: ["VerifyingComponents", "Idle"],
    VerifyingComponents: ["Verifying", "Idle"],
    Verifying: ["Completed", "Idle"],
    Completed: ["Idle"],
    Failed: ["Idle"]
  },
  fromAny: ["Failed"]
})

/**
 * A recovery state.
 *
 * @since 0.1.0
 * @category models
 */
export type RecoveryState = Definition.State<typeof Recovery>

/**
 * The recovery pipeline of one channel, for `Channels`: `Idle -> StoppingCapture -> FlushingBuffers -> Reinitializing
 * -> Verifying -> Completed -> Idle`, abort to `Idle` from every working state, `Failed` from any state, `Failed ->
 * Idle`. It has no `Initiating` (starting a recovery is a system decision) and no `...Left` / `...Right` variants (the
 * channel key says which side). This is the separate channel table the original tests assumed (origin.md, 3.1 #12).
 *
 * @since 0.1.0
 * @category constructors
 */
export const RecoveryChannel = Definition.unsafeMake({
  name: "recovery-channel",
  states: ["Idle", "StoppingCapture", "FlushingBuffers", "Reinitializing", "Verifying", "Completed", "Failed"],
  initial: "Idle",
  transitions: {
    Idle: ["StoppingCapture"],
    StoppingCapture: ["FlushingBuffers", "Idle"],
    FlushingBuffers: ["Reinitializing", "Idle"],
    Reinitializing: ["Verifying", "Idle"],
    Verifying: ["Completed", "Idle"],
    Completed: ["Idle"],
    Failed: ["Idle"]
  },
  fromAny: ["Failed"]
})

/**
 * A channel's recovery state.
 *
 * @since 0.1.0
 * @category models
 */
export type RecoveryChannelState = Definition.State<typeof RecoveryChannel>

/**
 * The channel keys of the original app: left and right audio channels, treated as separate speakers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const recoveryChannelKeys: ReadonlyArray<"left" | "right"> = ["left", "right"]

/**
 * A component's lifecycle (the original `ComponentState`); components start `Uninitialized`, every state may move to
 * `Error`, and `Error` recovers through `Initializing` or stops.
 *
 * One deviation from the original table (origin.md, 2.3: `IDLE -> INITIATING | ERROR`): `Idle -> Stopping`. `Idle`
 * is an initialised component that was not started (`Initializing -> Idle`), and the original left it no way to stop
 * but through `Initiating -> Running`, that is by starting it first. With `Idle -> Stopping` an idle component stops
 * like a running one (`Stopping -> Stopped`) without being started. Nothing else changes (the original table was
 * defined but no public method used it, so nothing depended on the omission).
 *
 * @since 0.1.0
 * @category constructors
 */
export const Component = Definition.unsafeMake({
  name: "component",
  states: [
    "Uninitialized",
    "Idle",
    "Initializing",
    "Initiating",
    "Running",
    "Paused",
    "Stopping",
    "StoppingCapture",
    "Stopped",
    "Error"
  ],
  initial: "Uninitialized",
  transitions: {
    Uninitialized: ["Initializing"],
    Idle: ["Initiating", "Stopping"],
    Initializing: ["Idle", "Running", "Stopped"],
    Initiating: ["Running"],
    Running: ["Paused", "Stopping", "StoppingCapture"],
    Paused: ["Running", "Stopping", "StoppingCapture"],
    Stopping: ["Stopped"],
    StoppingCapture: ["Stopping"],
    Stopped: ["Initializing"],
    Error: ["Initializing", "Stopped"]
  },
  fromAny: ["Error"]
})

/**
 * A component state.
 *
 * @since 0.1.0
 * @category models
 */
export type ComponentState = Definition.State<typeof Component>

/**
 * The phases of a cleanup run (the original `CleanupPhase`), with the reset path the original lacked: `Completed`
 * and `Failed` go back to `NotStarted`, so a cleanup can run again (origin.md, 2.2: a second run used to fail with
 * "Invalid initial phase transition FAILED -> INITIATING"). Every phase may move to `Failed`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const CleanupPhase = Definition.unsafeMake({
  name: "cleanup-phase",
  states: [
    "NotStarted",
    "Initiating",
    "StoppingCapture",
    "FlushingStorage",
    "ReleasingResources",
    "ClosingLogs",
    "Completed",
    "Failed"
  ],
  initial: "NotStarted",
  transitions: {
    NotStarted: ["Initiating"],
    Initiating: ["StoppingCapture", "FlushingStorage", "ReleasingResources", "ClosingLogs", "Completed"],
    StoppingCapture: ["FlushingStorage", "Completed"],
    FlushingStorage: ["ReleasingResources", "Completed"],
    ReleasingResources: ["ClosingLogs", "Completed"],
    ClosingLogs: ["Completed"],
    Completed: ["NotStarted"],
    Failed: ["NotStarted"]
  },
  fromAny: ["Failed"]
})

/**
 * A cleanup phase.
 *
 * @since 0.1.0
 * @category models
 */
export type CleanupPhaseState = Definition.State<typeof CleanupPhase>
