/**
 * The demo's pipeline: capture -> per-channel processor -> per-channel writer, each stage a supervised worker fiber,
 * connected by bounded queues; faults from the installed `FaultInjector` are recovered by `RecoveryCoordinator`
 * episodes, and the run ends through the `CleanupCoordinator`.
 *
 * The stages are built from three stage objects that do not know how they are orchestrated (a frame source, a
 * processor step, a writer step), so a supervisor can replace {@link run}'s wiring without touching them:
 *
 * - {@link makeCapture}: the next frame, optionally paced to real time, resumable from any sequence number;
 * - {@link makeProcessor}: one channel's voice activity detection with a checkpoint/restore of its state;
 * - `WavWriter`: one channel's output, idempotent by sequence number.
 *
 * @since 0.1.0
 */
import * as CleanupCoordinator from "@core-stability/cleanup/CleanupCoordinator"
import type * as CleanupReport from "@core-stability/cleanup/CleanupReport"
import * as SystemVerifier from "@core-stability/monitoring/SystemVerifier"
import * as VerificationReport from "@core-stability/monitoring/VerificationReport"
import * as MemoryFileSystem from "@core-stability/recovery/MemoryFileSystem"
import * as RecoveryCoordinator from "@core-stability/recovery/RecoveryCoordinator"
import * as RecoveryLogger from "@core-stability/recovery/RecoveryLogger"
import * as FaultInjector from "@core-stability/testing/FaultInjector"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import type * as FaultSpec from "../FaultSpec.js"
import { channelFrame, channelNames } from "../Frame.js"
import type { ChannelFrame, ChannelName, Frame, FrameSequenceGap } from "../Frame.js"
import * as Vad from "../Vad.js"
import * as WavInput from "../WavInput.js"
import * as WavWriter from "../WavWriter.js"

/**
 * The capture stage's frame source: `next` yields frames in order (paced to real time if asked), `None` at the end.
 */
export interface Capture {
  readonly totalFrames: number
  readonly nextSeq: () => number
  readonly next: Effect.Effect<Option.Option<Frame>, WavInput.InputReadError>
}

/**
 * Opens the input for capture from frame `fromSeq`. With `realtime`, frame `k` is released no earlier than
 * `k - fromSeq` frame durations after the first one (480 samples at 16 kHz: 30 ms), as a sound card would.
 */
export const makeCapture = (
  header: WavInput.WavHeader,
  options: { readonly realtime: boolean; readonly fromSeq?: number | undefined }
): Effect.Effect<Capture, WavInput.InputReadError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const cursor = yield* WavInput.openFrames(header, { fromSeq: options.fromSeq })
    if (!options.realtime) {
      return { totalFrames: cursor.totalFrames, nextSeq: cursor.nextSeq, next: cursor.next }
    }
    const frameMs = (cursor.frameSamples * 1000) / header.sampleRate
    const firstSeq = cursor.nextSeq()
    let startedAt: number | undefined
    const next = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      if (startedAt === undefined) {
        startedAt = now
      }
      const due = startedAt + (cursor.nextSeq() - firstSeq) * frameMs
      if (due > now) {
        yield* Effect.sleep(due - now)
      }
      return yield* cursor.next
    })
    return { totalFrames: cursor.totalFrames, nextSeq: cursor.nextSeq, next }
  })

/**
 * One channel's processor: voice activity detection over its frames.
 *
 * - `process`: feeds a frame (re-deliveries are ignored) and returns the segments it closed;
 * - `finish`: closes a segment still open at the end of the input;
 * - `checkpoint` / `restore`: the detector's state as a plain value, for a restart to resume from;
 * - `segments`: every segment found so far, in order.
 */
export interface Processor {
  readonly channel: ChannelName
  readonly process: (frame: ChannelFrame) => Effect.Effect<ReadonlyArray<Vad.Segment>, FrameSequenceGap>
  readonly finish: Effect.Effect<ReadonlyArray<Vad.Segment>>
  readonly checkpoint: Effect.Effect<Vad.VadState>
  readonly restore: (state: Vad.VadState) => Effect.Effect<void>
  readonly segments: Effect.Effect<ReadonlyArray<Vad.Segment>>
}

/** A processor for `channel` starting from a fresh detector. */
export const makeProcessor = (
  channel: ChannelName,
  sampleRate: number,
  config?: Vad.VadConfig | undefined
): Effect.Effect<Processor> =>
  Effect.gen(function*() {
    const state = yield* Ref.make(Vad.initial({ channel, sampleRate, config }))
    const found = yield* Ref.make<ReadonlyArray<Vad.Segment>>([])
    const record = (segments: ReadonlyArray<Vad.Segment>) =>
      segments.length === 0
        ? Effect.succeed(segments)
        : Effect.as(Ref.update(found, (all) => [...all, ...segments]), segments)
    return {
      channel,
      process: (frame) =>
        Ref.modify(
          state,
          (current): readonly [Either.Either<ReadonlyArray<Vad.Segment>, FrameSequenceGap>, Vad.VadState] => {
            const result = Vad.step(current, frame)
            return Either.isLeft(result)
              ? [Either.left(result.left), current]
              : [Either.right(result.right.segments), result.right.state]
          }
        ).pipe(Effect.flatMap((result) => Either.match(result, { onLeft: Effect.fail, onRight: record }))),
      finish: Ref.modify(state, (current) => {
        const result = Vad.flush(current)
        return [result.segments, result.state] as const
      }).pipe(Effect.flatMap(record)),
      checkpoint: Ref.get(state),
      restore: (restored) => Ref.set(state, restored),
      segments: Ref.get(found)
    }
  })

/** Frames put into and taken out of one bounded queue; `dropped` counts frames a full queue refused (never here). */
export interface QueueCounters {
  readonly name: string
  readonly capacity: number
  readonly put: number
  readonly taken: number
  readonly dropped: number
}

/** The lifecycle of a stage fiber in this pipeline. */
export type StageStatus = "waiting" | "running" | "recovering" | "finished" | "stopped"

/** A change of a component's state, at `atMs` since the run started. */
export interface StateChange {
  readonly component: string
  readonly state: StageStatus
  readonly atMs: number
}

/** A snapshot of a running pipeline, for a progress display. */
export interface Progress {
  readonly totalFrames: number
  readonly captured: number
  readonly written: Readonly<Record<string, number>>
  readonly segments: Readonly<Record<string, number>>
  readonly stages: Readonly<Record<string, StageStatus>>
  readonly recoveries: number
}

/**
 * A stage that did not come back from a fault point within the watchdog's timeout (a `hang` fault): the supervisor
 * treats it as a failed component and recovers it.
 */
export class StageHung extends Data.TaggedError("StageHung")<{ readonly point: string; readonly afterMs: number }> {
  override get message(): string {
    return `${this.point} did not respond within ${this.afterMs} ms`
  }
}

/** A component that failed more often than the supervisor's restart limit allows. */
export class RecoveryGaveUp extends Data.TaggedError("RecoveryGaveUp")<{
  readonly component: string
  readonly restarts: number
  readonly reason: string
}> {
  override get message(): string {
    return `${this.component} failed ${this.restarts + 1} times, giving up (last fault: ${this.reason})`
  }
}

/** One step of a recovery episode, in the order of the recovery state machine. */
export interface RecoveryStep {
  readonly name: "stop-capture" | "flush-buffers" | "reinitialise" | "verify" | "resume-capture"
  readonly durationMs: number
  readonly detail: string
}

/**
 * One recovery episode: which component failed, how (`crash` a defect, `io-error` a failure, `hang` the watchdog),
 * at which frame (`seq`, the frame in flight, re-delivered after the recovery), the steps, whether the component
 * was verified, and the time to recover (`mttrMs`, from detection to the component running again).
 */
export interface RecoveryEpisode {
  readonly id: number
  readonly component: string
  readonly fault: "crash" | "io-error" | "hang"
  readonly point: string
  readonly hit: number | null
  readonly seq: number | null
  readonly detectedAtMs: number
  readonly steps: ReadonlyArray<RecoveryStep>
  readonly recovered: boolean
  readonly mttrMs: number
}

/** Options of {@link run}. */
export interface RunOptions {
  readonly header: WavInput.WavHeader
  /** Directory the outputs (`left.wav`, `right.wav`) are written to; it must exist. */
  readonly dir: string
  readonly realtime: boolean
  /** Polled before each frame; once it yields `true` capture stops, and the frames captured are still written. */
  readonly shouldStop?: Effect.Effect<boolean> | undefined
  /** Frames each queue holds (default 64). */
  readonly queueCapacity?: number | undefined
  readonly vadConfig?: Vad.VadConfig | undefined
  /** Called every `progressIntervalMs` (default 100 ms) while the pipeline runs, and once at the end. */
  readonly onProgress?: ((progress: Progress) => Effect.Effect<void>) | undefined
  readonly progressIntervalMs?: number | undefined
  /**
   * The fault rules of the run: the points with a `hang` rule are watched (a hit of the point that takes
   * `watchdogMs` or more counts as a hung component). The faults themselves come from the installed `FaultInjector`.
   */
  readonly faults?: ReadonlyArray<FaultSpec.FaultRule> | undefined
  /** How long a hit of a watched fault point may take before its stage counts as hung (default 250 ms). */
  readonly watchdogMs?: number | undefined
  /** How many times one component may be recovered before the run fails (default 1000). */
  readonly maxRestarts?: number | undefined
}

/** What a run produced. `status` is `stopped` when `shouldStop` ended capture before the end of the input. */
export interface RunResult {
  readonly status: "completed" | "stopped"
  readonly channels: ReadonlyArray<ChannelName>
  readonly totalFrames: number
  readonly framesCaptured: number
  readonly writers: ReadonlyArray<WavWriter.WavWriterSummary>
  readonly segments: Readonly<Record<string, ReadonlyArray<Vad.Segment>>>
  readonly queues: ReadonlyArray<QueueCounters>
  readonly recoveries: ReadonlyArray<RecoveryEpisode>
  /** The components, with the components each one takes its frames from. */
  readonly components: ReadonlyArray<{ readonly name: string; readonly dependsOn: ReadonlyArray<string> }>
  /** Every change of a component's state, in order. */
  readonly history: ReadonlyArray<StateChange>
  /** The CleanupCoordinator's report of the shutdown that ended the run. */
  readonly cleanup: CleanupSummary
  /** Every fault the injector fired, with the kind of the rule that fired it. */
  readonly faultsFired: ReadonlyArray<FaultInjector.FiredFault & { readonly rule: FaultSpec.FaultKind }>
  /**
   * The `SystemVerifier`'s report at the end of the run, after the shutdown: the lock registry (no holder or waiter
   * that is not a live fiber), the history of every component's `Recovery` machine, and the demo's own `frames`
   * check (no writer ahead of capture).
   */
  readonly verification: VerificationReport.VerificationReport
  readonly elapsedMs: number
}

/** The CleanupCoordinator's report, as plain JSON. */
export interface CleanupSummary {
  readonly status: "Completed" | "Failed"
  readonly durationMs: number
  readonly executionOrder: ReadonlyArray<string>
  readonly steps: ReadonlyArray<{
    readonly name: string
    readonly phase: string
    readonly status: string
    readonly attempts: number
    readonly durationMs: number
  }>
}

const cleanupSummary = (report: CleanupReport.CleanupReport): CleanupSummary => ({
  status: report.status,
  durationMs: report.durationMs,
  executionOrder: report.executionOrder,
  steps: report.steps.map((step) => ({
    name: step.name,
    phase: step.effectivePhase,
    status: step.status,
    attempts: step.attempts,
    durationMs: step.durationMs
  }))
})

interface CountedQueue {
  readonly name: string
  readonly capacity: number
  readonly queue: Queue.Queue<Option.Option<ChannelFrame>>
  put: number
  taken: number
}

const makeQueue = (name: string, capacity: number): Effect.Effect<CountedQueue> =>
  Effect.map(Queue.bounded<Option.Option<ChannelFrame>>(capacity), (queue) => ({
    name,
    capacity,
    queue,
    put: 0,
    taken: 0
  }))

const offer = (q: CountedQueue, item: Option.Option<ChannelFrame>) =>
  Effect.map(Queue.offer(q.queue, item), () => {
    if (Option.isSome(item)) q.put++
  })

const take = (q: CountedQueue) =>
  Effect.map(Queue.take(q.queue), (item) => {
    if (Option.isSome(item)) q.taken++
    return item
  })

type Fault = FaultInjector.InjectedFault | StageHung

/** The injected fault or watchdog timeout behind a failed worker, if that is what stopped it. */
const faultOf = (cause: Cause.Cause<unknown>): Option.Option<Fault> => {
  if (Cause.isInterruptedOnly(cause)) return Option.none()
  const error = Cause.squash(cause)
  return FaultInjector.isInjectedFault(error) || error instanceof StageHung ? Option.some(error) : Option.none()
}

const faultName = (fault: Fault): RecoveryEpisode["fault"] =>
  fault._tag === "StageHung" ? "hang" : fault.kind === "die" ? "crash" : "io-error"

/**
 * Runs the pipeline over the input described by `header`, writing `left.wav` (and `right.wav` for a stereo input)
 * into `dir`. Every writer is finalised when the run ends, however it ends, so the files are valid WAV files even
 * after an interruption.
 *
 * Each stage is a supervised worker: a fault fired by the installed `FaultInjector` at the stage's point (before
 * capture reads a frame, before a processor handles one, after a writer wrote one) or a watchdog timeout stops the
 * worker, and the supervisor runs a recovery episode before it restarts it: stop capture, flush the channel's
 * buffers (the frames already handed downstream are written), reinitialise the component (capture reopens the input
 * at the next sequence number; a processor restores its last checkpoint; a writer resumes from its last written
 * sequence number), verify the sequence numbers line up, resume capture. The frame in flight is re-delivered: a
 * processor had not consumed it, a writer skips it as a duplicate, so no frame is lost or written twice.
 */
export const run = (
  options: RunOptions
): Effect.Effect<
  RunResult,
  WavInput.InputReadError | WavWriter.WavWriteError | FrameSequenceGap | Fault | RecoveryGaveUp,
  FileSystem.FileSystem
> =>
  Effect.scoped(Effect.gen(function*() {
    const { header } = options
    const startedAt = yield* Clock.currentTimeMillis
    const channels = channelNames(header.channels)
    const capacity = options.queueCapacity ?? 64
    const watchdogMs = options.watchdogMs ?? 250
    const maxRestarts = options.maxRestarts ?? 1000
    const rules = options.faults ?? []
    const ruleKind = new Map<string, FaultSpec.FaultKind>(rules.map((rule) => [rule.point, rule.kind]))
    const clock = yield* Effect.clock
    // The watchdog of a point with a `hang` rule: a hit that took `watchdogMs` or more means the stage hung. It
    // reads the clock around the hit (no timer or fiber per frame, which would double the cost of the stage).
    const faultPoint = (name: string): Effect.Effect<void, Fault> => {
      const point = FaultInjector.point(name)
      if (ruleKind.get(name) !== "hang") return point
      return Effect.suspend(() => {
        const enteredAt = clock.unsafeCurrentTimeMillis()
        return Effect.flatMap(point, () =>
          clock.unsafeCurrentTimeMillis() - enteredAt >= watchdogMs
            ? Effect.fail(new StageHung({ point: name, afterMs: watchdogMs }))
            : Effect.void)
      })
    }

    const runScope = yield* Effect.scope
    const openCapture = (fromSeq: number) =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(runScope, ExecutionStrategy.sequential)
        const opened = yield* makeCapture(header, { realtime: options.realtime, fromSeq }).pipe(
          Scope.extend(scope)
        )
        return { scope, capture: opened }
      })
    let current = yield* openCapture(0)
    const totalFrames = current.capture.totalFrames
    const capturePoint = faultPoint("capture")

    const stages: Record<string, StageStatus> = { capture: "waiting" }
    const history: Array<StateChange> = [{ component: "capture", state: "waiting", atMs: 0 }]
    const setStage = (component: string, state: StageStatus) => {
      stages[component] = state
      history.push({ component, state, atMs: clock.unsafeCurrentTimeMillis() - startedAt })
    }
    const lanes = yield* Effect.forEach(channels, (channel) =>
      Effect.gen(function*() {
        setStage(`processor-${channel}`, "waiting")
        setStage(`writer-${channel}`, "waiting")
        const processor = yield* makeProcessor(channel, header.sampleRate, options.vadConfig)
        return {
          channel,
          processor,
          checkpoint: yield* processor.checkpoint,
          writer: yield* WavWriter.make({
            path: `${options.dir}/${channel}.wav`,
            channel,
            sampleRate: header.sampleRate
          }),
          processorPoint: faultPoint(`processor-${channel}`),
          writerPoint: faultPoint(`writer-${channel}`),
          toProcessor: yield* makeQueue(`capture-${channel}`, capacity),
          toWriter: yield* makeQueue(`processor-${channel}`, capacity),
          processorInFlight: undefined as Option.Option<ChannelFrame> | undefined,
          writerInFlight: undefined as Option.Option<ChannelFrame> | undefined,
          segmentCount: 0
        }
      }))
    type Lane = typeof lanes[number]
    let captured = 0
    let stopped = false
    let captureInFlight = false
    let stopRequested = false
    const episodes: Array<RecoveryEpisode> = []

    // Capture is paused while a recovery episode stops it; `pauses` counts the episodes in progress.
    const gate = yield* Effect.makeLatch(true)
    let pauses = 0
    const pauseCapture = Effect.suspend(() => {
      pauses++
      return gate.close
    })
    const resumeCapture = Effect.suspend(() => {
      pauses--
      return pauses === 0 ? gate.open : Effect.void
    })

    const captureWorker = Effect.gen(function*() {
      while (true) {
        if (pauses > 0) {
          yield* gate.await
        }
        if (
          !captureInFlight &&
          (stopRequested || (options.shouldStop !== undefined && (yield* options.shouldStop)))
        ) {
          stopped = true
          break
        }
        captureInFlight = true
        yield* capturePoint
        const frame = yield* current.capture.next
        if (Option.isNone(frame)) {
          break
        }
        for (let i = 0; i < lanes.length; i++) {
          yield* offer(lanes[i]!.toProcessor, Option.some(channelFrame(frame.value, i)))
        }
        captured++
        captureInFlight = false
      }
      for (const lane of lanes) {
        yield* offer(lane.toProcessor, Option.none())
      }
    })

    const processorWorker = (lane: Lane) =>
      Effect.gen(function*() {
        while (true) {
          const item = lane.processorInFlight ?? (yield* take(lane.toProcessor))
          lane.processorInFlight = item
          if (Option.isNone(item)) {
            break
          }
          yield* lane.processorPoint
          lane.segmentCount += (yield* lane.processor.process(item.value)).length
          lane.checkpoint = yield* lane.processor.checkpoint
          yield* offer(lane.toWriter, item)
          lane.processorInFlight = undefined
        }
        lane.segmentCount += (yield* lane.processor.finish).length
        yield* offer(lane.toWriter, Option.none())
      })

    const writerWorker = (lane: Lane) =>
      Effect.gen(function*() {
        while (true) {
          const item = lane.writerInFlight ?? (yield* take(lane.toWriter))
          lane.writerInFlight = item
          if (Option.isNone(item)) {
            break
          }
          yield* lane.writer.write(item.value)
          // After the write: a fault here is a write whose acknowledgement was lost; the re-delivery is a duplicate.
          yield* lane.writerPoint
          lane.writerInFlight = undefined
        }
      })

    // Waits (briefly, at most `limitMs`) until a queue is empty: the frames already handed downstream are written.
    const drain = (q: CountedQueue, limitMs: number) =>
      Effect.gen(function*() {
        const t0 = yield* Clock.currentTimeMillis
        while ((yield* Queue.size(q.queue)) > 0 && (yield* Clock.currentTimeMillis) - t0 < limitMs) {
          yield* Effect.sleep(1)
        }
        return Math.max(0, yield* Queue.size(q.queue))
      })

    const seqOf = (item: Option.Option<ChannelFrame> | undefined) =>
      item !== undefined && Option.isSome(item) ? item.value.seq : null

    /**
     * One recovery episode's work for a component, phase by phase (run by the RecoveryCoordinator's steps):
     * stop capture, flush the buffers, reinitialise, verify (which resumes capture).
     */
    interface Episode {
      seq: number | null
      ok: boolean
      paused: boolean
      readonly details: Partial<Record<RecoveryStep["name"], string>>
    }
    const inProgress = new Map<string, Episode>()
    const episodeOf = (component: string): Episode => {
      let episode = inProgress.get(component)
      if (episode === undefined) {
        episode = { seq: null, ok: false, paused: false, details: {} }
        inProgress.set(component, episode)
      }
      return episode
    }
    const laneOf = (component: string) => {
      const [kind, channel] = component.split("-") as ["processor" | "writer", ChannelName]
      return { kind, lane: lanes.find((l) => l.channel === channel)! }
    }
    const resume = (episode: Episode) =>
      Effect.suspend(() => {
        if (!episode.paused) return Effect.void
        episode.paused = false
        episode.details["resume-capture"] = "capture resumed"
        return resumeCapture
      })

    const stopStep = (component: string) =>
      Effect.suspend(() => {
        const episode = episodeOf(component)
        if (component === "capture") {
          episode.seq = captured
          episode.details["stop-capture"] = "capture worker stopped by the fault"
          return Effect.void
        }
        const { kind, lane } = laneOf(component)
        episode.seq = seqOf(kind === "processor" ? lane.processorInFlight : lane.writerInFlight)
        episode.paused = true
        episode.details["stop-capture"] = "capture paused"
        return pauseCapture
      })

    const flushStep = (component: string) =>
      Effect.gen(function*() {
        const episode = episodeOf(component)
        if (component === "capture") {
          const left = yield* Effect.forEach(lanes, (lane) => drain(lane.toProcessor, 1000))
          episode.details["flush-buffers"] = `capture queues drained into the processors (${left.join(", ")} left)`
          return
        }
        const { kind, lane } = laneOf(component)
        if (kind === "processor") {
          const left = yield* drain(lane.toWriter, 1000)
          episode.details["flush-buffers"] = `processor-${lane.channel} queue drained into the writer (${left} left)`
        } else {
          episode.details["flush-buffers"] = `processor-${lane.channel} queue holds ` +
            `${yield* Queue.size(lane.toWriter.queue)} frames, kept for the restarted writer`
        }
      })

    const reinitStep = (component: string) =>
      Effect.gen(function*() {
        const episode = episodeOf(component)
        if (component === "capture") {
          const seq = captured
          yield* Scope.close(current.scope, Exit.void)
          current = yield* openCapture(seq)
          episode.details.reinitialise = `input reopened at frame ${seq}`
          return
        }
        const { kind, lane } = laneOf(component)
        if (kind === "processor") {
          yield* lane.processor.restore(lane.checkpoint)
          episode.details.reinitialise = `detector restored from its checkpoint at frame ${lane.checkpoint.nextSeq}`
        } else {
          episode.details.reinitialise = `writer resumes after frame ${(yield* lane.writer.nextSeq) - 1}`
        }
      })

    const verifyStep = (component: string) =>
      Effect.gen(function*() {
        const episode = episodeOf(component)
        const seq = episode.seq
        if (component === "capture") {
          episode.ok = current.capture.nextSeq() === seq
          episode.details.verify = `next frame ${current.capture.nextSeq()}, expected ${seq}`
        } else {
          const { kind, lane } = laneOf(component)
          const written = yield* lane.writer.nextSeq
          if (kind === "processor") {
            const restored = yield* lane.processor.checkpoint
            episode.ok = seq === null || (restored.nextSeq === seq && written <= seq)
            episode.details.verify = `detector expects frame ${restored.nextSeq}, writer at ${written}, ` +
              `re-delivering ${seq}`
          } else {
            episode.ok = seq === null || seq < written
            episode.details.verify = `frame ${seq} already on disk (writer at ${written}), its re-delivery is skipped`
          }
        }
        // The system-wide checks too (lock liveness, the recovery machines' histories, the frame counts), before
        // capture resumes.
        const verification = yield* verifier.verify()
        if (verification.verdict !== "passed") {
          episode.ok = false
          episode.details.verify = `${episode.details.verify ?? ""}; system verification ${verification.verdict}: ` +
            VerificationReport.problems(verification).flatMap((check) => check.details).join("; ")
        } else {
          episode.details.verify = `${episode.details.verify ?? ""}; system verification passed ` +
            `(${verification.checks.length} checks)`
        }
        yield* resume(episode)
        if (!episode.ok) {
          return yield* Effect.fail(
            new RecoveryGaveUp({ component, restarts: 0, reason: episode.details.verify ?? "" })
          )
        }
      })

    const recovery = yield* RecoveryCoordinator.make<WavInput.InputReadError | RecoveryGaveUp, FileSystem.FileSystem>({
      logger: yield* RecoveryLogger.make().pipe(Effect.provide(MemoryFileSystem.layer(MemoryFileSystem.unsafeMake()))),
      steps: [
        {
          name: "stop-capture",
          phase: "StoppingCapture",
          run: (ctx) => stopStep(ctx.component),
          rollback: (ctx) => resume(episodeOf(ctx.component))
        },
        { name: "flush-buffers", phase: "FlushingBuffers", run: (ctx) => flushStep(ctx.component) },
        { name: "reinitialise", phase: "Reinitializing", run: (ctx) => reinitStep(ctx.component) },
        { name: "verify", phase: "Verifying", run: (ctx) => verifyStep(ctx.component) }
      ]
    }).pipe(Effect.orDie)

    // The system verifier: the lock registry in effect (the process-wide one), every component's `Recovery` machine,
    // and the demo's own invariant that no writer is ahead of capture (it holds during an episode too).
    const machines = yield* Effect.forEach(Object.keys(stages), (component) => recovery.machine(component))
    const framesCheck: SystemVerifier.Check<Readonly<Record<string, number>>> = {
      name: "frames",
      run: Effect.gen(function*() {
        const written: Record<string, number> = {}
        for (const lane of lanes) {
          written[lane.channel] = yield* lane.writer.nextSeq
        }
        // A frame being offered to the lanes may already be written on one channel before `captured` counts it.
        const limit = captured + (captureInFlight ? 1 : 0)
        const ahead = Object.entries(written).filter(([, n]) => n > limit)
        return {
          passed: ahead.length === 0,
          details: ahead.length === 0
            ? [
              `${captured} frames captured; written: ${Object.entries(written).map(([c, n]) => `${c} ${n}`).join(", ")}`
            ]
            : ahead.map(([channel, n]) => `writer-${channel} wrote ${n} frames, capture read only ${limit}`),
          data: written
        }
      })
    }
    const verifier: SystemVerifier.SystemVerifier = yield* SystemVerifier.make({ machines, checks: [framesCheck] })
      .pipe(Effect.orDie)

    /** Runs a recovery episode for a component through the RecoveryCoordinator and returns what it did. */
    const recover = (component: string, trigger: string, occurredAt: number) =>
      Effect.gen(function*() {
        const attempt = yield* recovery.recover(component, { trigger, occurredAt })
        const episode = episodeOf(component)
        inProgress.delete(component)
        const steps: Array<RecoveryStep> = attempt.steps.map((step) => ({
          name: step.step as RecoveryStep["name"],
          durationMs: step.durationMs,
          detail: episode.details[step.step as RecoveryStep["name"]] ?? step.status
        }))
        if (episode.details["resume-capture"] !== undefined) {
          steps.push({ name: "resume-capture", durationMs: 0, detail: episode.details["resume-capture"] })
        }
        return { attempt, steps, ok: attempt.outcome === "Succeeded" && episode.ok, seq: episode.seq }
      })

    const done: Record<string, Deferred.Deferred<void>> = {}
    for (const name of Object.keys(stages)) {
      done[name] = yield* Deferred.make<void>()
    }
    const supervise = <E>(component: string, worker: Effect.Effect<void, E>) =>
      Effect.gen(function*() {
        let restarts = 0
        while (true) {
          setStage(component, "running")
          const exit = yield* Effect.exit(worker)
          if (Exit.isSuccess(exit)) {
            setStage(component, stopped ? "stopped" : "finished")
            return
          }
          const fault = faultOf(exit.cause)
          if (Option.isNone(fault)) {
            return yield* Effect.failCause(exit.cause)
          }
          if (restarts >= maxRestarts) {
            return yield* new RecoveryGaveUp({ component, restarts, reason: fault.value.message })
          }
          restarts++
          setStage(component, "recovering")
          const detectedAt = yield* Clock.currentTimeMillis
          const recovered = yield* recover(component, faultName(fault.value), detectedAt)
          if (!recovered.ok) {
            return yield* new RecoveryGaveUp({
              component,
              restarts,
              reason: `recovery episode failed: ${recovered.attempt.error?.message ?? "not verified"}`
            })
          }
          episodes.push({
            id: episodes.length + 1,
            component,
            fault: faultName(fault.value),
            point: fault.value._tag === "StageHung" ? fault.value.point : fault.value.point,
            hit: fault.value._tag === "StageHung" ? null : fault.value.hit,
            seq: recovered.seq,
            detectedAtMs: detectedAt - startedAt,
            steps: recovered.steps,
            recovered: recovered.ok,
            mttrMs: recovered.attempt.metrics.timeToRecoverMs ?? recovered.attempt.metrics.durationMs
          })
        }
      }).pipe(Effect.ensuring(Deferred.done(done[component]!, Exit.void)))

    const progress = Effect.gen(function*() {
      const written: Record<string, number> = {}
      const segments: Record<string, number> = {}
      for (const lane of lanes) {
        written[lane.channel] = yield* lane.writer.nextSeq
        segments[lane.channel] = lane.segmentCount
      }
      return {
        totalFrames,
        captured,
        written,
        segments,
        stages: { ...stages },
        recoveries: episodes.length
      } satisfies Progress
    })
    const report = options.onProgress
    if (report !== undefined) {
      yield* Effect.forkScoped(
        Effect.flatMap(progress, report).pipe(
          Effect.repeat(Schedule.spaced(options.progressIntervalMs ?? 100))
        )
      )
    }

    // The workers run in their own fiber; the run ends through the CleanupCoordinator, whether the input ran out or
    // a stop was requested: stop capture, drain the queues, finalise the writers, release the input.
    const workers = yield* Effect.fork(Effect.all(
      [
        supervise("capture", captureWorker),
        ...lanes.map((lane) => supervise(`processor-${lane.channel}`, processorWorker(lane))),
        ...lanes.map((lane) => supervise(`writer-${lane.channel}`, writerWorker(lane)))
      ],
      { concurrency: "unbounded", discard: true }
    ))
    // Capture polls `shouldStop` before each frame; the shutdown starts as soon as it stops, or when the input ends.
    yield* Effect.raceFirst(Effect.asVoid(Fiber.await(workers)), Deferred.await(done.capture!))
    const settled = (names: ReadonlyArray<string>) =>
      Effect.forEach(names, (name) => Deferred.await(done[name]!), { discard: true })
    const isSettled = (names: ReadonlyArray<string>) =>
      Effect.sync(() => names.every((name) => stages[name] === "finished" || stages[name] === "stopped"))
    const processorNames = lanes.map((lane) => `processor-${lane.channel}`)
    const writerNames = lanes.map((lane) => `writer-${lane.channel}`)
    const stepOptions = { timeout: "10 minutes", retries: 1 } as const
    const cleanupReport = yield* CleanupCoordinator.run([
      {
        name: "stop-capture",
        phase: "StoppingCapture",
        run: Effect.zipRight(
          Effect.sync(() => {
            stopRequested = true
          }),
          settled(["capture"])
        ),
        verify: isSettled(["capture"]),
        ...stepOptions
      },
      {
        name: "drain-buffers",
        phase: "FlushingStorage",
        dependsOn: ["stop-capture"],
        run: settled(processorNames),
        verify: isSettled(processorNames),
        ...stepOptions
      },
      {
        name: "finalise-writers",
        phase: "FlushingStorage",
        dependsOn: ["drain-buffers"],
        run: Effect.zipRight(settled(writerNames), Effect.forEach(lanes, (lane) => lane.writer.finalize)),
        verify: isSettled(writerNames),
        ...stepOptions
      },
      {
        name: "release-resources",
        phase: "ReleasingResources",
        dependsOn: ["finalise-writers"],
        run: Scope.close(current.scope, Exit.void),
        ...stepOptions
      }
    ]).pipe(Effect.orDie)
    yield* Fiber.join(workers)
    const writers = yield* Effect.forEach(lanes, (lane) => lane.writer.finalize)
    if (report !== undefined) {
      yield* Effect.flatMap(progress, report)
    }
    const segments: Record<string, ReadonlyArray<Vad.Segment>> = {}
    for (const lane of lanes) {
      segments[lane.channel] = yield* lane.processor.segments
    }
    const queues = lanes.flatMap((lane) => [lane.toProcessor, lane.toWriter]).map((q): QueueCounters => ({
      name: q.name,
      capacity: q.capacity,
      put: q.put,
      taken: q.taken,
      dropped: 0
    }))
    const fired = yield* FaultInjector.fired
    // After the shutdown: every worker settled, so no lock may be held by anyone.
    const verification = yield* verifier.verify()
    return {
      status: stopped ? "stopped" : "completed",
      channels,
      totalFrames,
      framesCaptured: captured,
      writers,
      segments,
      queues,
      recoveries: episodes,
      components: [
        { name: "capture", dependsOn: [] },
        ...channels.map((channel) => ({ name: `processor-${channel}`, dependsOn: ["capture"] })),
        ...channels.map((channel) => ({ name: `writer-${channel}`, dependsOn: [`processor-${channel}`] }))
      ],
      history,
      cleanup: cleanupSummary(cleanupReport),
      faultsFired: fired.map((f) => ({ ...f, rule: ruleKind.get(f.point) ?? "crash" })),
      verification,
      elapsedMs: (yield* Clock.currentTimeMillis) - startedAt
    } satisfies RunResult
    // The recovery logger logs every attempt at Info; the run's report and summary say the same, so only warnings
    // and errors reach the console (they would also break the progress bar's line).
  })).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))
