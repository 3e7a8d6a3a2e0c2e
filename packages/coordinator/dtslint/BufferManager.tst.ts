import type { BufferError, ResourcePool } from "@core-stability/coordinator"
import { BufferManager } from "@core-stability/coordinator"
import type { LockError } from "@core-stability/locks"
import type { Effect, Option, Scope } from "effect"
import { pipe } from "effect"
import { describe, expect, test } from "tstyche"

interface FrameMeta {
  readonly seq: number
}

declare const defaults: BufferManager.BufferManager
declare const framed: BufferManager.BufferManager<BufferManager.DefaultStage, BufferManager.DefaultChannel, FrameMeta>
declare const mono: BufferManager.BufferManager<"in" | "out", "mono", FrameMeta>
declare const payload: Uint8Array

type PutError =
  | BufferError.UnknownQueue
  | BufferError.BufferClosed
  | BufferError.BufferFull
  | BufferError.BufferTooLarge

describe("make", () => {
  test("infers stages and channels from the options, metadata from the type argument", () => {
    expect(BufferManager.make()).type.toBe<
      Effect.Effect<
        BufferManager.BufferManager<"capture" | "processing" | "storage", "left" | "right", void>,
        BufferError.InvalidConfig,
        Scope.Scope
      >
    >()
    expect(BufferManager.make({ stages: { in: 4, out: 2 }, channels: ["mono"] })).type.toBe<
      Effect.Effect<BufferManager.BufferManager<"in" | "out", "mono", void>, BufferError.InvalidConfig, Scope.Scope>
    >()
    expect(BufferManager.make<FrameMeta>()).type.toBe<
      Effect.Effect<
        BufferManager.BufferManager<BufferManager.DefaultStage, BufferManager.DefaultChannel, FrameMeta>,
        BufferError.InvalidConfig,
        Scope.Scope
      >
    >()
  })

  test("overflow per stage only names configured stages", () => {
    expect(BufferManager.make).type.not.toBeCallableWith({
      stages: { in: 4 },
      overflow: { out: BufferManager.reject }
    })
  })
})

describe("put", () => {
  test("data-first and data-last have the same type", () => {
    expect(BufferManager.put(defaults, "capture", "left", payload)).type.toBe<Effect.Effect<void, PutError>>()
    expect(pipe(defaults, BufferManager.put("capture", "left", payload))).type.toBe<Effect.Effect<void, PutError>>()
    expect(BufferManager.put(framed, "storage", "right", payload, { seq: 1 })).type.toBe<
      Effect.Effect<void, PutError>
    >()
  })

  test("metadata is required when the manager carries it, and must have its type", () => {
    expect(BufferManager.put).type.not.toBeCallableWith(framed, "capture", "left", payload)
    expect(BufferManager.put).type.not.toBeCallableWith(framed, "capture", "left", payload, { seq: "1" })
  })

  test("unknown stage and channel names do not compile", () => {
    expect(BufferManager.put).type.not.toBeCallableWith(defaults, "mixing", "left", payload)
    expect(BufferManager.put).type.not.toBeCallableWith(mono, "in", "left", payload, { seq: 1 })
  })
})

describe("take and poll", () => {
  test("return items carrying the manager's metadata", () => {
    expect(BufferManager.take(framed, "capture", "left")).type.toBe<
      Effect.Effect<BufferManager.Item<FrameMeta>, BufferError.UnknownQueue | BufferError.BufferClosed>
    >()
    expect(pipe(mono, BufferManager.poll("out", "mono"))).type.toBe<
      Effect.Effect<Option.Option<BufferManager.Item<FrameMeta>>, BufferError.UnknownQueue>
    >()
    expect(BufferManager.take).type.not.toBeCallableWith(mono, "capture", "mono")
  })
})

describe("cleanup and update", () => {
  test("the sink's error and requirements are kept, with the lock and verification errors", () => {
    const sink = (_: BufferManager.Item<FrameMeta>): Effect.Effect<void, "disk full", "Storage"> =>
      null as unknown as Effect.Effect<void, "disk full", "Storage">
    expect(BufferManager.cleanup(framed, { sink })).type.toBe<
      Effect.Effect<
        BufferManager.CleanupReport,
        "disk full" | BufferError.CleanupIncomplete | LockError.LockError,
        "Storage"
      >
    >()
    expect(BufferManager.cleanup(defaults)).type.toBe<
      Effect.Effect<BufferManager.CleanupReport, BufferError.CleanupIncomplete | LockError.LockError>
    >()
  })

  test("a region is scoped", () => {
    expect(BufferManager.update(defaults)).type.toBe<
      Effect.Effect<BufferManager.UpdateRegion, LockError.LockError, Scope.Scope>
    >()
  })

  test("the pool is a ResourcePool", () => {
    expect(defaults.pool).type.toBe<ResourcePool.ResourcePool>()
  })
})

describe("sizing", () => {
  const load: BufferManager.LoadSample = { cpuPercent: 85, memoryBytes: 0 }

  test("decideSize is pure", () => {
    expect(BufferManager.decideSize({ frame: BufferManager.defaultFrame, load, lastAdjustmentMs: undefined, nowMs: 0 }))
      .type.toBe<BufferManager.SizingDecision>()
    expect(BufferManager.decideSize).type.not.toBeCallableWith({ frame: BufferManager.defaultFrame, load })
  })

  test("optimize returns the decision, data-first and data-last", () => {
    expect(BufferManager.optimize(framed, load)).type.toBe<
      Effect.Effect<BufferManager.SizingDecision, LockError.LockError>
    >()
    expect(pipe(framed, BufferManager.optimize(load))).type.toBe<
      Effect.Effect<BufferManager.SizingDecision, LockError.LockError>
    >()
    expect(BufferManager.optimize).type.not.toBeCallableWith(framed, { cpuPercent: 85 })
  })

  test("reconfigure fails with InvalidConfig", () => {
    expect(BufferManager.reconfigure(framed, { sampleRateHz: 48000 })).type.toBe<
      Effect.Effect<BufferManager.Frame, BufferError.InvalidConfig | LockError.LockError>
    >()
    expect(pipe(framed, BufferManager.reconfigure({ channelCount: 1 }))).type.toBe<
      Effect.Effect<BufferManager.Frame, BufferError.InvalidConfig | LockError.LockError>
    >()
    expect(BufferManager.reconfigure).type.not.toBeCallableWith(framed, { channelCount: "2" })
  })

  test("sizing is a getter", () => {
    expect(BufferManager.sizing(defaults)).type.toBe<Effect.Effect<BufferManager.SizingStats>>()
  })
})
