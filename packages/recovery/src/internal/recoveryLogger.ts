import type { CleanupReport } from "@core-stability/cleanup/CleanupReport"
import * as LockRegistry from "@core-stability/locks/LockRegistry"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import type * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Random from "effect/Random"
import { UnknownAttempt } from "../RecoveryError.js"
import type * as Api from "../RecoveryLogger.js"

/** @internal */
export const tag = Context.GenericTag<Api.RecoveryLogger>("@core-stability/recovery/RecoveryLogger")

/** @internal */
export const metrics = {
  attempts: Metric.counter("recovery_log_attempts", {
    description: "recovery attempts recorded, by outcome",
    incremental: true
  }),
  writeFailures: Metric.counter("recovery_log_write_failures", {
    description: "recovery log files that could not be written",
    incremental: true
  })
}

/** @internal */
export const errorInfo = (error: unknown): Api.ErrorInfo => {
  if (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string") {
    return {
      tag: error._tag,
      message: Predicate.hasProperty(error, "message") ? String(error.message) : error._tag
    }
  }
  if (error instanceof Error) return { tag: error.name, message: error.message }
  return { tag: typeof error, message: String(error) }
}

/** @internal */
export const causeInfo = (cause: Cause.Cause<unknown>): Api.ErrorInfo => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return errorInfo(failure.value)
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect)) {
    const info = errorInfo(defect.value)
    return { tag: `Defect(${info.tag})`, message: info.message }
  }
  return Cause.isInterruptedOnly(cause)
    ? { tag: "Interrupted", message: "interrupted" }
    : { tag: "Unknown", message: Cause.pretty(cause) }
}

const pad = (value: number, width: number): string => String(value).padStart(width, "0")

/** `YYYYmmdd` and `HHMMSS_mmm` in UTC. */
const stamp = (at: number): { readonly day: string; readonly time: string } => {
  const date = new Date(at)
  return {
    day: `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1, 2)}${pad(date.getUTCDate(), 2)}`,
    time: `${pad(date.getUTCHours(), 2)}${pad(date.getUTCMinutes(), 2)}${pad(date.getUTCSeconds(), 2)}_${
      pad(date.getUTCMilliseconds(), 3)
    }`
  }
}

/** Nearest-rank percentile of unsorted values; 0 for none. */
const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return 0
  const sorted = values.slice().sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!
}

const summarise = (report: CleanupReport): Api.CleanupSummary => ({
  run: report.run,
  status: report.status,
  durationMs: report.durationMs,
  executionOrder: report.executionOrder,
  steps: report.steps.map((step) => ({
    name: step.name,
    status: step.status,
    durationMs: step.durationMs,
    error: Option.match(step.cause, { onNone: () => undefined, onSome: (cause) => causeInfo(cause).message })
  }))
})

interface Sum {
  count: number
  total: number
}

const mean = (sum: Sum): number => (sum.count === 0 ? 0 : sum.total / sum.count)

/** `YYYYmmdd_HHMMSS_mmm` (UTC) of an attempt's id. */
const idStamp = (startedAt: number): string => {
  const { day, time } = stamp(startedAt)
  return `${day}_${time}`
}

/** The attempt of an input, with its identity (pure). */
const toAttempt = (input: Api.AttemptInput, id: string, session: string, seq: number): Api.RecoveryAttempt => {
  const detectedAt = input.detectedAt ?? input.startedAt
  return {
    id,
    session,
    seq,
    component: input.component,
    trigger: input.trigger,
    channels: input.channels ?? [],
    occurredAt: input.occurredAt,
    detectedAt,
    states: input.states.map((entry) => ({ state: entry.state, channel: entry.channel, at: entry.at })),
    steps: input.steps ?? [],
    metrics: {
      startedAt: input.startedAt,
      endedAt: input.endedAt,
      durationMs: Math.max(0, input.endedAt - input.startedAt),
      timeToDetectMs: input.occurredAt === undefined ? undefined : Math.max(0, detectedAt - input.occurredAt),
      timeToRecoverMs: input.outcome === "Succeeded"
        ? Math.max(0, input.endedAt - (input.occurredAt ?? detectedAt))
        : undefined,
      resources: { ...input.resources }
    },
    cleanup: input.cleanup === undefined ? undefined : summarise(input.cleanup),
    outcome: input.outcome,
    error: input.error,
    joined: input.joined ?? 0
  }
}

/**
 * An attempt that no logger recorded (the logger's `record` died): id `recovery_<stamp>_<session>_u<n>`, `seq` 0.
 *
 * @internal
 */
export const unrecordedAttempt = (input: Api.AttemptInput, session: string, n: number): Api.RecoveryAttempt =>
  toAttempt(input, `recovery_${idStamp(input.startedAt)}_${session}_u${n}`, session, 0)

/**
 * The temporary files the logger writes before renaming them into place: `.<name>.<token>.tmp`.
 *
 * @internal
 */
export const isTemporaryFile = (name: string): boolean => name.startsWith(".") && name.endsWith(".tmp")

const isAlreadyExists = (error: unknown): boolean =>
  Predicate.hasProperty(error, "_tag") && error._tag === "SystemError" &&
  Predicate.hasProperty(error, "reason") && error.reason === "AlreadyExists"

/** @internal */
export class LoggerImpl implements Api.RecoveryLogger {
  readonly history: Array<Api.RecoveryAttempt> = []
  seq = 0
  recorded = 0
  successes = 0
  evicted = 0
  writes = 0
  writeFailures = 0
  lastWriteError: Api.ErrorInfo | undefined = undefined
  lastOutcome: Api.Outcome | undefined = undefined
  updatedAt: number | undefined = undefined
  /** Temporary files written so far (part of their names). */
  temporaries = 0
  /** The analytics changed since the analytics writer last took them. */
  analyticsDirty = false
  /** A fiber is writing the analytics file (the single writer). */
  analyticsWriting = false
  readonly duration: Sum = { count: 0, total: 0 }
  readonly detect: Sum = { count: 0, total: 0 }
  readonly recover: Sum = { count: 0, total: 0 }
  readonly triggers = new Map<string, number>()
  readonly transitions = new Map<string, Map<string, number>>()
  readonly resources = new Map<string, Sum>()

  constructor(
    readonly session: string,
    readonly directory: string | undefined,
    readonly historySize: number,
    readonly writeTimeoutMs: number,
    readonly components: Api.Options["components"],
    readonly fs: FileSystem.FileSystem,
    readonly path: Path.Path
  ) {}

  /**
   * Writes one file (creating its directory) atomically, never failing: the content goes to a new temporary file in
   * the same directory (`.<name>.<token>.tmp`, created exclusively), which is then renamed over the final path, so a
   * reader sees the old file or the new one, never a part. The whole is bounded by `writeTimeout`; on failure the
   * temporary file is removed, and the failure is logged and counted.
   */
  write(folder: string, name: string, content: unknown): Effect.Effect<Option.Option<string>> {
    const directory = this.directory
    if (directory === undefined) return Effect.succeedNone
    return Effect.suspend(() => {
      const folderPath = this.path.join(directory, folder)
      const file = this.path.join(folderPath, name)
      const temporary = this.path.join(folderPath, `.${name}.${this.session}-${++this.temporaries}.tmp`)
      // false when the exclusive create found the temporary file there: it is not ours to remove
      let ours = true
      return this.fs.makeDirectory(folderPath, { recursive: true }).pipe(
        Effect.zipRight(
          Effect.suspend(() =>
            this.fs.writeFileString(temporary, `${JSON.stringify(content, null, 2)}\n`, { flag: "wx" }).pipe(
              Effect.tapError((error) =>
                Effect.sync(() => {
                  ours = !isAlreadyExists(error)
                })
              )
            )
          )
        ),
        Effect.zipRight(Effect.suspend(() => this.fs.rename(temporary, file))),
        Effect.timeout(this.writeTimeoutMs),
        Effect.exit,
        Effect.flatMap((exit) => {
          if (Exit.isSuccess(exit)) {
            this.writes++
            return Effect.succeed(Option.some(file))
          }
          const info = causeInfo(exit.cause)
          this.writeFailures++
          this.lastWriteError = info
          const removal = ours
            ? Effect.ignore(Effect.timeout(this.fs.remove(temporary, { force: true }), this.writeTimeoutMs))
            : Effect.void
          return removal.pipe(
            Effect.zipRight(
              Effect.logWarning("recovery log write failed").pipe(
                Effect.annotateLogs({ path: file, error: `${info.tag}: ${info.message}` })
              )
            ),
            Effect.zipRight(Metric.increment(metrics.writeFailures)),
            Effect.as(Option.none())
          )
        })
      )
    })
  }

  /**
   * Asks for the analytics file to be rewritten. One fiber at a time writes it (the single writer): it takes the
   * latest analytics when a write starts, and writes again as long as records came in meanwhile. A record that finds
   * a writer at work leaves the write to it and returns at once, so the file on disk, once every record has
   * returned, holds the analytics of every attempt. (Should the writer be interrupted, the next record writes.)
   */
  refreshAnalytics(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.directory === undefined) return Effect.void
      this.analyticsDirty = true
      if (this.analyticsWriting) return Effect.void
      this.analyticsWriting = true
      return Effect.ensuring(
        this.drainAnalytics(),
        Effect.sync(() => {
          this.analyticsWriting = false
        })
      )
    })
  }

  drainAnalytics(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (!this.analyticsDirty) return Effect.void
      this.analyticsDirty = false
      const analytics = this.analyticsNow()
      const day = stamp(analytics.updatedAt ?? 0).day
      return Effect.zipRight(
        this.write("analytics", `recovery_analytics_${day}.json`, analytics),
        this.drainAnalytics()
      )
    })
  }

  commit(input: Api.AttemptInput, at: number): Api.RecoveryAttempt {
    const seq = ++this.seq
    const attempt = toAttempt(input, `recovery_${idStamp(input.startedAt)}_${this.session}_${seq}`, this.session, seq)
    const { durationMs, timeToDetectMs, timeToRecoverMs } = attempt.metrics
    this.history.push(attempt)
    if (this.history.length > this.historySize) {
      this.history.shift()
      this.evicted++
    }
    this.recorded++
    if (attempt.outcome === "Succeeded") this.successes++
    this.lastOutcome = attempt.outcome
    this.updatedAt = at
    this.duration.count++
    this.duration.total += durationMs
    if (timeToDetectMs !== undefined) {
      this.detect.count++
      this.detect.total += timeToDetectMs
    }
    if (timeToRecoverMs !== undefined) {
      this.recover.count++
      this.recover.total += timeToRecoverMs
    }
    this.triggers.set(attempt.trigger, (this.triggers.get(attempt.trigger) ?? 0) + 1)
    const main = attempt.states.filter((entry) => entry.channel === undefined)
    for (let i = 1; i < main.length; i++) {
      const from = main[i - 1]!.state
      const to = main[i]!.state
      let row = this.transitions.get(from)
      if (row === undefined) {
        row = new Map()
        this.transitions.set(from, row)
      }
      row.set(to, (row.get(to) ?? 0) + 1)
    }
    for (const [key, value] of Object.entries(attempt.metrics.resources)) {
      let sum = this.resources.get(key)
      if (sum === undefined) {
        sum = { count: 0, total: 0 }
        this.resources.set(key, sum)
      }
      sum.count++
      sum.total += value
    }
    return attempt
  }

  analyticsNow(): Api.Analytics {
    const retained = this.history
    const stateTransitions: Record<string, Record<string, number>> = {}
    for (const [from, row] of this.transitions) stateTransitions[from] = Object.fromEntries(row)
    const resourceUsage: Record<string, number> = {}
    for (const [key, sum] of this.resources) resourceUsage[key] = mean(sum)
    return {
      totalAttempts: this.recorded,
      successes: this.successes,
      failures: this.recorded - this.successes,
      successRate: this.recorded === 0 ? 0 : (this.successes / this.recorded) * 100,
      durationMs: {
        count: this.duration.count,
        mean: mean(this.duration),
        p95: percentile(retained.map((attempt) => attempt.metrics.durationMs), 95)
      },
      commonTriggers: [...this.triggers.entries()]
        .map(([trigger, count]) => ({ trigger, count }))
        .sort((a, b) => b.count - a.count || (a.trigger < b.trigger ? -1 : a.trigger > b.trigger ? 1 : 0)),
      stateTransitions,
      timeToDetectMs: {
        count: this.detect.count,
        mean: mean(this.detect),
        p95: percentile(
          retained.flatMap((attempt) =>
            attempt.metrics.timeToDetectMs === undefined ? [] : [attempt.metrics.timeToDetectMs]
          ),
          95
        )
      },
      timeToRecoverMs: {
        count: this.recover.count,
        mean: mean(this.recover),
        p95: percentile(
          retained.flatMap((attempt) =>
            attempt.metrics.timeToRecoverMs === undefined ? [] : [attempt.metrics.timeToRecoverMs]
          ),
          95
        )
      },
      resourceUsage,
      updatedAt: this.updatedAt
    }
  }

  record(input: Api.AttemptInput): Effect.Effect<Api.RecoveryAttempt> {
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const attempt = this.commit(input, now)
      const final = attempt.states[attempt.states.length - 1]?.state
      const log = attempt.outcome === "Succeeded"
        ? Effect.logInfo("recovery attempt recorded")
        : Effect.logWarning("recovery attempt recorded")
      return Metric.increment(Metric.tagged(metrics.attempts, "outcome", attempt.outcome)).pipe(
        Effect.zipRight(this.write("recovery", `${attempt.id}.json`, attempt)),
        Effect.zipRight(this.refreshAnalytics()),
        Effect.zipRight(
          log.pipe(
            Effect.annotateLogs({
              trigger: attempt.trigger,
              outcome: attempt.outcome,
              durationMs: attempt.metrics.durationMs
            }),
            annotate({
              component: attempt.component,
              state: final,
              attempt: attempt.id,
              channel: attempt.channels.length === 0 ? undefined : attempt.channels.join(",")
            })
          )
        ),
        Effect.as(attempt)
      )
    })
  }

  get attempts(): Effect.Effect<ReadonlyArray<Api.RecoveryAttempt>> {
    return Effect.sync(() => this.history.slice())
  }

  attempt(id: string): Effect.Effect<Option.Option<Api.RecoveryAttempt>> {
    return Effect.sync(() => Option.fromNullable(this.history.find((attempt) => attempt.id === id)))
  }

  get analytics(): Effect.Effect<Api.Analytics> {
    return Effect.sync(() => this.analyticsNow())
  }

  get lastStatus(): Effect.Effect<"no_attempts" | "success" | "failed"> {
    return Effect.sync(() =>
      this.lastOutcome === undefined ? "no_attempts" : this.lastOutcome === "Succeeded" ? "success" : "failed"
    )
  }

  get stats(): Effect.Effect<Api.Stats> {
    return Effect.sync(() => ({
      recorded: this.recorded,
      retained: this.history.length,
      evicted: this.evicted,
      writes: this.writes,
      writeFailures: this.writeFailures,
      lastWriteError: this.lastWriteError
    }))
  }

  stateDump(
    id: string
  ): Effect.Effect<{ readonly dump: Api.StateDump; readonly path: Option.Option<string> }, UnknownAttempt> {
    return Effect.gen(this, function*() {
      const attempt = this.history.find((candidate) => candidate.id === id)
      if (attempt === undefined) return yield* Effect.fail(new UnknownAttempt({ id }))
      const locks = yield* LockRegistry.snapshot()
      const components = this.components === undefined ? [] : yield* this.components.components
      const dump: Api.StateDump = {
        attempt,
        analytics: this.analyticsNow(),
        locks,
        components: components.map((info) => ({
          id: info.id,
          state: info.state,
          generation: info.generation,
          failures: info.failures
        })),
        at: yield* Clock.currentTimeMillis
      }
      const path = yield* this.write("debug", `state_dump_${id}.json`, dump)
      return { dump, path }
    })
  }

  cleanupOldLogs(maxAge?: Duration.DurationInput): Effect.Effect<ReadonlyArray<string>> {
    const directory = this.directory
    if (directory === undefined) return Effect.succeed([])
    const maxAgeMs = Duration.toMillis(maxAge ?? Duration.days(30))
    return Effect.flatMap(
      Clock.currentTimeMillis,
      (now) =>
        Effect.forEach(["recovery", "analytics", "debug"], (folder) => {
          const folderPath = this.path.join(directory, folder)
          return this.fs.readDirectory(folderPath).pipe(
            Effect.orElseSucceed((): ReadonlyArray<string> => []),
            Effect.flatMap((names) =>
              Effect.forEach(names, (name) => {
                const file = this.path.join(folderPath, name)
                return this.fs.stat(file).pipe(
                  Effect.flatMap((info) => {
                    const mtime = Option.map(info.mtime, (date) => date.getTime())
                    return info.type === "File" && Option.isSome(mtime) && now - mtime.value > maxAgeMs
                      ? Effect.as(this.fs.remove(file), [file])
                      : Effect.succeed([])
                  }),
                  Effect.catchAll((error) =>
                    Effect.as(
                      Effect.logWarning("recovery log retention could not remove a file").pipe(
                        Effect.annotateLogs({ path: file, error: errorInfo(error).message })
                      ),
                      []
                    )
                  )
                )
              })
            ),
            Effect.map((removed) => removed.flat())
          )
        })
    ).pipe(Effect.map((removed) => removed.flat()))
  }
}

/** @internal */
export const make = (
  options?: Api.Options
): Effect.Effect<Api.RecoveryLogger, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const historySize = options?.historySize ?? 1_000
    if (!Number.isInteger(historySize) || historySize < 1) {
      return yield* Effect.dieMessage(`RecoveryLogger: historySize must be a positive integer, got ${historySize}`)
    }
    const writeTimeoutMs = Duration.toMillis(options?.writeTimeout ?? Duration.seconds(5))
    if (!(writeTimeoutMs > 0)) {
      return yield* Effect.dieMessage(`RecoveryLogger: writeTimeout must be positive, got ${writeTimeoutMs} ms`)
    }
    const session = options?.session ?? (yield* Random.nextIntBetween(0, 0x7fffffff)).toString(16).padStart(8, "0")
    const logger = new LoggerImpl(
      session,
      options?.directory,
      historySize,
      writeTimeoutMs,
      options?.components,
      yield* FileSystem.FileSystem,
      yield* Path.Path
    )
    const directory = options?.directory
    if (directory !== undefined) {
      yield* Effect.forEach(["recovery", "analytics", "debug"], (folder) =>
        logger.fs.makeDirectory(logger.path.join(directory, folder), { recursive: true }).pipe(
          Effect.catchAll((error) => {
            logger.writeFailures++
            logger.lastWriteError = errorInfo(error)
            return Effect.logWarning("recovery log directory could not be created").pipe(
              Effect.annotateLogs({ path: logger.path.join(directory, folder), error: errorInfo(error).message }),
              Effect.zipRight(Metric.increment(metrics.writeFailures))
            )
          })
        ), { discard: true })
    }
    return logger
  })

/** @internal */
export const layerJson = (options?: { readonly write?: ((line: string) => void) | undefined }): Layer.Layer<never> => {
  const write = options?.write
  return Logger.replace(
    Logger.defaultLogger,
    write === undefined ? Logger.withConsoleLog(Logger.jsonLogger) : Logger.map(Logger.jsonLogger, write)
  )
}

/** @internal */
export const annotate: {
  (fields: Api.Annotations): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, fields: Api.Annotations): Effect.Effect<A, E, R>
} = dual(2, <A, E, R>(self: Effect.Effect<A, E, R>, fields: Api.Annotations): Effect.Effect<A, E, R> => {
  const values: Record<string, string> = {}
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value === "string") values[key] = value
  }
  return Effect.annotateLogs(self, values)
})
