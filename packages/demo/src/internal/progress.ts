/**
 * The live progress bar (on stderr, only when it is a terminal): frames captured, the state of every component in the
 * `ComponentCoordinator`, the segments found so far and the recovery episodes.
 *
 * @since 0.1.0
 */
import cliProgress from "cli-progress"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Progress } from "./pipeline.js"

/** The `ComponentCoordinator` states, short: `Error` is a component a recovery episode is bringing back. */
const short: Readonly<Record<string, string>> = {
  Uninitialized: "wait",
  Idle: "idle",
  Initializing: "init",
  Initiating: "init",
  Running: "run",
  Paused: "pause",
  Stopping: "stop",
  StoppingCapture: "stop",
  Stopped: "done",
  Error: "RECOVER"
}

/** `capture run | left: proc run, write run | right: ...` */
const describeStages = (progress: Progress): string => {
  const status = (stage: string) => short[progress.stages[stage] ?? "Uninitialized"] ?? "?"
  const channels = Object.keys(progress.segments).map((channel) =>
    `${channel}: proc ${status(`processor-${channel}`)}, write ${status(`writer-${channel}`)}, ` +
    `${progress.segments[channel]} seg`
  )
  return [`capture ${status("capture")}`, ...channels, `recoveries ${progress.recoveries}`].join(" | ")
}

/**
 * A progress callback for the pipeline that draws a bar on stderr, and stops the bar (leaving its last state on
 * screen) when the scope closes. Draws nothing when stderr is not a terminal.
 */
export const make: Effect.Effect<(progress: Progress) => Effect.Effect<void>, never, Scope.Scope> = Effect.gen(
  function*() {
    const bar = new cliProgress.SingleBar(
      {
        format: "{bar} {percentage}% {value}/{total} frames | {stages}",
        barsize: 24,
        stream: process.stderr,
        hideCursor: true,
        fps: 10
      },
      cliProgress.Presets.shades_classic
    )
    let started = false
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        if (started) bar.stop()
      })
    )
    return (progress: Progress) =>
      Effect.sync(() => {
        const payload = { stages: describeStages(progress) }
        if (!started) {
          started = true
          bar.start(progress.totalFrames, progress.captured, payload)
        } else {
          bar.update(progress.captured, payload)
        }
      })
  }
)
