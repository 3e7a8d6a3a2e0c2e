/**
 * Random programs: random nesting of exclusive, read, write, try and batch acquisitions over a small pool of locks
 * (same ranks included, so order violations happen), with failures, defects, child fibers that are joined or
 * interrupted, and interruptions of whole workers injected after a random number of scheduler turns. Every program
 * must end with no lock held and no waiter queued, and no two fibers may ever be inside conflicting regions.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import * as LockConfig from "../src/LockConfig.js"
import type { LockError } from "../src/LockError.js"
import * as LockRegistry from "../src/LockRegistry.js"
import * as OrderedLock from "../src/OrderedLock.js"
import * as OrderedRWLock from "../src/OrderedRWLock.js"

type Node =
  | { readonly _tag: "yield" }
  | { readonly _tag: "fail" }
  | { readonly _tag: "die" }
  | {
    readonly _tag: "lock"
    readonly lock: number
    readonly mode: "read" | "write"
    readonly timeout: boolean
    readonly body: ReadonlyArray<Node>
  }
  | { readonly _tag: "try"; readonly lock: number; readonly body: ReadonlyArray<Node> }
  | { readonly _tag: "batch"; readonly locks: ReadonlyArray<number>; readonly body: ReadonlyArray<Node> }
  | { readonly _tag: "fork"; readonly then: "join" | "interrupt"; readonly body: ReadonlyArray<Node> }

const POOL = 5

const { node } = FastCheck.letrec<{ node: Node }>((tie) => {
  const body = FastCheck.array(tie("node"), { maxLength: 3 })
  const lockIndex = FastCheck.integer({ min: 0, max: POOL - 1 })
  return {
    node: FastCheck.oneof(
      { depthSize: "small", withCrossShrink: true },
      FastCheck.constant({ _tag: "yield" as const }),
      FastCheck.constant({ _tag: "fail" as const }),
      FastCheck.constant({ _tag: "die" as const }),
      FastCheck.record({
        _tag: FastCheck.constant("lock" as const),
        lock: lockIndex,
        mode: FastCheck.constantFrom("read" as const, "write" as const),
        timeout: FastCheck.boolean(),
        body
      }),
      FastCheck.record({ _tag: FastCheck.constant("try" as const), lock: lockIndex, body }),
      FastCheck.record({
        _tag: FastCheck.constant("batch" as const),
        locks: FastCheck.uniqueArray(lockIndex, { minLength: 1, maxLength: 3 }),
        body
      }),
      FastCheck.record({
        _tag: FastCheck.constant("fork" as const),
        then: FastCheck.constantFrom("join" as const, "interrupt" as const),
        body
      })
    )
  }
})

const program = FastCheck.record({
  workers: FastCheck.array(FastCheck.array(node, { maxLength: 4 }), { minLength: 1, maxLength: 3 }),
  /** Scheduler turns before each worker is interrupted; `-1` leaves it alone. */
  interrupts: FastCheck.array(FastCheck.integer({ min: -1, max: 12 }), { minLength: 3, maxLength: 3 })
})

interface Occupancy {
  writers: number
  readers: number
}

const run = (workers: ReadonlyArray<ReadonlyArray<Node>>, interrupts: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    // exclusive rank 1; queued rw rank 2; recursive rw rank 3; exclusive rank 3; exclusive rank 4
    const locks: ReadonlyArray<OrderedLock.OrderedLock | OrderedRWLock.OrderedRWLock> = [
      yield* OrderedLock.make({ name: "p0", rank: 1 }),
      yield* OrderedRWLock.make({ name: "p1", rank: 2, readers: "queued" }),
      yield* OrderedRWLock.make({ name: "p2", rank: 3, readers: "recursive" }),
      yield* OrderedLock.make({ name: "p3", rank: 3 }),
      yield* OrderedLock.make({ name: "p4", rank: 4 })
    ]
    const occupancy: Array<Occupancy> = locks.map(() => ({ writers: 0, readers: 0 }))
    const violations: Array<string> = []

    /** Records entering and leaving a region, checking mutual exclusion on entry. */
    const region = (index: number, mode: "read" | "write", body: Effect.Effect<void, unknown>) =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          const o = occupancy[index]!
          if (o.writers > 0 || (mode === "write" && o.readers > 0)) violations.push(`p${index} ${mode} overlap`)
          if (mode === "write") o.writers++
          else o.readers++
        }),
        () => body,
        () =>
          Effect.sync(() => {
            if (mode === "write") occupancy[index]!.writers--
            else occupancy[index]!.readers--
          })
      )

    const acquire = (index: number, mode: "read" | "write", timeout: boolean) => {
      const lock = locks[index]!
      const options: OrderedLock.AcquireOptions | undefined = timeout ? { timeout: "1 second" } : undefined
      return <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | LockError, R> =>
        OrderedLock.isOrderedLock(lock)
          ? OrderedLock.withLock(lock, self, options)
          : mode === "read"
          ? OrderedRWLock.withReadLock(lock, self, options)
          : OrderedRWLock.withWriteLock(lock, self, options)
    }

    const modeOf = (index: number, mode: "read" | "write") => OrderedLock.isOrderedLock(locks[index]) ? "write" : mode

    const interpret = (nodes: ReadonlyArray<Node>): Effect.Effect<void, unknown> =>
      Effect.forEach(nodes, (n): Effect.Effect<void, unknown> => {
        switch (n._tag) {
          case "yield":
            return Effect.yieldNow()
          case "fail":
            return Effect.fail("failure")
          case "die":
            return Effect.die("defect")
          case "lock":
            return acquire(n.lock, n.mode, n.timeout)(region(n.lock, modeOf(n.lock, n.mode), interpret(n.body)))
          case "try": {
            const lock = locks[n.lock]!
            const body = region(n.lock, "write", interpret(n.body))
            return Effect.asVoid(
              OrderedLock.isOrderedLock(lock)
                ? OrderedLock.withLockIfAvailable(lock, body)
                : OrderedRWLock.withWriteLockIfAvailable(lock, body)
            )
          }
          case "batch": {
            const inner = n.locks.reduceRight<Effect.Effect<void, unknown>>(
              (acc, index) => region(index, "write", acc),
              interpret(n.body)
            )
            return OrderedLock.withLocks(n.locks.map((index) => locks[index]!), inner)
          }
          case "fork":
            return Effect.flatMap(
              Effect.fork(interpret(n.body)),
              (child) => n.then === "join" ? Effect.asVoid(Effect.exit(Fiber.join(child))) : Fiber.interrupt(child)
            )
        }
      }, { discard: true })

    const fibers = yield* Effect.forEach(workers, (w) => Effect.fork(interpret(w)))
    yield* Effect.forEach(fibers, (fiber, i) => {
      const turns = interrupts[i] ?? -1
      return turns < 0
        ? Effect.void
        : Effect.fork(Effect.zipRight(Effect.repeatN(Effect.yieldNow(), turns), Fiber.interrupt(fiber)))
    }, { discard: true })
    const exits = yield* Effect.forEach(fibers, Fiber.await)
    for (const exit of exits) {
      // only our own failures, defects and interruptions, or lock errors: never another defect
      if (Exit.isFailure(exit)) {
        for (const defect of Cause.defects(exit.cause)) assert.strictEqual(defect, "defect")
      }
    }
    assert.deepStrictEqual(violations, [])
    assert.deepStrictEqual(yield* LockRegistry.leakProbe.leaks, [])
    for (const lock of locks) {
      const busy = OrderedLock.isOrderedLock(lock)
        ? yield* OrderedLock.locked(lock)
        : (yield* OrderedRWLock.writeLocked(lock)) || (yield* OrderedRWLock.readLocked(lock)) > 0
      assert.isFalse(busy)
    }
  }).pipe(Effect.provide(LockRegistry.layer), Effect.provide(LockConfig.layer({ mode: "strict", metrics: false })))

describe("random programs", () => {
  // one runtime (with the test services) for every run: `it.effect.prop` builds a new test context per run, which
  // costs about 20 ms each
  it.effect("1,000 programs end with no lock held, no waiter queued and no overlapping regions", () =>
    Effect.gen(function*() {
      const runtime = yield* Effect.runtime<never>()
      yield* Effect.promise(() =>
        FastCheck.assert(
          FastCheck.asyncProperty(program, (p) => Runtime.runPromise(runtime, run(p.workers, p.interrupts))),
          { numRuns: 1000 }
        )
      )
    }))
})
