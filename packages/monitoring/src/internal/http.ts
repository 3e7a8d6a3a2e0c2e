import * as LockRegistry from "@core-stability/locks/LockRegistry"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Api from "../MonitoringCoordinator.js"
import { toJson } from "../VerificationReport.js"
import { tag } from "./monitoringCoordinator.js"
import * as Prometheus from "./prometheus.js"

const json = (body: unknown, status: number): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(body, { status, headers: { "cache-control": "no-store" } })

/** @internal */
export const router = (monitoring: Api.MonitoringCoordinator): HttpRouter.HttpRouter =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/healthz", Effect.succeed(json({ status: "ok" }, 200))),
    HttpRouter.get(
      "/readyz",
      Effect.gen(function*() {
        const shuttingDown = yield* monitoring.isShutdownRequested
        const last = yield* monitoring.lastHealth
        const health = Option.getOrUndefined(Option.map(last, (check) => check.report.status))
        if (shuttingDown) return json({ ready: false, reason: "shutting down", health }, 503)
        if (health === "failed") return json({ ready: false, reason: "unhealthy", health }, 503)
        return json({ ready: true, health }, 200)
      })
    ),
    HttpRouter.get(
      "/metrics",
      Effect.map(Prometheus.snapshot, (body) =>
        HttpServerResponse.text(body, {
          status: 200,
          contentType: Prometheus.contentType,
          headers: { "cache-control": "no-store" }
        }))
    ),
    HttpRouter.get("/debug/locks", Effect.map(LockRegistry.snapshot(), (snapshot) => json(snapshot, 200))),
    HttpRouter.get(
      "/debug/verify",
      Effect.map(monitoring.lastVerification, (report) =>
        Option.match(report, {
          onNone: () => json({ error: "no verification has run" }, 404),
          // toJson, not the platform's JSON.stringify: a check's data may hold values plain JSON cannot (bigint)
          onSome: (report) =>
            HttpServerResponse.text(toJson(report), {
              status: report.verdict === "passed" ? 200 : 503,
              contentType: "application/json",
              headers: { "cache-control": "no-store" }
            })
        }))
    )
  )

/** @internal */
export const app = (monitoring: Api.MonitoringCoordinator): Effect.Effect<HttpApp.Default> =>
  Effect.map(
    HttpRouter.toHttpApp(router(monitoring)),
    (httpApp) => Effect.catchTag(httpApp, "RouteNotFound", () => Effect.succeed(json({ error: "not found" }, 404)))
  )

/** @internal */
export const layer: Layer.Layer<never, never, HttpServer.HttpServer | Api.MonitoringCoordinator> = Layer.unwrapScoped(
  Effect.map(Effect.flatMap(tag, app), (httpApp) => HttpServer.serve(httpApp))
)
