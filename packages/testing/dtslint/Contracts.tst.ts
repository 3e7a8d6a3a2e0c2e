import type { ContractCleanup } from "@core-stability/testing/CleanupContract"
import { cleanupContractSuite } from "@core-stability/testing/CleanupContract"
import type { Check } from "@core-stability/testing/Contract"
import type { ContractLock } from "@core-stability/testing/LockContract"
import { checks, lockContractSuite } from "@core-stability/testing/LockContract"
import { Effect } from "effect"
import { describe, expect, test } from "tstyche"

declare const coordinator: ContractCleanup

describe("contract suites", () => {
  test("a lock with its own error satisfies ContractLock<X>", () => {
    class Timeout {
      readonly _tag = "Timeout"
    }
    const lock: ContractLock<Timeout> = {
      withLock: <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | Timeout, R> => self
    }
    expect(lockContractSuite).type.toBeCallableWith("my lock", Effect.succeed(lock))
    expect(checks(Effect.succeed(lock))).type.toBe<ReadonlyArray<Check>>()
  })

  test("withLock must accept any effect", () => {
    const notALock = { withLock: (self: Effect.Effect<void>) => self }
    expect(lockContractSuite).type.not.toBeCallableWith("bad", Effect.succeed(notALock))
  })

  test("a cleanup coordinator registers steps with dependencies", () => {
    expect(cleanupContractSuite).type.toBeCallableWith("mine", Effect.succeed(coordinator))
    expect(cleanupContractSuite).type.not.toBeCallableWith("bad", Effect.succeed({ run: Effect.void }))
  })
})
