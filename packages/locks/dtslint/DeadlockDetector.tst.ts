import * as DeadlockDetector from "@core-stability/locks/DeadlockDetector"
import * as LockConfig from "@core-stability/locks/LockConfig"
import type { DeadlockDetected, LockError, PotentialDeadlock } from "@core-stability/locks/LockError"
import * as OrderedLock from "@core-stability/locks/OrderedLock"
import * as OrderedRWLock from "@core-stability/locks/OrderedRWLock"
import { Effect, type Exit, Fiber, type Scope } from "effect"
import { describe, expect, test } from "tstyche"

describe("DeadlockDetector", () => {
  test("the detector's errors are acquisition errors, told apart by tag", () => {
    expect<PotentialDeadlock>().type.toBeAssignableTo<LockError>()
    expect<DeadlockDetected>().type.toBeAssignableTo<LockError>()
    const lock = OrderedLock.unsafeMake({ name: "l", rank: 1 })
    const handled = OrderedLock.withLock(lock, Effect.void).pipe(
      Effect.catchTags({ PotentialDeadlock: () => Effect.void, DeadlockDetected: () => Effect.void })
    )
    expect(handled).type.toBe<
      Effect.Effect<void, Exclude<LockError, PotentialDeadlock | DeadlockDetected>>
    >()
  })

  test("scoped constructors require a Scope", () => {
    expect(OrderedLock.makeScoped({ name: "s", rank: 1 })).type.toBe<
      Effect.Effect<OrderedLock.OrderedLock, never, Scope.Scope>
    >()
    expect(OrderedRWLock.makeScoped({ name: "s", rank: 1, readers: "recursive" })).type.toBe<
      Effect.Effect<OrderedRWLock.OrderedRWLock, never, Scope.Scope>
    >()
  })

  test("the graphs and counters are read from the registry in effect, with no requirement", () => {
    expect(DeadlockDetector.dependencyGraph).type.toBe<Effect.Effect<DeadlockDetector.DependencyGraph>>()
    expect(DeadlockDetector.waitForGraph).type.toBe<Effect.Effect<DeadlockDetector.WaitForGraph>>()
    expect(DeadlockDetector.stats).type.toBe<Effect.Effect<DeadlockDetector.Stats>>()
    expect(DeadlockDetector.toDot).type.toBeCallableWith({ _tag: "DependencyGraph", classes: [], edges: [] })
  })

  test("detection settings are checked", () => {
    expect(LockConfig.layer).type.toBeCallableWith({ detection: { potential: "warn", actual: "off" } })
    expect(LockConfig.layer).type.not.toBeCallableWith({ detection: { potential: "log" } })
    expect(LockConfig.layer).type.not.toBeCallableWith({ detection: { actual: "warn" } })
  })

  test("join and await mirror Fiber.join and Fiber.await, with DeadlockDetected added", () => {
    const fiber = Effect.runFork(Effect.fail("boom" as const).pipe(Effect.as(1)))
    expect(DeadlockDetector.join(fiber)).type.toBe<Effect.Effect<number, "boom" | DeadlockDetected>>()
    expect(DeadlockDetector.await(fiber)).type.toBe<Effect.Effect<Exit.Exit<number, "boom">, DeadlockDetected>>()
  })

  test("only runtime fibers can be joined: a composite fiber has no place in the wait-for graph", () => {
    const fiber = Effect.runFork(Effect.succeed(1))
    expect(DeadlockDetector.join).type.not.toBeCallableWith(Fiber.map(fiber, (n) => n + 1))
    expect(DeadlockDetector.await).type.not.toBeCallableWith(Fiber.zip(fiber, fiber))
  })

  test("a wait-for link is narrowed by via", () => {
    const link = {} as DeadlockDetector.WaitForEdge
    if (link.via === "join") {
      expect(link.lock).type.toBe<undefined>()
      expect(link.reason).type.toBe<"joins">()
    } else {
      expect(link.lock.name).type.toBe<string>()
      expect(link.reason).type.toBe<"holds" | "queued-ahead">()
    }
    expect(link.waitedMs).type.toBe<number>()
  })
})
