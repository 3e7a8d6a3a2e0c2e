import { makeRunMain, type Teardown } from "@effect/platform/Runtime"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import { constVoid, dual } from "effect/Function"
import * as Runtime from "effect/Runtime"
import * as CleanupCoordinator from "../CleanupCoordinator.js"
import { CleanupFailedError, isCleanupFailedError } from "../CleanupError.js"
import type * as CleanupMain from "../CleanupMain.js"
import type { CleanupReport } from "../CleanupReport.js"
import { render } from "./report.js"

const signalCodes = { SIGINT: 130, SIGTERM: 143 } as const

type Signal = keyof typeof signalCodes

/** @internal */
export const defaultHardDeadlineMs = 30_000

/** @internal */
export const exitCode = (exit: Exit.Exit<unknown, unknown>, signal: Signal | undefined): number => {
  if (Exit.isSuccess(exit)) return signal === undefined ? 0 : signalCodes[signal]
  if (Array.from(Cause.defects(exit.cause)).some(isCleanupFailedError)) return 1
  return Cause.isInterruptedOnly(exit.cause) ? (signal === undefined ? 0 : signalCodes[signal]) : 1
}

const write = (line: string) => {
  process.stderr.write(`[cleanup] ${line}\n`)
}

/** @internal */
export const runMain = dual<
  (
    options?: CleanupMain.RunMainOptions | undefined
  ) => <A, E>(effect: Effect.Effect<A, E, CleanupCoordinator.CleanupCoordinator>) => void,
  <A, E>(
    effect: Effect.Effect<A, E, CleanupCoordinator.CleanupCoordinator>,
    options?: CleanupMain.RunMainOptions | undefined
  ) => void
>((args) => Effect.isEffect(args[0]), (effect, options) => {
  const hardDeadlineMs = options?.hardDeadline === undefined
    ? defaultHardDeadlineMs
    : Duration.toMillis(Duration.decode(options.hardDeadline))
  const coordinatorOptions: CleanupCoordinator.Options = {
    ...options?.coordinator,
    deadline: options?.coordinator?.deadline ?? Math.floor(hardDeadlineMs * 0.9)
  }
  let coordinator: CleanupCoordinator.CleanupCoordinator | undefined
  let runtime: Runtime.Runtime<never> | undefined
  let signal: Signal | undefined
  // the program starts only once the signal handlers are installed (runFork starts it synchronously)
  const installed = Deferred.unsafeMake<void>(FiberId.none)
  const program = Effect.scoped(Effect.gen(function*() {
    yield* Deferred.await(installed)
    const made = yield* CleanupCoordinator.make(coordinatorOptions)
    runtime = yield* Effect.runtime<never>()
    coordinator = made
    return yield* Effect.provideService(effect, CleanupCoordinator.CleanupCoordinator, made)
  }))
  // once the main fiber is interrupted, runMain's own error reporting no longer runs: report a failed run here
  const reportFailure = (shutdown: Effect.Effect<CleanupReport, unknown>) =>
    Effect.exit(Effect.tap(shutdown, (report) =>
      report.status === "Failed" && options?.disableErrorReporting !== true
        ? Effect.logError(`${new CleanupFailedError({ report }).message}\n${render(report)}`)
        : Effect.void))
  const teardown: Teardown = (exit, onExit) => onExit(exitCode(exit, signal))
  makeRunMain(({ fiber, teardown }) => {
    const keepAlive = setInterval(constVoid, 2 ** 31 - 1)
    let hardDeadline: ReturnType<typeof setTimeout> | undefined
    const interruptMain = () => fiber.unsafeInterruptAsFork(fiber.id())
    const onSignal = (received: Signal) => {
      if (signal !== undefined) {
        write(`second ${received}: exiting without waiting for cleanup`)
        process.exit(signalCodes[received])
      }
      signal = received
      hardDeadline = setTimeout(() => {
        write(`cleanup did not finish within the hard deadline of ${hardDeadlineMs} ms: forcing exit`)
        process.exit(1)
      }, hardDeadlineMs)
      if (coordinator === undefined || runtime === undefined) {
        interruptMain()
      } else {
        Runtime.runFork(runtime)(Effect.ensuring(reportFailure(coordinator.shutdown), Effect.sync(interruptMain)))
      }
    }
    const onSigint = () => onSignal("SIGINT")
    const onSigterm = () => onSignal("SIGTERM")
    process.on("SIGINT", onSigint)
    process.on("SIGTERM", onSigterm)
    Deferred.unsafeDone(installed, Exit.void)
    fiber.addObserver((exit) => {
      clearInterval(keepAlive)
      teardown(exit, (code) => {
        if (hardDeadline !== undefined) clearTimeout(hardDeadline)
        process.removeListener("SIGINT", onSigint)
        process.removeListener("SIGTERM", onSigterm)
        if (signal !== undefined || code !== 0) process.exit(code)
      })
    })
  })(program, {
    disableErrorReporting: options?.disableErrorReporting,
    disablePrettyLogger: options?.disablePrettyLogger,
    teardown
  })
})
