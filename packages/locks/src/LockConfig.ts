/**
 * How the locks of a program behave: the order-checking mode, the default acquisition timeout, whether metrics
 * are recorded and whether acquisition sites are captured. The configuration is a `Context.Reference`, so using a
 * lock never adds a requirement to `R`; a Layer swaps it for a part of the program.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"

/**
 * What happens when an acquisition breaks the declared lock order.
 *
 * - `"strict"`: the acquisition fails with `LockOrderViolation` before it waits.
 * - `"warn"`: a warning is logged and the `lock_order_violations` metric counts it, then the acquisition proceeds.
 * - `"off"`: plain locks: no order checking, no held-lock stack, no metrics, no acquisition timestamps. Re-acquiring a
 *   lock the fiber holds still fails (it would hang otherwise), and timeouts still apply.
 *
 * @since 0.1.0
 * @category models
 */
export type Mode = "strict" | "warn" | "off"

/**
 * Where an acquisition was written, as recorded in reports and snapshots. A site is an unformatted V8 stack trace,
 * captured when the acquiring effect is built (`withLock(...)`, `lock(...)`, ...) and formatted only when a report or
 * a snapshot needs it; an effect built once and run many times pays for it once.
 *
 * - `"call-site"`: the first few frames past the library (about 2.5 us per built effect).
 * - `"stack"`: up to 24 frames, shown by `LockRegistry.snapshot({ stacks: true })` (about 6 us per built effect).
 * - `"none"`: nothing captured; reports show the span the fiber was in (`Effect.fn`, `Effect.withSpan`), which costs
 *   nothing to keep. For hot paths that build their acquiring effects on every call.
 *
 * @since 0.1.0
 * @category models
 */
export type Sites = "none" | "call-site" | "stack"

/**
 * What happens when the learned lock-class graph closes a cycle (a potential deadlock: two orders that can deadlock,
 * observed in different fibers or at different times, even if nothing ever blocked).
 *
 * - `"fail"`: the acquisition fails with `PotentialDeadlock` before it waits (the edge is not learned).
 * - `"warn"`: the report is logged as a warning once per cycle (one warning for each cycle an acquisition closes,
 *   e.g. from two members of a held `withLocks` batch), `lock_potential_deadlocks` counts it, and the acquisition
 *   proceeds (its edges are learned).
 * - `"off"`: no learned graph (the default: it costs a chain-cache lookup per acquisition).
 *
 * Checking continues after a report (Linux lockdep switches itself off after its first report).
 *
 * @since 0.1.0
 * @category models
 */
export type PotentialReaction = "fail" | "warn" | "off"

/**
 * What happens when a fiber starts a wait that closes a cycle of the wait-for graph (an actual deadlock). The waits
 * are lock waits and joins made with `DeadlockDetector.join` / `await`.
 *
 * - `"fail"` (the default): the fiber whose wait closed the cycle fails with `DeadlockDetected` instead of waiting;
 *   the others proceed once it releases what it holds (a fiber joining it, once it exits). It costs nothing on
 *   uncontended acquisitions.
 * - `"off"`: the fibers wait until a timeout, if any, expires. Join edges are still recorded (they show in the
 *   wait-for graph and in `LockTimeout` reports), but no wait is checked.
 *
 * @since 0.1.0
 * @category models
 */
export type ActualReaction = "fail" | "off"

/**
 * The deadlock detector's settings (see `docs/deadlocks.md`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Detection {
  /** The learned dependency graph of lock classes, see {@link PotentialReaction}. Default `"off"`. */
  readonly potential: PotentialReaction
  /** The exact wait-for graph of fibers, see {@link ActualReaction}. Default `"fail"`. */
  readonly actual: ActualReaction
}

/**
 * The settings read by every acquisition.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  /** Order checking mode, see {@link Mode}. Default `"strict"`. */
  readonly mode: Mode
  /**
   * Default acquisition timeout, used when neither the acquisition nor the lock sets one. Default infinite (no
   * timer is started, so an uncontended or contended acquisition pays nothing for it).
   */
  readonly timeout: Duration.Duration
  /** Record the lock metrics of `LockMetrics` (per lock class, split by access mode). Default `true`. */
  readonly metrics: boolean
  /**
   * What the locks made while this setting is in effect record about where they are taken (read by `make`;
   * `unsafeMake` takes it as an option), see {@link Sites}. Default `"call-site"`.
   */
  readonly sites: Sites
  /**
   * Deadlock detection, see {@link Detection}. The learned graph needs the held stacks, so it runs in `"strict"` and
   * `"warn"` modes only; the wait-for graph runs in every mode. Default `{ potential: "off", actual: "fail" }`.
   */
  readonly detection: Detection
}

/**
 * The defaults: strict ordering, no timeout, metrics on, call sites captured, actual deadlocks broken, no learned
 * graph.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: Settings = {
  mode: "strict",
  timeout: Duration.infinity,
  metrics: true,
  sites: "call-site",
  detection: { potential: "off", actual: "fail" }
}

/**
 * The lock configuration in effect. Read it with `yield* LockConfig`; replace it with {@link layer} or
 * `Effect.provideService(LockConfig, settings)`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockConfig } from "@core-stability/locks"
 *
 * const program = Effect.gen(function*() {
 *   const settings = yield* LockConfig.LockConfig
 *   return settings.mode
 * })
 * // "warn"
 * Effect.runSync(program.pipe(Effect.provide(LockConfig.layer({ mode: "warn" }))))
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class LockConfig extends Context.Reference<LockConfig>()("@core-stability/locks/LockConfig", {
  defaultValue: (): Settings => defaults
}) {}

/**
 * Options accepted by {@link layer} and {@link settings}: every field is optional and falls back to {@link defaults}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly mode?: Mode | undefined
  /** Default acquisition timeout; `Duration.infinity` for none. */
  readonly timeout?: Duration.DurationInput | undefined
  readonly metrics?: boolean | undefined
  readonly sites?: Sites | undefined
  /** Deadlock detection; each field falls back to its default. */
  readonly detection?: {
    readonly potential?: PotentialReaction | undefined
    readonly actual?: ActualReaction | undefined
  } | undefined
}

/**
 * Builds settings from options, falling back to {@link defaults} field by field.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockConfig } from "@core-stability/locks"
 *
 * const relaxed = Effect.provideService(LockConfig.LockConfig, LockConfig.settings({ mode: "warn" }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const settings = (options: Options): Settings => ({
  mode: options.mode ?? defaults.mode,
  timeout: options.timeout === undefined ? defaults.timeout : Duration.decode(options.timeout),
  metrics: options.metrics ?? defaults.metrics,
  sites: options.sites ?? defaults.sites,
  detection: options.detection === undefined ? defaults.detection : {
    potential: options.detection.potential ?? defaults.detection.potential,
    actual: options.detection.actual ?? defaults.detection.actual
  }
})

/**
 * A Layer that sets the lock configuration for everything it is provided to.
 *
 * @example
 * ```ts
 * import { LockConfig } from "@core-stability/locks"
 *
 * // plain locks, no metrics: for hot paths where the order has been verified in tests
 * const Production = LockConfig.layer({ mode: "off", metrics: false })
 * // development: learned lock-order graph, failing on the first potential deadlock
 * const Dev = LockConfig.layer({ mode: "warn", detection: { potential: "fail" } })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<never> => Layer.succeed(LockConfig, settings(options))
