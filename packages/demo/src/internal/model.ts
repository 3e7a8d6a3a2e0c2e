/**
 * The pipeline's model: its options and result, the snapshots and summaries it reports, the recovery episodes, and
 * the errors a run can fail with.
 *
 * @since 0.1.0
 */
import type * as CleanupReport from "@core-stability/cleanup/CleanupReport"
import type * as BufferError from "@core-stability/coordinator/BufferError"
import type * as BufferManager from "@core-stability/coordinator/BufferManager"
import type * as ComponentCoordinator from "@core-stability/coordinator/ComponentCoordinator"
import type * as ResourcePool from "@core-stability/coordinator/ResourcePool"
import type * as VerificationReport from "@core-stability/monitoring/VerificationReport"
import type * as RecoveryLogger from "@core-stability/recovery/RecoveryLogger"
import type * as FaultInjector from "@core-stability/testing/FaultInjector"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as FaultSpec from "../FaultSpec.js"
import type { ChannelName, FrameSequenceGap } from "../Frame.js"
import type * as Vad from "../Vad.js"
import type * as WavInput from "../WavInput.js"
import type * as WavWriter from "../WavWriter.js"

/** The stages of the pipeline's `BufferManager`: `capture` feeds the processors, `processing` the writers. */
export type Stage = "capture" | "processing"

/**
 * The metadata of a queue item. `ticket` is the frame's sample buffer in the run's `ResourcePool`: allocated by capture
 * (owner {@link frameOwner}, on the frame's channel), carried along with the frame, and released by the writer once
 * the frame is on disk. The end-of-stream marker that closes a channel has no ticket (and an empty payload).
 */
export interface FrameMeta {
  readonly seq: number
  readonly startSample: number
  readonly ticket: ResourcePool.PooledBuffer | undefined
}

/** The pool owner of the frames' sample buffers. */
export const frameOwner = "frames"

/**
 * One `BufferManager` queue at the end of a run (`BufferManager.stats`): `name` is `<stage>-<channel>`. Every frame
 * and the end-of-stream marker are items; `put = taken + dropped + size` always holds.
 */
export interface QueueCounters extends Omit<BufferManager.QueueStats, "policy" | "latency"> {
  readonly name: string
  /** Enqueue-to-dequeue latency of the items taken (ms): the queue's `latency.meanMs` and `latency.maxMs`. */
  readonly latencyMeanMs: number
  readonly latencyMaxMs: number
}

/** A component state, as the `ComponentCoordinator`'s `Presets.Component` machines have them. */
export type StageStatus = ComponentCoordinator.ComponentState

/**
 * A change of a component's state as the `ComponentCoordinator` published it (`from` is `null` for the state a
 * component was registered in), at `atMs` since the run started.
 */
export interface StateChange {
  readonly component: string
  readonly from: StageStatus | null
  readonly state: StageStatus
  readonly atMs: number
  readonly generation: number
  readonly reason: string | null
}

/**
 * A component of the pipeline as the `ComponentCoordinator` has it at the end of the run: its `dependencies` (the
 * components it feeds: they start before it and stop after it), the components it takes its frames from, its
 * channels, its end state, how many times it was started (`generation`) and restarted, and how often it failed.
 */
export interface ComponentSummary {
  readonly name: string
  readonly dependencies: ReadonlyArray<string>
  readonly takesFrom: ReadonlyArray<string>
  readonly channels: ReadonlyArray<string>
  readonly state: StageStatus
  readonly generation: number
  readonly restarts: number
  readonly failures: number
}

/** A snapshot of a running pipeline, for a progress display. */
export interface Progress {
  readonly totalFrames: number
  readonly captured: number
  readonly written: Readonly<Record<string, number>>
  readonly segments: Readonly<Record<string, number>>
  /** Each component's state in the `ComponentCoordinator`. */
  readonly stages: Readonly<Record<string, StageStatus>>
  readonly recoveries: number
}

/**
 * A stage that did not come back from a fault point within the watchdog's timeout (a `hang` fault), or a worker the
 * `ComponentCoordinator`'s heartbeat monitor found silent: the component is failed and recovered.
 */
export class StageHung extends Data.TaggedError("StageHung")<{ readonly point: string; readonly afterMs: number }> {
  override get message(): string {
    return `${this.point} did not respond within ${this.afterMs} ms`
  }
}

/** A component that failed more often than the restart limit allows, or whose recovery episode failed. */
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
 * was verified, the time to recover (`mttrMs`, from detection to the component running again), and the id of the
 * `RecoveryLogger`'s attempt (its file is `recovery/recovery/<attempt>.json` in the output directory).
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
  readonly attempt: string
}

/** Options of {@link run}. */
export interface RunOptions {
  readonly header: WavInput.WavHeader
  /**
   * Directory the outputs (`left.wav`, `right.wav`) are written to; it must exist. The `RecoveryLogger` writes its
   * files under `<dir>/recovery/`.
   */
  readonly dir: string
  readonly realtime: boolean
  /** Polled before each frame; once it yields `true` capture stops, and the frames captured are still written. */
  readonly shouldStop?: Effect.Effect<boolean> | undefined
  /**
   * Items each `BufferManager` queue holds (default 128 frames, 3.8 s at 16 kHz): long enough that each stage handles
   * many frames per turn of its fiber, which is what keeps the cost per frame low.
   */
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
  /** How many times one component may fail before the run fails (default 1000). */
  readonly maxRestarts?: number | undefined
}

/** The `ResourcePool` at the end of a run: its tiers' books, and what is still in use per owner and channel. */
export interface PoolSummary {
  readonly name: string
  readonly inUse: number
  readonly tiers: ReadonlyArray<ResourcePool.TierStats>
  readonly owners: Readonly<Record<string, number>>
  readonly channels: Readonly<Record<string, number>>
}

/** The `RecoveryLogger` of a run: its session, its books, and the files it wrote (relative to the output dir). */
export interface RecoveryLogSummary {
  /** Relative to the output directory: `recovery`. */
  readonly directory: string
  readonly session: string
  readonly stats: RecoveryLogger.Stats
  /** The attempt records (`recovery/recovery/<id>.json`), the analytics and any state dumps, sorted. */
  readonly files: ReadonlyArray<string>
  readonly analytics: RecoveryLogger.Analytics
}

/** What a run produced. `status` is `stopped` when `shouldStop` ended capture before the end of the input. */
export interface RunResult {
  readonly status: "completed" | "stopped"
  readonly channels: ReadonlyArray<ChannelName>
  readonly totalFrames: number
  readonly framesCaptured: number
  readonly writers: ReadonlyArray<WavWriter.WavWriterSummary>
  readonly segments: Readonly<Record<string, ReadonlyArray<Vad.Segment>>>
  /** The `BufferManager`'s queues (`BufferManager.stats`), in configuration order. */
  readonly queues: ReadonlyArray<QueueCounters>
  /** The `BufferManager` at the end: its status (`closed` after the shutdown) and the pool buffers it still held. */
  readonly buffers: { readonly name: string; readonly status: BufferManager.Status; readonly heldBuffers: number }
  readonly pool: PoolSummary
  readonly recoveries: ReadonlyArray<RecoveryEpisode>
  /** The components, in pipeline order: capture, the processors, the writers. */
  readonly components: ReadonlyArray<ComponentSummary>
  /** The `ComponentCoordinator`'s start order (a component starts after the components it feeds). */
  readonly startOrder: ReadonlyArray<string>
  /** Every change of a component's state, in order, from the `ComponentCoordinator`'s listener. */
  readonly history: ReadonlyArray<StateChange>
  /** What the `ComponentCoordinator` still held at the end (nothing, when the run ended cleanly). */
  readonly leaks: ComponentCoordinator.LeakReport
  /** The CleanupCoordinator's report of the shutdown that ended the run. */
  readonly cleanup: CleanupSummary
  readonly recoveryLog: RecoveryLogSummary
  /** Every fault the injector fired, with the kind of the rule that fired it. */
  readonly faultsFired: ReadonlyArray<FaultInjector.FiredFault & { readonly rule: FaultSpec.FaultKind }>
  /**
   * The `SystemVerifier`'s report at the end of the run, after the shutdown: every component `Stopped`, no `failed`
   * health, lock liveness, resources (nothing held by a stopped component, no pool buffer in use), the queues'
   * balance, the histories of the components' and recovery machines, no stray worker, and the demo's own `frames`
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

export const cleanupSummary = (report: CleanupReport.CleanupReport): CleanupSummary => ({
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

export type Fault = FaultInjector.InjectedFault | StageHung

/**
 * What makes a run fail: a worker that failed with something other than an injected fault (an I/O error, a lost frame,
 * a queue or pool error, which would be a bug of the pipeline), or a recovery that gave up.
 */
export type RunError =
  | WavInput.InputReadError
  | WavWriter.WavWriteError
  | FrameSequenceGap
  | Fault
  | RecoveryGaveUp
  | BufferError.UnknownQueue
  | BufferError.BufferClosed
  | BufferError.BufferFull
  | BufferError.BufferTooLarge
  | BufferError.PoolExhausted
  | BufferError.UnknownBuffer
  | BufferError.OwnerMismatch
