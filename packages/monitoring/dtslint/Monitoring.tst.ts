import type { CleanupReport } from "@core-stability/cleanup/CleanupReport"
import type * as ComponentCoordinator from "@core-stability/coordinator/ComponentCoordinator"
import type { LockError } from "@core-stability/locks/LockError"
import * as MonitoringCoordinator from "@core-stability/monitoring/MonitoringCoordinator"
import type { InvalidMonitoringOptions } from "@core-stability/monitoring/MonitoringError"
import * as MonitoringHttp from "@core-stability/monitoring/MonitoringHttp"
import * as MonitoringHttpNode from "@core-stability/monitoring/MonitoringHttpNode"
import * as Prometheus from "@core-stability/monitoring/Prometheus"
import type { HttpServer } from "@effect/platform"
import type { ServeError } from "@effect/platform/HttpServerError"
import { Context, Effect, type Fiber, type Layer, type Scope } from "effect"
import { describe, expect, test } from "tstyche"

class Device extends Context.Tag("Device")<Device, { readonly read: Effect.Effect<number> }>() {}

declare const components: ComponentCoordinator.ComponentCoordinator
declare const monitoring: MonitoringCoordinator.MonitoringCoordinator

describe("MonitoringCoordinator", () => {
  test("make is scoped and fails with InvalidMonitoringOptions only", () => {
    expect(MonitoringCoordinator.make({ components })).type.toBe<
      Effect.Effect<MonitoringCoordinator.MonitoringCoordinator, InvalidMonitoringOptions, Scope.Scope>
    >()
    expect(MonitoringCoordinator.layer({ components })).type.toBe<
      Layer.Layer<MonitoringCoordinator.MonitoringCoordinator, InvalidMonitoringOptions>
    >()
  })

  test("fiberHistorySize is a number option", () => {
    expect(MonitoringCoordinator.make).type.toBeCallableWith({ components, fiberHistorySize: 10 })
    expect(MonitoringCoordinator.make).type.not.toBeCallableWith({ components, fiberHistorySize: "10" })
  })

  test("handleError never fails; cleanupAll and shutdown fail with lock errors only", () => {
    expect(monitoring.handleError(new Error("x"), { component: "capture" })).type.toBe<
      Effect.Effect<MonitoringCoordinator.HandledError>
    >()
    expect(monitoring.cleanupAll).type.toBe<Effect.Effect<CleanupReport, LockError>>()
    expect(monitoring.shutdown).type.toBe<Effect.Effect<CleanupReport, LockError>>()
  })

  test("resetError never fails and needs a component", () => {
    expect(monitoring.resetError("capture")).type.toBe<Effect.Effect<MonitoringCoordinator.ResetResult>>()
    expect(monitoring.resetError).type.not.toBeCallableWith()
  })

  test("handleError needs a component", () => {
    expect(monitoring.handleError).type.not.toBeCallableWith(new Error("x"), { channel: "left" })
  })

  test("fork carries the effect's services and types into the fiber", () => {
    const read = Effect.flatMap(Device, (device) => device.read)
    expect(monitoring.fork("reader", () => read)).type.toBe<
      Effect.Effect<
        MonitoringCoordinator.Watched & { readonly fiber: Fiber.RuntimeFiber<number, never> },
        never,
        Device
      >
    >()
  })
})

describe("HTTP and Prometheus", () => {
  test("the endpoints need an HttpServer and the coordinator; the Node layer provides the server", () => {
    expect(MonitoringHttp.layer).type.toBe<
      Layer.Layer<never, never, HttpServer.HttpServer | MonitoringCoordinator.MonitoringCoordinator>
    >()
    expect(MonitoringHttpNode.layer({ port: 0 })).type.toBe<
      Layer.Layer<HttpServer.HttpServer, ServeError, MonitoringCoordinator.MonitoringCoordinator>
    >()
  })

  test("the exposition is a string", () => {
    expect(Prometheus.snapshot).type.toBe<Effect.Effect<string>>()
  })
})
