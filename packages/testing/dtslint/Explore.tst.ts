import { Explore } from "@core-stability/testing"
import { Context, type Effect } from "effect"
import { describe, expect, test } from "tstyche"

class Storage extends Context.Tag("Storage")<Storage, { readonly write: (s: string) => Effect.Effect<void> }>() {}

class WriteError {
  readonly _tag = "WriteError"
}

declare const program: Effect.Effect<number, WriteError, Storage>

describe("Explore", () => {
  test("explore replaces E with ExploreFailure and keeps R", () => {
    expect(Explore.explore(program, { runs: 10 })).type.toBe<
      Effect.Effect<Explore.Summary, Explore.ExploreFailure, Storage>
    >()
    expect(program.pipe(Explore.explore())).type.toBe<Effect.Effect<Explore.Summary, Explore.ExploreFailure, Storage>>()
  })

  test("replay keeps A", () => {
    expect(Explore.replay(program, 7)).type.toBe<Effect.Effect<number, Explore.ExploreFailure, Storage>>()
  })

  test("options are checked", () => {
    expect(Explore.explore).type.not.toBeCallableWith(program, { runs: "100" })
  })
})
