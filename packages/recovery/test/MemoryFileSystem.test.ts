import { MemoryFileSystem } from "@core-stability/recovery"
import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const withMemory = (memory: MemoryFileSystem.MemoryFileSystem) => Effect.provide(MemoryFileSystem.layer(memory))

const reason = <A>(effect: Effect.Effect<A, unknown>) =>
  Effect.map(Effect.flip(effect), (error) => (error as { readonly reason?: string }).reason)

describe("MemoryFileSystem", () => {
  it.effect("rename replaces the destination file atomically and removes the source", () => {
    const memory = MemoryFileSystem.unsafeMake()
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      yield* fs.makeDirectory("/logs")
      yield* fs.writeFileString("/logs/a.json", "old")
      yield* fs.writeFileString("/logs/.a.json.tmp", "new")
      yield* fs.rename("/logs/.a.json.tmp", "/logs/a.json")
      assert.deepStrictEqual([...(yield* memory.files).entries()], [["/logs/a.json", "new"]])
      assert.strictEqual(yield* reason(fs.rename("/logs/missing", "/logs/b")), "NotFound")
      assert.strictEqual(yield* reason(fs.rename("/logs/a.json", "/nowhere/a.json")), "NotFound")
      assert.strictEqual(yield* reason(fs.rename("/logs/a.json", "/logs")), "BadResource")
    }).pipe(withMemory(memory))
  })

  it.effect("rename moves a directory tree; not onto a non-empty directory, nor under itself", () => {
    const memory = MemoryFileSystem.unsafeMake()
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      yield* fs.makeDirectory("/a/b", { recursive: true })
      yield* fs.writeFileString("/a/b/c.txt", "c")
      yield* fs.makeDirectory("/busy")
      yield* fs.writeFileString("/busy/x", "x")
      assert.strictEqual(yield* reason(fs.rename("/a", "/busy")), "Busy")
      assert.strictEqual(yield* reason(fs.rename("/a", "/a/b/d")), "InvalidData")
      yield* fs.rename("/a", "/z")
      assert.isFalse(yield* fs.exists("/a"))
      assert.deepStrictEqual(yield* fs.readDirectory("/z", { recursive: true }), ["b", "b/c.txt"])
      assert.strictEqual(yield* fs.readFileString("/z/b/c.txt"), "c")
    }).pipe(withMemory(memory))
  })

  it.effect("the exclusive flags wx / ax refuse an existing file; a appends", () => {
    const memory = MemoryFileSystem.unsafeMake()
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      yield* fs.writeFileString("/f", "1", { flag: "wx" })
      assert.strictEqual(yield* reason(fs.writeFileString("/f", "2", { flag: "wx" })), "AlreadyExists")
      assert.strictEqual(yield* reason(fs.writeFileString("/f", "2", { flag: "ax" })), "AlreadyExists")
      yield* fs.writeFileString("/f", "2", { flag: "a" })
      assert.strictEqual(yield* fs.readFileString("/f"), "12")
      assert.strictEqual(yield* reason(fs.writeFileString("/f", "3", { flag: "r" })), "InvalidData")
    }).pipe(withMemory(memory))
  })

  it.effect("copyFile, copy (recursive, keeps existing files unless overwrite) and truncate", () => {
    const memory = MemoryFileSystem.unsafeMake()
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      yield* fs.makeDirectory("/src/sub", { recursive: true })
      yield* fs.writeFileString("/src/a", "a")
      yield* fs.writeFileString("/src/sub/b", "b")
      yield* fs.copyFile("/src/a", "/a-copy")
      assert.strictEqual(yield* fs.readFileString("/a-copy"), "a")
      yield* fs.makeDirectory("/dst")
      yield* fs.writeFileString("/dst/a", "kept")
      yield* fs.copy("/src", "/dst")
      assert.strictEqual(yield* fs.readFileString("/dst/a"), "kept")
      assert.strictEqual(yield* fs.readFileString("/dst/sub/b"), "b")
      yield* fs.copy("/src", "/dst", { overwrite: true })
      assert.strictEqual(yield* fs.readFileString("/dst/a"), "a")
      assert.strictEqual(yield* reason(fs.copy("/src", "/src/sub/x")), "InvalidData")
      yield* fs.truncate("/dst/a")
      assert.strictEqual(yield* fs.readFileString("/dst/a"), "")
      yield* fs.truncate("/dst/sub/b", 3)
      assert.deepStrictEqual([...(yield* fs.readFile("/dst/sub/b"))], [98, 0, 0])
      assert.strictEqual(yield* reason(fs.truncate("/dst/sub")), "BadResource")
    }).pipe(withMemory(memory))
  })

  it.effect("copy with preserveTimestamps keeps the modification time", () => {
    const memory = MemoryFileSystem.unsafeMake()
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      yield* fs.writeFileString("/a", "a")
      yield* TestClock.adjust(Duration.seconds(10))
      yield* fs.copy("/a", "/kept", { preserveTimestamps: true })
      yield* fs.copy("/a", "/now")
      const mtime = (path: string) => Effect.map(fs.stat(path), (info) => Option.map(info.mtime, (d) => d.getTime()))
      assert.deepStrictEqual(yield* mtime("/kept"), Option.some(0))
      assert.deepStrictEqual(yield* mtime("/now"), Option.some(10_000))
    }).pipe(withMemory(memory))
  })
})
