/**
 * The worked example of docs/cleanup.md: the shutdown of a capture pipeline (device, capture, buffers, storage,
 * logs), with one failing step to show failure isolation. Run it with
 * `node --conditions=@core-stability/source --import tsx packages/cleanup/examples/shutdown.ts`.
 */
import * as CleanupCoordinator from "@core-stability/cleanup/CleanupCoordinator"
import * as CleanupError from "@core-stability/cleanup/CleanupError"
import * as CleanupPlan from "@core-stability/cleanup/CleanupPlan"
import * as CleanupReport from "@core-stability/cleanup/CleanupReport"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"

const program = Effect.gen(function*() {
  const coordinator = yield* CleanupCoordinator.make({ deadline: "10 seconds", concurrency: 2 })

  // Resources: each is released before the resources it uses.
  const device = yield* coordinator.acquire({
    name: "audio-device",
    phase: "ReleasingResources",
    acquire: Effect.succeed({ id: "wasapi:0" }),
    release: (device) => Console.log(`closed ${device.id}`)
  })
  const pending = yield* Ref.make(3)
  yield* coordinator.acquire({
    name: "capture",
    phase: "StoppingCapture",
    uses: ["audio-device"],
    acquire: Effect.succeed(device),
    release: () => Effect.sleep("20 millis")
  })

  // Plain steps, ordered by their dependencies.
  yield* coordinator.register({
    name: "flush-buffers",
    phase: "FlushingStorage",
    dependsOn: ["capture"],
    // drains one buffer per call; verification holds once nothing is pending
    run: Ref.update(pending, (n) => n - 1),
    verify: Effect.flatMap(Ref.updateAndGet(pending, (n) => Math.max(0, n - 1)), (n) => Effect.succeed(n === 0)),
    retryDelay: "50 millis"
  })
  yield* coordinator.register({
    name: "cleanup-backups",
    phase: "FlushingStorage",
    run: Effect.fail("backup volume is read-only")
  })
  yield* coordinator.register({
    name: "upload-backups",
    phase: "FlushingStorage",
    dependsOn: ["cleanup-backups"],
    run: Effect.void
  })
  yield* coordinator.register({
    name: "close-logs",
    phase: "ClosingLogs",
    dependsOn: ["flush-buffers"],
    run: Effect.sleep("5 millis")
  })

  yield* Console.log(CleanupPlan.render(yield* coordinator.plan))
  const report = yield* coordinator.shutdown
  yield* Console.log(CleanupReport.render(report))
})

// Closing the scope joins the finished run; as it failed, the scope's Exit carries CleanupFailedError.
Effect.runPromise(Effect.exit(Effect.scoped(program))).then((exit) => {
  const defect = exit._tag === "Failure" ? Cause.squash(exit.cause) : undefined
  console.log(CleanupError.isCleanupFailedError(defect) ? `scope closed with: ${defect.message}` : "scope closed")
})
