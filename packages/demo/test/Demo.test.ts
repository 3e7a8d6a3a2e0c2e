import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { readFileSync } from "node:fs"
import * as FaultSpec from "../src/FaultSpec.js"
import * as Checks from "../src/internal/checks.js"
import * as Demo from "../src/internal/demo.js"
import * as WavInput from "../src/WavInput.js"
import { NodeLayer, noise, readChannels, samplePath, tempDir, wavBytes, writeFixture } from "./utils/wav.js"

const options = (overrides: Partial<Demo.DemoOptions>): Demo.DemoOptions => ({
  input: samplePath,
  out: "out",
  faults: Option.none(),
  noFaults: false,
  seed: 42,
  realtime: false,
  ...overrides
})

const withStop = (signal?: Demo.StopSignalName) =>
  Layer.effect(
    Demo.StopSignal,
    Effect.tap(Deferred.make<Demo.StopSignalName>(), (stop) =>
      signal === undefined ? Effect.void : Deferred.succeed(stop, signal))
  )

const runDemo = (demoOptions: Demo.DemoOptions, signal?: Demo.StopSignalName) =>
  Effect.flatMap(Demo.prepare(demoOptions), (plan) => Demo.execute(plan)).pipe(Effect.provide(withStop(signal)))

const json = (path: string) => JSON.parse(readFileSync(path, "utf8"))

describe("Demo", () => {
  it.scoped("runs on the bundled sample with the default faults and a fixed seed, and every output checks out", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* tempDir
      const out = `${dir}/out`
      const outcome = yield* runDemo(options({ out }))
      assert.strictEqual(outcome.exitCode, 0)
      assert.strictEqual(outcome.outDir, out)
      assert.deepStrictEqual(outcome.report.checks.map((check) => check.ok), [true, true, true, true, true])
      assert.deepStrictEqual((yield* fs.readDirectory(out)).sort(), [
        "left.wav",
        "report.json",
        "right.wav",
        "segments.json"
      ])

      // The outputs, read independently of the demo's reader.
      const input = readChannels(samplePath)
      const left = readChannels(`${out}/left.wav`)
      const right = readChannels(`${out}/right.wav`)
      assert.deepStrictEqual([left.sampleRate, right.sampleRate], [16000, 16000])
      assert.deepStrictEqual(left.channels, [input.channels[0]])
      assert.deepStrictEqual(right.channels, [input.channels[1]])

      const segments = json(`${out}/segments.json`)
      const header = yield* WavInput.readHeader(samplePath)
      assert.strictEqual(segments.status, "completed")
      assert.deepStrictEqual(segments.channels, yield* Checks.referenceSegments(header))
      assert.deepStrictEqual([segments.channels.left.length, segments.channels.right.length], [4, 4])

      const report = json(`${out}/report.json`)
      assert.strictEqual(report.status, "completed")
      assert.strictEqual(report.exitCode, 0)
      assert.strictEqual(report.input.frames, Math.ceil(header.samplesPerChannel / 480))
      assert.strictEqual(report.faults.spec, FaultSpec.defaultSpec)
      assert.strictEqual(report.faults.injected, false)
      assert.strictEqual(report.options.seed, 42)
      assert.isTrue(report.queues.every((q: Demo.Report["queues"][number]) => q.put === q.taken && q.dropped === 0))
    }).pipe(Effect.provide(NodeLayer)))

  it.scoped("gives byte-identical segments.json on every run", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* runDemo(options({ out: `${dir}/a` }))
      yield* runDemo(options({ out: `${dir}/b`, noFaults: true, seed: 7 }))
      assert.strictEqual(readFileSync(`${dir}/a/segments.json`, "utf8"), readFileSync(`${dir}/b/segments.json`, "utf8"))
    }).pipe(Effect.provide(NodeLayer)))

  it.scoped("a stop signal ends the run as interrupted, with finalised outputs and exit code 143 for SIGTERM", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const out = `${dir}/out`
      const outcome = yield* runDemo(options({ out }), "SIGTERM")
      assert.strictEqual(outcome.exitCode, 143)
      assert.strictEqual(outcome.report.status, "interrupted")
      assert.strictEqual(outcome.report.signal, "SIGTERM")
      assert.deepStrictEqual(outcome.report.checks, [])
      assert.strictEqual(json(`${out}/report.json`).status, "interrupted")
      assert.strictEqual(json(`${out}/segments.json`).status, "interrupted")
      const left = yield* WavInput.readHeader(`${out}/left.wav`)
      assert.strictEqual(left.samplesPerChannel, outcome.report.framesCaptured * 480)
    }).pipe(Effect.provide(NodeLayer)))

  it.scoped("a stop signal during the final checks skips them; the outputs are complete", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const out = `${dir}/out`
      const stop = yield* Deferred.make<Demo.StopSignalName>()
      const plan = yield* Demo.prepare(options({ out }))
      const outcome = yield* Demo.execute(plan, {
        onProgress: (p) =>
          Object.values(p.stages).every((stage) => stage === "finished")
            ? Effect.asVoid(Deferred.succeed(stop, "SIGINT"))
            : Effect.void
      }).pipe(Effect.provideService(Demo.StopSignal, stop))
      assert.deepStrictEqual(
        [outcome.exitCode, outcome.report.status, outcome.report.signal, outcome.report.checks.length],
        [130, "interrupted", "SIGINT", 0]
      )
      assert.strictEqual(outcome.report.framesCaptured, outcome.report.input.frames)
      assert.strictEqual(json(`${out}/segments.json`).status, "completed")
      assert.deepStrictEqual(readChannels(`${out}/left.wav`).channels[0], readChannels(samplePath).channels[0])
    }).pipe(Effect.provide(NodeLayer)))

  it.scoped("runs a mono input as one channel and removes a right.wav left over from an earlier run", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* tempDir
      const input = yield* writeFixture(dir, "mono.wav", wavBytes(1, 44100, "16", [noise(44100, 11)]))
      const out = `${dir}/out`
      yield* fs.makeDirectory(out)
      yield* fs.writeFileString(`${out}/right.wav`, "stale")
      const outcome = yield* runDemo(options({ input, out, faults: Option.some("processor-left:crash@n=3") }))
      assert.strictEqual(outcome.exitCode, 0)
      assert.deepStrictEqual((yield* fs.readDirectory(out)).sort(), ["left.wav", "report.json", "segments.json"])
      assert.deepStrictEqual(readChannels(`${out}/left.wav`).channels[0], Int16Array.from(noise(44100, 11)))
    }).pipe(Effect.provide(NodeLayer)))

  it.scoped("refuses bad options before creating anything", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* tempDir
      const out = `${dir}/never`
      const mono = yield* writeFixture(dir, "mono.wav", wavBytes(1, 8000, "16", [[1, 2, 3]]))
      const file = yield* writeFixture(dir, "file", "not a directory")
      const failures = yield* Effect.forEach([
        options({ out, faults: Option.some("capture:crash@n=1"), noFaults: true }),
        options({ out, input: mono, faults: Option.some("writer-right:io-error@n=3") }),
        options({ out, faults: Option.some("capture:crash@p=2") }),
        options({ out, input: `${dir}/missing.wav` }),
        options({ out: file })
      ], (o) => Effect.flip(Demo.prepare(o)))
      assert.deepStrictEqual(failures.map((e) => e._tag), [
        "InvalidOption",
        "InvalidFaultSpec",
        "InvalidFaultSpec",
        "InputNotFound",
        "InvalidOption"
      ])
      assert.strictEqual(failures[0]!.message, "--faults: cannot be combined with --no-faults")
      assert.strictEqual(failures[4]!.message, `--out: ${file} exists and is not a directory`)
      assert.isFalse(yield* fs.exists(out))
    }).pipe(Effect.provide(NodeLayer)))
})
