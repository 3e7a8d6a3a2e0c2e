import { ComponentCoordinator } from "@core-stability/coordinator"
import { type LockRegistry, OrderedLock } from "@core-stability/locks"
import { MonitoringCoordinator, SystemVerifier } from "@core-stability/monitoring"
import * as MonitoringHttpNode from "@core-stability/monitoring/MonitoringHttpNode"
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"

const serve = Effect.gen(function*() {
  const components = yield* ComponentCoordinator.make()
  yield* components.register({ id: "storage" })
  yield* components.startAll
  const monitoring = yield* MonitoringCoordinator.make({ components })
  const context = yield* Layer.build(
    MonitoringHttpNode.layer({ port: 0 }).pipe(
      Layer.provide(Layer.succeed(MonitoringCoordinator.MonitoringCoordinator, monitoring))
    )
  )
  const server = yield* Effect.provide(HttpServer.HttpServer, context)
  const address = server.address
  assert.strictEqual(address._tag, "TcpAddress")
  const base = address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}` : ""
  const get = (path: string) =>
    Effect.promise(async () => {
      const response = await fetch(`${base}${path}`)
      return { status: response.status, type: response.headers.get("content-type"), body: await response.text() }
    })
  return { components, monitoring, get }
})

describe("MonitoringHttp (a real Node server on 127.0.0.1)", () => {
  it.live("healthz, readyz (503 as soon as shutdown starts), 404", () =>
    Effect.scoped(Effect.gen(function*() {
      const { get, monitoring } = yield* serve
      const health = yield* get("/healthz")
      assert.strictEqual(health.status, 200)
      assert.deepStrictEqual(JSON.parse(health.body), { status: "ok" })
      yield* monitoring.checkHealth
      const ready = yield* get("/readyz")
      assert.strictEqual(ready.status, 200)
      assert.deepStrictEqual(JSON.parse(ready.body), { ready: true, health: "healthy" })
      yield* monitoring.shutdown
      const notReady = yield* get("/readyz")
      assert.strictEqual(notReady.status, 503)
      assert.strictEqual(JSON.parse(notReady.body).reason, "shutting down")
      assert.strictEqual((yield* get("/healthz")).status, 200)
      assert.strictEqual((yield* get("/nope")).status, 404)
    })).pipe(Logger.withMinimumLogLevel(LogLevel.None)))

  it.live("metrics is the Prometheus exposition; debug/locks the lock snapshot", () =>
    Effect.scoped(Effect.gen(function*() {
      const { get, monitoring } = yield* serve
      yield* monitoring.handleError("boom", { component: "storage", channel: "left" })
      const metrics = yield* get("/metrics")
      assert.strictEqual(metrics.status, 200)
      assert.strictEqual(metrics.type, "text/plain; version=0.0.4; charset=utf-8")
      assert.include(metrics.body, "# TYPE monitoring_errors counter")
      assert.match(metrics.body, /monitoring_errors\{component="storage",channel="left"\} \d+/)
      const lock = yield* OrderedLock.make({ name: "http-test", rank: 100, key: "http-test" })
      const locks = yield* OrderedLock.withLock(lock, get("/debug/locks"))
      assert.strictEqual(locks.status, 200)
      const snapshot: LockRegistry.LockSnapshot = JSON.parse(locks.body)
      const held = snapshot.locks.find((entry) => entry.lock.key === "http-test")
      assert.isDefined(held)
      assert.strictEqual(held!.holders.length, 1)
    })).pipe(Logger.withMinimumLogLevel(LogLevel.None)))

  it.live("debug/verify is 404 before a verification, then the last report (503 unless passed)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { components, get, monitoring } = yield* serve
      const none = yield* get("/debug/verify")
      assert.strictEqual(none.status, 404)
      assert.deepStrictEqual(JSON.parse(none.body), { error: "no verification has run" })
      const verifier = yield* SystemVerifier.make({ components, monitoring })
      const passed = yield* verifier.verify()
      const ok = yield* get("/debug/verify")
      assert.strictEqual(ok.status, 200)
      assert.deepStrictEqual(JSON.parse(ok.body), JSON.parse(JSON.stringify(passed)))
      yield* components.transition("storage", "Error", { reason: "disk full" })
      yield* verifier.verify()
      const failed = yield* get("/debug/verify")
      assert.strictEqual(failed.status, 503)
      assert.strictEqual(JSON.parse(failed.body).verdict, "failed")
    })).pipe(Logger.withMinimumLogLevel(LogLevel.None)))
})
