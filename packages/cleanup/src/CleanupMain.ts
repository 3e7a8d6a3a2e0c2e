/**
 * The main-program helper: `NodeRuntime.runMain` for programs that own a `CleanupCoordinator`, with graceful
 * shutdown on signals.
 *
 * On the first SIGINT or SIGTERM the cleanup run starts while the program is still alive (steps can still use every
 * service), then the main fiber is interrupted, so the program's own finalizers run after the cleanup steps; the
 * coordinator's Scope finalizer joins the same run. A hard deadline (default 30 s, Kubernetes' default grace period)
 * starts with the first signal; the coordinator's total deadline defaults to 90 % of it, so steps time out and are
 * reported before the process is forced out. A second signal, or the expired hard deadline, exits at once without
 * waiting (close-with-grace and Kubernetes' SIGKILL do the same).
 *
 * Exit codes: 130 after SIGINT and 143 after SIGTERM when the cleanup completed; 1 when the cleanup failed, the hard
 * deadline expired, or the program failed; 0 when the program ended by itself and the cleanup completed; after a
 * second signal, 128 + that signal's number. (Plain `NodeRuntime.runMain` exits 0 on a signal and dies at once on a
 * second one: effect-stack.md.)
 *
 * @example
 * ```ts
 * import { CleanupCoordinator, CleanupMain } from "@core-stability/cleanup"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const coordinator = yield* CleanupCoordinator.CleanupCoordinator
 *   yield* coordinator.register({ name: "stop-server", run: Effect.log("server stopped") })
 *   yield* Effect.log("serving") // a real server runs until SIGINT / SIGTERM
 * })
 *
 * CleanupMain.runMain(program, { hardDeadline: "20 seconds" })
 * ```
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as CleanupCoordinator from "./CleanupCoordinator.js"
import * as internal from "./internal/main.js"

/**
 * Options of `runMain`.
 *
 * - `hardDeadline`: from the first signal to the forced exit (default 30 s).
 * - `coordinator`: options of the coordinator; its `deadline` defaults to 90 % of `hardDeadline`.
 * - `disableErrorReporting`, `disablePrettyLogger`: as for `NodeRuntime.runMain`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunMainOptions {
  readonly hardDeadline?: Duration.DurationInput | undefined
  readonly coordinator?: CleanupCoordinator.Options | undefined
  readonly disableErrorReporting?: boolean | undefined
  readonly disablePrettyLogger?: boolean | undefined
}

/**
 * Runs `effect` as the main program with a `CleanupCoordinator` provided, and graceful shutdown on SIGINT / SIGTERM
 * as described in the module docs.
 *
 * @since 0.1.0
 * @category constructors
 */
export const runMain: {
  (
    options?: RunMainOptions | undefined
  ): <A, E>(effect: Effect.Effect<A, E, CleanupCoordinator.CleanupCoordinator>) => void
  <A, E>(
    effect: Effect.Effect<A, E, CleanupCoordinator.CleanupCoordinator>,
    options?: RunMainOptions | undefined
  ): void
} = internal.runMain
