import type { LockHierarchyError } from "@core-stability/locks/LockError"
import * as LockHierarchy from "@core-stability/locks/LockHierarchy"
import type { Effect } from "effect"
import { describe, expect, test } from "tstyche"

type GlobalRanks = {
  readonly "CleanupCoordinator.shutdown": 1
  readonly "CleanupCoordinator.phase": 2
  readonly "CleanupCoordinator.steps": 3
  readonly "CleanupCoordinator.status": 4
  readonly "ComponentCoordinator.component": 5
  readonly "ComponentCoordinator.resource": 6
  readonly "ComponentCoordinator.history": 7
  readonly "ComponentCoordinator.callback": 8
  readonly "ComponentCoordinator.thread": 9
  readonly "BufferManager.cleanup": 10
  readonly "BufferManager.state": 11
  readonly "BufferManager.component": 12
  readonly "BufferManager.update": 13
  readonly "StateMachine.callbacks": 14
  readonly "StateMachine.state": 15
  readonly "StateMachine.history": 16
  readonly "StateMachine.invariants": 17
  readonly "StateMachine.validators": 18
}

describe("make", () => {
  test("string levels are ranked by position, in the type as at run time", () => {
    expect(LockHierarchy.unsafeMake({ name: "Accounts", levels: ["ledger", "account", "audit"] })).type.toBe<
      LockHierarchy.LockHierarchy<
        { readonly ledger: 1; readonly account: 2; readonly audit: 3 },
        "Accounts",
        readonly []
      >
    >()
    expect(LockHierarchy.make({ name: "Accounts", levels: ["ledger"] })).type.toBe<
      Effect.Effect<LockHierarchy.LockHierarchy<{ readonly ledger: 1 }, "Accounts", readonly []>, LockHierarchyError>
    >()
  })

  test("object levels keep their own ranks, mixed with positional ones", () => {
    const ledger = LockHierarchy.unsafeMake({
      name: "Ledger",
      levels: [{ name: "book", rank: 20 }, "page", { name: "entry", rank: 30 }, { name: "note", rank: 30 }],
      uniqueRanks: false
    })
    expect(ledger.ranks).type.toBe<{ readonly book: 20; readonly page: 2; readonly entry: 30; readonly note: 30 }>()
  })

  test("a list declared as const is literal too", () => {
    const levels = ["a", "b"] as const
    expect(LockHierarchy.unsafeMake({ name: "H", levels }).ranks).type.toBe<{ readonly a: 1; readonly b: 2 }>()
  })

  test("input known only at run time gives the wide table", () => {
    const names: ReadonlyArray<string> = ["a", "b"]
    expect(LockHierarchy.unsafeMake({ name: "H", levels: names }).ranks).type.toBe<LockHierarchy.RankTable>()
    const name: string = "a"
    expect(LockHierarchy.unsafeMake({ name: "H", levels: [name, "b"] }).ranks).type.toBe<LockHierarchy.RankTable>()
    const rank: number = 4
    expect(LockHierarchy.unsafeMake({ name: "H", levels: [{ name: "a", rank }] }).ranks).type
      .toBe<{ readonly a: number }>()
  })

  test("every hierarchy is a LockHierarchy", () => {
    expect(LockHierarchy.StateMachine).type.toBeAssignableTo<LockHierarchy.LockHierarchy>()
    expect(LockHierarchy.Global).type.toBeAssignableTo<LockHierarchy.LockHierarchy>()
    expect<LockHierarchy.LockHierarchy>().type.not.toBeAssignableTo<typeof LockHierarchy.Global>()
  })
})

describe("compose", () => {
  test("computes the composed table: topological order, ranks renumbered, names qualified", () => {
    const Outer = LockHierarchy.unsafeMake({ name: "Outer", levels: ["a", "b"] })
    const Inner = LockHierarchy.unsafeMake({ name: "Inner", levels: ["c"] })
    expect(LockHierarchy.compose({ name: "App", parts: [Inner, Outer], order: [["Outer", "Inner"]] })).type.toBe<
      Effect.Effect<
        LockHierarchy.LockHierarchy<
          { readonly "Outer.a": 1; readonly "Outer.b": 2; readonly "Inner.c": 3 },
          "App",
          readonly ["Outer", "Inner"]
        >,
        LockHierarchyError
      >
    >()
  })

  test("stable with respect to the parts' order; shared ranks stay shared", () => {
    const outer = LockHierarchy.unsafeMake({
      name: "Outer",
      levels: [{ name: "a", rank: 10 }, { name: "b", rank: 20 }, { name: "c", rank: 20 }],
      uniqueRanks: false
    })
    const inner = LockHierarchy.unsafeMake({ name: "Inner", levels: ["x"] })
    const side = LockHierarchy.unsafeMake({ name: "Side", levels: ["y"] })
    const app = LockHierarchy.unsafeCompose({ name: "App", parts: [inner, side, outer], order: [["Outer", "Inner"]] })
    expect(app).type.toBe<
      LockHierarchy.LockHierarchy<
        {
          readonly "Side.y": 1
          readonly "Outer.a": 2
          readonly "Outer.b": 3
          readonly "Outer.c": 3
          readonly "Inner.x": 4
        },
        "App",
        readonly ["Side", "Outer", "Inner"]
      >
    >()
  })

  test("a composed part keeps its level names", () => {
    const local = LockHierarchy.unsafeMake({ name: "Local", levels: ["first"] })
    const app = LockHierarchy.unsafeCompose({ name: "App", parts: [LockHierarchy.Global, local] })
    expect(app.ranks["StateMachine.validators"]).type.toBe<18>()
    expect(app.ranks["Local.first"]).type.toBe<19>()
  })

  test("the seed's four tables are what make computes", () => {
    expect(
      LockHierarchy.unsafeMake({
        name: "StateMachine",
        levels: ["callbacks", "state", "history", "invariants", "validators"]
      })
    ).type.toBe<typeof LockHierarchy.StateMachine>()
    expect(LockHierarchy.unsafeMake({ name: "CleanupCoordinator", levels: ["shutdown", "phase", "steps", "status"] }))
      .type.toBe<typeof LockHierarchy.CleanupCoordinator>()
    expect(
      LockHierarchy.unsafeMake({
        name: "ComponentCoordinator",
        levels: ["component", "resource", "history", "callback", "thread"]
      })
    ).type.toBe<typeof LockHierarchy.ComponentCoordinator>()
    expect(LockHierarchy.unsafeMake({ name: "BufferManager", levels: ["cleanup", "state", "component", "update"] }))
      .type
      .toBe<typeof LockHierarchy.BufferManager>()
  })

  test("the seed's Global order is what compose computes", () => {
    const computed = LockHierarchy.unsafeCompose({
      name: "Global",
      parts: [
        LockHierarchy.StateMachine,
        LockHierarchy.BufferManager,
        LockHierarchy.ComponentCoordinator,
        LockHierarchy.CleanupCoordinator
      ],
      order: [
        ["CleanupCoordinator", "ComponentCoordinator"],
        ["ComponentCoordinator", "BufferManager"],
        ["BufferManager", "StateMachine"]
      ]
    })
    expect(computed).type.toBe<typeof LockHierarchy.Global>()
    expect(LockHierarchy.Global.ranks).type.toBe<GlobalRanks>()
  })

  test("a cycle, an unknown part, no part or input known only at run time gives the wide table", () => {
    const a = LockHierarchy.unsafeMake({ name: "A", levels: ["x"] })
    const b = LockHierarchy.unsafeMake({ name: "B", levels: ["x"] })
    expect(LockHierarchy.unsafeCompose({ name: "App", parts: [a, b], order: [["A", "B"], ["B", "A"]] })).type
      .toBe<LockHierarchy.LockHierarchy<LockHierarchy.RankTable, "App", readonly [string, ...Array<string>]>>()
    expect(LockHierarchy.unsafeCompose({ name: "App", parts: [a, b], order: [["A", "Z"]] }).ranks).type
      .toBe<LockHierarchy.RankTable>()
    expect(LockHierarchy.unsafeCompose({ name: "App", parts: [] }).ranks).type.toBe<LockHierarchy.RankTable>()
    const parts: ReadonlyArray<LockHierarchy.LockHierarchy> = [a, b]
    expect(LockHierarchy.unsafeCompose({ name: "App", parts }).ranks).type.toBe<LockHierarchy.RankTable>()
    const name: string = "A"
    const dynamic = LockHierarchy.unsafeMake({ name, levels: ["x"] })
    expect(LockHierarchy.unsafeCompose({ name: "App", parts: [dynamic, b] }).ranks).type
      .toBe<LockHierarchy.RankTable>()
  })
})

describe("rankOf", () => {
  test("a level the table knows has its literal rank", () => {
    expect(LockHierarchy.rankOf(LockHierarchy.Global, "StateMachine.state")).type.toBe<15>()
    expect(LockHierarchy.rankOf(LockHierarchy.StateMachine, "state")).type.toBe<2>()
    expect(LockHierarchy.Global.pipe(LockHierarchy.rankOf("BufferManager.update"))).type.toBe<13>()
  })

  test("a level name known only at run time, or a wide hierarchy, gives number", () => {
    const level: string = "StateMachine.state"
    expect(LockHierarchy.rankOf(LockHierarchy.Global, level)).type.toBe<number>()
    const hierarchy: LockHierarchy.LockHierarchy = LockHierarchy.Global
    expect(LockHierarchy.rankOf(hierarchy, "StateMachine.state")).type.toBe<number>()
  })
})

describe("the namespace's helpers", () => {
  test("LevelName, RankOf and LockName", () => {
    type G = typeof LockHierarchy.Global
    type SM = typeof LockHierarchy.StateMachine
    expect<LockHierarchy.LockHierarchy.LevelName<SM>>().type
      .toBe<"callbacks" | "state" | "history" | "invariants" | "validators">()
    expect<LockHierarchy.LockHierarchy.LevelName<LockHierarchy.LockHierarchy>>().type.toBe<string>()
    expect<LockHierarchy.LockHierarchy.RankOf<G, "StateMachine.history">>().type.toBe<16>()
    expect<LockHierarchy.LockHierarchy.LockName<G, "StateMachine.history">>().type.toBe<"StateMachine.history">()
    expect<LockHierarchy.LockHierarchy.LockName<SM, "history">>().type.toBe<"StateMachine.history">()
    expect<LockHierarchy.LockHierarchy.LockName<LockHierarchy.LockHierarchy, "history">>().type.toBe<string>()
  })
})
