import { SeededScheduler } from "@core-stability/testing"
import { Context, type Effect } from "effect"
import { describe, expect, test } from "tstyche"

class Storage extends Context.Tag("Storage")<Storage, { readonly write: (s: string) => Effect.Effect<void> }>() {}

class WriteError {
  readonly _tag = "WriteError"
}

declare const program: Effect.Effect<number, WriteError, Storage>

describe("SeededScheduler", () => {
  test("run keeps A, E and R, piped or direct", () => {
    expect(SeededScheduler.run(program, 1)).type.toBe<Effect.Effect<number, WriteError, Storage>>()
    expect(program.pipe(SeededScheduler.run(1, { maxOps: 32 }))).type.toBe<Effect.Effect<number, WriteError, Storage>>()
    expect(SeededScheduler.unsafeMake(1)).type.toBe<SeededScheduler.SeededScheduler>()
  })

  test("a seed is a number", () => {
    expect(SeededScheduler.run).type.not.toBeCallableWith(program, "42")
  })
})
