import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Checks from "../src/internal/checks.js"
import * as WavInput from "../src/WavInput.js"
import { NodeLayer, noise, tempDir, wavBytes, writeFixture } from "./utils/wav.js"

describe("Checks", () => {
  it.scoped("compares every output with its input channel and runs the reference detector, in one pass", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const left = noise(480 * 20 + 11, 1)
      const right = noise(480 * 20 + 11, 2)
      const input = yield* writeFixture(dir, "in.wav", wavBytes(2, 16000, "16", [left, right]))
      const header = yield* WavInput.readHeader(input)
      const broken = right.slice()
      broken[1000] = broken[1000]! === 0 ? 1 : 0
      const outputs = [
        { index: 0, path: yield* writeFixture(dir, "left.wav", wavBytes(1, 16000, "16", [left])), name: "left" },
        { index: 1, path: yield* writeFixture(dir, "right.wav", wavBytes(1, 16000, "16", [broken])), name: "right" },
        { index: 0, path: yield* writeFixture(dir, "short.wav", wavBytes(1, 16000, "16", [left.slice(1)])), name: "s" },
        { index: 1, path: `${dir}/missing.wav`, name: "missing" }
      ]
      const reference = yield* Checks.referenceSegments(header)
      const checks = yield* Checks.outputsMatch(header, outputs, reference)
      assert.deepStrictEqual(checks.map((check) => [check.name, check.ok]), [
        ["left", true],
        ["right", false],
        ["s", false],
        ["missing", false],
        ["segments.json equals a separate fault-free detector pass over the input", true]
      ])
      assert.strictEqual(checks[0]!.detail, `${left.length} samples identical`)
      assert.strictEqual(
        checks[1]!.detail,
        `first difference at sample 1000: ${broken[1000]} instead of ${right[1000]}`
      )
      assert.include(checks[2]!.detail, `holds ${left.length - 1} samples, the input channel ${left.length}`)
      assert.include(checks[3]!.detail, "not found")
      // Loud noise for 0.6 s: one segment per channel; a missing one is reported.
      assert.deepStrictEqual([reference.left!.length, reference.right!.length], [1, 1])
      const [segments] = yield* Checks.outputsMatch(header, [], { left: [], right: reference.right! })
      assert.deepStrictEqual([segments!.ok, segments!.detail], [false, "left channel differs"])
    }).pipe(Effect.provide(NodeLayer)))
})
