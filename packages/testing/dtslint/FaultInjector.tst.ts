import { FaultInjector } from "@core-stability/testing"
import type { Effect, Layer } from "effect"
import { describe, expect, test } from "tstyche"

describe("FaultInjector", () => {
  test("a point needs no service and fails with InjectedFault", () => {
    expect(FaultInjector.point("writer")).type.toBe<Effect.Effect<void, FaultInjector.InjectedFault>>()
  })

  test("layers provide the injector and may fail with FaultSpecError", () => {
    expect(FaultInjector.layer({ seed: 1, faults: { w: { kind: "fail", nth: 3 } } })).type.toBe<
      Layer.Layer<FaultInjector.FaultInjector, FaultInjector.FaultSpecError>
    >()
    expect(FaultInjector.parse("w:die")).type.toBe<
      Effect.Effect<FaultInjector.ParsedFaults, FaultInjector.FaultSpecError>
    >()
  })

  test("fault kinds are a closed set", () => {
    expect(FaultInjector.layer).type.not.toBeCallableWith({ faults: { w: { kind: "explode" } } })
  })
})
