/**
 * HTTP endpoints of a `MonitoringCoordinator` on `@effect/platform`'s `HttpServer` (any platform; see
 * `MonitoringHttpNode` for Node):
 *
 * | route | status | body |
 * | --- | --- | --- |
 * | `GET /healthz` | 200 while the server answers (liveness) | `{"status":"ok"}` |
 * | `GET /readyz` | 200, or 503 from the moment shutdown starts or when the last health check failed | `{"ready":true,"health":"healthy"}` / `{"ready":false,"reason":"shutting down","health":...}` |
 * | `GET /metrics` | 200 | the Prometheus text exposition (0.0.4) of every Effect metric |
 * | `GET /debug/locks` | 200 | the `LockSnapshot` of `@core-stability/locks` as JSON |
 * | `GET /debug/verify` | 200 when its verdict is `passed`, else 503; 404 before any verification | the last `VerificationReport` (of a `SystemVerifier` made with the coordinator) as JSON |
 * | anything else | 404 | `{"error":"not found"}` |
 *
 * JSON responses carry `cache-control: no-store`. Readiness derived from the shutdown state follows lifecycle.md
 * idea 13 (the original had no endpoints).
 *
 * @example
 * ```ts
 * import { MonitoringHttp } from "@core-stability/monitoring"
 * import { HttpServer } from "@effect/platform"
 * import { Layer } from "effect"
 *
 * // with a MonitoringCoordinator and an HttpServer in context:
 * const endpoints: Layer.Layer<never, never, HttpServer.HttpServer | MonitoringHttp.Requirements> = MonitoringHttp.layer
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import type * as HttpRouter from "@effect/platform/HttpRouter"
import type * as HttpServer from "@effect/platform/HttpServer"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as internal from "./internal/http.js"
import type { MonitoringCoordinator } from "./MonitoringCoordinator.js"

/**
 * What the endpoints need besides a server: the monitoring coordinator.
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements = MonitoringCoordinator

/**
 * The routes, to mount into an application's own router.
 *
 * @since 0.1.0
 * @category constructors
 */
export const router: (monitoring: MonitoringCoordinator) => HttpRouter.HttpRouter = internal.router

/**
 * The routes as an `HttpApp` that answers unknown routes with 404.
 *
 * @since 0.1.0
 * @category constructors
 */
export const app: (monitoring: MonitoringCoordinator) => Effect.Effect<HttpApp.Default> = internal.app

/**
 * Serves the endpoints on the `HttpServer` in context, for the monitoring coordinator in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<never, never, HttpServer.HttpServer | MonitoringCoordinator> = internal.layer
