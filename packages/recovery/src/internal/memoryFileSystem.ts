import * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Api from "../MemoryFileSystem.js"

interface FileEntry {
  data: Uint8Array
  mtime: number
}

const normalize = (path: string): string => {
  const parts: Array<string> = []
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue
    if (part === "..") parts.pop()
    else parts.push(part)
  }
  return `/${parts.join("/")}`
}

const parentOf = (path: string): string => {
  const index = path.lastIndexOf("/")
  return index <= 0 ? "/" : path.slice(0, index)
}

const systemError = (
  reason: PlatformError.SystemErrorReason,
  method: string,
  path: string,
  description: string
): PlatformError.PlatformError =>
  new PlatformError.SystemError({ reason, module: "FileSystem", method, pathOrDescriptor: path, description })

const info = (type: FileSystem.File.Type, mtime: number, size: number): FileSystem.File.Info => ({
  type,
  mtime: Option.some(new Date(mtime)),
  atime: Option.some(new Date(mtime)),
  birthtime: Option.some(new Date(mtime)),
  dev: 0,
  ino: Option.none(),
  mode: type === "Directory" ? 0o755 : 0o644,
  nlink: Option.none(),
  uid: Option.none(),
  gid: Option.none(),
  rdev: Option.none(),
  size: FileSystem.Size(size),
  blksize: Option.none(),
  blocks: Option.none()
})

/** @internal */
export const unsafeMake = (): Api.MemoryFileSystem => {
  const directories = new Map<string, number>([["/", 0]])
  const files = new Map<string, FileEntry>()
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()

  const requireDirectory = (method: string, path: string): Effect.Effect<void, PlatformError.PlatformError> =>
    directories.has(path)
      ? Effect.void
      : Effect.fail(
        files.has(path)
          ? systemError("BadResource", method, path, "not a directory")
          : systemError("NotFound", method, path, "no such directory")
      )

  const makeDirectory = (raw: string, options?: FileSystem.MakeDirectoryOptions) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.suspend(() => {
        const path = normalize(raw)
        if (files.has(path)) return Effect.fail(systemError("AlreadyExists", "makeDirectory", path, "a file exists"))
        if (directories.has(path)) {
          return options?.recursive === true
            ? Effect.void
            : Effect.fail(systemError("AlreadyExists", "makeDirectory", path, "directory exists"))
        }
        const missing: Array<string> = []
        let current = path
        while (!directories.has(current)) {
          if (files.has(current)) {
            return Effect.fail(systemError("BadResource", "makeDirectory", current, "not a directory"))
          }
          missing.push(current)
          current = parentOf(current)
        }
        if (missing.length > 1 && options?.recursive !== true) {
          return Effect.fail(systemError("NotFound", "makeDirectory", parentOf(path), "no such directory"))
        }
        for (const directory of missing) directories.set(directory, now)
        return Effect.void
      }))

  /** `flag`: `w`/`w+` (default) replace, `a`/`a+` append; with `x` (`wx`, `ax`, ...) the file must not exist. */
  const writeFile = (raw: string, data: Uint8Array, options?: FileSystem.WriteFileOptions) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.suspend(() => {
        const path = normalize(raw)
        const flag = options?.flag ?? "w"
        if (flag.startsWith("r")) {
          return Effect.fail(systemError("InvalidData", "writeFile", path, `flag "${flag}" does not write`))
        }
        if (directories.has(path)) return Effect.fail(systemError("BadResource", "writeFile", path, "is a directory"))
        return Effect.flatMap(requireDirectory("writeFile", parentOf(path)), () => {
          const previous = files.get(path)
          if (flag.includes("x") && previous !== undefined) {
            return Effect.fail(systemError("AlreadyExists", "writeFile", path, "file exists"))
          }
          const bytes = flag.startsWith("a") && previous !== undefined ? concat(previous.data, data) : data.slice()
          files.set(path, { data: bytes, mtime: now })
          return Effect.void
        })
      }))

  const readFile = (raw: string) =>
    Effect.suspend(() => {
      const path = normalize(raw)
      const entry = files.get(path)
      return entry === undefined
        ? Effect.fail(systemError("NotFound", "readFile", path, "no such file"))
        : Effect.succeed(entry.data.slice())
    })

  const stat = (raw: string) =>
    Effect.suspend(() => {
      const path = normalize(raw)
      const entry = files.get(path)
      if (entry !== undefined) return Effect.succeed(info("File", entry.mtime, entry.data.length))
      const directory = directories.get(path)
      return directory === undefined
        ? Effect.fail(systemError("NotFound", "stat", path, "no such file or directory"))
        : Effect.succeed(info("Directory", directory, 0))
    })

  const readDirectory = (raw: string, options?: FileSystem.ReadDirectoryOptions) =>
    Effect.suspend(() => {
      const path = normalize(raw)
      return Effect.map(requireDirectory("readDirectory", path), () => {
        const prefix = path === "/" ? "/" : `${path}/`
        const names: Array<string> = []
        for (const candidate of [...directories.keys(), ...files.keys()]) {
          if (candidate === path || !candidate.startsWith(prefix)) continue
          const rest = candidate.slice(prefix.length)
          if (options?.recursive === true || !rest.includes("/")) names.push(rest)
        }
        return names.sort()
      })
    })

  const remove = (raw: string, options?: FileSystem.RemoveOptions) =>
    Effect.suspend(() => {
      const path = normalize(raw)
      if (files.delete(path)) return Effect.void
      if (!directories.has(path) || path === "/") {
        return options?.force === true
          ? Effect.void
          : Effect.fail(systemError("NotFound", "remove", path, "no such file or directory"))
      }
      const prefix = `${path}/`
      const children = [...directories.keys(), ...files.keys()].filter((candidate) => candidate.startsWith(prefix))
      if (children.length > 0 && options?.recursive !== true) {
        return Effect.fail(systemError("Busy", "remove", path, "directory not empty"))
      }
      for (const child of children) {
        files.delete(child)
        directories.delete(child)
      }
      directories.delete(path)
      return Effect.void
    })

  const utimes = (raw: string, _atime: Date | number, mtime: Date | number) =>
    Effect.suspend(() => {
      const path = normalize(raw)
      const time = typeof mtime === "number" ? mtime : mtime.getTime()
      const entry = files.get(path)
      if (entry !== undefined) {
        entry.mtime = time
        return Effect.void
      }
      if (directories.has(path)) {
        directories.set(path, time)
        return Effect.void
      }
      return Effect.fail(systemError("NotFound", "utimes", path, "no such file or directory"))
    })

  /** Every file and directory strictly under `path`. */
  const descendants = (path: string): Array<string> => {
    const prefix = path === "/" ? "/" : `${path}/`
    return [...directories.keys(), ...files.keys()].filter((candidate) => candidate.startsWith(prefix))
  }

  /**
   * As POSIX `rename(2)`: atomic; a file replaces a file, a directory replaces an empty directory; the parent of the
   * destination must exist; a directory cannot move under itself.
   */
  const rename = (rawFrom: string, rawTo: string) =>
    Effect.suspend(() => {
      const from = normalize(rawFrom)
      const to = normalize(rawTo)
      const file = files.get(from)
      if (file === undefined && (!directories.has(from) || from === "/")) {
        return Effect.fail(systemError("NotFound", "rename", from, "no such file or directory"))
      }
      return Effect.flatMap(requireDirectory("rename", parentOf(to)), () => {
        if (from === to) return Effect.void
        if (file !== undefined) {
          if (directories.has(to)) return Effect.fail(systemError("BadResource", "rename", to, "is a directory"))
          files.delete(from)
          files.set(to, file)
          return Effect.void
        }
        if (to.startsWith(`${from}/`)) {
          return Effect.fail(systemError("InvalidData", "rename", to, "a directory cannot move under itself"))
        }
        if (files.has(to)) return Effect.fail(systemError("BadResource", "rename", to, "not a directory"))
        if (directories.has(to) && descendants(to).length > 0) {
          return Effect.fail(systemError("Busy", "rename", to, "directory not empty"))
        }
        const moved = descendants(from)
        directories.set(to, directories.get(from)!)
        directories.delete(from)
        for (const path of moved) {
          const target = `${to}${path.slice(from.length)}`
          const entry = files.get(path)
          if (entry !== undefined) {
            files.delete(path)
            files.set(target, entry)
          } else {
            directories.set(target, directories.get(path)!)
            directories.delete(path)
          }
        }
        return Effect.void
      })
    })

  /** As `copyFile(2)`-style copies: the destination file is replaced; its modification time is now. */
  const copyFile = (rawFrom: string, rawTo: string) =>
    Effect.flatMap(readFile(rawFrom), (data) => writeFile(rawTo, data))

  /**
   * As Node's `fs.cp` (recursive): copies a file or a directory tree. Existing destination files are kept unless
   * `overwrite`; `preserveTimestamps` keeps the modification times.
   */
  const copy = (rawFrom: string, rawTo: string, options?: FileSystem.CopyOptions) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.suspend(() => {
        const from = normalize(rawFrom)
        const to = normalize(rawTo)
        const mtime = (source: number) => options?.preserveTimestamps === true ? source : now
        const copyOne = (source: string, target: string): Effect.Effect<void, PlatformError.PlatformError> => {
          const entry = files.get(source)!
          if (directories.has(target)) {
            return Effect.fail(systemError("BadResource", "copy", target, "is a directory"))
          }
          if (files.has(target) && options?.overwrite !== true) return Effect.void
          files.set(target, { data: entry.data.slice(), mtime: mtime(entry.mtime) })
          return Effect.void
        }
        if (files.has(from)) return Effect.zipRight(requireDirectory("copy", parentOf(to)), copyOne(from, to))
        if (!directories.has(from)) {
          return Effect.fail(systemError("NotFound", "copy", from, "no such file or directory"))
        }
        if (to === from || to.startsWith(`${from}/`)) {
          return Effect.fail(systemError("InvalidData", "copy", to, "cannot copy a directory into itself"))
        }
        if (files.has(to)) return Effect.fail(systemError("BadResource", "copy", to, "not a directory"))
        const sources = descendants(from).sort()
        return Effect.zipRight(
          makeDirectory(to, { recursive: true }),
          Effect.forEach(sources, (source) => {
            const target = `${to}${source.slice(from.length)}`
            return files.has(source) ? copyOne(source, target) : makeDirectory(target, { recursive: true })
          }, { discard: true })
        )
      }))

  /** Cuts the file to `length` bytes (default 0), or extends it with zero bytes. */
  const truncate = (raw: string, length?: FileSystem.SizeInput) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.suspend(() => {
        const path = normalize(raw)
        const entry = files.get(path)
        if (entry === undefined) {
          return Effect.fail(
            directories.has(path)
              ? systemError("BadResource", "truncate", path, "is a directory")
              : systemError("NotFound", "truncate", path, "no such file")
          )
        }
        const size = Number(length ?? 0)
        const data = new Uint8Array(size)
        data.set(entry.data.subarray(0, size))
        files.set(path, { data, mtime: now })
        return Effect.void
      }))

  const access = (raw: string) =>
    Effect.suspend(() => {
      const path = normalize(raw)
      return files.has(path) || directories.has(path)
        ? Effect.void
        : Effect.fail(systemError("NotFound", "access", path, "no such file or directory"))
    })

  const fileSystem = FileSystem.makeNoop({
    access,
    copy,
    copyFile,
    exists: (path) => Effect.sync(() => files.has(normalize(path)) || directories.has(normalize(path))),
    makeDirectory,
    readDirectory,
    readFile,
    readFileString: (path) => Effect.map(readFile(path), (bytes) => decoder.decode(bytes)),
    remove,
    rename,
    stat,
    truncate,
    utimes,
    writeFile,
    writeFileString: (path, data, options) => writeFile(path, encoder.encode(data), options)
  })

  return {
    fileSystem,
    files: Effect.sync(() => {
      const snapshot = new Map<string, string>()
      for (const [path, entry] of [...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        snapshot.set(path, decoder.decode(entry.data))
      }
      return snapshot
    })
  }
}

const concat = (left: Uint8Array, right: Uint8Array): Uint8Array => {
  const bytes = new Uint8Array(left.length + right.length)
  bytes.set(left, 0)
  bytes.set(right, left.length)
  return bytes
}

/** @internal */
export const layer = (self: Api.MemoryFileSystem): Layer.Layer<FileSystem.FileSystem | Path.Path> =>
  Layer.merge(Layer.succeed(FileSystem.FileSystem, self.fileSystem), Path.layer)
