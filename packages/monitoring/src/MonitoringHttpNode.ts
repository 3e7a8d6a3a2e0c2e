/**
 * The HTTP endpoints of `MonitoringHttp` on a Node HTTP server (`@effect/platform-node`, an optional peer
 * dependency; this module is not in the package's barrel, so the rest of the package works without it).
 *
 * @example
 * ```ts
 * import * as MonitoringHttpNode from "@core-stability/monitoring/MonitoringHttpNode"
 *
 * // listens on 127.0.0.1:9464 while the layer is in use
 * const endpoints = MonitoringHttpNode.layer({ port: 9464 })
 * ```
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type * as HttpServer from "@effect/platform/HttpServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import * as Layer from "effect/Layer"
import { createServer } from "node:http"
import * as internal from "./internal/http.js"
import type { MonitoringCoordinator } from "./MonitoringCoordinator.js"

/**
 * Options of {@link layer}: the port (default 9464, the Prometheus exporter convention; 0 picks a free one) and
 * the host (default `127.0.0.1`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly port?: number | undefined
  readonly host?: string | undefined
}

/**
 * Starts a Node HTTP server serving the endpoints; the server is closed when the layer is released. It also provides
 * the `HttpServer` (read its `address` to learn the port picked for port 0). Fails with `ServeError` when the port
 * cannot be bound.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options | undefined
): Layer.Layer<HttpServer.HttpServer, ServeError, MonitoringCoordinator> =>
  Layer.provideMerge(
    internal.layer,
    NodeHttpServer.layer(() => createServer(), { port: options?.port ?? 9464, host: options?.host ?? "127.0.0.1" })
  )
