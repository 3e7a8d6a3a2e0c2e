import * as RecoveryCoordinator from "@core-stability/recovery/RecoveryCoordinator"
import type { InvalidRecoveryOptions, RecoveryFailed, UnknownAttempt } from "@core-stability/recovery/RecoveryError"
import * as RecoveryLogger from "@core-stability/recovery/RecoveryLogger"
import type { FileSystem, Path } from "@effect/platform"
import { Context, Effect, type Layer, type Option, type Scope } from "effect"
import { describe, expect, test } from "tstyche"

class Device extends Context.Tag("Device")<Device, { readonly reset: Effect.Effect<void> }>() {}
class DeviceBusy {
  readonly _tag = "DeviceBusy"
}

declare const logger: RecoveryLogger.RecoveryLogger
declare const coordinator: RecoveryCoordinator.RecoveryCoordinator
declare const reset: Effect.Effect<void, DeviceBusy, Device>

const handler: RecoveryCoordinator.Handler<DeviceBusy, Device> = { run: () => reset }

describe("RecoveryLogger", () => {
  test("make needs a FileSystem and a Path and never fails; layer provides the service", () => {
    expect(RecoveryLogger.make({ directory: "/logs" })).type.toBe<
      Effect.Effect<RecoveryLogger.RecoveryLogger, never, FileSystem.FileSystem | Path.Path>
    >()
    expect(RecoveryLogger.layer()).type.toBe<
      Layer.Layer<RecoveryLogger.RecoveryLogger, never, FileSystem.FileSystem | Path.Path>
    >()
  })

  test("record never fails; a state dump fails with UnknownAttempt only", () => {
    expect(logger.record({ component: "c", trigger: "t", startedAt: 0, endedAt: 1, states: [], outcome: "Failed" }))
      .type.toBe<Effect.Effect<RecoveryLogger.RecoveryAttempt>>()
    expect(logger.stateDump("id")).type.toBe<
      Effect.Effect<{ readonly dump: RecoveryLogger.StateDump; readonly path: Option.Option<string> }, UnknownAttempt>
    >()
  })

  test("a step's status is a closed union, with Interrupted for a step cut short by the closing scope", () => {
    expect<RecoveryLogger.StepStatus>().type.toBe<
      "Succeeded" | "Failed" | "TimedOut" | "Interrupted" | "Skipped" | "RolledBack" | "RollbackFailed"
    >()
    expect(RecoveryLogger.isTemporaryFile).type.toBe<(name: string) => boolean>()
  })

  test("an attempt's outcome is a closed union", () => {
    expect(logger.record).type.not.toBeCallableWith({
      component: "c",
      trigger: "t",
      startedAt: 0,
      endedAt: 1,
      states: [],
      outcome: "Maybe"
    })
  })
})

describe("RecoveryCoordinator", () => {
  test("make carries the steps' services and fails with InvalidRecoveryOptions", () => {
    expect(RecoveryCoordinator.make({ logger, steps: [{ name: "reset", phase: "Reinitializing", run: () => reset }] }))
      .type.toBe<
      Effect.Effect<RecoveryCoordinator.RecoveryCoordinator, InvalidRecoveryOptions, Scope.Scope | Device>
    >()
  })

  test("recover never fails; recoverOrFail fails with RecoveryFailed", () => {
    expect(coordinator.recover("capture", { trigger: "t" })).type.toBe<
      Effect.Effect<RecoveryLogger.RecoveryAttempt>
    >()
    expect(coordinator.recoverOrFail("capture", { trigger: "t" })).type.toBe<
      Effect.Effect<RecoveryLogger.RecoveryAttempt, RecoveryFailed>
    >()
  })

  test("fromDefaults needs a handler for every default step", () => {
    expect(RecoveryCoordinator.fromDefaults).type.not.toBeCallableWith({ "stop-capture": handler })
    expect(RecoveryCoordinator.fromDefaults({
      "stop-capture": handler,
      "flush-storage": handler,
      "reset-monitoring": handler,
      "check-windows": handler,
      "initialize-storage": handler,
      "start-monitoring": handler,
      "start-capture": handler,
      "verify": handler
    })).type.toBe<ReadonlyArray<RecoveryCoordinator.Step<DeviceBusy, Device>>>()
  })

  test("stats list the abandoned steps", () => {
    expect(coordinator.stats).type.toBe<Effect.Effect<RecoveryCoordinator.Stats>>()
    expect<RecoveryCoordinator.Stats["abandoned"]>().type.toBe<ReadonlyArray<RecoveryCoordinator.AbandonedStep>>()
    expect<RecoveryCoordinator.AbandonedStep["kind"]>().type.toBe<"run" | "rollback">()
  })

  test("a step's phase is one of the machine's working phases", () => {
    expect(RecoveryCoordinator.make).type.not.toBeCallableWith({
      logger,
      steps: [{ name: "x", phase: "Sleeping", run: () => Effect.void }]
    })
  })
})
