/**
 * The demo's pipeline: capture -> per-channel processor -> per-channel writer, each stage a component of a
 * `ComponentCoordinator`, connected by the queues of a `BufferManager`, with every frame's samples in a buffer of a
 * `ResourcePool`; faults from the installed `FaultInjector` are recovered by `RecoveryCoordinator` episodes (recorded
 * by a `RecoveryLogger` under `<dir>/recovery/`), and the run ends through the `CleanupCoordinator`.
 *
 * The stages are built from three stage objects that do not know how they are orchestrated (a frame source, a
 * processor step, a writer step):
 *
 * - {@link makeCapture}: the next frame, optionally paced to real time, resumable from any sequence number;
 * - {@link makeProcessor}: one channel's voice activity detection with a checkpoint/restore of its state;
 * - `WavWriter`: one channel's output, idempotent by sequence number.
 *
 * @since 0.1.0
 */
import * as CleanupCoordinator from "@core-stability/cleanup/CleanupCoordinator"
import * as BufferManager from "@core-stability/coordinator/BufferManager"
import * as ComponentCoordinator from "@core-stability/coordinator/ComponentCoordinator"
import * as ResourcePool from "@core-stability/coordinator/ResourcePool"
import * as SystemVerifier from "@core-stability/monitoring/SystemVerifier"
import * as VerificationReport from "@core-stability/monitoring/VerificationReport"
import * as RecoveryCoordinator from "@core-stability/recovery/RecoveryCoordinator"
import * as RecoveryLogger from "@core-stability/recovery/RecoveryLogger"
import * as StateMachine from "@core-stability/state-machine/StateMachine"
import * as FaultInjector from "@core-stability/testing/FaultInjector"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import { Buffer } from "node:buffer"
import type * as FaultSpec from "../FaultSpec.js"
import { channelNames, FRAME_SAMPLES } from "../Frame.js"
import type { ChannelFrame, ChannelName } from "../Frame.js"
import type * as Vad from "../Vad.js"
import * as WavInput from "../WavInput.js"
import * as WavWriter from "../WavWriter.js"
import { faultName, faultOf } from "./faults.js"
import { cleanupSummary, frameOwner, RecoveryGaveUp, StageHung } from "./model.js"
import type {
  CleanupSummary,
  ComponentSummary,
  Fault,
  FrameMeta,
  PoolSummary,
  Progress,
  QueueCounters,
  RecoveryEpisode,
  RecoveryLogSummary,
  RecoveryStep,
  RunError,
  RunOptions,
  RunResult,
  Stage,
  StageStatus,
  StateChange
} from "./model.js"
import { bytesOf, endOfStream, samplesOf } from "./samples.js"
import { makeCapture, makeProcessor } from "./stages.js"
import type { Capture, Processor } from "./stages.js"

export { frameOwner, makeCapture, makeProcessor, RecoveryGaveUp, StageHung }
export type {
  Capture,
  CleanupSummary,
  ComponentSummary,
  FrameMeta,
  PoolSummary,
  Processor,
  Progress,
  QueueCounters,
  RecoveryEpisode,
  RecoveryLogSummary,
  RecoveryStep,
  RunError,
  RunOptions,
  RunResult,
  Stage,
  StageStatus,
  StateChange
}

/** The checks of the `SystemVerifier` that hold while the pipeline runs (the others hold once it has stopped). */
const episodeChecks = ["locks", "buffers", "histories", "fibers", "frames"]

/**
 * Runs the pipeline over the input described by `header`, writing `left.wav` (and `right.wav` for a stereo input)
 * into `dir`. Every writer is finalised when the run ends, however it ends, so the files are valid WAV files even
 * after an interruption.
 *
 * The stages are components of a `ComponentCoordinator` (`capture`, `processor-<channel>`, `writer-<channel>`); a
 * component depends on the components it feeds, so the writers start first and capture last, and a stop drains the
 * pipeline. Each component's `start` forks its worker (`context.fork`, watched by heartbeat); capture holds the input
 * as a coordinator resource. The queues between the stages are a `BufferManager`'s (stages `capture` and
 * `processing`, one queue per channel, back-pressure), and every frame's samples sit in a buffer of a `ResourcePool`
 * from capture until the writer has written them.
 *
 * A fault fired by the installed `FaultInjector` at a stage's point (before capture reads a frame, before a processor
 * handles one, after a writer wrote one) or a watchdog timeout fails the worker; the coordinator moves the component
 * to `Error` and releases what it held, and its listener starts a recovery episode on the `RecoveryCoordinator`: stop
 * capture, flush the channel's buffers (the frames already handed downstream are written), reinitialise (the
 * coordinator restarts the component: capture reopens the input at the next sequence number; a processor restores its
 * last checkpoint; a writer resumes from its last written sequence number), verify (the sequence numbers line up and
 * the `SystemVerifier` passes), then resume capture. The frame in flight is re-delivered: a processor had not consumed
 * it, a writer skips it as a duplicate, so no frame is lost or written twice.
 */
export const run = (
  options: RunOptions
): Effect.Effect<RunResult, RunError, FileSystem.FileSystem | Path.Path> =>
  Effect.scoped(Effect.gen(function*() {
    const { header } = options
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const startedAt = yield* Clock.currentTimeMillis
    const channels = channelNames(header.channels)
    const capacity = options.queueCapacity ?? 128
    const watchdogMs = options.watchdogMs ?? 250
    const maxRestarts = options.maxRestarts ?? 1000
    const totalFrames = WavInput.frameCount(header.samplesPerChannel)
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

    // The run's failure: a worker that failed with something other than a fault, or a recovery that gave up.
    const fatal = yield* Deferred.make<never, RunError>()

    // The pool the frames' sample buffers and the manager's queue buffers come from: one tier that holds a frame of
    // one channel. Per channel at most `capacity` items sit in each of the two queues (each a frame buffer and a
    // queue buffer) and one frame is in the hands of each stage, so the limit is a bound a leak would break.
    const frameBytes = FRAME_SAMPLES * 2
    const pool = yield* ResourcePool.make({
      name: "demo",
      tiers: [{ name: "frame", size: frameBytes, limit: channels.length * (4 * capacity + 8) }]
    }).pipe(Effect.orDie)
    // Capture waits while a processor's queue is full, a processor while its writer's is: back-pressure, nothing is
    // ever dropped. A stage blocked for a minute means its consumer is stuck (the heartbeat monitor reports that
    // after 10 s), and fails the run.
    const buffers = yield* BufferManager.make<FrameMeta, Stage, ChannelName>({
      name: "pipeline",
      pool,
      stages: { capture: capacity, processing: capacity },
      channels,
      overflow: BufferManager.backpressure(60_000)
    }).pipe(Effect.orDie)

    const lanes = yield* Effect.forEach(channels, (channel) =>
      Effect.gen(function*() {
        const processor = yield* makeProcessor(channel, header.sampleRate, options.vadConfig)
        return {
          channel,
          processor,
          checkpoint: yield* processor.checkpoint,
          writer: yield* WavWriter.make({
            path: path.join(options.dir, `${channel}.wav`),
            channel,
            sampleRate: header.sampleRate
          }),
          processorPoint: faultPoint(`processor-${channel}`),
          writerPoint: faultPoint(`writer-${channel}`),
          processorInFlight: undefined as BufferManager.Item<FrameMeta> | undefined,
          writerInFlight: undefined as BufferManager.Item<FrameMeta> | undefined,
          segmentCount: 0
        }
      }))
    type Lane = typeof lanes[number]
    const capturePoint = faultPoint("capture")
    let captured = 0
    let stopped = false
    let captureInFlight = false
    let stopRequested = false
    let cursor: Capture | undefined
    const episodes: Array<RecoveryEpisode> = []

    // Made after the writers, so that closing the run's scope stops the components before the files are finalised.
    //
    // A worker that sends no heartbeat for 10 s (or for 4 frames, if a frame lasts longer: a processor waits a frame
    // for its input in real time) is hung; the monitor looks every second.
    const frameMs = (FRAME_SAMPLES * 1000) / header.sampleRate
    const components = yield* ComponentCoordinator.make({
      name: "pipeline",
      heartbeatInterval: "1 second",
      hungAfter: Math.max(10_000, Math.ceil(4 * frameMs))
    }).pipe(Effect.orDie)

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
    // A restarted worker waits at its component's hold until the episode that restarted it has completed.
    const names = ["capture", ...channels.map((c) => `processor-${c}`), ...channels.map((c) => `writer-${c}`)]
    const holds: Record<string, Effect.Latch> = {}
    const done: Record<string, Deferred.Deferred<void>> = {}
    for (const name of names) {
      holds[name] = yield* Effect.makeLatch(true)
      done[name] = yield* Deferred.make<void>()
    }
    // The components whose worker reached the end of its stream: their next `Stopped` is the end of their work.
    const finished = new Set<string>()
    const held = <A, E, R>(component: string, worker: Effect.Effect<A, E, R>) =>
      Effect.zipRight(holds[component]!.await, worker)
    // A worker beats at most once a second (a plain clock read per frame decides), which the coordinator's monitor
    // needs at least every 10 s; a beat is a few effects, not worth paying per frame.
    const beats = () => {
      let last = clock.unsafeCurrentTimeMillis()
      return (): boolean => {
        const now = clock.unsafeCurrentTimeMillis()
        if (now - last < 1000) return false
        last = now
        return true
      }
    }

    const captureWorker = (input: Capture) =>
      Effect.gen(function*() {
        const due = beats()
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
          const frame = yield* input.next
          if (Option.isNone(frame)) {
            break
          }
          const { seq, startSample } = frame.value
          for (let i = 0; i < lanes.length; i++) {
            const channel = lanes[i]!.channel
            const ticket = yield* ResourcePool.allocateFrom(pool, bytesOf(frame.value.channels[i]!), {
              owner: frameOwner,
              channel
            })
            yield* BufferManager.put(buffers, "capture", channel, ticket.bytes, { seq, startSample, ticket })
          }
          captured++
          captureInFlight = false
          if (due()) yield* ComponentCoordinator.heartbeat
        }
        for (const lane of lanes) {
          yield* BufferManager.put(buffers, "capture", lane.channel, endOfStream, {
            seq: captured,
            startSample: captured * FRAME_SAMPLES,
            ticket: undefined
          })
        }
        finished.add("capture")
      })

    const processorWorker = (lane: Lane) =>
      Effect.gen(function*() {
        const due = beats()
        let item: BufferManager.Item<FrameMeta>
        while (true) {
          item = lane.processorInFlight ?? (yield* BufferManager.take(buffers, "capture", lane.channel))
          lane.processorInFlight = item
          if (item.meta.ticket === undefined) {
            break
          }
          yield* lane.processorPoint
          const frame: ChannelFrame = {
            channel: lane.channel,
            seq: item.meta.seq,
            startSample: item.meta.startSample,
            samples: samplesOf(item.payload)
          }
          lane.segmentCount += (yield* lane.processor.process(frame)).length
          lane.checkpoint = yield* lane.processor.checkpoint
          yield* BufferManager.put(buffers, "processing", lane.channel, item.payload, item.meta)
          lane.processorInFlight = undefined
          if (due()) yield* ComponentCoordinator.heartbeat
        }
        lane.segmentCount += (yield* lane.processor.finish).length
        // The end-of-stream marker goes on to the writer.
        yield* BufferManager.put(buffers, "processing", lane.channel, endOfStream, item.meta)
        lane.processorInFlight = undefined
        finished.add(`processor-${lane.channel}`)
      })

    const writerWorker = (lane: Lane) =>
      Effect.gen(function*() {
        const due = beats()
        while (true) {
          const item = lane.writerInFlight ??
            (yield* BufferManager.take(buffers, "processing", lane.channel))
          lane.writerInFlight = item
          const ticket = item.meta.ticket
          if (ticket === undefined) {
            break
          }
          // The samples that went through the queues are the ones capture read: a broken copy is a bug of ours.
          if (Buffer.compare(item.payload, ticket.bytes) !== 0) {
            return yield* Effect.dieMessage(
              `writer-${lane.channel}: frame ${item.meta.seq} differs from the samples capture read`
            )
          }
          yield* lane.writer.write({
            channel: lane.channel,
            seq: item.meta.seq,
            startSample: item.meta.startSample,
            samples: samplesOf(item.payload)
          })
          // After the write: a fault here is a write whose acknowledgement was lost; the re-delivery is a duplicate.
          yield* lane.writerPoint
          // The frame is on disk: its sample buffer goes back to the pool (once: a re-delivery is released here only).
          yield* ResourcePool.release(pool, ticket, { owner: frameOwner })
          lane.writerInFlight = undefined
          if (due()) yield* ComponentCoordinator.heartbeat
        }
        lane.writerInFlight = undefined
        finished.add(`writer-${lane.channel}`)
      })

    const laneOf = (component: string) => {
      const [kind, channel] = component.split("-") as ["processor" | "writer", ChannelName]
      return { kind, lane: lanes.find((l) => l.channel === channel)! }
    }

    // The components. A stage depends on the stages it feeds: the coordinator starts the writers first and capture
    // last, stops capture first, and restarts a stage only while its consumers run. They are `temporary`: the
    // coordinator does not restart them itself; a recovery episode does (`restart`, in its `reinitialise` step).
    const takesFrom: Record<string, ReadonlyArray<string>> = { capture: [] }
    const restart = { type: "temporary" } as const
    const specs: Array<ComponentCoordinator.ComponentSpec<unknown, FileSystem.FileSystem>> = [
      {
        id: "capture",
        dependencies: channels.map((channel) => `processor-${channel}`),
        channels,
        restart,
        start: (context) =>
          Effect.gen(function*() {
            // (Re)opens the input at the next frame to capture, as a resource of the component: the coordinator
            // closes it whenever capture stops or fails.
            const fromSeq = captured
            const input = yield* context.allocate({
              type: "input",
              site: `capture: ${header.path}`,
              acquire: Effect.gen(function*() {
                const scope = yield* Scope.make()
                const capture = yield* makeCapture(header, { realtime: options.realtime, fromSeq }).pipe(
                  Scope.extend(scope),
                  Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
                )
                return { scope, capture }
              }),
              release: (opened) => Scope.close(opened.scope, Exit.void)
            })
            cursor = input.value.capture
            // The frames' format, for the manager (advice to producers; on its update lock).
            yield* BufferManager.reconfigure(buffers, {
              samplesPerFrame: FRAME_SAMPLES,
              channelCount: channels.length,
              bytesPerSample: 2,
              sampleRateHz: header.sampleRate
            }).pipe(Effect.orDie)
            yield* context.fork(held("capture", captureWorker(input.value.capture)), {
              name: "reader",
              heartbeat: true
            })
          })
      }
    ]
    for (const lane of lanes) {
      const processor = `processor-${lane.channel}`
      const writer = `writer-${lane.channel}`
      takesFrom[processor] = ["capture"]
      takesFrom[writer] = [processor]
      specs.push({
        id: processor,
        dependencies: [writer],
        channels: [lane.channel],
        restart,
        start: (context) =>
          Effect.zipRight(
            lane.processor.restore(lane.checkpoint),
            context.fork(held(processor, processorWorker(lane)), { name: "detector", heartbeat: true })
          )
      })
    }
    for (const lane of lanes) {
      const writer = `writer-${lane.channel}`
      specs.push({
        id: writer,
        channels: [lane.channel],
        restart,
        start: (context) => context.fork(held(writer, writerWorker(lane)), { name: "wav", heartbeat: true })
      })
    }

    /**
     * One recovery episode's work for a component, phase by phase (run by the RecoveryCoordinator's steps):
     * stop capture, flush the buffers, reinitialise, verify; capture resumes once the episode is recorded.
     */
    interface Episode {
      seq: number | null
      ok: boolean
      paused: boolean
      generation: number
      readonly details: Partial<Record<RecoveryStep["name"], string>>
    }
    const inProgress = new Map<string, Episode>()
    const episodeOf = (component: string): Episode => {
      let episode = inProgress.get(component)
      if (episode === undefined) {
        episode = { seq: null, ok: false, paused: false, generation: 0, details: {} }
        inProgress.set(component, episode)
      }
      return episode
    }
    const infoOf = (component: string) =>
      Effect.map(components.components, (all) => all.find((info) => info.id === component)!)
    const resume = (component: string, episode: Episode) =>
      Effect.suspend(() => {
        holds[component]!.unsafeOpen()
        if (!episode.paused) return Effect.void
        episode.paused = false
        episode.details["resume-capture"] = "capture resumed"
        return resumeCapture
      })

    const seqOf = (item: BufferManager.Item<FrameMeta> | undefined) =>
      item !== undefined && item.meta.ticket !== undefined ? item.meta.seq : null

    const queueSize = (stage: Stage, channel: ChannelName) =>
      Effect.sync(() =>
        BufferManager.unsafeStats(buffers).queues.find((q) => q.stage === stage && q.channel === channel)!.size
      )
    // Waits (briefly, at most `limitMs`) until a queue is empty: its consumer has taken every frame handed to it.
    const drain = (stage: Stage, channel: ChannelName, limitMs: number) =>
      Effect.gen(function*() {
        const t0 = yield* Clock.currentTimeMillis
        while ((yield* queueSize(stage, channel)) > 0 && (yield* Clock.currentTimeMillis) - t0 < limitMs) {
          yield* Effect.sleep(1)
        }
        return yield* queueSize(stage, channel)
      })

    const stopStep = (component: string) =>
      Effect.gen(function*() {
        const episode = episodeOf(component)
        // The restarted worker waits here until the episode is over.
        holds[component]!.unsafeClose()
        episode.generation = (yield* infoOf(component)).generation
        if (component === "capture") {
          episode.seq = captured
          episode.details["stop-capture"] = "capture worker stopped by the fault; the coordinator closed the input"
          return
        }
        const { kind, lane } = laneOf(component)
        episode.seq = seqOf(kind === "processor" ? lane.processorInFlight : lane.writerInFlight)
        episode.paused = true
        episode.details["stop-capture"] = "capture paused"
        yield* pauseCapture
      })

    const flushStep = (component: string) =>
      Effect.gen(function*() {
        const episode = episodeOf(component)
        if (component === "capture") {
          const left = yield* Effect.forEach(lanes, (lane) => drain("capture", lane.channel, 1000))
          episode.details["flush-buffers"] = `capture queues drained into the processors (${left.join(", ")} left)`
          return
        }
        const { kind, lane } = laneOf(component)
        if (kind === "processor") {
          const left = yield* drain("processing", lane.channel, 1000)
          episode.details["flush-buffers"] = `processing-${lane.channel} queue drained into the writer (${left} left)`
        } else {
          episode.details["flush-buffers"] = `processing-${lane.channel} queue holds ` +
            `${yield* queueSize("processing", lane.channel)} frames, kept for the restarted writer`
        }
      })

    // Restarts the component on the coordinator once the components it feeds run (one of them may be in an
    // episode of its own), at most `limitMs` later.
    const restartStep = (component: string, limitMs: number) =>
      Effect.gen(function*() {
        const info = yield* infoOf(component)
        const t0 = yield* Clock.currentTimeMillis
        while ((yield* Clock.currentTimeMillis) - t0 < limitMs) {
          const all = yield* components.components
          const waiting = info.dependencies.filter((d) => all.find((c) => c.id === d)?.state !== "Running")
          if (waiting.length === 0) break
          yield* Effect.sleep(1)
        }
        yield* components.restart(component)
      })

    const reinitStep = (component: string) =>
      Effect.gen(function*() {
        const episode = episodeOf(component)
        yield* restartStep(component, 5_000)
        const generation = (yield* infoOf(component)).generation
        if (component === "capture") {
          episode.details.reinitialise = `restarted (generation ${generation}): input reopened at frame ` +
            `${cursor?.nextSeq()}`
          return
        }
        const { kind, lane } = laneOf(component)
        episode.details.reinitialise = kind === "processor"
          ? `restarted (generation ${generation}): detector restored from its checkpoint at frame ` +
            `${lane.checkpoint.nextSeq}`
          : `restarted (generation ${generation}): writer resumes after frame ${(yield* lane.writer.nextSeq) - 1}`
      })

    const verifyStep = (component: string) =>
      Effect.gen(function*() {
        const episode = episodeOf(component)
        const seq = episode.seq
        const info = yield* infoOf(component)
        const running = info.state === "Running" && info.generation > episode.generation
        if (component === "capture") {
          const next = cursor?.nextSeq()
          episode.ok = running && next === seq
          episode.details.verify = `${info.state}; next frame ${next}, expected ${seq}`
        } else {
          const { kind, lane } = laneOf(component)
          const written = yield* lane.writer.nextSeq
          if (kind === "processor") {
            const restored = yield* lane.processor.checkpoint
            episode.ok = running && (seq === null || (restored.nextSeq === seq && written <= seq))
            episode.details.verify = `${info.state}; detector expects frame ${restored.nextSeq}, writer at ` +
              `${written}, re-delivering ${seq}`
          } else {
            episode.ok = running && (seq === null || seq < written)
            episode.details.verify = `${info.state}; frame ${seq} already on disk (writer at ${written}), its ` +
              "re-delivery is skipped"
          }
        }
        // The system-wide checks too (lock liveness, the queues' balance, the histories, no stray worker, the frame
        // counts), before capture resumes.
        const verification = yield* verifier.verify({ only: episodeChecks })
        if (verification.verdict !== "passed") {
          episode.ok = false
          episode.details.verify = `${episode.details.verify ?? ""}; system verification ${verification.verdict}: ` +
            VerificationReport.problems(verification).flatMap((check) => check.details).join("; ")
        } else {
          episode.details.verify = `${episode.details.verify ?? ""}; system verification passed ` +
            `(${verification.checks.length} checks)`
        }
        if (!episode.ok) {
          return yield* Effect.fail(
            new RecoveryGaveUp({ component, restarts: 0, reason: episode.details.verify ?? "" })
          )
        }
      })

    const logger = yield* RecoveryLogger.make({ directory: path.join(options.dir, "recovery"), components })
    const recovery = yield* RecoveryCoordinator.make<unknown, never>({
      logger,
      steps: [
        {
          name: "stop-capture",
          phase: "StoppingCapture",
          run: (ctx) => stopStep(ctx.component),
          rollback: (ctx) => resume(ctx.component, episodeOf(ctx.component))
        },
        { name: "flush-buffers", phase: "FlushingBuffers", run: (ctx) => flushStep(ctx.component) },
        {
          name: "reinitialise",
          phase: "Reinitializing",
          timeout: "10 seconds",
          run: (ctx) => reinitStep(ctx.component)
        },
        { name: "verify", phase: "Verifying", run: (ctx) => verifyStep(ctx.component) }
      ]
    }).pipe(Effect.orDie)

    // Every component's `Recovery` machine may enter `Completed` only once the component coordinator runs a new
    // incarnation of the component: an effectful invariant, checked under the machine's lock.
    const machines = yield* Effect.forEach(names, (component) =>
      Effect.tap(recovery.machine(component), (machine) =>
        StateMachine.addInvariant(machine, {
          name: "restarted-by-the-coordinator",
          state: "Completed",
          effect: () =>
            Effect.map(
              infoOf(component),
              (info) =>
                info.state === "Running" && info.generation > (inProgress.get(component)?.generation ?? 0)
            )
        })))

    // The system verifier: the components (all `Stopped` once the run is over), the lock registry in effect, the
    // pool and the buffer manager, the histories of the components and of their `Recovery` machines, and the demo's
    // own invariant that no writer is ahead of capture (it holds during an episode too).
    const framesCheck: SystemVerifier.Check<Readonly<Record<string, number>>> = {
      name: "frames",
      run: Effect.gen(function*() {
        const written: Record<string, number> = {}
        for (const lane of lanes) {
          written[lane.channel] = yield* lane.writer.nextSeq
        }
        // A frame being offered to the lanes may already be written on one channel before `captured` counts it.
        const limit = captured + (captureInFlight ? 1 : 0)
        const ahead = Object.entries(written).filter(([, n]) =>
          n > limit
        )
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
    const verifier: SystemVerifier.SystemVerifier = yield* SystemVerifier.make({
      components,
      expectedStates: "Stopped",
      buffers: [buffers],
      pools: [{ pool, baseline: 0 }],
      machines,
      checks: [framesCheck]
    }).pipe(Effect.orDie)

    /** Runs a recovery episode for a component through the RecoveryCoordinator and returns what it did. */
    const recover = (component: string, trigger: string, occurredAt: number) =>
      Effect.gen(function*() {
        const attempt = yield* recovery.recover(component, { trigger, occurredAt })
        const episode = episodeOf(component)
        inProgress.delete(component)
        const ok = attempt.outcome === "Succeeded" && episode.ok
        if (ok) {
          // The episode is over (and recorded): the restarted worker goes on, and so does capture.
          yield* resume(component, episode)
        }
        const steps: Array<RecoveryStep> = attempt.steps.map((step) => ({
          name: step.step as RecoveryStep["name"],
          durationMs: step.durationMs,
          detail: episode.details[step.step as RecoveryStep["name"]] ?? step.status
        }))
        if (episode.details["resume-capture"] !== undefined) {
          steps.push({ name: "resume-capture", durationMs: 0, detail: episode.details["resume-capture"] })
        }
        return { attempt, steps, ok, seq: episode.seq }
      })

    const failed = (error: RunError) => Effect.asVoid(Deferred.fail(fatal, error))

    /** A component moved to `Error`: recover it if an injected fault (or a hang) did it, else fail the run. */
    const onFailure = (change: ComponentCoordinator.StateChange) =>
      Effect.gen(function*() {
        const error = change.error
        // A failed (re)start is reported to whoever started it: the run's start, or the episode restarting it.
        if (error === undefined || error._tag === "StartFailed") return
        const fault: Option.Option<Fault> = error._tag === "WorkerFailed"
          ? faultOf(error.cause)
          : error._tag === "WorkerHung"
          ? Option.some(new StageHung({ point: change.component, afterMs: error.silentMs }))
          : Option.none()
        if (Option.isNone(fault)) {
          yield* Deferred.failCause(
            fatal,
            (error._tag === "WorkerFailed" ? error.cause : Cause.die(error)) as Cause.Cause<RunError>
          )
          return
        }
        const component = change.component
        const failures = (yield* infoOf(component)).failures
        if (failures > maxRestarts) {
          return yield* failed(new RecoveryGaveUp({ component, restarts: failures - 1, reason: fault.value.message }))
        }
        const recovered = yield* recover(component, faultName(fault.value), change.at)
        if (!recovered.ok) {
          yield* Effect.ignore(logger.stateDump(recovered.attempt.id))
          return yield* failed(
            new RecoveryGaveUp({
              component,
              restarts: failures - 1,
              reason: `recovery episode failed: ${recovered.attempt.error?.message ?? "not verified"}`
            })
          )
        }
        episodes.push({
          id: episodes.length + 1,
          component,
          fault: faultName(fault.value),
          point: fault.value.point,
          hit: fault.value._tag === "StageHung" ? null : fault.value.hit,
          seq: recovered.seq,
          detectedAtMs: change.at - startedAt,
          steps: recovered.steps,
          recovered: recovered.ok,
          mttrMs: recovered.attempt.metrics.timeToRecoverMs ?? recovered.attempt.metrics.durationMs,
          attempt: recovered.attempt.id
        })
      })

    // The timeline and the supervision of the run come from the coordinator's state changes. Episodes of different
    // components run concurrently, each in its own fiber.
    const episodeFibers = yield* FiberSet.make<void, never>()
    const history: Array<StateChange> = []
    yield* components.subscribe(
      (change) =>
        Effect.suspend(() => {
          history.push({
            component: change.component,
            from: change.from,
            state: change.to,
            atMs: change.at - startedAt,
            generation: change.generation,
            reason: change.reason ?? null
          })
          if (change.to === "Error") {
            return Effect.asVoid(FiberSet.run(episodeFibers, onFailure(change)))
          }
          if (change.to === "Stopped" && finished.has(change.component)) {
            return Effect.asVoid(Deferred.succeed(done[change.component]!, undefined))
          }
          return Effect.void
        }),
      { name: "demo-pipeline", capacity: 1 << 16 }
    )

    yield* components.registerAll(specs).pipe(Effect.orDie)
    const registeredAt = (yield* Clock.currentTimeMillis) - startedAt
    for (const info of yield* components.components) {
      history.push({
        component: info.id,
        from: null,
        state: info.state,
        atMs: registeredAt,
        generation: 0,
        reason: "registered"
      })
    }

    const progress = Effect.gen(function*() {
      const written: Record<string, number> = {}
      const segments: Record<string, number> = {}
      for (const lane of lanes) {
        written[lane.channel] = yield* lane.writer.nextSeq
        segments[lane.channel] = lane.segmentCount
      }
      const stages: Record<string, StageStatus> = {}
      for (const info of yield* components.components) stages[info.id] = info.state
      return { totalFrames, captured, written, segments, stages, recoveries: episodes.length } satisfies Progress
    })
    const report = options.onProgress
    if (report !== undefined) {
      yield* Effect.forkScoped(
        Effect.flatMap(progress, report).pipe(
          Effect.repeat(Schedule.spaced(options.progressIntervalMs ?? 100))
        )
      )
    }

    const settled = (ids: ReadonlyArray<string>) =>
      Effect.forEach(ids, (id) => Deferred.await(done[id]!), { discard: true })
    const isSettled = (ids: ReadonlyArray<string>) =>
      Effect.map(components.components, (all) => ids.every((id) => all.find((c) => c.id === id)?.state === "Stopped"))
    const processorNames = lanes.map((lane) => `processor-${lane.channel}`)
    const writerNames = lanes.map((lane) => `writer-${lane.channel}`)
    const stepOptions = { timeout: "10 minutes", retries: 1 } as const
    const queuesEmpty = (stage: Stage) =>
      Effect.map(
        Effect.forEach(lanes, (lane) => queueSize(stage, lane.channel)),
        (sizes) => sizes.every((size) => size === 0)
      )

    const flow = Effect.gen(function*() {
      // Writers first, capture last (a component starts once the components it feeds run).
      yield* components.startAll.pipe(
        Effect.catchAll((error) =>
          error._tag === "StartFailed" ? Effect.failCause(error.cause as Cause.Cause<RunError>) : Effect.die(error)
        )
      )
      // The shutdown starts when capture ends: at the end of the input, or because a stop was requested.
      yield* Deferred.await(done.capture!)
      // It runs through the CleanupCoordinator: stop capture, drain the queues, finalise the writers, release.
      const cleanupReport = yield* CleanupCoordinator.run<unknown, never>([
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
          verify: Effect.zipWith(isSettled(processorNames), queuesEmpty("capture"), (a, b) => a && b),
          ...stepOptions
        },
        {
          name: "finalise-writers",
          phase: "FlushingStorage",
          dependsOn: ["drain-buffers"],
          run: Effect.zipRight(settled(writerNames), Effect.forEach(lanes, (lane) => lane.writer.finalize)),
          verify: Effect.zipWith(isSettled(writerNames), queuesEmpty("processing"), (a, b) => a && b),
          ...stepOptions
        },
        {
          name: "release-resources",
          phase: "ReleasingResources",
          dependsOn: ["finalise-writers"],
          // Ends the coordinator's group (every component has stopped and released what it held) and closes the
          // buffer manager, which checks that its queues are empty and it holds no pool buffer.
          run: Effect.zipRight(components.stopAll, BufferManager.cleanup(buffers)),
          verify: Effect.map(
            components.leakReport,
            (leaks) =>
              leaks.allocations.length === 0 && leaks.workers.length === 0 &&
              ResourcePool.unsafeStats(pool).tiers.every((tier) => tier.inUse === 0)
          ),
          ...stepOptions
        }
      ]).pipe(Effect.orDie)
      return cleanupReport
    })
    const cleanupReport = yield* Effect.raceFirst(flow, Deferred.await(fatal))
    const elapsedMs = (yield* Clock.currentTimeMillis) - startedAt

    const writers = yield* Effect.forEach(lanes, (lane) => lane.writer.finalize)
    if (report !== undefined) {
      yield* Effect.flatMap(progress, report)
    }
    const segments: Record<string, ReadonlyArray<Vad.Segment>> = {}
    for (const lane of lanes) {
      segments[lane.channel] = yield* lane.processor.segments
    }
    const bufferStats = yield* BufferManager.stats(buffers)
    // the report keeps every counter of the queue; the policy is a function, the latency flattened into two numbers
    const queues = bufferStats.queues.map(({ latency, policy: _policy, ...counters }): QueueCounters => ({
      name: `${counters.stage}-${counters.channel}`,
      ...counters,
      latencyMeanMs: latency.meanMs,
      latencyMaxMs: latency.maxMs
    }))
    const poolStats = yield* ResourcePool.stats(pool)
    const fired = yield* FaultInjector.fired
    // After the shutdown: every component stopped, so no lock, buffer or worker may be held by anyone.
    const verification = yield* verifier.verify()
    const all = yield* components.components
    const logDir = path.join(options.dir, "recovery")
    const files = yield* Effect.forEach(["recovery", "analytics", "debug"], (folder) =>
      fs.readDirectory(path.join(logDir, folder)).pipe(
        // a temporary file is a write still in flight or abandoned (the logger writes atomically via a rename)
        Effect.map((entries) =>
          entries.filter((entry) =>
            !RecoveryLogger.isTemporaryFile(entry)
          ).map((entry) => `recovery/${folder}/${entry}`)
        ),
        Effect.orElseSucceed(() =>
          [] as Array<string>
        )
      ))
    return {
      status: stopped ? "stopped" : "completed",
      channels,
      totalFrames,
      framesCaptured: captured,
      writers,
      segments,
      queues,
      buffers: { name: bufferStats.name, status: bufferStats.status, heldBuffers: bufferStats.heldBuffers },
      pool: {
        name: poolStats.name,
        inUse: poolStats.tiers.reduce((n, tier) => n + tier.inUse, 0),
        tiers: poolStats.tiers,
        owners: poolStats.owners,
        channels: poolStats.channels
      },
      recoveries: episodes,
      components: names.map((name) => all.find((info) => info.id === name)!).map((info) => ({
        name: info.id,
        dependencies: info.dependencies,
        takesFrom: takesFrom[info.id] ?? [],
        channels: info.channels,
        state: info.state,
        generation: info.generation,
        restarts: info.restarts,
        failures: info.failures
      })),
      startOrder: all.map((info) => info.id),
      history,
      leaks: yield* components.leakReport,
      cleanup: cleanupSummary(cleanupReport),
      recoveryLog: {
        directory: "recovery",
        session: logger.session,
        stats: yield* logger.stats,
        files: files.flat().sort(),
        analytics: yield* logger.analytics
      },
      faultsFired: fired.map((f) => ({ ...f, rule: ruleKind.get(f.point) ?? "crash" })),
      verification,
      elapsedMs
    } satisfies RunResult
    // The recovery logger logs every attempt at Info; the run's report and summary say the same, so only warnings
    // and errors reach the console (they would also break the progress bar's line).
  })).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))
