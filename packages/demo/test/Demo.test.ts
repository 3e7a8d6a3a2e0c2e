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
  it.scopedLive("runs on the bundled sample with the default faults and a fixed seed, and every output checks out", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* tempDir
      const out = `${dir}/out`
      const outcome = yield* runDemo(options({ out }))
      assert.strictEqual(outcome.exitCode, 0)
      assert.strictEqual(outcome.outDir, out)
      assert.deepStrictEqual(
        outcome.report.checks.map((check) => check.ok),
        [true, true, true, true, true, true, true, true]
      )
      assert.deepStrictEqual((yield* fs.readDirectory(out)).sort(), [
        "left.wav",
        "recovery",
        "report.html",
        "report.json",
        "report.md",
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
      assert.strictEqual(report.faults.injected, true)
      // The default spec: one fault of each kind; the delay needs no recovery, the other three get an episode each.
      assert.deepStrictEqual(
        report.faults.fired.map((f: { point: string; rule: string; hit: number }) => [f.point, f.rule, f.hit]),
        [
          ["processor-left", "crash", 150],
          ["writer-right", "io-error", 300],
          ["capture", "delay", 450],
          ["processor-right", "hang", 600]
        ]
      )
      assert.deepStrictEqual(
        report.recoveries.episodes.map((e: Demo.Report["recoveries"]["episodes"][number]) => [
          e.component,
          e.fault,
          e.seq,
          e.recovered,
          e.steps.map((step) => step.name).join(",")
        ]),
        [
          ["processor-left", "crash", 149, true, "stop-capture,flush-buffers,reinitialise,verify,resume-capture"],
          ["writer-right", "io-error", 299, true, "stop-capture,flush-buffers,reinitialise,verify,resume-capture"],
          ["processor-right", "hang", 599, true, "stop-capture,flush-buffers,reinitialise,verify,resume-capture"]
        ]
      )
      assert.strictEqual(report.recoveries.count, 3)
      assert.isAtLeast(report.recoveries.mttrMs.max, 0)
      // The writer's fault strikes after the write: the re-delivered frame is skipped, not written twice.
      assert.deepStrictEqual(
        report.writers.map((w: { duplicatesSkipped: number }) => w.duplicatesSkipped),
        [0, 1]
      )
      // Each episode's verify step also ran the SystemVerifier.
      assert.isTrue(
        report.recoveries.episodes.every((e: Demo.Report["recoveries"]["episodes"][number]) =>
          (e.steps.find((step) => step.name === "verify")?.detail ?? "").includes("system verification passed")
        )
      )
      // The SystemVerifier's end-of-run report, in report.json and as one of the checks.
      assert.strictEqual(report.verification.verdict, "passed")
      assert.deepStrictEqual(
        report.verification.checks.map((c: { name: string; status: string }) => [c.name, c.status]),
        [
          ["components", "passed"],
          ["health", "passed"],
          ["locks", "passed"],
          ["resources", "passed"],
          ["buffers", "passed"],
          ["histories", "passed"],
          ["fibers", "passed"],
          ["frames", "passed"]
        ]
      )
      assert.strictEqual(outcome.report.checks.at(-1)?.name, "system verification passed (SystemVerifier)")
      // Every component is Stopped at the end: health counts them instead of reporting "0 components healthy".
      assert.deepStrictEqual(
        report.verification.checks.find((c: { name: string }) => c.name === "health").details,
        ["5 components: 0 healthy, 5 stopped, 0 degraded, 0 failed"]
      )
      assert.strictEqual(report.cleanup.status, "Completed")
      assert.strictEqual(report.locks.heldAtEnd, 0)
      assert.isTrue(report.locks.statistics.some((s: { metric: string }) => s.metric === "lock_acquisitions"))
      assert.deepStrictEqual(report.components.map((c: { name: string }) => c.name), [
        "capture",
        "processor-left",
        "processor-right",
        "writer-left",
        "writer-right"
      ])
      assert.isTrue(
        report.history.some((h: { component: string; state: string }) =>
          h.component === "processor-left" && h.state === "Error"
        )
      )

      const md = readFileSync(`${out}/report.md`, "utf8")
      const status = `completed: ${report.input.frames} of ${report.input.frames} frames per channel processed; ` +
        "all 8 checks passed (exit code 0)"
      assert.include(md, `# Demo run: completed\n\n**Status:** ${status}.\n`)
      assert.include(md, "stateDiagram-v2")
      assert.include(md, "| 1 | CleanupCoordinator.shutdown |")
      assert.include(md, "flowchart LR")
      const html = readFileSync(`${out}/report.html`, "utf8")
      assert.include(html, "<svg")
      assert.include(html, `<strong>Status:</strong> ${status}.`)
      assert.include(html, "Locks: wait and hold time")
      assert.notInclude(html, "<script")
      assert.notMatch(html, /(src|href)="(https?:)?\/\//)
      assert.deepStrictEqual(report.cleanup.executionOrder, [
        "stop-capture",
        "drain-buffers",
        "finalise-writers",
        "release-resources"
      ])
      assert.strictEqual(report.options.seed, 42)
      assert.isTrue(report.queues.every((q: Demo.Report["queues"][number]) => q.put === q.taken && q.dropped === 0))
      assert.deepStrictEqual(report.outputs, [
        "left.wav",
        "right.wav",
        "segments.json",
        "report.json",
        "report.md",
        "report.html",
        "recovery/"
      ])
    }).pipe(Effect.provide(NodeLayer)))

  it.scopedLive("gives byte-identical segments.json on every run", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* runDemo(options({ out: `${dir}/a` }))
      yield* runDemo(options({ out: `${dir}/b`, noFaults: true, seed: 7 }))
      assert.strictEqual(readFileSync(`${dir}/a/segments.json`, "utf8"), readFileSync(`${dir}/b/segments.json`, "utf8"))
    }).pipe(Effect.provide(NodeLayer)))

  it.scopedLive("a stop signal ends the run as interrupted, with finalised outputs and exit code 143 for SIGTERM", () =>
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
      // The human-readable reports say so at the top, with the signal and how far the run got.
      const status =
        `interrupted by SIGTERM after ${outcome.report.framesCaptured} of ${outcome.report.input.frames} ` +
        "frames per channel; partial outputs finalised, checks skipped (exit code 143)"
      assert.include(readFileSync(`${out}/report.md`, "utf8"), `# Demo run: interrupted\n\n**Status:** ${status}.\n`)
      assert.include(readFileSync(`${out}/report.html`, "utf8"), `<strong>Status:</strong> ${status}.`)
    }).pipe(Effect.provide(NodeLayer)))

  it.scopedLive("a stop signal during the final checks skips them; the outputs are complete", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const out = `${dir}/out`
      const stop = yield* Deferred.make<Demo.StopSignalName>()
      const plan = yield* Demo.prepare(options({ out }))
      const outcome = yield* Demo.execute(plan, {
        onProgress: (p) =>
          Object.values(p.stages).every((stage) => stage === "Stopped")
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
      const frames = outcome.report.input.frames
      assert.include(
        readFileSync(`${out}/report.md`, "utf8"),
        `**Status:** interrupted by SIGINT during the final checks: ${frames} of ${frames} frames per channel ` +
          "processed, the outputs are complete; checks skipped (exit code 130)."
      )
    }).pipe(Effect.provide(NodeLayer)))

  it.scopedLive("runs a mono input as one channel and removes a right.wav left over from an earlier run", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* tempDir
      const input = yield* writeFixture(dir, "mono.wav", wavBytes(1, 44100, "16", [noise(44100, 11)]))
      const out = `${dir}/out`
      yield* fs.makeDirectory(out)
      yield* fs.writeFileString(`${out}/right.wav`, "stale")
      const outcome = yield* runDemo(options({ input, out, faults: Option.some("processor-left:crash@n=3") }))
      assert.strictEqual(outcome.exitCode, 0)
      assert.deepStrictEqual(outcome.report.recoveries.episodes.map((e) => [e.component, e.seq]), [[
        "processor-left",
        2
      ]])
      assert.deepStrictEqual((yield* fs.readDirectory(out)).sort(), [
        "left.wav",
        "recovery",
        "report.html",
        "report.json",
        "report.md",
        "segments.json"
      ])
      assert.deepStrictEqual(readChannels(`${out}/left.wav`).channels[0], Int16Array.from(noise(44100, 11)))
    }).pipe(Effect.provide(NodeLayer)))

  it.scopedLive("recovers from many seeded faults at every point without losing or duplicating a frame", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const out = `${dir}/out`
      const faults = "capture:crash@p=0.01,processor-left:io-error@p=0.02,processor-right:crash@p=0.02," +
        "writer-left:crash@p=0.02,writer-right:hang@n=7"
      const outcome = yield* runDemo(options({ out, faults: Option.some(faults), seed: 3 }))
      const { report } = outcome
      assert.strictEqual(outcome.exitCode, 0, JSON.stringify(report.checks))
      assert.isTrue(report.checks.every((check) => check.ok))
      assert.isAtLeast(report.recoveries.count, 10)
      assert.strictEqual(report.recoveries.count, report.faults.fired.length)
      assert.deepStrictEqual(
        [...new Set(report.recoveries.episodes.map((e) => e.component))].sort(),
        ["capture", "processor-left", "processor-right", "writer-left", "writer-right"]
      )
      const input = readChannels(samplePath)
      assert.deepStrictEqual(readChannels(`${out}/left.wav`).channels, [input.channels[0]])
      assert.deepStrictEqual(readChannels(`${out}/right.wav`).channels, [input.channels[1]])

      // The same seed fires the same faults at each point (the order across points depends on the interleaving).
      const again = yield* runDemo(options({ out: `${dir}/again`, faults: Option.some(faults), seed: 3 }))
      const byPoint = (fired: Demo.Report["faults"]["fired"]) => fired.map((f) => `${f.point}#${f.hit}`).sort()
      assert.deepStrictEqual(byPoint(again.report.faults.fired), byPoint(report.faults.fired))
    }).pipe(Effect.provide(NodeLayer)))

  it.scopedLive("runs the stages as ComponentCoordinator components with their dependencies, end states and history", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const { report } = yield* runDemo(options({ out: `${dir}/out` }))
      const byName = Object.fromEntries(report.components.map((c) => [c.name, c]))
      // A stage depends on the stages it feeds: writers start first, capture last.
      assert.deepStrictEqual(
        report.components.map((c) => [c.name, c.dependencies, c.takesFrom, c.channels, c.state]),
        [
          ["capture", ["processor-left", "processor-right"], [], ["left", "right"], "Stopped"],
          ["processor-left", ["writer-left"], ["capture"], ["left"], "Stopped"],
          ["processor-right", ["writer-right"], ["capture"], ["right"], "Stopped"],
          ["writer-left", [], ["processor-left"], ["left"], "Stopped"],
          ["writer-right", [], ["processor-right"], ["right"], "Stopped"]
        ]
      )
      assert.deepStrictEqual(report.startOrder, [
        "writer-left",
        "processor-left",
        "writer-right",
        "processor-right",
        "capture"
      ])
      // Each episode restarted its component once on the coordinator (a new generation); the others started once.
      assert.deepStrictEqual(
        ["capture", "processor-left", "processor-right", "writer-left", "writer-right"].map((name) => [
          byName[name]!.generation,
          byName[name]!.restarts,
          byName[name]!.failures
        ]),
        [[1, 0, 0], [2, 1, 1], [2, 1, 1], [1, 0, 0], [2, 1, 1]]
      )
      // The timeline is the coordinator's: a recovered component goes Running -> Error -> Stopped -> Initializing ->
      // Running, and every component ends Running -> Stopping -> Stopped.
      const states = (name: string) => report.history.filter((h) => h.component === name).map((h) => h.state)
      assert.deepStrictEqual(states("processor-left"), [
        "Uninitialized",
        "Initializing",
        "Running",
        "Error",
        "Stopped",
        "Initializing",
        "Running",
        "Stopping",
        "Stopped"
      ])
      assert.deepStrictEqual(states("capture"), ["Uninitialized", "Initializing", "Running", "Stopping", "Stopped"])
      const failure = report.history.find((h) => h.component === "writer-right" && h.state === "Error")!
      assert.strictEqual(failure.from, "Running")
      assert.include(failure.reason ?? "", "fault injected at point \"writer-right\"")
      // Nothing left on the coordinator's books.
      assert.deepStrictEqual(report.leaks, { allocations: [], workers: [] })
    }).pipe(Effect.provide(NodeLayer)))

  it.scopedLive("takes its queue counters from the BufferManager and its frame buffers from a ResourcePool", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const { report } = yield* runDemo(options({ out: `${dir}/out` }))
      const frames = report.input.frames
      // One queue per stage and channel; every frame and one end-of-stream marker went through each, none dropped.
      assert.deepStrictEqual(
        report.queues.map((q) => [q.name, q.stage, q.channel, q.put, q.taken, q.dropped, q.size]),
        [
          ["capture-left", "capture", "left", frames + 1, frames + 1, 0, 0],
          ["capture-right", "capture", "right", frames + 1, frames + 1, 0, 0],
          ["processing-left", "processing", "left", frames + 1, frames + 1, 0, 0],
          ["processing-right", "processing", "right", frames + 1, frames + 1, 0, 0]
        ]
      )
      assert.isTrue(report.queues.every((q) => q.capacity === 128 && q.highWater <= q.capacity))
      assert.deepStrictEqual(report.buffers, { name: "pipeline", status: "closed", heldBuffers: 0 })
      // Capture allocated one buffer per frame and channel (released by the writer), the manager one per item.
      const [tier] = report.pool.tiers
      assert.strictEqual(report.pool.tiers.length, 1)
      assert.deepStrictEqual(
        [tier!.name, tier!.size, tier!.allocations, tier!.releases, tier!.inUse, report.pool.inUse],
        ["frame", 960, 2 * frames + 4 * (frames + 1), 2 * frames + 4 * (frames + 1), 0, 0]
      )
      assert.deepStrictEqual([report.pool.owners, report.pool.channels], [{}, {}])
      assert.include(
        report.checks.find((check) => check.name === "no lock, resource or fiber left")!.detail,
        "0 buffers held"
      )
    }).pipe(Effect.provide(NodeLayer)))

  it.scopedLive("reports the locks of the coordinators, the buffer manager and the state machines", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const out = `${dir}/out`
      const { report } = yield* runDemo(options({ out }))
      const acquired = (lock: string) =>
        report.locks.statistics.find((s) => s.metric === "lock_acquisitions" && s.tags.lock === lock)?.count ?? 0
      for (
        const lock of [
          "CleanupCoordinator.shutdown",
          "ComponentCoordinator.component",
          "ComponentCoordinator.thread",
          "BufferManager.cleanup",
          "BufferManager.update",
          "StateMachine.state"
        ]
      ) {
        assert.isAbove(acquired(lock), 0, lock)
      }
      // Every recovery episode's Recovery machine committed Completed under its lock (an effectful invariant).
      assert.isAtLeast(acquired("StateMachine.state"), report.recoveries.count)
      assert.isTrue(
        report.locks.statistics.some((s) =>
          s.metric === "lock_hold_ms" && s.tags.lock === "ComponentCoordinator.component"
        )
      )
      assert.strictEqual(report.locks.heldAtEnd, 0)
      // Every acquired lock also has its contention and wait statistics, zero when none of its acquisitions waited.
      for (const acquisitions of report.locks.statistics.filter((s) => s.metric === "lock_acquisitions")) {
        for (const metric of ["lock_contended_acquisitions", "lock_wait_ms", "lock_hold_ms"]) {
          assert.isTrue(
            report.locks.statistics.some((s) => s.metric === metric && s.tags.lock === acquisitions.tags.lock),
            `${metric} of ${acquisitions.tags.lock}`
          )
        }
      }
      const html = readFileSync(`${out}/report.html`, "utf8")
      assert.include(html, "lock classes were acquired")
      assert.notInclude(html, ".00 ms")
      assert.include(html, "ComponentCoordinator.component (exclusive)")
      assert.include(html, "BufferManager.update (exclusive)")
      assert.include(html, "StateMachine.state (exclusive)")
    }).pipe(Effect.provide(NodeLayer)))

  it.scopedLive("persists the recovery log under out/recovery through the FileSystem, and report.json points to it", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* tempDir
      const out = `${dir}/out`
      const { report } = yield* runDemo(options({ out }))
      assert.strictEqual(report.recoveryLog.directory, "recovery")
      assert.deepStrictEqual(
        (yield* fs.readDirectory(`${out}/recovery`)).sort(),
        ["analytics", "debug", "recovery"]
      )
      const attempts = (yield* fs.readDirectory(`${out}/recovery/recovery`)).sort()
      assert.strictEqual(attempts.length, report.recoveries.count)
      assert.deepStrictEqual(
        report.recoveryLog.files.filter((file) => file.startsWith("recovery/recovery/")),
        attempts.map((name) => `recovery/recovery/${name}`)
      )
      for (const episode of report.recoveries.episodes) {
        const attempt = json(`${out}/recovery/recovery/${episode.attempt}.json`)
        assert.deepStrictEqual(
          [attempt.id, attempt.session, attempt.component, attempt.trigger, attempt.outcome],
          [episode.attempt, report.recoveryLog.session, episode.component, episode.fault, "Succeeded"]
        )
        assert.deepStrictEqual(
          attempt.steps.map((step: { step: string; status: string }) => [step.step, step.status]),
          [["stop-capture", "Succeeded"], ["flush-buffers", "Succeeded"], ["reinitialise", "Succeeded"], [
            "verify",
            "Succeeded"
          ]]
        )
        assert.strictEqual(attempt.metrics.timeToRecoverMs, episode.mttrMs)
      }
      const [analytics] = yield* fs.readDirectory(`${out}/recovery/analytics`)
      const summary = json(`${out}/recovery/analytics/${analytics}`)
      assert.deepStrictEqual([summary.totalAttempts, summary.successes, summary.successRate], [3, 3, 100])
      assert.strictEqual(report.recoveryLog.stats.writeFailures, 0)
      assert.strictEqual(report.recoveryLog.analytics.totalAttempts, 3)
      // A run without faults writes no attempt, and replaces the log of the earlier run in the same --out.
      const clean = yield* runDemo(options({ out, noFaults: true }))
      assert.deepStrictEqual(clean.report.recoveryLog.files, [])
      assert.deepStrictEqual(yield* fs.readDirectory(`${out}/recovery/recovery`), [])
    }).pipe(Effect.provide(NodeLayer)))

  it("maps the demo's fault kinds onto the FaultInjector's", () => {
    const rules = FaultSpec.parse(
      "capture:crash@n=2,writer-left:io-error@p=0.5,processor-left:delay@n=1," +
        "processor-right:hang@n=3"
    )
    assert.isTrue(rules._tag === "Right")
    if (rules._tag === "Right") {
      const faults = Demo.injectorFaults(rules.right)
      assert.deepStrictEqual(faults.capture, { kind: "die", error: "crash", nth: 2 })
      assert.deepStrictEqual(faults["writer-left"], { kind: "fail", error: "io-error", probability: 0.5 })
      assert.strictEqual(faults["processor-left"]!.kind, "delay")
      assert.strictEqual(faults["processor-right"]!.kind, "delay")
    }
  })

  it.scopedLive("refuses bad options before creating anything", () =>
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
