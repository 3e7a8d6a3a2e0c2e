/**
 * A deadlock watchdog: a test that stops making progress fails fast with a report instead of hanging until the
 * runner's timeout.
 *
 * `watch(effect)` runs the effect in a fiber and follows it and every fiber it forks with a supervisor. When all of
 * them are suspended and none starts, resumes or ends for `idle` of real time, the watchdog gives up: it reports
 * every live fiber (id, who forked it, its status and what it waits on) and what the installed diagnostics probes
 * say (the locks package renders its wait-for graph), interrupts the stuck fibers without waiting for them, and
 * fails with `DeadlockDetected`. A fiber that was forked but never started is reported as such, and one that does not
 * answer the status request within 500 ms of real time (it waits for a scheduler that stopped running tasks) as
 * "status unavailable", so the report itself never hangs.
 *
 * The watchdog measures real time on purpose: under `TestClock` virtual time never moves by itself, so a test that
 * waits for a `TestClock.adjust` nobody performs hangs just like a deadlock, and is reported the same way. Choose
 * `idle` longer than any real wait of the code under test (`it.live` sleeps, I/O); the default is 2 seconds.
 * The idea is the JVM's thread dump on deadlock (`jstack`) and Go's "all goroutines are asleep - deadlock!" check,
 * applied to one test's fibers.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as internal from "./internal/watchdog.js"

/**
 * A source of diagnostics for the report: `report` renders what the probe knows, in readable lines. Structural, so
 * any package can provide one without depending on this one (the locks package renders its wait-for graph).
 *
 * @since 0.1.0
 * @category models
 */
export interface DiagnosticsProbe {
  readonly name: string
  readonly report: Effect.Effect<string>
}

/**
 * One probe's part of a report.
 *
 * @since 0.1.0
 * @category models
 */
export interface Diagnostic {
  readonly name: string
  readonly report: string
}

/**
 * Options of `watch`.
 *
 * - `idle` (default 2 seconds, real time): how long every watched fiber must stay suspended, with no fiber
 *   starting, resuming or ending, before the watchdog reports. Must be positive and finite (else a defect,
 *   `IllegalArgumentException`).
 * - `probes`: diagnostics probes for this call, rendered after the installed ones (`DiagnosticsProbes`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly idle?: Duration.DurationInput | undefined
  readonly probes?: ReadonlyArray<DiagnosticsProbe> | undefined
}

/**
 * The diagnostics probes installed for every `watch` in scope; empty by default.
 *
 * @since 0.1.0
 * @category services
 */
export type DiagnosticsProbes = internal.DiagnosticsProbes

/**
 * @since 0.1.0
 * @category services
 */
export const DiagnosticsProbes: typeof internal.DiagnosticsProbes = internal.DiagnosticsProbes

/**
 * Adds diagnostics probes to the installed ones.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (probes: ReadonlyArray<DiagnosticsProbe>) => Layer.Layer<DiagnosticsProbes> = internal.layer

/**
 * The failure of `watch`: how long nothing moved (`idleMillis`, real ms), one line per live fiber (`fibers`) and each
 * probe's report (`diagnostics`). The message holds all of it.
 *
 * @since 0.1.0
 * @category errors
 */
export interface DeadlockDetected extends Cause.YieldableError {
  readonly _tag: "DeadlockDetected"
  readonly idleMillis: number
  readonly fibers: ReadonlyArray<string>
  readonly diagnostics: ReadonlyArray<Diagnostic>
}

/**
 * @since 0.1.0
 * @category errors
 */
export const DeadlockDetected: new(args: {
  readonly idleMillis: number
  readonly fibers: ReadonlyArray<string>
  readonly diagnostics: ReadonlyArray<Diagnostic>
}) => DeadlockDetected = internal.DeadlockDetected

/**
 * @since 0.1.0
 * @category guards
 */
export const isDeadlockDetected: (u: unknown) => u is DeadlockDetected = internal.isDeadlockDetected

/**
 * Runs `self` under the watchdog: its result passes through unchanged, unless every fiber it started stays
 * suspended for `idle` (real time), in which case it fails with `DeadlockDetected` and the stuck fibers are
 * interrupted.
 *
 * @example
 * ```ts
 * import { Deferred, Effect } from "effect"
 * import { Watchdog } from "@core-stability/testing"
 *
 * // Two transfers take two locks in opposite order and wait for each other in between: a certain deadlock.
 * const transferBothWays = Effect.gen(function*() {
 *   const accounts = yield* Effect.makeSemaphore(1)
 *   const ledger = yield* Effect.makeSemaphore(1)
 *   const first = yield* Deferred.make<void>()
 *   const second = yield* Deferred.make<void>()
 *   const transfer = (
 *     mine: Effect.Semaphore,
 *     theirs: Effect.Semaphore,
 *     signal: Deferred.Deferred<void>,
 *     wait: Deferred.Deferred<void>
 *   ) =>
 *     mine.withPermits(1)(
 *       Effect.gen(function*() {
 *         yield* Deferred.succeed(signal, undefined)
 *         yield* Deferred.await(wait)
 *         yield* theirs.withPermits(1)(Effect.void)
 *       })
 *     )
 *   yield* Effect.all([transfer(accounts, ledger, first, second), transfer(ledger, accounts, second, first)], {
 *     concurrency: "unbounded",
 *     discard: true
 *   })
 * })
 *
 * // Instead of hanging, the program fails after 50 ms (real time) without progress, with a report.
 * Effect.runPromise(Effect.flip(Watchdog.watch(transferBothWays, { idle: "50 millis" }))).then((detected) => {
 *   assert.strictEqual(detected._tag, "DeadlockDetected")
 *   assert.ok(detected.fibers.every((line) => line.includes("suspended (")))
 *   assert.ok(detected.message.startsWith("watchdog: no progress for 50 ms;"))
 * })
 * ```
 *
 * @since 0.1.0
 * @category testing
 */
export const watch: {
  (options?: Options): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DeadlockDetected, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, options?: Options): Effect.Effect<A, E | DeadlockDetected, R>
} = internal.watch
