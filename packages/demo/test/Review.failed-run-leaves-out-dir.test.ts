/**
 * Regression (review of the demo): a run that fails (exit 1) must leave `--out` "as it was" (docs/demo.md: "a failed
 * run keeps nothing in `--out`"; `--help`: "a run that fails leaves the directory as it was"). When `--out` did not
 * exist, a failed run
 * left a new, empty directory behind: `execute` created it before the pipeline ran and never removed it.
 *
 * The failure is made deterministic by shrinking the input between `prepare` (which validated its header) and
 * `execute` (whose capture then fails with an InputReadError, a fatal run error).
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Demo from "../src/internal/demo.js"
import { NodeLayer, noise, tempDir, wavBytes, writeFixture } from "./utils/wav.js"

const stopLayer = Layer.effect(Demo.StopSignal, Deferred.make<Demo.StopSignalName>())

describe("regression: a failed run and --out", () => {
  it.scopedLive("a failed run does not leave a newly created --out directory behind", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* tempDir
      const samples = 480 * 40
      const input = yield* writeFixture(dir, "in.wav", wavBytes(2, 16000, "16", [noise(samples, 1), noise(samples, 2)]))
      const out = `${dir}/out-does-not-exist-yet`
      const plan = yield* Demo.prepare({
        input,
        out,
        faults: Option.none(),
        noFaults: true,
        seed: 42,
        realtime: false
      })
      // The input changes after validation: capture cannot read the samples its header declares, the run fails.
      yield* fs.truncate(input, 44 + 1000)
      const exit = yield* Effect.exit(Demo.execute(plan).pipe(Effect.provide(stopLayer)))
      assert.isTrue(Exit.isFailure(exit), "the run should fail")
      // "a run that fails leaves the directory as it was": it did not exist.
      assert.isFalse(yield* fs.exists(out), `${out} was created by a failed run`)
    }).pipe(Effect.provide(NodeLayer)))
})
