/**
 * An in-memory `FileSystem` of `@effect/platform` for tests of code that persists files, such as the
 * `RecoveryLogger`: directories, files with modification times from the `Clock` (so `TestClock` drives retention),
 * and the errors a real file system gives (`NotFound` for a missing parent directory, `BadResource` for a path
 * under a file, `AlreadyExists` for an exclusive create of an existing file).
 *
 * Modelled: `makeDirectory`, `readDirectory`, `readFile` / `readFileString`, `writeFile` / `writeFileString` (flags
 * `w`, `a` and the exclusive `wx` / `ax`), `rename` (atomic, as POSIX `rename(2)`: replaces a file, or an empty
 * directory), `copyFile`, `copy` (recursive, as Node's `fs.cp`), `truncate`, `remove`, `stat`, `utimes`, `access`,
 * `exists`. Every operation completes in one step: a write is never seen half done (wrap the service to simulate
 * slow or partial writes).
 *
 * Not modelled (they behave as in `FileSystem.makeNoop`: fail with `NotFound`, or die): `open` and everything built
 * on it (`stream`, `sink`), `chmod`, `chown`, `link`, `symlink`, `readLink`, `realPath`, `makeTempDirectory`,
 * `makeTempFile` (and their scoped forms), `watch`. Permissions and modes are ignored.
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
