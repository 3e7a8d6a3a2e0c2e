import { assert } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as LockRegistry from "../src/LockRegistry.js"

/** The entry of a lock in the current registry's snapshot. */
export const entryOf = (lock: { readonly name: string; readonly key: string | undefined }) =>
  Effect.map(
    LockRegistry.snapshot(),
    (snapshot) => snapshot.locks.find((entry) => entry.lock.name === lock.name && entry.lock.key === lock.key)
  )

/** How many requests queue on a lock. */
export const waitersOf = (lock: { readonly name: string; readonly key: string | undefined }) =>
  Effect.map(entryOf(lock), (entry) => entry?.waiters.length ?? 0)

/** How many holds a lock has. */
export const holdersOf = (lock: { readonly name: string; readonly key: string | undefined }) =>
  Effect.map(entryOf(lock), (entry) => entry?.holders.length ?? 0)

/** Yields until `n` requests queue on the lock (no sleeps: the waiters register within a few scheduler turns). */
export const untilWaiting = (lock: { readonly name: string; readonly key: string | undefined }, n: number) =>
  Effect.gen(function*() {
    for (let turns = 0; turns < 1000; turns++) {
      if ((yield* waitersOf(lock)) >= n) return
      yield* Effect.yieldNow()
    }
    assert.fail(`${lock.name} never had ${n} waiters`)
  })

/** The typed failure of an exit, if it failed with one. */
export const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

/** Asserts the exit failed with a tagged error of that tag, and returns it. */
export const expectFailure = <A, E, Tag extends string>(
  exit: Exit.Exit<A, E>,
  tag: Tag
): Extract<E, { readonly _tag: Tag }> => {
  const error = failureOf(exit) as { readonly _tag?: string } | undefined
  assert.strictEqual(error?._tag, tag, `expected ${tag}, got ${Exit.isSuccess(exit) ? "success" : String(exit.cause)}`)
  return error as Extract<E, { readonly _tag: Tag }>
}

/** Asserts no lock of the current registry is held or awaited. */
export const assertNoLeaks = Effect.gen(function*() {
  assert.deepStrictEqual(yield* LockRegistry.leakProbe.leaks, [])
})
