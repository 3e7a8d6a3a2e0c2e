import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import type * as Watchdog from "../Watchdog.js"
import { describeLive, FiberTracker } from "./fiberTracker.js"

/** @internal */
export class DiagnosticsProbes extends Context.Reference<DiagnosticsProbes>()(
  "@core-stability/testing/DiagnosticsProbes",
  { defaultValue: (): ReadonlyArray<Watchdog.DiagnosticsProbe> => [] }
) {}

/** @internal */
export const layer = (probes: ReadonlyArray<Watchdog.DiagnosticsProbe>): Layer.Layer<DiagnosticsProbes> =>
  Layer.effect(DiagnosticsProbes, Effect.map(DiagnosticsProbes, (installed) => [...installed, ...probes]))

/** @internal */
export const defaultIdle: Duration.DurationInput = Duration.seconds(2)

const indent = (text: string): string => text.split("\n").map((line) => `    ${line}`).join("\n")

/** @internal */
export class DeadlockDetected extends Data.TaggedError("DeadlockDetected")<{
  readonly idleMillis: number
  readonly fibers: ReadonlyArray<string>
  readonly diagnostics: ReadonlyArray<Watchdog.Diagnostic>
}> {
  override get message(): string {
    const fibers = this.fibers.map((line) => `  ${line}`).join("\n")
    const diagnostics = this.diagnostics.map((d) => `\n  ${d.name}:\n${indent(d.report)}`).join("")
    return `watchdog: no progress for ${this.idleMillis} ms; ${this.fibers.length} fiber(s) alive, none running:\n` +
      fibers + diagnostics
  }
}

/** @internal */
export const isDeadlockDetected = (u: unknown): u is Watchdog.DeadlockDetected =>
  Predicate.isTagged(u, "DeadlockDetected")

/**
 * Resumes once the tracked fibers have all been suspended, with no start, resume, suspension or exit among them, for
 * `idleMillis` of real time. Real timers on purpose: under `TestClock` virtual time never moves by itself, which is
 * exactly the hang the watchdog is there to catch.
 */
const stalled = (tracker: FiberTracker, idleMillis: number): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const interval = Math.max(1, Math.min(50, Math.floor(idleMillis / 5)))
    let seen = tracker.progress
    let quietSince = Date.now()
    let handle: ReturnType<typeof setTimeout>
    const tick = () => {
      const now = Date.now()
      if (tracker.progress !== seen || !tracker.idle || tracker.live.size === 0) {
        seen = tracker.progress
        quietSince = now
      } else if (now - quietSince >= idleMillis) {
        resume(Effect.void)
        return
      }
      handle = setTimeout(tick, interval)
    }
    handle = setTimeout(tick, interval)
    return Effect.sync(() => clearTimeout(handle))
  })

const collectDiagnostics = (
  probes: ReadonlyArray<Watchdog.DiagnosticsProbe>
): Effect.Effect<Array<Watchdog.Diagnostic>> =>
  Effect.forEach(probes, (probe) =>
    Effect.map(
      Effect.catchAllCause(probe.report, (cause) => Effect.succeed(`(the probe failed: ${Cause.pretty(cause)})`)),
      (report) => ({ name: probe.name, report })
    ))

/** @internal */
export const watch: {
  (
    options?: Watchdog.Options
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | Watchdog.DeadlockDetected, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    options?: Watchdog.Options
  ): Effect.Effect<A, E | Watchdog.DeadlockDetected, R>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    options?: Watchdog.Options
  ): Effect.Effect<A, E | Watchdog.DeadlockDetected, R> =>
    Effect.suspend(() => {
      const idleMillis = Duration.toMillis(Duration.decode(options?.idle ?? defaultIdle))
      if (!(idleMillis > 0) || !Number.isFinite(idleMillis)) {
        return Effect.dieSync(() =>
          new Cause.IllegalArgumentException(`Watchdog: idle must be a positive, finite duration, got ${idleMillis} ms`)
        )
      }
      const tracker = new FiberTracker()
      return Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.supervised(Effect.forkDaemon(restore(self)), tracker)
          const outcome = Effect.gen(function*() {
            const finished = yield* restore(
              Effect.race(Effect.as(Fiber.await(fiber), true), Effect.as(stalled(tracker, idleMillis), false))
            )
            if (finished) {
              return yield* Fiber.join(fiber)
            }
            const fibers = yield* describeLive(tracker)
            const installed = yield* DiagnosticsProbes
            const diagnostics = yield* collectDiagnostics([...installed, ...(options?.probes ?? [])])
            return yield* new DeadlockDetected({ idleMillis, fibers, diagnostics })
          })
          return yield* Effect.ensuring(outcome, Fiber.interruptFork(fiber))
        })
      )
    })
)
