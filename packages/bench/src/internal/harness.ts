import { Context, Data, Effect } from "effect"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Bench, hrtimeNow } from "tinybench"

/** @internal */
export interface SettingsShape {
  readonly warmupRounds: number
  readonly rounds: number
  readonly clock: Clock
  readonly smoke: boolean
}

/** @internal */
export type Clock = "cpu" | "wall"

/** @internal */
export class Settings extends Context.Tag("@core-stability/bench/Settings")<Settings, SettingsShape>() {}

/** @internal */
export const full: SettingsShape = { warmupRounds: 20, rounds: 100, clock: "cpu", smoke: false }

/** @internal */
export const smoke: SettingsShape = { warmupRounds: 0, rounds: 1, clock: "cpu", smoke: true }

/** @internal */
export type SideName = "subject" | "baseline"

/** @internal */
export class SampleError extends Data.TaggedError("SampleError")<{
  readonly side: SideName
  readonly cause: unknown
}> {
  override get message(): string {
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `the ${this.side} failed while sampling: ${cause}`
  }
}

/** @internal */
export interface Measurement {
  readonly subjectValue: number
  readonly baselineValue: number
  readonly ratio: number
}

/** @internal */
export interface Side {
  readonly setup?: (() => unknown) | undefined
  readonly run: () => unknown
  readonly teardown?: (() => unknown) | undefined
}

/** @internal */
export interface LatencySide {
  readonly setup?: (() => unknown) | undefined
  readonly operation: Effect.Effect<unknown, unknown>
}

/** @internal */
export interface MemorySide {
  readonly setup?: (() => unknown) | undefined
  readonly allocate: (count: number) => unknown
  readonly teardown?: (() => unknown) | undefined
}

/** @internal */
export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** @internal */
export const quantile = (values: ReadonlyArray<number>, q: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1]!
}

/** @internal */
export const size = (fullSize: number, smokeSize: number): Effect.Effect<number, never, Settings> =>
  Effect.map(Settings, (settings) => settings.smoke ? smokeSize : fullSize)

/** @internal */
export const loop = <E, R>(operations: number, body: Effect.Effect<unknown, E, R>): Effect.Effect<void, E, R> =>
  Effect.suspend(() => {
    let i = 0
    return Effect.whileLoop({
      while: () => i < operations,
      body: () => body,
      step: () => {
        i++
      }
    })
  })

/** @internal */
export const runEffect = <A, E>(self: Effect.Effect<A, E>): () => Promise<A> => () => Effect.runPromise(self)

/** @internal */
export interface Rounds {
  readonly warmupRounds?: number | undefined
  readonly rounds?: number | undefined
}

// Subject first in even rounds, baseline first in odd ones, so neither side always runs on a warmer (or colder) heap.
const order = (round: number): ReadonlyArray<SideName> =>
  round % 2 === 0 ? ["subject", "baseline"] : ["baseline", "subject"]

interface Pair {
  readonly subject: number
  readonly baseline: number
}

const paired = (
  measure: (side: SideName) => Effect.Effect<number, SampleError>,
  overrides: Rounds
): Effect.Effect<Measurement, SampleError, Settings> =>
  Effect.gen(function*() {
    const settings = yield* Settings
    const warmup = settings.smoke ? settings.warmupRounds : overrides.warmupRounds ?? settings.warmupRounds
    const total = warmup + (settings.smoke ? settings.rounds : overrides.rounds ?? settings.rounds)
    const pairs: Array<Pair> = []
    for (let round = 0; round < total; round++) {
      const values: Record<SideName, number> = { subject: 0, baseline: 0 }
      for (const side of order(round)) {
        values[side] = yield* measure(side)
      }
      if (round >= warmup) pairs.push(values)
    }
    return {
      subjectValue: median(pairs.map((pair) => pair.subject)),
      baselineValue: median(pairs.map((pair) => pair.baseline)),
      ratio: median(pairs.map((pair) => pair.subject / pair.baseline))
    }
  })

let collector: (() => void) | undefined

/** Two full collections, through `global.gc` or V8's flag set at run time; throws if neither is available. @internal */
export const collectGarbage = (): void => {
  if (collector === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc
    if (exposed === undefined) setFlagsFromString("--expose-gc")
    collector = exposed ?? (runInNewContext("gc") as () => void)
  }
  // a second pass collects what the first one's weak callbacks released
  collector()
  collector()
}

// The process's CPU time (user + system) in milliseconds: time spent descheduled while other processes run on a
// shared machine does not count, time spent by the process's own helper threads (garbage collection) does.
const cpuNow = (): number => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

const sampleMilliseconds = (name: SideName, side: Side, clock: Clock): Effect.Effect<number, SampleError> =>
  Effect.tryPromise({
    try: async () => {
      const bench = new Bench({
        time: 0,
        iterations: 1,
        warmupTime: 0,
        warmupIterations: 0,
        throws: true,
        now: clock === "cpu" ? cpuNow : hrtimeNow
      })
      // an async function is recognised as such by tinybench without a probing call, so the one call is the sample
      const { setup, teardown } = side
      bench.add(name, async () => {
        await side.run()
      }, {
        ...(setup === undefined ? {} : {
          beforeEach: async () => {
            await setup()
          }
        }),
        ...(teardown === undefined ? {} : {
          afterEach: async () => {
            await teardown()
          }
        })
      })
      const [task] = await bench.run()
      return task?.result?.samples[0] ?? Number.NaN
    },
    catch: (cause) => new SampleError({ side: name, cause })
  })

/** @internal */
export const compare = (
  options: Rounds & {
    readonly subject: Side
    readonly baseline: Side
    readonly unit: "ops/s" | "ns/op" | "ms"
    readonly operations: number
  }
): Effect.Effect<Measurement, SampleError, Settings> =>
  Effect.flatMap(
    Settings,
    (settings) =>
      paired((side) =>
        Effect.map(
          sampleMilliseconds(side, options[side], settings.clock),
          (milliseconds) => {
            switch (options.unit) {
              case "ops/s":
                return options.operations / (milliseconds / 1000)
              case "ns/op":
                return (milliseconds * 1e6) / options.operations
              case "ms":
                return milliseconds
            }
          }
        ), options)
  )

const latencySample = (
  name: SideName,
  side: LatencySide,
  operations: number,
  percentile: number,
  clock: Clock
): Effect.Effect<number, SampleError> =>
  Effect.tryPromise({
    try: async () => {
      if (side.setup !== undefined) await side.setup()
      const now = clock === "cpu" ? cpuNow : hrtimeNow
      const durations: Array<number> = []
      const timed = Effect.suspend(() => {
        const start = now()
        return Effect.tap(side.operation, () => {
          durations.push(now() - start)
        })
      })
      await Effect.runPromise(loop(operations, timed))
      return quantile(durations, percentile) * 1000
    },
    catch: (cause) => new SampleError({ side: name, cause })
  })

/** @internal */
export const latency = (
  options: Rounds & {
    readonly subject: LatencySide
    readonly baseline: LatencySide
    readonly operations: number
    readonly percentile: number
  }
): Effect.Effect<Measurement, SampleError, Settings> =>
  Effect.flatMap(
    Settings,
    (settings) =>
      paired(
        (side) => latencySample(side, options[side], options.operations, options.percentile, settings.clock),
        options
      )
  )

const bytesPerInstance = (name: SideName, side: MemorySide, count: number): Effect.Effect<number, SampleError> =>
  Effect.tryPromise({
    try: async () => {
      if (side.setup !== undefined) await side.setup()
      collectGarbage()
      const before = process.memoryUsage().heapUsed
      // the instances stay reachable through `held` until after the second reading
      const held: Array<unknown> = [await side.allocate(count)]
      collectGarbage()
      const after = process.memoryUsage().heapUsed
      held.length = 0
      if (side.teardown !== undefined) await side.teardown()
      return Math.max(0, after - before) / count
    },
    catch: (cause) => new SampleError({ side: name, cause })
  })

/** @internal */
export const memory = (options: {
  readonly subject: MemorySide
  readonly baseline: MemorySide
  readonly count: number
  readonly rounds?: number | undefined
}): Effect.Effect<Measurement, SampleError, Settings> =>
  paired((side) => bytesPerInstance(side, options[side], options.count), {
    warmupRounds: 1,
    rounds: options.rounds ?? 5
  })
