import * as FaultSpec from "@core-stability/demo/FaultSpec"
import type { ChannelFrame, FrameSequenceGap } from "@core-stability/demo/Frame"
import * as Vad from "@core-stability/demo/Vad"
import * as WavInput from "@core-stability/demo/WavInput"
import * as WavWriter from "@core-stability/demo/WavWriter"
import type * as FileSystem from "@effect/platform/FileSystem"
import type { Effect, Either, Scope } from "effect"
import { describe, expect, test } from "tstyche"

declare const frame: ChannelFrame
declare const header: WavInput.WavHeader

describe("WavInput", () => {
  test("readHeader fails with the input errors and needs a FileSystem", () => {
    expect(WavInput.readHeader("in.wav")).type.toBe<
      Effect.Effect<WavInput.WavHeader, WavInput.WavInputError, FileSystem.FileSystem>
    >()
  })

  test("openFrames is scoped and its cursor yields optional frames", () => {
    expect(WavInput.openFrames(header)).type.toBe<
      Effect.Effect<WavInput.FrameCursor, WavInput.InputReadError, FileSystem.FileSystem | Scope.Scope>
    >()
  })
})

describe("WavWriter", () => {
  test("make is scoped; write can report a gap", () => {
    expect(WavWriter.make({ path: "l.wav", channel: "left", sampleRate: 16000 })).type.toBe<
      Effect.Effect<WavWriter.WavWriter, WavWriter.WavWriteError, FileSystem.FileSystem | Scope.Scope>
    >()
    expect<WavWriter.WavWriter["write"]>().type.toBe<
      (frame: ChannelFrame) => Effect.Effect<WavWriter.WriteOutcome, FrameSequenceGap | WavWriter.WavWriteError>
    >()
  })

  test("a channel is left or right", () => {
    expect(WavWriter.make).type.not.toBeCallableWith({ path: "c.wav", channel: "center", sampleRate: 16000 })
  })
})

describe("Vad", () => {
  test("step is dual and pure", () => {
    const state = Vad.initial({ channel: "left", sampleRate: 16000 })
    expect(Vad.step(state, frame)).type.toBe<Either.Either<Vad.StepResult, FrameSequenceGap>>()
    expect(Vad.step(frame)(state)).type.toBe<Either.Either<Vad.StepResult, FrameSequenceGap>>()
  })

  test("the state is plain data", () => {
    expect<Vad.VadState["phase"]>().type.toBe<Vad.VadPhase>()
    expect<Vad.VadState["nextSeq"]>().type.toBe<number>()
  })
})

describe("FaultSpec", () => {
  test("parse yields rules or InvalidFaultSpec", () => {
    expect(FaultSpec.parse("capture:crash@n=1")).type.toBe<
      Either.Either<ReadonlyArray<FaultSpec.FaultRule>, FaultSpec.InvalidFaultSpec>
    >()
  })

  test("points are typed", () => {
    expect<FaultSpec.FaultPoint>().type.toBe<
      "capture" | "processor-left" | "processor-right" | "writer-left" | "writer-right"
    >()
    expect<FaultSpec.FaultRule["point"]>().type.not.toBe<string>()
  })
})
