/**
 * Declarations of cleanup steps and coordinator-managed resources.
 *
 * A step has any name, an optional phase, the steps that must finish before it (`dependsOn`), the effect that does
 * the work, and an optional verification that proves the work took hold (no fibers left, buffer empty, handle
 * closed). The original coordinator accepted four fixed names whose name fixed the phase (origin.md 2.2, weakness
 * 17); here order comes from the dependency graph alone.
 *
 * @since 0.1.0
 */
import type { Presets } from "@core-stability/state-machine"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"

/**
 * The work phases of the `CleanupPhase` machine of `@core-stability/state-machine` (the original's STOPPING_CAPTURE,
 * FLUSHING_STORAGE, RELEASING_RESOURCES and CLOSING_LOGS, in PascalCase). A step's `phase` is one of them; free-form
 * labels are not accepted, because phases are states of the one shared phase machine that other components watch.
 *
 * @since 0.1.0
 * @category models
 */
export type Phase = Extract<
  Presets.CleanupPhaseState,
  "StoppingCapture" | "FlushingStorage" | "ReleasingResources" | "ClosingLogs"
>

/**
 * The work phases in the order a run visits them.
 *
 * @since 0.1.0
 * @category utils
 */
export const phases: ReadonlyArray<Phase> = ["StoppingCapture", "FlushingStorage", "ReleasingResources", "ClosingLogs"]

/**
 * A cleanup step.
 *
 * - `name`: any non-empty string, unique in the coordinator.
 * - `phase`: a label and a checkpoint, never a veto. A step runs in the later of its own phase and the phases of its
 *   dependencies (its *effective* phase), so a dependency order that crosses phases backwards is still honoured.
 *   Without a phase, a step runs in the earliest phase its dependencies allow.
 * - `dependsOn`: names of steps that must finish first; they must already be registered or be in the same
 *   `registerAll` batch.
 * - `run`: the work. It runs interruptibly, bounded by `timeout` (default 5 s) and by the remaining phase budget.
 * - `verify`: optional; `true` means the cleanup took hold. `false`, a failure, or a timeout is a failed attempt,
 *   retried up to `retries` attempts in all (default 3) with `retryDelay` between them (default 1 s), each attempt
 *   bounded by `timeout` as well. These defaults are the original's (3 tries, 1.0 s apart, 5.0 s timeout).
 *
 * @since 0.1.0
 * @category models
 */
export interface CleanupStep<out E = unknown, out R = never> {
  readonly name: string
  readonly phase?: Phase | undefined
  readonly dependsOn?: Iterable<string> | undefined
  readonly run: Effect.Effect<unknown, E, R>
  readonly verify?: Effect.Effect<boolean, E, R> | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly retries?: number | undefined
  readonly retryDelay?: Duration.DurationInput | undefined
}

/**
 * A resource whose release the coordinator owns. `acquire` runs at once (uninterruptibly); `release` becomes a
 * cleanup step named `name`. `uses` lists the resources (or steps) this resource uses: it is released **before**
 * them, the reverse of their dependency graph, as systemd and OTP stop in reverse start order. `dependsOn`, `phase`,
 * `verify`, `timeout`, `retries` and `retryDelay` mean what they mean for a `CleanupStep`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CleanupResource<A, E = unknown, R = never, E2 = unknown, R2 = never> {
  readonly name: string
  readonly acquire: Effect.Effect<A, E, R>
  readonly release: (resource: A) => Effect.Effect<unknown, E2, R2>
  readonly uses?: Iterable<string> | undefined
  readonly dependsOn?: Iterable<string> | undefined
  readonly phase?: Phase | undefined
  readonly verify?: ((resource: A) => Effect.Effect<boolean, E2, R2>) | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly retries?: number | undefined
  readonly retryDelay?: Duration.DurationInput | undefined
}
