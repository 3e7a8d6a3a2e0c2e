/**
 * Regression tests for the review of the RecoveryLogger (each names the bug it pins down).
 */
import { MemoryFileSystem, RecoveryLogger } from "@core-stability/recovery"
import { FileSystem } from "@effect/platform"
import * as PlatformError from "@effect/platform/Error"
import * as Path from "@effect/platform/Path"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as TestClock from "effect/TestClock"

const quiet = Logger.withMinimumLogLevel(LogLevel.None)

const fsLayer = (fs: FileSystem.FileSystem): Layer.Layer<FileSystem.FileSystem | Path.Path> =>
  Layer.merge(Layer.succeed(FileSystem.FileSystem, fs), Path.layer)

const input = (component: string): RecoveryLogger.AttemptInput => ({
  component,
  trigger: "overflow",
  startedAt: 1_000,
  endedAt: 1_100,
  states: [{ state: "Initiating", at: 1_000 }, { state: "Completed", at: 1_100 }],
  outcome: "Succeeded"
})

const fileName = (path: string): string => path.slice(path.lastIndexOf("/") + 1)

describe("RecoveryLogger (review regressions)", () => {
  describe("bug 7: the analytics file could end up out of date (concurrent, unordered writes of old values)", () => {
    it.effect("after every record returned, the analytics file holds the latest analytics", () =>
      Effect.gen(function*() {
        const memory = MemoryFileSystem.unsafeMake()
        const reached = yield* Deferred.make<void>()
        const gate = yield* Deferred.make<void>()
        let analyticsWrites = 0
        // the first analytics write is slow (a busy disk); the others are fast
        const fs: FileSystem.FileSystem = {
          ...memory.fileSystem,
          writeFileString: (path, data, options) =>
            path.includes("/analytics/") && ++analyticsWrites === 1
              ? Effect.zipRight(
                Effect.zipRight(Deferred.succeed(reached, undefined), Deferred.await(gate)),
                memory.fileSystem.writeFileString(path, data, options)
              )
              : memory.fileSystem.writeFileString(path, data, options)
        }
        yield* Effect.gen(function*() {
          const logger = yield* RecoveryLogger.make({ directory: "/logs" })
          const first = yield* Effect.fork(logger.record(input("capture")))
          yield* Deferred.await(reached)
          // records while the first analytics write is in progress return without waiting for it
          for (const component of ["storage", "processing", "monitoring"]) yield* logger.record(input(component))
          yield* Deferred.succeed(gate, undefined)
          yield* Fiber.join(first)
          assert.strictEqual((yield* logger.analytics).totalAttempts, 4)
          const stats = yield* logger.stats
          assert.strictEqual(stats.writeFailures, 0)
          // 4 attempt files, the slow analytics write and one more with the latest analytics (coalesced)
          assert.strictEqual(stats.writes, 6)
          const files = yield* memory.files
          const analytics = [...files.entries()].filter(([path]) => path.startsWith("/logs/analytics/"))
          assert.strictEqual(analytics.length, 1)
          assert.strictEqual(JSON.parse(analytics[0]![1]).totalAttempts, 4, "the analytics file on disk is stale")
        }).pipe(Effect.provide(fsLayer(fs)))
      }).pipe(quiet))

    it.effect("concurrent records: one analytics writer at a time", () =>
      Effect.gen(function*() {
        const memory = MemoryFileSystem.unsafeMake()
        let writing = 0
        let overlapped = false
        const fs: FileSystem.FileSystem = {
          ...memory.fileSystem,
          writeFileString: (path, data, options) =>
            path.includes("/analytics/")
              ? Effect.acquireUseRelease(
                Effect.sync(() => {
                  if (++writing > 1) overlapped = true
                }),
                () => Effect.zipRight(Effect.yieldNow(), memory.fileSystem.writeFileString(path, data, options)),
                () => Effect.sync(() => writing--)
              )
              : memory.fileSystem.writeFileString(path, data, options)
        }
        yield* Effect.gen(function*() {
          const logger = yield* RecoveryLogger.make({ directory: "/logs" })
          yield* Effect.forEach(
            Array.from({ length: 8 }, (_, i) => `component-${i}`),
            (component) => logger.record(input(component)),
            { concurrency: "unbounded", discard: true }
          )
          assert.isFalse(overlapped, "two analytics writes overlapped")
          const analytics = [...(yield* memory.files).entries()].filter(([path]) => path.startsWith("/logs/analytics/"))
          assert.strictEqual(JSON.parse(analytics[0]![1]).totalAttempts, 8)
        }).pipe(Effect.provide(fsLayer(fs)))
      }).pipe(quiet))
  })

  describe("bug 8: a write that timed out left a half-written record file", () => {
    it.effect("a write that exceeds writeTimeout leaves no file behind, and no temporary file", () =>
      Effect.gen(function*() {
        const memory = MemoryFileSystem.unsafeMake()
        const base = memory.fileSystem
        // a slow disk: the first half of the content is on disk at once, the rest after 10 s
        const slowWrite = (path: string, data: string, options?: FileSystem.WriteFileStringOptions) =>
          Effect.zipRight(
            base.writeFileString(path, data.slice(0, Math.floor(data.length / 2)), options),
            Effect.zipRight(
              Effect.sleep(Duration.seconds(10)),
              base.writeFileString(path, data, { ...options, flag: "w" })
            )
          )
        const fs: FileSystem.FileSystem = {
          ...base,
          writeFileString: slowWrite,
          writeFile: (path, data, options) => slowWrite(path, new TextDecoder().decode(data), options)
        }
        yield* Effect.gen(function*() {
          const logger = yield* RecoveryLogger.make({ directory: "/logs", writeTimeout: "1 second" })
          const fiber = yield* Effect.fork(logger.record(input("capture")))
          yield* TestClock.adjust(Duration.seconds(1))
          yield* TestClock.adjust(Duration.seconds(1))
          yield* Fiber.join(fiber)
          const stats = yield* logger.stats
          assert.strictEqual(stats.writeFailures, 2)
          assert.strictEqual(stats.lastWriteError?.tag, "TimeoutException")
          assert.deepStrictEqual([...(yield* memory.files).keys()], [], "a partial or temporary file was left behind")
        }).pipe(Effect.provide(fsLayer(fs)))
      }).pipe(quiet))

    it.effect("a rename that fails removes the temporary file; the final file is never written in place", () =>
      Effect.gen(function*() {
        const memory = MemoryFileSystem.unsafeMake()
        const written: Array<string> = []
        const fs: FileSystem.FileSystem = {
          ...memory.fileSystem,
          writeFileString: (path, data, options) =>
            Effect.zipRight(
              Effect.sync(() => written.push(fileName(path))),
              memory.fileSystem.writeFileString(path, data, options)
            ),
          rename: (from) =>
            Effect.fail(
              new PlatformError.SystemError({
                reason: "PermissionDenied",
                module: "FileSystem",
                method: "rename",
                pathOrDescriptor: from
              })
            )
        }
        yield* Effect.gen(function*() {
          const logger = yield* RecoveryLogger.make({ directory: "/logs" })
          yield* logger.record(input("capture"))
          assert.strictEqual((yield* logger.stats).writeFailures, 2)
          assert.deepStrictEqual([...(yield* memory.files).keys()], [])
          assert.isTrue(written.length === 2 && written.every(RecoveryLogger.isTemporaryFile))
        }).pipe(Effect.provide(fsLayer(fs)))
      }).pipe(quiet))

    it.effect("a successful write goes through a temporary file and leaves only the final files", () =>
      Effect.gen(function*() {
        const memory = MemoryFileSystem.unsafeMake()
        const renames: Array<[string, string]> = []
        const fs: FileSystem.FileSystem = {
          ...memory.fileSystem,
          rename: (from, to) =>
            Effect.zipRight(
              Effect.sync(() => renames.push([fileName(from), fileName(to)])),
              memory.fileSystem.rename(from, to)
            )
        }
        yield* Effect.gen(function*() {
          const logger = yield* RecoveryLogger.make({ directory: "/logs" })
          const attempt = yield* logger.record(input("capture"))
          const recordRename = renames.find(([, to]) => to === `${attempt.id}.json`)
          assert.isDefined(recordRename)
          assert.isTrue(RecoveryLogger.isTemporaryFile(recordRename![0]))
          const paths = [...(yield* memory.files).keys()]
          assert.strictEqual(paths.length, 2)
          assert.isFalse(paths.some((path) => RecoveryLogger.isTemporaryFile(fileName(path))))
          assert.isFalse(RecoveryLogger.isTemporaryFile(`${attempt.id}.json`))
        }).pipe(Effect.provide(fsLayer(fs)))
      }).pipe(quiet))
  })
})
