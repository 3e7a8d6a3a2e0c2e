import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import * as Explore from "../src/Explore.js"

// A hangAfter above 2^31-1 ms (about 24.8 days) overflows Node's setTimeout, which then fires after 1 ms:
// every run that takes more than a millisecond of real time is reported as RunHung.
describe("review: hangAfter overflow", () => {
  it.live("a long hangAfter does not fail a 20 ms run", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Explore.explore(Effect.sleep("20 millis"), { runs: 1, hangAfter: "30 days" })
      )
      assert.isTrue(Exit.isSuccess(exit), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "")
    }))

  it.live("replay with hangAfter = Number.MAX_SAFE_INTEGER ms does not report RunHung", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Explore.replay(Effect.sleep("20 millis"), 0, { hangAfter: Number.MAX_SAFE_INTEGER })
      )
      assert.isTrue(Exit.isSuccess(exit), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "")
    }))
})
