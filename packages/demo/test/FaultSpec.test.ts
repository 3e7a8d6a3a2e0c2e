import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FaultSpec from "../src/FaultSpec.js"

const invalid = (spec: string) => {
  const result = FaultSpec.parse(spec)
  assert.isTrue(Either.isLeft(result), spec)
  return Either.isLeft(result) ? [result.left.token, result.left.reason] : []
}

describe("FaultSpec", () => {
  it("parses a list of rules", () => {
    assert.deepStrictEqual(
      FaultSpec.parse("processor-left:crash@p=0.01, writer-right:io-error@n=3,capture:hang@p=1,writer-left:delay@n=1"),
      Either.right([
        { point: "processor-left", kind: "crash", trigger: { _tag: "Probability", p: 0.01 } },
        { point: "writer-right", kind: "io-error", trigger: { _tag: "Nth", n: 3 } },
        { point: "capture", kind: "hang", trigger: { _tag: "Probability", p: 1 } },
        { point: "writer-left", kind: "delay", trigger: { _tag: "Nth", n: 1 } }
      ])
    )
    assert.deepStrictEqual(
      FaultSpec.parse("capture:crash@p=0"),
      Either.right([{ point: "capture", kind: "crash", trigger: { _tag: "Probability", p: 0 } }])
    )
  })

  it("formats rules back into a spec that parses to the same rules", () => {
    const rules = Either.getOrThrow(FaultSpec.parse(FaultSpec.defaultSpec))
    assert.strictEqual(FaultSpec.format(rules), FaultSpec.defaultSpec)
    assert.deepStrictEqual(FaultSpec.parse(FaultSpec.format(rules)), Either.right(rules))
  })

  it("names the offending token and why it is wrong", () => {
    assert.deepStrictEqual(invalid("processor-middle:crash@p=0.1"), [
      "processor-middle:crash@p=0.1",
      "unknown point \"processor-middle\" (expected one of capture, processor-left, processor-right, writer-left, " +
      "writer-right)"
    ])
    assert.deepStrictEqual(invalid("capture:explode@n=1"), [
      "capture:explode@n=1",
      "unknown kind \"explode\" (expected one of crash, io-error, hang, delay)"
    ])
    assert.deepStrictEqual(invalid("capture:crash@p=1.5")[1], "the probability \"1.5\" is not a number from 0 to 1")
    assert.deepStrictEqual(invalid("capture:crash@p=abc")[1], "the probability \"abc\" is not a number from 0 to 1")
    assert.deepStrictEqual(
      invalid("capture:crash@n=0")[1],
      "the operation number \"0\" is not an integer of at least 1"
    )
    assert.deepStrictEqual(
      invalid("capture:crash@n=2.5")[1],
      "the operation number \"2.5\" is not an integer of at least 1"
    )
    assert.deepStrictEqual(
      invalid("capture:crash@x=1")[1],
      "the trigger must be p=<probability from 0 to 1> or n=<operation number from 1>"
    )
    assert.deepStrictEqual(invalid("capture-crash")[0], "capture-crash")
    assert.deepStrictEqual(invalid("capture@n=1:crash")[0], "capture@n=1:crash")
    assert.deepStrictEqual(
      invalid("capture:crash@n=1,,writer-left:crash@n=1")[1],
      "empty rule (two commas in a row, or a comma at an end)"
    )
    assert.deepStrictEqual(invalid("  ")[1], "the spec is empty (use --no-faults to run without faults)")
    assert.deepStrictEqual(invalid("capture:crash@n=1,capture:delay@p=0.5"), [
      "capture:delay@p=0.5",
      "a second rule for capture (one fault per point)"
    ])
  })

  it("has a message naming the token", () => {
    const result = FaultSpec.parse("writer-left:crash@n=-1")
    assert.strictEqual(
      Either.isLeft(result) && result.left.message,
      "invalid --faults spec: \"writer-left:crash@n=-1\": the operation number \"-1\" is not an integer of at least 1"
    )
  })

  it("checks the points against the input's channels", () => {
    const rules = Either.getOrThrow(FaultSpec.parse("capture:crash@n=1,writer-right:io-error@n=2"))
    assert.deepStrictEqual(FaultSpec.validateFor(rules, ["left", "right"]), Either.right(rules))
    const mono = FaultSpec.validateFor(rules, ["left"])
    assert.strictEqual(
      Either.isLeft(mono) && mono.left.message,
      "invalid --faults spec: \"writer-right:io-error@n=2\": the input has 1 channel(s), so there is no point " +
        "\"writer-right\""
    )
    assert.deepStrictEqual(FaultSpec.points(["left"]), ["capture", "processor-left", "writer-left"])
  })
})
