import { LeakCheck } from "@core-stability/testing"
import { Context, Effect, type Scope } from "effect"
import { describe, expect, test } from "tstyche"

class Storage extends Context.Tag("Storage")<Storage, { readonly write: (s: string) => Effect.Effect<void> }>() {}

class WriteError {
  readonly _tag = "WriteError"
}

declare const scoped: Effect.Effect<string, WriteError, Storage | Scope.Scope>

describe("LeakCheck", () => {
  test("expectNoLeaks provides the Scope and adds LeakDetected", () => {
    expect(LeakCheck.expectNoLeaks(scoped)).type.toBe<
      Effect.Effect<string, WriteError | LeakCheck.LeakDetected, Storage>
    >()
    expect(scoped.pipe(LeakCheck.expectNoLeaks({ probes: [] }))).type.toBe<
      Effect.Effect<string, WriteError | LeakCheck.LeakDetected, Storage>
    >()
  })

  test("a probe is structural", () => {
    const probe = { name: "locks", leaks: Effect.succeed(["lock a held"] as const) }
    expect(LeakCheck.layer).type.toBeCallableWith([probe])
    expect(LeakCheck.layer).type.not.toBeCallableWith([{ name: "locks", leaks: Effect.succeed("lock a held") }])
  })

  test("track needs a Scope", () => {
    expect(LeakCheck.track("connection")).type.toBe<Effect.Effect<void, never, Scope.Scope>>()
  })
})
