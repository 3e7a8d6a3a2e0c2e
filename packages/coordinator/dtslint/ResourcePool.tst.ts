import type { BufferError, ResourcePool as RP } from "@core-stability/coordinator"
import { ResourcePool } from "@core-stability/coordinator"
import type { Effect, Scope } from "effect"
import { pipe } from "effect"
import { describe, expect, test } from "tstyche"

declare const pool: RP.ResourcePool
declare const buffer: RP.PooledBuffer

describe("ResourcePool", () => {
  test("allocate fails with typed errors, piped or direct", () => {
    type E = BufferError.BufferTooLarge | BufferError.PoolExhausted | BufferError.InvalidConfig
    expect(ResourcePool.allocate(pool, 960)).type.toBe<Effect.Effect<RP.PooledBuffer, E>>()
    expect(pipe(pool, ResourcePool.allocate(960, { owner: "capture" }))).type.toBe<Effect.Effect<RP.PooledBuffer, E>>()
    expect(ResourcePool.allocateScoped(pool, 960)).type.toBe<Effect.Effect<RP.PooledBuffer, E, Scope.Scope>>()
  })

  test("release fails with UnknownBuffer or OwnerMismatch", () => {
    expect(ResourcePool.release(pool, buffer, { staged: true })).type.toBe<
      Effect.Effect<void, BufferError.UnknownBuffer | BufferError.OwnerMismatch>
    >()
    expect(ResourcePool.release).type.not.toBeCallableWith(pool, new Uint8Array(4))
  })

  test("a buffer's bytes are read-only properties", () => {
    expect(buffer.bytes).type.toBe<Uint8Array>()
    expect(buffer).type.toHaveProperty("size")
  })

  test("a cleanup stage is scoped", () => {
    expect(ResourcePool.cleanupStage(pool)).type.toBe<Effect.Effect<void, never, Scope.Scope>>()
  })
})
