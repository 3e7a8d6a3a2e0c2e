/**
 * An in-memory `FileSystem` of `@effect/platform` for tests of code that persists files, such as the
 * `RecoveryLogger`: directories, files with modification times from the `Clock` (so `TestClock` drives retention),
 * and the errors a real file system gives (`NotFound` for a missing parent directory, `BadResource` for a path
 * under a file). Operations it does not model (`open`, `stream`, links, temporary files) behave as in
 * `FileSystem.makeNoop`.
 *
 * @example
 * ```ts
 * import { MemoryFileSystem } from "@core-stability/recovery"
 * import { FileSystem } from "@effect/platform"
 * import { Effect } from "effect"
 *
 * const memory = MemoryFileSystem.unsafeMake()
 * const program = Effect.gen(function*() {
 *   const fs = yield* FileSystem.FileSystem
 *   yield* fs.makeDirectory("/logs", { recursive: true })
 *   yield* fs.writeFileString("/logs/a.json", "{}")
 *   return yield* memory.files // Map { "/logs/a.json" => "{}" }
 * }).pipe(Effect.provide(MemoryFileSystem.layer(memory)))
 * ```
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as internal from "./internal/memoryFileSystem.js"

/**
 * An in-memory file system and a view of its files.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryFileSystem {
  /** The `FileSystem` service implementation. */
  readonly fileSystem: FileSystem.FileSystem
  /** Every file's path (absolute, normalised) and content as UTF-8 text, sorted by path. */
  readonly files: Effect.Effect<ReadonlyMap<string, string>>
}

/**
 * A new, empty file system (only the root directory `/` exists). Paths are POSIX paths; relative paths are taken
 * from the root.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: () => MemoryFileSystem = internal.unsafeMake

/**
 * Provides the file system as the `FileSystem` service, with the POSIX `Path` service of `@effect/platform` (the
 * paths it understands).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (self: MemoryFileSystem) => Layer.Layer<FileSystem.FileSystem | Path.Path> = internal.layer
