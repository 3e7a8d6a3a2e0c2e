#!/usr/bin/env node
/**
 * The `demo` executable: runs the command line and owns the process, its signals and its exit code.
 *
 * The first SIGINT or SIGTERM stops capture; the frames already captured are processed and written, the outputs
 * finalised, `report.json` written with status `interrupted`, and the process exits 130 (SIGINT) or 143 (SIGTERM).
 * A second signal interrupts the run at once (its WAV files are still finalised by their scopes); a third exits
 * immediately.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Cli from "./internal/cli.js"
import * as Demo from "./internal/demo.js"

const stop = Deferred.unsafeMake<Demo.StopSignalName>(FiberId.none)
const layer = Layer.mergeAll(
  NodeFileSystem.layer,
  NodePath.layer,
  NodeTerminal.layer,
  Layer.succeed(Demo.StopSignal, stop)
)
const fiber = Effect.runFork(Effect.provide(Cli.run(process.argv), layer))

let signals = 0
let lastSignal: Demo.StopSignalName = "SIGINT"
const onSignal = (signal: Demo.StopSignalName) => {
  signals++
  lastSignal = signal
  if (signals === 1) {
    Effect.runSync(Deferred.succeed(stop, signal))
  } else if (signals === 2) {
    process.stderr.write(`demo: second ${signal}, stopping without draining the queues\n`)
    Effect.runFork(Fiber.interrupt(fiber))
  } else {
    process.exit(Demo.ExitCode[signal])
  }
}
const onSigint = () => onSignal("SIGINT")
const onSigterm = () => onSignal("SIGTERM")
process.on("SIGINT", onSigint)
process.on("SIGTERM", onSigterm)

fiber.addObserver((exit) => {
  process.off("SIGINT", onSigint)
  process.off("SIGTERM", onSigterm)
  if (Exit.isSuccess(exit)) {
    process.exitCode = exit.value
  } else if (Exit.isInterrupted(exit)) {
    process.exitCode = Demo.ExitCode[lastSignal]
  } else {
    process.stderr.write(`demo: unexpected failure\n${Cause.pretty(exit.cause)}\n`)
    process.exitCode = 1
  }
})
