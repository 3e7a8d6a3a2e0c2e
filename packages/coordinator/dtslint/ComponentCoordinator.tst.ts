import type { CleanupReport } from "@core-stability/cleanup/CleanupReport"
import type { ComponentCoordinator as CC, ComponentError } from "@core-stability/coordinator"
import { ComponentCoordinator } from "@core-stability/coordinator"
import type { LockError } from "@core-stability/locks/LockError"
import type { Context, Effect, Fiber, Scope } from "effect"
import { describe, expect, test } from "tstyche"

declare const coordinator: CC.ComponentCoordinator
declare const context: CC.ComponentContext

interface Device {
  readonly open: boolean
}
declare const Device: Context.Tag<Device, Device>
declare const device: Effect.Effect<Device, never, Device>
declare const done: Effect.Effect<void>

describe("ComponentCoordinator", () => {
  test("make is scoped and fails with InvalidOptions", () => {
    expect(ComponentCoordinator.make({ limits: { buffer: 8 } })).type.toBe<
      Effect.Effect<CC.ComponentCoordinator, ComponentError.InvalidOptions, Scope.Scope>
    >()
  })

  test("register requires the start effect's services, minus Scope", () => {
    expect(coordinator.register({ id: "capture", start: () => device })).type.toBe<
      Effect.Effect<void, ComponentError.RegistrationError | LockError, Device>
    >()
    expect(coordinator.register({ id: "capture" })).type.toBe<
      Effect.Effect<void, ComponentError.RegistrationError | LockError>
    >()
  })

  test("the module functions work piped and direct", () => {
    expect(coordinator.pipe(ComponentCoordinator.register({ id: "a", start: () => device }))).type.toBe<
      Effect.Effect<void, ComponentError.RegistrationError | LockError, Device>
    >()
    expect(ComponentCoordinator.transition(coordinator, "a", "Running")).type.toBe(
      coordinator.pipe(ComponentCoordinator.transition("a", "Running"))
    )
    expect(ComponentCoordinator.startAll).type.toBe<
      Effect.Effect<
        ReadonlyArray<string>,
        ComponentError.StartFailed | ComponentError.DependencyNotRunning | LockError,
        CC.ComponentCoordinator
      >
    >()
  })

  test("a restart policy only takes OTP's names", () => {
    expect(coordinator.register).type.toBeCallableWith({ id: "a", restart: { strategy: "rest_for_one" } })
    expect(coordinator.register).type.not.toBeCallableWith({ id: "a", restart: { strategy: "one_for_some" } })
    expect(coordinator.register).type.not.toBeCallableWith({ id: "a", restart: { type: "forever" } })
  })

  test("allocate keeps the value, the acquisition error and its services", () => {
    const resource: CC.Resource<Uint8Array, "exhausted", Device> = {
      type: "buffer",
      channel: "left",
      acquire: null as unknown as Effect.Effect<Uint8Array, "exhausted", Device>,
      release: () => device
    }
    expect(coordinator.allocate("capture", resource)).type.toBe<
      Effect.Effect<CC.Allocation<Uint8Array>, "exhausted" | ComponentError.AllocationError, Device>
    >()
  })

  test("allocateAll returns one allocation per resource, in order", () => {
    const a: CC.Resource<number> = { type: "a", acquire: null as unknown as Effect.Effect<number>, release: () => done }
    const b: CC.Resource<string, "busy"> = {
      type: "b",
      acquire: null as unknown as Effect.Effect<string, "busy">,
      release: () => done
    }
    expect(coordinator.allocateAll("capture", [a, b])).type.toBe<
      Effect.Effect<
        readonly [CC.Allocation<number>, CC.Allocation<string>],
        "busy" | ComponentError.AllocationError,
        never
      >
    >()
  })

  test("release and cleanup fail with typed errors", () => {
    expect(coordinator.release).type.not.toBeCallableWith(new Uint8Array(4))
    expect(coordinator.cleanupComponent("capture", { cascade: true })).type.toBe<
      Effect.Effect<
        CleanupReport,
        ComponentError.UnknownComponent | ComponentError.HasRunningDependents | ComponentError.CleanupFailed | LockError
      >
    >()
  })

  test("transition only accepts component states", () => {
    expect(coordinator.transition).type.toBeCallableWith("capture", "Running")
    expect(coordinator.transition).type.not.toBeCallableWith("capture", "Sleeping")
  })

  test("a worker keeps its types; join fails with the escalation", () => {
    expect(context.fork(device)).type.toBe<Effect.Effect<Fiber.RuntimeFiber<Device, never>, never, Device>>()
    expect(coordinator.join).type.toBe<
      Effect.Effect<CC.Termination, ComponentError.RestartIntensityExceeded>
    >()
    expect(ComponentCoordinator.heartbeat).type.toBe<Effect.Effect<void>>()
  })
})
