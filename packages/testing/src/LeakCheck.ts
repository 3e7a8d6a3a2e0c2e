/**
 * Leak checks: after an effect ends, nothing it started may still be alive or held.
 *
 * `expectNoLeaks(effect)` runs the effect and then looks for
 *
 * - fibers forked while it ran (by it or by anything it called, daemons included) that are still alive;
 * - finalizers still registered in the `Scope` it was given (resources acquired with `acquireRelease`,
 *   `addFinalizer`, `forkScoped` and never released);
 * - scopes made with `LeakCheck.makeScope` and never closed, and resources registered with `LeakCheck.track` and
 *   never released;
 * - whatever the installed leak probes report (for example held locks and queued waiters, from the locks package).
 *
 * It fails with a `LeakDetected` listing every leak in readable lines, then cleans up: leaked fibers are interrupted
 * (without waiting for them) and the effect's scope is closed. The idea follows Go's `goleak` (live goroutines
 * after a test) and Node's `--detect-open-handles` in Jest, extended to Effect's scopes and to pluggable probes.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/leakCheck.js"

/**
 * A source of leaks a package knows about: `leaks` lists what is still held, one readable line each, and is empty
 * when nothing is. Structural, so any package can provide one without depending on this one (the locks package
 * exports one listing held locks and queued waiters).
 *
 * @since 0.1.0
 * @category models
 */
export interface LeakProbe {
  readonly name: string
  readonly leaks: Effect.Effect<ReadonlyArray<string>>
}

/**
 * One leak: its `kind`, the `source` that reported it (`"fibers"`, a scope or resource label, a probe name) and a
 * readable `description`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Leak {
  readonly kind: "fiber" | "scope" | "resource" | "probe"
  readonly source: string
  readonly description: string
}

/**
 * Options of `expectNoLeaks`.
 *
 * - `probes`: leak probes for this call, checked after the installed ones (`LeakProbes`).
 * - `interruptLeakedFibers` (default `true`): interrupt leaked fibers after reporting them, without waiting.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly probes?: ReadonlyArray<LeakProbe> | undefined
  readonly interruptLeakedFibers?: boolean | undefined
}

/**
 * The leak probes installed for every `expectNoLeaks` in scope; empty by default. Install them once for a suite with
 * `layer` (or `it.layer(LeakCheck.layer([...]))`).
 *
 * @since 0.1.0
 * @category services
 */
export type LeakProbes = internal.LeakProbes

/**
 * @since 0.1.0
 * @category services
 */
export const LeakProbes: typeof internal.LeakProbes = internal.LeakProbes

/**
 * Adds probes to the installed ones.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LeakCheck } from "@core-stability/testing"
 *
 * const openHandles = new Set<string>()
 * const handles: LeakCheck.LeakProbe = {
 *   name: "handles",
 *   leaks: Effect.sync(() => Array.from(openHandles, (h) => `handle ${h} is open`))
 * }
 *
 * // opens a handle and forgets to close it
 * const forgetful = Effect.sync(() => {
 *   openHandles.add("db")
 * })
 *
 * const program = Effect.flip(LeakCheck.expectNoLeaks(forgetful)).pipe(Effect.provide(LeakCheck.layer([handles])))
 *
 * Effect.runPromise(program).then((detected) =>
 *   assert.deepStrictEqual(detected.leaks, [{ kind: "probe", source: "handles", description: "handle db is open" }])
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (probes: ReadonlyArray<LeakProbe>) => Layer.Layer<LeakProbes> = internal.layer

/**
 * The failure of `expectNoLeaks`: every `leak` found, and the effect's own `failure` (its cause) when it failed too. The
 * message lists the leaks one per line.
 *
 * @since 0.1.0
 * @category errors
 */
export interface LeakDetected extends Cause.YieldableError {
  readonly _tag: "LeakDetected"
  readonly leaks: ReadonlyArray<Leak>
  readonly failure: Option.Option<Cause.Cause<unknown>>
}

/**
 * @since 0.1.0
 * @category errors
 */
export const LeakDetected: new(args: {
  readonly leaks: ReadonlyArray<Leak>
  readonly failure: Option.Option<Cause.Cause<unknown>>
}) => LeakDetected = internal.LeakDetected

/**
 * @since 0.1.0
 * @category guards
 */
export const isLeakDetected: (u: unknown) => u is LeakDetected = internal.isLeakDetected

/**
 * Runs `self` and fails with `LeakDetected` if, when it ends, fibers it forked are alive, the `Scope` it was given
 * still holds finalizers, scopes from `makeScope` are open, resources from `track` are held, or a probe reports
 * something. Leaks win over the effect's own result (its failure is kept in `LeakDetected.failure`); without leaks the
 * effect's success or failure passes through unchanged.
 *
 * `self` gets a fresh `Scope`, closed after the check, so `Scope` leaves its requirements.
 *
 * @example
 * ```ts
 * import { Effect, Fiber } from "effect"
 * import { LeakCheck } from "@core-stability/testing"
 *
 * const request = (cleanUp: boolean) =>
 *   Effect.gen(function*() {
 *     const worker = yield* Effect.forkDaemon(Effect.never)
 *     if (cleanUp) yield* Fiber.interrupt(worker)
 *     return "done"
 *   })
 *
 * const program = Effect.gen(function*() {
 *   assert.strictEqual(yield* LeakCheck.expectNoLeaks(request(true)), "done")
 *   // the worker outlives the request: "[fiber: fibers] fiber #12 (forked by #11): ... (still alive)"
 *   const detected = yield* Effect.flip(LeakCheck.expectNoLeaks(request(false)))
 *   assert.strictEqual(detected.leaks.length, 1)
 *   assert.strictEqual(detected.leaks[0].kind, "fiber")
 * })
 *
 * Effect.runPromise(program)
 * ```
 *
 * @since 0.1.0
 * @category testing
 */
export const expectNoLeaks: {
  (
    options?: Options
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | LeakDetected, Exclude<R, Scope.Scope>>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    options?: Options
  ): Effect.Effect<A, E | LeakDetected, Exclude<R, Scope.Scope>>
} = internal.expectNoLeaks

/**
 * Registers a resource as held until the current scope closes. Inside `expectNoLeaks` a resource still held when
 * the effect ends is reported under its `label`; elsewhere this does nothing (one `FiberRef` read).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LeakCheck } from "@core-stability/testing"
 *
 * const open = Effect.sync(() => ({ close: Effect.void }))
 *
 * const connection = Effect.acquireRelease(open, (c) => c.close).pipe(
 *   Effect.tap(() => LeakCheck.track("db connection"))
 * )
 *
 * const program = Effect.gen(function*() {
 *   // released before the effect ends: no leak
 *   yield* LeakCheck.expectNoLeaks(Effect.scoped(connection))
 *   // still held in the effect's scope when it ends: reported under its label
 *   const detected = yield* Effect.flip(LeakCheck.expectNoLeaks(connection))
 *   assert.ok(detected.leaks.some((leak) => leak.kind === "resource" && leak.source === "db connection"))
 * })
 *
 * Effect.runPromise(program)
 * ```
 *
 * @since 0.1.0
 * @category testing
 */
export const track: (label: string) => Effect.Effect<void, never, Scope.Scope> = internal.track

/**
 * `Scope.make()` that `expectNoLeaks` watches: a scope made with it and not closed by the end of the effect is
 * reported under `label`. Outside `expectNoLeaks` it is plain `Scope.make()`.
 *
 * @since 0.1.0
 * @category testing
 */
export const makeScope: (label: string) => Effect.Effect<Scope.CloseableScope> = internal.makeScope
