/**
 * Fault injection at named points: the code under test calls `FaultInjector.point("writer")` where a fault could
 * strike; a test (or the demo) decides per point whether it fails, dies, is interrupted or is delayed, always, on the
 * Nth hit, or with a seeded probability.
 *
 * Without an installed injector (production, or a test that configures nothing) a point is a context lookup and a
 * shared `Effect.void`: no allocation, no counting. An installed injector counts every hit per point and logs every
 * fault it fires, so a test can assert that a recovery path ran. Probabilistic faults draw from one seeded generator
 * per point, so a point's decisions do not depend on how hits of other points interleave, and the same seed fires
 * the same faults; combine with `Explore` to make the interleaving reproducible too.
 *
 * The design follows Netflix's Chaos Monkey / FIT failure injection points and the `fail` crate's named fail points
 * in Rust (`FAILPOINTS=name=action` spec strings), which the spec syntax of `parse` mirrors.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import * as internal from "./internal/faultInjector.js"

/**
 * What a fault does when it fires.
 *
 * - `"fail"`: the point fails with an `InjectedFault` (carrying the configured `error`).
 * - `"die"`: the point dies with an `InjectedFault` (a defect).
 * - `"interrupt"`: the point interrupts the calling fiber.
 * - `"delay"`: the point sleeps for `delay` (virtual time under `TestClock`).
 *
 * @since 0.1.0
 * @category models
 */
export type FaultKind = "fail" | "die" | "interrupt" | "delay"

/**
 * One point's fault.
 *
 * - `kind`: see `FaultKind`.
 * - `nth`: fire on this hit only (1-based). Without it, every hit may fire.
 * - `probability` (in `[0, 1]`): fire with this probability, drawn from the point's seeded generator. Without it,
 *   a hit that passes `nth` always fires.
 * - `error`: carried by the `InjectedFault` of a `fail` or `die` (for example `"io-error"` or an error value).
 * - `delay`: required for `delay`, a finite duration.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultConfig {
  readonly kind: FaultKind
  readonly probability?: number | undefined
  readonly nth?: number | undefined
  readonly error?: unknown
  readonly delay?: Duration.DurationInput | undefined
}

/**
 * Faults by point name.
 *
 * @since 0.1.0
 * @category models
 */
export type Faults = { readonly [point: string]: FaultConfig }

/**
 * A fault read from a spec string (`parse`, `FaultSpec`): a `FaultConfig` whose delay is a `Duration`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ParsedFault {
  readonly kind: FaultKind
  readonly probability?: number | undefined
  readonly nth?: number | undefined
  readonly error?: unknown
  readonly delay?: Duration.Duration | undefined
}

/**
 * Parsed faults by point name.
 *
 * @since 0.1.0
 * @category models
 */
export type ParsedFaults = { readonly [point: string]: ParsedFault }

/**
 * Options of an injector: the `seed` of its probabilistic faults (default 0, a safe integer) and the `faults` by
 * point name.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly seed?: number | undefined
  readonly faults?: Faults | undefined
}

/**
 * A fault that fired: the `point`, what it did (`kind`) and on which `hit` of that point (1-based).
 *
 * @since 0.1.0
 * @category models
 */
export interface FiredFault {
  readonly point: string
  readonly kind: FaultKind
  readonly hit: number
}

/**
 * The failure (for `"fail"`) or defect (for `"die"`) of a point whose fault fired: the `point`, the `kind`, the
 * `hit` (1-based) and the configured `error`.
 *
 * @since 0.1.0
 * @category errors
 */
export interface InjectedFault extends Cause.YieldableError {
  readonly _tag: "InjectedFault"
  readonly point: string
  readonly kind: "fail" | "die"
  readonly hit: number
  readonly error: unknown
}

/**
 * @since 0.1.0
 * @category errors
 */
export const InjectedFault: new(args: {
  readonly point: string
  readonly kind: "fail" | "die"
  readonly hit: number
  readonly error: unknown
}) => InjectedFault = internal.InjectedFault

/**
 * @since 0.1.0
 * @category guards
 */
export const isInjectedFault: (u: unknown) => u is InjectedFault = internal.isInjectedFault

/**
 * An invalid fault configuration or spec string: the whole `spec` (or `"FaultInjector options"` for the
 * programmatic API), the offending `token` (a spec entry, a point name, or `"seed"`) and the `reason`. The message
 * names the token.
 *
 * @since 0.1.0
 * @category errors
 */
export interface FaultSpecError extends Cause.YieldableError {
  readonly _tag: "FaultSpecError"
  readonly spec: string
  readonly token: string
  readonly reason: string
}

/**
 * @since 0.1.0
 * @category errors
 */
export const FaultSpecError: new(args: {
  readonly spec: string
  readonly token: string
  readonly reason: string
}) => FaultSpecError = internal.FaultSpecError

/**
 * @since 0.1.0
 * @category guards
 */
export const isFaultSpecError: (u: unknown) => u is FaultSpecError = internal.isFaultSpecError

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace FaultInjector {
  /**
   * The injector's interface.
   *
   * - `point(name)`: counts a hit of `name` and runs its fault if one fires.
   * - `hits`: hits per point so far (points never hit are absent).
   * - `fired`: every fault that fired, in order.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly point: (name: string) => Effect.Effect<void, InjectedFault>
    readonly hits: Effect.Effect<ReadonlyMap<string, number>>
    readonly fired: Effect.Effect<ReadonlyArray<FiredFault>>
  }
}

/**
 * The injector in use. A `Context.Reference` whose default is `none`, so code that calls `point` requires nothing
 * and pays nothing until a test installs an injector with `layer`.
 *
 * @since 0.1.0
 * @category services
 */
export type FaultInjector = internal.FaultInjectorTag

/**
 * @since 0.1.0
 * @category services
 */
export const FaultInjector: typeof internal.FaultInjectorTag = internal.FaultInjectorTag

/**
 * The injector that never fires and counts nothing (the default).
 *
 * @since 0.1.0
 * @category constructors
 */
export const none: FaultInjector.Service = internal.none

/**
 * Makes an injector. Fails with `FaultSpecError` for a bad seed, an empty point name, a probability outside
 * `[0, 1]`, an `nth` below 1, or a `delay` fault without a finite delay.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<FaultInjector.Service, FaultSpecError> = internal.make

/**
 * Makes an injector synchronously. Throws the `FaultSpecError` that `make` would fail with.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: (options?: Options) => FaultInjector.Service = internal.unsafeMake

/**
 * Installs an injector.
 *
 * @example
 * ```ts
 * import { Effect, Either } from "effect"
 * import { FaultInjector } from "@core-stability/testing"
 *
 * const write = FaultInjector.point("writer")
 *
 * const program = Effect.gen(function*() {
 *   yield* write
 *   yield* write
 *   const third = yield* Effect.either(write)
 *   assert.ok(Either.isLeft(third) && third.left.hit === 3 && third.left.error === "io-error")
 *   assert.strictEqual((yield* FaultInjector.hits).get("writer"), 3)
 *   assert.deepStrictEqual(yield* FaultInjector.fired, [{ point: "writer", kind: "fail", hit: 3 }])
 * }).pipe(
 *   Effect.provide(FaultInjector.layer({ seed: 7, faults: { writer: { kind: "fail", nth: 3, error: "io-error" } } }))
 * )
 *
 * Effect.runPromise(program)
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (options?: Options) => Layer.Layer<FaultInjector, FaultSpecError> = internal.layer

/**
 * Installs an injector from a spec string (see `parse`) and a seed, as the demo's `--faults` and `--seed` flags do.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromSpec: (
  spec: string,
  options?: { readonly seed?: number | undefined }
) => Layer.Layer<FaultInjector, FaultSpecError> = internal.layerFromSpec

/**
 * A named fault point. Code under test runs it where a fault could strike; it succeeds with nothing unless the
 * installed injector fires a fault there (failing with `InjectedFault`, dying, interrupting or sleeping).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FaultInjector } from "@core-stability/testing"
 *
 * const beforeFlush = FaultInjector.point("writer-right")
 *
 * const flush = (bytes: Uint8Array) =>
 *   beforeFlush.pipe(
 *     Effect.mapError((fault) => new Error(`flush failed on hit ${fault.hit}: ${String(fault.error)}`)),
 *     Effect.as(bytes.length)
 *   )
 *
 * // without an installed injector the point does nothing
 * Effect.runPromise(flush(new Uint8Array(3))).then((n) => assert.strictEqual(n, 3))
 *
 * // with one, the first flush fails
 * const faulty = FaultInjector.layerFromSpec("writer-right:io-error@n=1")
 * Effect.runPromise(Effect.flip(Effect.provide(flush(new Uint8Array(3)), faulty))).then((error) =>
 *   assert.strictEqual(error.message, "flush failed on hit 1: io-error")
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const point: (name: string) => Effect.Effect<void, InjectedFault> = internal.point

/**
 * Hits per point of the installed injector (empty for `none`).
 *
 * @since 0.1.0
 * @category getters
 */
export const hits: Effect.Effect<ReadonlyMap<string, number>> = internal.hits

/**
 * Every fault the installed injector fired, in order (empty for `none`).
 *
 * @since 0.1.0
 * @category getters
 */
export const fired: Effect.Effect<ReadonlyArray<FiredFault>> = internal.fired

/**
 * The spec string format as a Schema, decoding a string into `ParsedFaults`; decode failures name the bad token.
 *
 * ```text
 * spec    = entry ("," entry)*            (blank spec: no faults)
 * entry   = point ":" fault ("@" trigger)*
 * point   = [A-Za-z0-9_.-/]+
 * fault   = "fail" | "error" | <name> "-error"   (fail; the token becomes the error)
 *         | "die" | "crash"                      (die)
 *         | "interrupt"
 *         | "delay=" <n> ("ms" | "s" | "m")
 * trigger = "p=" <probability in [0, 1]> | "n=" <hit, an integer >= 1>
 * ```
 *
 * For example `processor-left:crash@p=0.01,writer-right:io-error@n=3,cache:delay=250ms`.
 *
 * @since 0.1.0
 * @category models
 */
export const FaultSpec: Schema.Schema<ParsedFaults, string> = internal.FaultSpec

/**
 * Parses a spec string (format in `FaultSpec`), failing with a `FaultSpecError` that names the first bad token.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FaultInjector } from "@core-stability/testing"
 *
 * Effect.runPromise(FaultInjector.parse("processor-left:crash@p=0.01,writer-right:io-error@n=3")).then((faults) =>
 *   assert.deepStrictEqual(faults, {
 *     "processor-left": { kind: "die", error: "crash", probability: 0.01 },
 *     "writer-right": { kind: "fail", error: "io-error", nth: 3 }
 *   })
 * )
 *
 * // a bad token is a FaultSpecError that names it
 * Effect.runPromise(Effect.flip(FaultInjector.parse("writer:explode"))).then((error) => {
 *   assert.strictEqual(error._tag, "FaultSpecError")
 *   assert.strictEqual(error.token, "writer:explode")
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse: (spec: string) => Effect.Effect<ParsedFaults, FaultSpecError> = internal.parse
