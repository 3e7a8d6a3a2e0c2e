import type * as ComponentCoordinator from "@core-stability/coordinator/ComponentCoordinator"
import type {
  InvalidMonitoringOptions,
  UnknownCheck,
  VerificationFailed
} from "@core-stability/monitoring/MonitoringError"
import * as SystemVerifier from "@core-stability/monitoring/SystemVerifier"
import type { VerificationReport } from "@core-stability/monitoring/VerificationReport"
import * as RecoveryCoordinator from "@core-stability/recovery/RecoveryCoordinator"
import type { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, type Option } from "effect"
import { describe, expect, test } from "tstyche"

declare const components: ComponentCoordinator.ComponentCoordinator
declare const verifier: SystemVerifier.SystemVerifier
declare const report: VerificationReport

describe("SystemVerifier", () => {
  test("make fails with InvalidMonitoringOptions only; verify and verifyRestart never fail", () => {
    expect(SystemVerifier.make({ components })).type.toBe<
      Effect.Effect<SystemVerifier.SystemVerifier, InvalidMonitoringOptions>
    >()
    expect(verifier.verify()).type.toBe<Effect.Effect<VerificationReport>>()
    expect(verifier.verifyRestart(SystemVerifier.component("capture"))).type.toBe<Effect.Effect<VerificationReport>>()
    expect(verifier.lastReport).type.toBe<Effect.Effect<Option.Option<VerificationReport>>>()
    expect(verifier.abandoned).type.toBe<Effect.Effect<ReadonlyArray<SystemVerifier.AbandonedCheck>>>()
  })

  test("verify with only can fail with UnknownCheck; without it never fails", () => {
    expect(verifier.verify({})).type.toBe<Effect.Effect<VerificationReport>>()
    expect(verifier.verify({ only: ["locks"] })).type.toBe<Effect.Effect<VerificationReport, UnknownCheck>>()
    const options: SystemVerifier.VerifyOptions = { only: ["locks"] }
    expect(verifier.verify(options)).type.toBe<Effect.Effect<VerificationReport, UnknownCheck>>()
    expect(verifier.verify).type.not.toBeCallableWith({ only: "locks" })
  })

  test("restart targets are a component or the system", () => {
    expect(verifier.verifyRestart).type.toBeCallableWith(SystemVerifier.system)
    expect(verifier.verifyRestart).type.not.toBeCallableWith("capture")
  })

  test("checks carry their typed data", () => {
    expect(SystemVerifier.checkComponentStates(components)).type.toBe<
      SystemVerifier.Check<SystemVerifier.ComponentStates>
    >()
    expect(SystemVerifier.checkLocks().run).type.toBe<
      Effect.Effect<SystemVerifier.Outcome<SystemVerifier.LockLiveness>, unknown>
    >()
  })

  test("expected states are component states", () => {
    expect(SystemVerifier.make).type.toBeCallableWith({
      components,
      expectedStates: { capture: ["Running", "Paused"] }
    })
    expect(SystemVerifier.make).type.not.toBeCallableWith({ components, expectedStates: "Sleeping" })
  })

  test("the recovery step is a RecoveryCoordinator step failing with VerificationFailed and fits fromDefaults", () => {
    const step = SystemVerifier.recoveryStep(verifier)
    expect(step).type.toBe<RecoveryCoordinator.Step<VerificationFailed>>()
    const noop = { run: () => Effect.void }
    expect(RecoveryCoordinator.fromDefaults({
      "stop-capture": noop,
      "flush-storage": noop,
      "reset-monitoring": noop,
      "check-windows": noop,
      "initialize-storage": noop,
      "start-monitoring": noop,
      "start-capture": noop,
      "verify": step
    })).type.toBe<ReadonlyArray<RecoveryCoordinator.Step<VerificationFailed, never>>>()
  })

  test("writeReport needs a FileSystem and a Path and fails with the platform's error", () => {
    expect(SystemVerifier.writeReport(report, "/tmp/report.json")).type.toBe<
      Effect.Effect<void, PlatformError, FileSystem.FileSystem | Path.Path>
    >()
    expect(Effect.succeed(report).pipe(Effect.flatMap(SystemVerifier.writeReport("/tmp/report.json")))).type.toBe<
      Effect.Effect<void, PlatformError, FileSystem.FileSystem | Path.Path>
    >()
  })
})
