import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import * as Explore from "../src/Explore.js"

// Invalid scheduler options are documented as an IllegalArgumentException defect (explore does that).
// replay instead turns them into a typed ExploreFailure that claims "run 1 of 1 failed with seed 1".
describe("review: replay validation", () => {
  it.effect("replay with minOps below 16 dies with IllegalArgumentException, like explore", () =>
    Effect.gen(function*() {
      const exploreExit = yield* Effect.exit(Explore.explore(Effect.void, { runs: 1, minOps: 8 }))
      assert.isTrue(Exit.isFailure(exploreExit) && Cause.isDie(exploreExit.cause)) // explore: a defect

      const replayExit = yield* Effect.exit(Explore.replay(Effect.void, 1, { minOps: 8 }))
      assert.isTrue(Exit.isFailure(replayExit))
      const cause = (replayExit as Exit.Failure<void, unknown>).cause
      assert.isTrue(Cause.isDie(cause), `expected a defect, got: ${Cause.pretty(cause)}`)
      assert.isFalse(Cause.isFailType(cause))
    }))
})
