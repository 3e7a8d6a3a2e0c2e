import { Watchdog } from "@core-stability/testing"
import { Context, Effect } from "effect"
import { describe, expect, test } from "tstyche"

class Storage extends Context.Tag("Storage")<Storage, { readonly write: (s: string) => Effect.Effect<void> }>() {}

class WriteError {
  readonly _tag = "WriteError"
}

declare const program: Effect.Effect<number, WriteError, Storage>

describe("Watchdog", () => {
  test("watch adds DeadlockDetected", () => {
    expect(Watchdog.watch(program, { idle: "100 millis" })).type.toBe<
      Effect.Effect<number, WriteError | Watchdog.DeadlockDetected, Storage>
    >()
  })

  test("a diagnostics probe renders a string", () => {
    expect(Watchdog.layer).type.toBeCallableWith([{ name: "graph", report: Effect.succeed("a -> b") }])
    expect(Watchdog.layer).type.not.toBeCallableWith([{ name: "graph", report: Effect.succeed(1) }])
  })
})
