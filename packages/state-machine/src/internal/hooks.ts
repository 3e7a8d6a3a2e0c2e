import type * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Runtime from "effect/Runtime"

/**
 * How one run of a hook (validator, invariant, compensation) ended.
 *
 * @internal
 */
export type Outcome<A> =
  | { readonly _tag: "Done"; readonly value: A }
  | { readonly _tag: "Failed"; readonly cause: Cause.Cause<unknown> }
  | { readonly _tag: "TimedOut" }

/** @internal */
export const done = <A>(value: A): Outcome<A> => ({ _tag: "Done", value })

/** @internal */
export const TRUE: Outcome<boolean> = done(true)
/** @internal */
export const FALSE: Outcome<boolean> = done(false)
/** @internal */
export const VOID: Outcome<void> = done(undefined)

const TIMED_OUT: Outcome<never> = { _tag: "TimedOut" }

/** @internal */
export const failed = (cause: Cause.Cause<unknown>): Outcome<never> => ({ _tag: "Failed", cause })

const ofExit = <A>(exit: Exit.Exit<A, unknown>): Outcome<A> =>
  exit._tag === "Success" ? done(exit.value) : failed(exit.cause)

/**
 * Builds a hook's effect, capturing a throw from the builder itself as a defect.
 *
 * @internal
 */
export const build = <A>(f: () => Effect.Effect<A, unknown>): Effect.Effect<A, unknown> => {
  try {
    return f()
  } catch (defect) {
    return Exit.die(defect)
  }
}

/**
 * Runs a hook's effect and reports how it ended, never failing.
 *
 * Cost is kept off the transition hot path in three steps: an effect that is already a value (`Effect.succeed`,
 * `Effect.fail`, an `Exit`) is read without running anything; an effect with no timeout that need not be isolated
 * runs inline in the caller's fiber; otherwise it starts at once in its own fiber, and when
 * that fiber finishes synchronously no timer is armed; only an effect that suspends is awaited, with one timer fiber
 * sleeping on the machine's `Clock` (so `TestClock` drives it). The hook is interrupted when the timer fires and when
 * the caller is interrupted.
 *
 * The hook is a root fiber (it is not supervised by the caller), so nothing but this function interrupts it: starting
 * it, arming the timer and installing the canceller happen in one uninterruptible region, and only the wait is
 * interruptible. An interruption of the caller at any step therefore either comes before the hook exists or runs the
 * canceller (`Effect.async` alone would not do: its canceller is installed one step after its `register` ran).
 *
 * @internal
 */
export const run = <A>(
  effect: Effect.Effect<A, unknown>,
  timeoutMs: number,
  clock: Clock.Clock,
  isolate: boolean
): Effect.Effect<Outcome<A>> => {
  if (Exit.isExit(effect)) return Exit.succeed(ofExit(effect as Exit.Exit<A, unknown>))
  if (!isolate && !Number.isFinite(timeoutMs)) return Effect.map(Effect.exit(effect), ofExit)
  return Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<Outcome<A>>((parent) => {
      const runtime = Runtime.make({
        context: parent.getFiberRef(FiberRef.currentContext),
        fiberRefs: parent.getFiberRefs(),
        runtimeFlags: Runtime.defaultRuntimeFlags
      })
      const hook = Runtime.runFork(runtime)(effect)
      const exit = hook.unsafePoll()
      if (exit !== null) return Exit.succeed(ofExit(exit))
      const timer: Fiber.RuntimeFiber<void> | undefined = Number.isFinite(timeoutMs)
        ? Runtime.runFork(runtime)(clock.sleep(Duration.millis(timeoutMs)))
        : undefined
      let settled = false
      const cancel = Effect.sync(() => {
        settled = true
        hook.unsafeInterruptAsFork(parent.id())
        timer?.unsafeInterruptAsFork(parent.id())
      })
      const wait = Effect.async<Outcome<A>>((resume) => {
        const onExit = (exit: Exit.Exit<A, unknown>) => {
          if (settled) return
          settled = true
          timer?.unsafeInterruptAsFork(parent.id())
          resume(Exit.succeed(ofExit(exit)))
        }
        hook.addObserver(onExit)
        timer?.addObserver((timerExit) => {
          if (settled || timerExit._tag === "Failure") return
          settled = true
          hook.removeObserver(onExit)
          hook.unsafeInterruptAsFork(parent.id())
          resume(Exit.succeed(TIMED_OUT))
        })
      })
      return Effect.onInterrupt(restore(wait), () => cancel)
    })
  )
}
