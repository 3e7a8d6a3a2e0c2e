import { Effect } from "effect"
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdtemp, open, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Benchmark } from "../../Benchmark.js"
import * as Harness from "../harness.js"

const repository = fileURLToPath(new URL("../../../../../", import.meta.url))
const demoScript = join(repository, "scripts", "demo.mjs")
const gnuTime = "/usr/bin/time"

const sampleRate = 48_000
const channels = 2

// Deterministic synthetic speech-like content, one speaker per channel: bursts of two mixed tones (about -18 dBFS RMS,
// well above the detector's -36 dBFS) separated by silences with faint noise (about -70 dBFS, below its -42 dBFS),
// of lengths that differ per channel (left 2 s on / 1 s off, right 1.5 s on / 0.7 s off), so the detector opens and
// closes segments on both channels all along the file.
const sample = (channel: number, index: number, noise: () => number): number => {
  const seconds = index / sampleRate
  const [on, off, low, high] = channel === 0 ? [2, 1, 220, 330] : [1.5, 0.7, 180, 470]
  const speaking = seconds % (on + off) < on
  const value = speaking
    ? 0.15 * Math.sin(2 * Math.PI * low * seconds) + 0.1 * Math.sin(2 * Math.PI * high * seconds)
    : (noise() - 0.5) * 0.001
  return Math.max(-32768, Math.min(32767, Math.round(value * 32767)))
}

// Writes a stereo 16-bit PCM WAV of `seconds` seconds (a 1-hour file is 691 MB).
const writeWav = async (path: string, seconds: number): Promise<void> => {
  const bytesPerSecond = sampleRate * channels * 2
  const dataBytes = seconds * bytesPerSecond
  const header = Buffer.alloc(44)
  header.write("RIFF", 0, "ascii")
  header.writeUInt32LE(36 + dataBytes, 4)
  header.write("WAVE", 8, "ascii")
  header.write("fmt ", 12, "ascii")
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20) // PCM
  header.writeUInt16LE(channels, 22)
  header.writeUInt32LE(sampleRate, 24)
  header.writeUInt32LE(bytesPerSecond, 28)
  header.writeUInt16LE(channels * 2, 32)
  header.writeUInt16LE(16, 34)
  header.write("data", 36, "ascii")
  header.writeUInt32LE(dataBytes, 40)
  // Both channels repeat every 33 s (left every 3 s, right every 2.2 s, each tone a whole number of cycles in its
  // period): one 33-second block is computed, with its noise, and written over and over.
  let state = 0x2545f491
  const noise = (): number => {
    // xorshift32: deterministic noise
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 4294967296
  }
  const blockSeconds = 33
  const block = Buffer.alloc(blockSeconds * bytesPerSecond)
  for (let index = 0; index < blockSeconds * sampleRate; index++) {
    block.writeInt16LE(sample(0, index, noise), index * 4)
    block.writeInt16LE(sample(1, index, noise), index * 4 + 2)
  }
  const file = await open(path, "w")
  try {
    await file.write(header)
    for (let written = 0; written < dataBytes;) {
      const length = Math.min(block.length, dataBytes - written)
      await file.write(block, 0, length)
      written += length
    }
  } finally {
    await file.close()
  }
}

interface DemoRun {
  readonly wallMs: number
  readonly peakRssBytes: number
}

// Runs `node scripts/demo.mjs --input <wav> --out <dir> --quiet` (default faults) under GNU time, which reports the
// largest maximum resident set size in the process tree (the wrapper script and the demo process it waits for).
const runDemo = (input: string, out: string, timeFile: string): Promise<DemoRun> =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const stderr: Array<Buffer> = []
    const child = spawn(
      gnuTime,
      ["-f", "%M", "-o", timeFile, process.execPath, demoScript, "--input", input, "--out", out, "--quiet"],
      { cwd: repository, stdio: ["ignore", "ignore", "pipe"] }
    )
    child.stderr.on("data", (data: Buffer) => stderr.push(data))
    child.on("error", reject)
    child.on("close", (code) => {
      const wallMs = performance.now() - started
      if (code !== 0) {
        reject(new Error(`the demo exited with ${code}: ${Buffer.concat(stderr).toString("utf8").slice(-2000)}`))
        return
      }
      readFile(timeFile, "utf8").then((text) => {
        const kilobytes = Number(text.trim().split("\n").at(-1))
        if (!Number.isFinite(kilobytes)) reject(new Error(`no maximum RSS in the output of ${gnuTime}: ${text}`))
        else resolve({ wallMs, peakRssBytes: kilobytes * 1024 })
      }, reject)
    })
  })

// Writes a `seconds`-second input into a temporary directory, runs the demo `runs` times over it, and removes it.
const demoRuns = (
  seconds: number,
  runs: number
): Effect.Effect<ReadonlyArray<DemoRun>, Harness.SampleError> =>
  Effect.tryPromise({
    try: async () => {
      if (!existsSync(demoScript)) throw new Error(`${demoScript} is missing`)
      if (!existsSync(gnuTime)) throw new Error(`${gnuTime} (GNU time) is needed to read the demo's peak RSS`)
      const directory = await mkdtemp(join(tmpdir(), "core-stability-bench-demo-"))
      try {
        const input = join(directory, "input.wav")
        await writeWav(input, seconds)
        const results: Array<DemoRun> = []
        for (let run = 0; run < runs; run++) {
          const out = join(directory, `out-${run}`)
          results.push(await runDemo(input, out, join(directory, `time-${run}.txt`)))
          await rm(out, { recursive: true, force: true })
        }
        return results
      } finally {
        await rm(directory, { recursive: true, force: true })
      }
    },
    catch: (cause) => new Harness.SampleError({ side: "subject", cause })
  })

/** @internal */
export const realtimeFactor: Benchmark = {
  id: "demo.realtime-factor",
  subject: "audio duration of the input, ms: a generated 10-minute stereo 48 kHz 16-bit WAV (per channel, " +
    "deterministic bursts of two tones separated by faint-noise silences, so the detector has segments to find)",
  baseline: "wall time of node scripts/demo.mjs --input <wav> --out <dir> --quiet over it, default faults, ms: the " +
    "whole process (start-up, pipeline, recoveries, final checks reading the outputs back); median of 3 runs. " +
    "ratio = audio / wall = the realtime factor",
  unit: "ms",
  direction: "higher",
  target: 50,
  limits: "The measured wall time is the whole command, so it includes the TypeScript loader's start-up and the " +
    "final checks, which read both outputs back and run a second detector pass (about as long as the pipeline); " +
    "it is wall time, so a loaded machine lowers it.",
  run: Effect.gen(function*() {
    const seconds = yield* Harness.size(600, 5)
    const runs = yield* Harness.size(3, 1)
    const results = yield* demoRuns(seconds, runs)
    const wallMs = Harness.median(results.map((result) => result.wallMs))
    const audioMs = seconds * 1000
    return {
      subjectValue: audioMs,
      baselineValue: wallMs,
      ratio: Harness.median(results.map((result) => audioMs / result.wallMs))
    }
  })
}

const rssBudget = 200_000_000

/** @internal */
export const rss1h: Benchmark = {
  id: "demo.rss-1h",
  subject: "peak RSS of node scripts/demo.mjs --input <wav> --out <dir> --quiet over a generated 1-hour stereo " +
    "48 kHz 16-bit WAV (691 MB; the same content as demo.realtime-factor), default faults: GNU time's maximum " +
    "resident set size, the largest process of the tree (the demo process, not its wrapper)",
  baseline: "the budget of the capability issue, 200 MB (200,000,000 bytes); ratio = peak RSS / budget",
  unit: "bytes",
  direction: "lower",
  target: 1,
  limits: "V8 grows its heap lazily: scripts/demo.mjs starts the demo with --max-old-space-size=128 " +
    "--max-semi-space-size=2 (without them a 1-hour file peaks near 250-280 MB of mostly uncollected garbage; " +
    "the pipeline itself streams).",
  run: Effect.gen(function*() {
    const seconds = yield* Harness.size(3_600, 5)
    const [result] = yield* demoRuns(seconds, 1)
    const peak = result!.peakRssBytes
    return { subjectValue: peak, baselineValue: rssBudget, ratio: peak / rssBudget }
  })
}

/** @internal */
export const benchmarks: ReadonlyArray<Benchmark> = [realtimeFactor, rss1h]
