import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as LockHierarchy from "../src/LockHierarchy.js"
import { expectFailure } from "./utils.js"

describe("LockHierarchy", () => {
  it("declares the seed's four tables in order", () => {
    const names = (h: LockHierarchy.LockHierarchy) => h.levels.map((l) => l.name)
    assert.deepStrictEqual(names(LockHierarchy.StateMachine), [
      "callbacks",
      "state",
      "history",
      "invariants",
      "validators"
    ])
    assert.deepStrictEqual(names(LockHierarchy.CleanupCoordinator), ["shutdown", "phase", "steps", "status"])
    assert.deepStrictEqual(names(LockHierarchy.ComponentCoordinator), [
      "component",
      "resource",
      "history",
      "callback",
      "thread"
    ])
    assert.deepStrictEqual(names(LockHierarchy.BufferManager), ["cleanup", "state", "component", "update"])
    assert.strictEqual(LockHierarchy.rankOf(LockHierarchy.StateMachine, "state"), 2)
  })

  it("composes the global order: outer coordinators before inner services", () => {
    const G = LockHierarchy.Global
    assert.deepStrictEqual(G.parts, ["CleanupCoordinator", "ComponentCoordinator", "BufferManager", "StateMachine"])
    assert.strictEqual(G.levels.length, 18)
    assert.strictEqual(LockHierarchy.rankOf(G, "CleanupCoordinator.shutdown"), 1)
    assert.strictEqual(LockHierarchy.rankOf(G, "CleanupCoordinator.steps"), 3)
    assert.strictEqual(LockHierarchy.rankOf(G, "ComponentCoordinator.thread"), 9)
    assert.strictEqual(LockHierarchy.rankOf(G, "BufferManager.update"), 13)
    assert.strictEqual(G.pipe(LockHierarchy.rankOf("StateMachine.state")), 15)
    // every table's own order is kept inside the global one
    for (const part of [LockHierarchy.StateMachine, LockHierarchy.BufferManager]) {
      const ranks = part.levels.map((l) => LockHierarchy.rankOf(G, `${part.name}.${l.name}`))
      assert.deepStrictEqual(ranks, ranks.slice().sort((a, b) => a - b))
    }
    assert.include(LockHierarchy.render(G), "  15  StateMachine.state")
  })

  it("each annotated rank table is what the constructors compute at run time", () => {
    // each expected table is typed as the constant's annotation: a literal here that disagreed with it would not compile
    const stateMachine: typeof LockHierarchy.StateMachine.ranks = {
      callbacks: 1,
      state: 2,
      history: 3,
      invariants: 4,
      validators: 5
    }
    const cleanupCoordinator: typeof LockHierarchy.CleanupCoordinator.ranks = {
      shutdown: 1,
      phase: 2,
      steps: 3,
      status: 4
    }
    const componentCoordinator: typeof LockHierarchy.ComponentCoordinator.ranks = {
      component: 1,
      resource: 2,
      history: 3,
      callback: 4,
      thread: 5
    }
    const bufferManager: typeof LockHierarchy.BufferManager.ranks = { cleanup: 1, state: 2, component: 3, update: 4 }
    const global: typeof LockHierarchy.Global.ranks = {
      "CleanupCoordinator.shutdown": 1,
      "CleanupCoordinator.phase": 2,
      "CleanupCoordinator.steps": 3,
      "CleanupCoordinator.status": 4,
      "ComponentCoordinator.component": 5,
      "ComponentCoordinator.resource": 6,
      "ComponentCoordinator.history": 7,
      "ComponentCoordinator.callback": 8,
      "ComponentCoordinator.thread": 9,
      "BufferManager.cleanup": 10,
      "BufferManager.state": 11,
      "BufferManager.component": 12,
      "BufferManager.update": 13,
      "StateMachine.callbacks": 14,
      "StateMachine.state": 15,
      "StateMachine.history": 16,
      "StateMachine.invariants": 17,
      "StateMachine.validators": 18
    }
    // the same tables built again from the seed's declarations, independently of the constants
    const rebuilt = {
      StateMachine: LockHierarchy.unsafeMake({
        name: "StateMachine",
        levels: ["callbacks", "state", "history", "invariants", "validators"]
      }),
      CleanupCoordinator: LockHierarchy.unsafeMake({
        name: "CleanupCoordinator",
        levels: ["shutdown", "phase", "steps", "status"]
      }),
      ComponentCoordinator: LockHierarchy.unsafeMake({
        name: "ComponentCoordinator",
        levels: ["component", "resource", "history", "callback", "thread"]
      }),
      BufferManager: LockHierarchy.unsafeMake({
        name: "BufferManager",
        levels: ["cleanup", "state", "component", "update"]
      })
    }
    const rebuiltGlobal = LockHierarchy.unsafeCompose({
      name: "Global",
      parts: [rebuilt.StateMachine, rebuilt.BufferManager, rebuilt.ComponentCoordinator, rebuilt.CleanupCoordinator],
      order: [
        ["CleanupCoordinator", "ComponentCoordinator"],
        ["ComponentCoordinator", "BufferManager"],
        ["BufferManager", "StateMachine"]
      ]
    })
    const cases: ReadonlyArray<
      readonly [LockHierarchy.LockHierarchy, LockHierarchy.LockHierarchy, LockHierarchy.RankTable]
    > = [
      [LockHierarchy.StateMachine, rebuilt.StateMachine, stateMachine],
      [LockHierarchy.CleanupCoordinator, rebuilt.CleanupCoordinator, cleanupCoordinator],
      [LockHierarchy.ComponentCoordinator, rebuilt.ComponentCoordinator, componentCoordinator],
      [LockHierarchy.BufferManager, rebuilt.BufferManager, bufferManager],
      [LockHierarchy.Global, rebuiltGlobal, global]
    ]
    for (const [constant, again, expected] of cases) {
      assert.deepStrictEqual(constant.ranks, expected, constant.name)
      assert.deepStrictEqual(again.ranks, expected, constant.name)
      // the table agrees with the levels, which the locks read their ranks from
      assert.deepStrictEqual(Object.fromEntries(constant.levels.map((l) => [l.name, l.rank])), expected, constant.name)
      for (const [level, rank] of Object.entries(expected)) {
        assert.strictEqual(LockHierarchy.rankOf(constant, level), rank, `${constant.name} ${level}`)
      }
    }
    assert.deepStrictEqual(rebuiltGlobal.parts, LockHierarchy.Global.parts)
  })

  it("ranks is a frozen table of the levels, also for object levels and composed hierarchies", () => {
    const ledger = LockHierarchy.unsafeMake({
      name: "Ledger",
      levels: [{ name: "entry", rank: 30 }, "page", { name: "book", rank: 20 }]
    })
    assert.deepStrictEqual(ledger.ranks, { page: 2, book: 20, entry: 30 })
    assert.isTrue(Object.isFrozen(ledger.ranks))
    assert.strictEqual(LockHierarchy.rankOf(ledger, "entry"), 30)
    const app = LockHierarchy.unsafeCompose({ name: "App", parts: [ledger, LockHierarchy.StateMachine] })
    assert.deepStrictEqual(app.ranks, {
      "Ledger.page": 1,
      "Ledger.book": 2,
      "Ledger.entry": 3,
      "StateMachine.callbacks": 4,
      "StateMachine.state": 5,
      "StateMachine.history": 6,
      "StateMachine.invariants": 7,
      "StateMachine.validators": 8
    })
  })

  it("rankOf throws on an unknown level, naming the levels it has", () => {
    assert.throws(
      () => LockHierarchy.rankOf(LockHierarchy.StateMachine, "nope"),
      /has no level "nope"; levels: callbacks/
    )
    assert.isUndefined(LockHierarchy.findLevel(LockHierarchy.StateMachine, "nope"))
  })

  it.effect("rejects duplicate level names", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(LockHierarchy.make({ name: "H", levels: ["a", "b", "a"] }))
      const error = expectFailure(exit, "LockHierarchyError")
      assert.strictEqual(error.reason, "DuplicateLevel")
      assert.deepStrictEqual(error.conflict, ["a"])
      assert.strictEqual(error.message, "lock hierarchy H: level declared twice: a")
    }))

  it.effect("rejects duplicate ranks where they must be unique, and accepts them where they may repeat", () =>
    Effect.gen(function*() {
      const levels = [{ name: "a", rank: 1 }, { name: "b", rank: 2 }, { name: "c", rank: 2 }]
      const error = expectFailure(yield* Effect.exit(LockHierarchy.make({ name: "H", levels })), "LockHierarchyError")
      assert.strictEqual(error.reason, "DuplicateRank")
      assert.deepStrictEqual(error.conflict, ["b", "c"])
      const shared = yield* LockHierarchy.make({ name: "H", levels, uniqueRanks: false })
      assert.strictEqual(LockHierarchy.rankOf(shared, "c"), 2)
    }))

  it.effect("rejects invalid ranks and empty hierarchies", () =>
    Effect.gen(function*() {
      const invalid = yield* Effect.exit(LockHierarchy.make({ name: "H", levels: [{ name: "a", rank: Number.NaN }] }))
      assert.strictEqual(expectFailure(invalid, "LockHierarchyError").reason, "InvalidRank")
      const empty = yield* Effect.exit(LockHierarchy.make({ name: "H", levels: [] }))
      assert.strictEqual(expectFailure(empty, "LockHierarchyError").reason, "Empty")
    }))

  it.effect("rejects contradictory before/after constraints, naming the cycle", () =>
    Effect.gen(function*() {
      const [a, b, c] = ["A", "B", "C"].map((name) => LockHierarchy.unsafeMake({ name, levels: ["x"] }))
      const exit = yield* Effect.exit(LockHierarchy.compose({
        name: "App",
        parts: [a!, b!, c!],
        order: [["A", "B"], ["B", "C"], ["C", "A"]]
      }))
      const error = expectFailure(exit, "LockHierarchyError")
      assert.strictEqual(error.reason, "Contradiction")
      assert.deepStrictEqual(error.conflict, ["A", "B", "C", "A"])
      assert.strictEqual(
        error.message,
        "lock hierarchy App: contradictory before/after constraints form a cycle: A before B before C before A"
      )
      const unknown = yield* Effect.exit(LockHierarchy.compose({ name: "App", parts: [a!], order: [["A", "Z"]] }))
      assert.strictEqual(expectFailure(unknown, "LockHierarchyError").reason, "UnknownPart")
    }))

  it("composes by constraints, stable with respect to the parts' order, keeping shared ranks shared", () => {
    const outer = LockHierarchy.unsafeMake({
      name: "Outer",
      levels: [{ name: "a", rank: 10 }, { name: "b", rank: 20 }, { name: "c", rank: 20 }],
      uniqueRanks: false
    })
    const inner = LockHierarchy.unsafeMake({ name: "Inner", levels: ["x"] })
    const side = LockHierarchy.unsafeMake({ name: "Side", levels: ["y"] })
    const app = LockHierarchy.unsafeCompose({ name: "App", parts: [inner, side, outer], order: [["Outer", "Inner"]] })
    assert.deepStrictEqual(app.parts, ["Side", "Outer", "Inner"])
    assert.deepStrictEqual(app.levels, [
      { name: "Side.y", rank: 1 },
      { name: "Outer.a", rank: 2 },
      { name: "Outer.b", rank: 3 },
      { name: "Outer.c", rank: 3 },
      { name: "Inner.x", rank: 4 }
    ])
    assert.isTrue(LockHierarchy.isLockHierarchy(app))
  })
})
