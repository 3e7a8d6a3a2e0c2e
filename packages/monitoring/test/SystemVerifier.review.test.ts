/**
 * Regression tests for the review findings on `SystemVerifier`, `VerificationReport` and `GET /debug/verify` (each
 * `describe` names the bug it guards).
 */
import { ComponentCoordinator } from "@core-stability/coordinator"
import { MonitoringCoordinator, MonitoringHttp, SystemVerifier, VerificationReport } from "@core-stability/monitoring"
import { MemoryFileSystem } from "@core-stability/recovery"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpApp from "@effect/platform/HttpApp"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const quiet = Logger.withMinimumLogLevel(LogLevel.None)

const statusOf = (report: VerificationReport.VerificationReport, name: string) => {
  const check = report.checks.find((candidate) => candidate.name === name)
  assert.isDefined(check, `no check ${name}`)
  return check!
}

describe("regression: a check whose data is not plain JSON broke GET /debug/verify and writeReport", () => {
  // `Check<A>` does not constrain `A`: one bigint made the endpoint answer 500 with an empty body, and toJson /
  // writeReport throw (a defect outside the declared PlatformError)
  it.live("the endpoint serves the report and writeReport writes it; bigints are decimal strings", () =>
    Effect.scoped(Effect.gen(function*() {
      const components = yield* ComponentCoordinator.make()
      yield* components.register({ id: "storage" })
      yield* components.startAll
      const monitoring = yield* MonitoringCoordinator.make({ components })
      const verifier = yield* SystemVerifier.make({
        components,
        monitoring,
        checks: [{
          name: "disk-space",
          run: Effect.succeed({ passed: true, details: ["enough space"], data: { freeBytes: 123_456_789_012n } })
        }]
      })
      const report = yield* verifier.verify()
      assert.strictEqual(report.verdict, "passed")
      const handler = HttpApp.toWebHandler(yield* MonitoringHttp.app(monitoring))
      const response = yield* Effect.promise(() => handler(new Request("http://localhost/debug/verify")))
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.headers.get("cache-control"), "no-store")
      assert.match(response.headers.get("content-type") ?? "", /^application\/json/)
      const body = JSON.parse(yield* Effect.promise(() => response.text()))
      assert.strictEqual(body.verdict, "passed")
      assert.strictEqual(
        body.checks.find((check: { name: string }) => check.name === "disk-space").data.freeBytes,
        "123456789012"
      )
      const written = yield* Effect.gen(function*() {
        yield* SystemVerifier.writeReport(report, "/reports/verify.json")
        const fs = yield* FileSystem.FileSystem
        return yield* fs.readFileString("/reports/verify.json")
      }).pipe(Effect.provide(MemoryFileSystem.layer(MemoryFileSystem.unsafeMake())), Effect.exit)
      assert.isTrue(Exit.isSuccess(written), "writeReport died")
      if (Exit.isSuccess(written)) assert.strictEqual(written.value, VerificationReport.toJson(report))
    })).pipe(quiet))

  it("toJson writes Maps, Sets, Errors and cycles, and never throws", () => {
    const cyclic: { name: string; self?: unknown } = { name: "loop" }
    cyclic.self = cyclic
    const shared = { id: 1 }
    const data = {
      total: 5n,
      byKind: new Map<string, unknown>([["a", 1n], ["b", new Set([1, 2])]]),
      error: new RangeError("out of range"),
      cyclic,
      twice: [shared, shared],
      throwing: {
        toJSON: () => {
          throw new Error("no")
        }
      },
      fn: () => 1,
      missing: undefined
    }
    const json = VerificationReport.toJson({
      startedAt: 0,
      durationMs: 0,
      verdict: "passed",
      checks: [{ name: "odd", status: "passed", details: [], durationMs: 0, data }],
      restart: undefined
    })
    const parsed = JSON.parse(json)
    assert.deepStrictEqual(parsed.checks[0].data, {
      total: "5",
      byKind: [["a", "1"], ["b", [1, 2]]],
      error: { name: "RangeError", message: "out of range" },
      cyclic: { name: "loop", self: "[Circular]" },
      twice: [{ id: 1 }, { id: 1 }],
      throwing: "[Unserializable: no]"
    })
    assert.notProperty(parsed, "restart")
  })
})

describe("regression: a check that ignores its interruption made the timeout no upper bound", () => {
  // runCheck used Effect.timeoutOption on the check itself, which waits for the interrupted effect to end
  it.scoped("the verification ends at the timeout; the run is abandoned, tracked, and not started again meanwhile", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      let runs = 0
      const stubborn = Effect.uninterruptible(
        Effect.zipRight(
          Effect.sync(() => runs++),
          Effect.as(Deferred.await(release), { passed: true, details: ["done"], data: undefined })
        )
      )
      const verifier = yield* SystemVerifier.make({
        checkTimeout: "1 second",
        checks: [{ name: "stubborn", run: stubborn }]
      })
      const running = yield* Effect.fork(verifier.verify())
      yield* TestClock.adjust(Duration.seconds(1))
      const report = yield* Fiber.join(running)
      assert.strictEqual(report.verdict, "error")
      assert.deepStrictEqual(statusOf(report, "stubborn").details, ["timed out after 1000 ms"])
      assert.strictEqual(statusOf(report, "stubborn").durationMs, 1000)
      const abandoned = yield* verifier.abandoned
      assert.deepStrictEqual(abandoned.map((entry) => entry.check), ["stubborn"])
      assert.match(abandoned[0]!.fiber, /^#\d+$/)
      // while it runs, the check is not started again
      const again = yield* verifier.verify()
      assert.strictEqual(statusOf(again, "stubborn").status, "error")
      assert.match(statusOf(again, "stubborn").details[0]!, /^not run: its run from an earlier verification timed out/)
      assert.strictEqual(runs, 1)
      // once it ends, it is forgotten and runs again
      yield* Deferred.succeed(release, undefined)
      while ((yield* verifier.abandoned).length > 0) yield* Effect.yieldNow()
      const after = yield* verifier.verify()
      assert.strictEqual(statusOf(after, "stubborn").status, "passed")
      assert.strictEqual(runs, 2)
    }).pipe(quiet))

  it.scoped("a check that stops when interrupted is not kept", () =>
    Effect.gen(function*() {
      const verifier = yield* SystemVerifier.make({
        checkTimeout: "1 second",
        checks: [{ name: "slow", run: Effect.as(Effect.never, { passed: true, details: [], data: undefined }) }]
      })
      const running = yield* Effect.fork(verifier.verify())
      yield* TestClock.adjust(Duration.seconds(1))
      assert.strictEqual(statusOf(yield* Fiber.join(running), "slow").status, "error")
      while ((yield* verifier.abandoned).length > 0) yield* Effect.yieldNow()
      assert.deepStrictEqual(yield* verifier.abandoned, [])
    }).pipe(quiet))
})

describe("regression: verify({ only }) with an unknown name ran no check and passed", () => {
  it.effect("it fails with UnknownCheck naming the unknown names, before any check runs", () =>
    Effect.gen(function*() {
      let ran = 0
      const verifier = yield* SystemVerifier.make({
        checks: [{ name: "probe", run: Effect.sync(() => ({ passed: true, details: [`run ${++ran}`], data: ran })) }]
      })
      const error = yield* Effect.flip(verifier.verify({ only: ["probe", "prbe", "locsk", "prbe"] }))
      assert.strictEqual(error._tag, "UnknownCheck")
      assert.deepStrictEqual(error.checks, ["prbe", "locsk"])
      assert.deepStrictEqual(error.known, ["locks", "probe"])
      assert.strictEqual(error.message, "No check named \"prbe\", \"locsk\" (the verifier's checks: locks, probe)")
      assert.strictEqual(ran, 0)
      assert.isTrue(Option.isNone(yield* verifier.lastReport))
      // known names still run alone
      const report = yield* verifier.verify({ only: ["probe"] })
      assert.deepStrictEqual(report.checks.map((check) => check.name), ["probe"])
    }))
})
