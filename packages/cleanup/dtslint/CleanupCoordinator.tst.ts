import * as CleanupCoordinator from "@core-stability/cleanup/CleanupCoordinator"
import type * as CleanupError from "@core-stability/cleanup/CleanupError"
import * as CleanupFaults from "@core-stability/cleanup/CleanupFaults"
import * as CleanupMain from "@core-stability/cleanup/CleanupMain"
import type { CleanupPlan } from "@core-stability/cleanup/CleanupPlan"
import type { CleanupReport } from "@core-stability/cleanup/CleanupReport"
import type { LockError } from "@core-stability/locks/LockError"
import { Context, Effect, type Layer, type Option, type Scope } from "effect"
import { describe, expect, test } from "tstyche"

class Disk extends Context.Tag("Disk")<Disk, { readonly flush: Effect.Effect<void> }>() {}
class Pool extends Context.Tag("Pool")<Pool, { readonly close: Effect.Effect<void> }>() {}
class DiskFull {
  readonly _tag = "DiskFull"
}

declare const coordinator: CleanupCoordinator.CleanupCoordinator
declare const flush: Effect.Effect<void, DiskFull, Disk>

describe("CleanupCoordinator", () => {
  test("make is scoped and infallible; layer provides the service", () => {
    expect(CleanupCoordinator.make()).type.toBe<
      Effect.Effect<CleanupCoordinator.CleanupCoordinator, never, Scope.Scope>
    >()
    expect(CleanupCoordinator.layer({ concurrency: 2 })).type.toBe<
      Layer.Layer<CleanupCoordinator.CleanupCoordinator>
    >()
  })

  test("register requires the step's services and fails with registration or lock errors only", () => {
    expect(coordinator.register({ name: "flush", run: flush })).type.toBe<
      Effect.Effect<void, CleanupError.RegistrationError | LockError, Disk>
    >()
    expect(CleanupCoordinator.register(coordinator, { name: "flush", run: flush })).type.toBe<
      Effect.Effect<void, CleanupError.RegistrationError | LockError, Disk>
    >()
    expect(coordinator.pipe(CleanupCoordinator.register({ name: "noop", run: Effect.void }))).type.toBe<
      Effect.Effect<void, CleanupError.RegistrationError | LockError>
    >()
  })

  test("acquire returns the resource and joins the requirements of acquire and release", () => {
    expect(coordinator.acquire({
      name: "pool",
      acquire: Pool,
      release: (pool) => Effect.zipRight(pool.close, flush)
    })).type.toBe<
      Effect.Effect<
        { readonly close: Effect.Effect<void> },
        CleanupError.RegistrationError | LockError,
        Pool | Disk
      >
    >()
  })

  test("run returns the report, requires the steps' services, fails with registration or lock errors only", () => {
    expect(CleanupCoordinator.run([{ name: "flush", run: flush }], { retries: 1 })).type.toBe<
      Effect.Effect<CleanupReport, CleanupError.RegistrationError | LockError, Disk>
    >()
    expect(CleanupCoordinator.run([{ name: "noop", run: Effect.void }])).type.toBe<
      Effect.Effect<CleanupReport, CleanupError.RegistrationError | LockError>
    >()
    expect(CleanupCoordinator.run).type.not.toBeCallableWith([{ name: "x", phase: "Sweeping", run: Effect.void }])
  })

  test("shutdown returns the report; reset, plan and getters have exact types", () => {
    expect(coordinator.shutdown).type.toBe<Effect.Effect<CleanupReport, LockError>>()
    expect(CleanupCoordinator.shutdown).type.toBe<
      Effect.Effect<CleanupReport, LockError, CleanupCoordinator.CleanupCoordinator>
    >()
    expect(coordinator.reset).type.toBe<Effect.Effect<void, CleanupError.CleanupInProgressError | LockError>>()
    expect(coordinator.plan).type.toBe<Effect.Effect<CleanupPlan>>()
    expect(coordinator.lastReport).type.toBe<Effect.Effect<Option.Option<CleanupReport>>>()
    expect(coordinator.phase).type.toBe<Effect.Effect<CleanupCoordinator.PhaseState>>()
  })

  test("a phase must be a work phase of the CleanupPhase machine", () => {
    expect(coordinator.register).type.not.toBeCallableWith({ name: "x", phase: "Sweeping", run: Effect.void })
    expect(coordinator.register).type.not.toBeCallableWith({ name: "x", phase: "Completed", run: Effect.void })
    expect(coordinator.register).type.toBeCallableWith({ name: "x", phase: "ClosingLogs", run: Effect.void })
  })

  test("verify must produce a boolean", () => {
    expect(coordinator.register).type.not.toBeCallableWith({ name: "x", run: Effect.void, verify: Effect.void })
  })
})

describe("CleanupFaults and CleanupMain", () => {
  test("faults are injected with the Fault constructors", () => {
    const faults = CleanupFaults.unsafeMake()
    expect(CleanupFaults.inject(faults, "x", CleanupFaults.Fault.Hang())).type.toBe<Effect.Effect<void>>()
    expect(faults.pipe(CleanupFaults.inject("x", CleanupFaults.Fault.Delay({ duration: "1 second" })))).type.toBe<
      Effect.Effect<void>
    >()
  })

  test("runMain takes a program that may require only the coordinator", () => {
    expect(CleanupMain.runMain).type.toBeCallableWith(Effect.void)
    expect(CleanupMain.runMain).type.toBeCallableWith(CleanupCoordinator.shutdown)
    expect(CleanupMain.runMain).type.not.toBeCallableWith(flush)
  })
})
