/**
 * The learned graph against a brute-force model. A random program is a list of contexts, each a nesting of distinct
 * locks taken in random modes, over four lock classes of random kinds (exclusive, read/write with queued readers,
 * read/write with recursive readers). Run with `detection.potential: "fail"`, an acquisition that fails with
 * `PotentialDeadlock` ends its context, and the next context runs. The model replays the program on a plain list of
 * typed edges: an edge from the previous lock of the context, and a cycle check that enumerates every path back (no
 * state repeated) and keeps the strong ones (no `-(xR)->` followed by `-(Sx)->`, the wrap-around pair included). The
 * failing acquisitions must be the same.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Runtime from "effect/Runtime"
import * as LockConfig from "../src/LockConfig.js"
import type { LockError } from "../src/LockError.js"
import * as LockRegistry from "../src/LockRegistry.js"
import * as OrderedLock from "../src/OrderedLock.js"
import * as OrderedRWLock from "../src/OrderedRWLock.js"
import { failureOf } from "./utils.js"

type Kind = "exclusive" | "queued" | "recursive"

interface Step {
  readonly lock: number
  readonly mode: "read" | "write"
}

const CLASSES = 4

const context = FastCheck.uniqueArray(FastCheck.integer({ min: 0, max: CLASSES - 1 }), { minLength: 1, maxLength: 4 })
  .chain((locks) =>
    FastCheck.tuple(
      ...locks.map((lock) =>
        FastCheck.record({
          lock: FastCheck.constant(lock),
          mode: FastCheck.constantFrom("read" as const, "write" as const)
        })
      )
    )
  )

const program = FastCheck.record({
  kinds: FastCheck.array(FastCheck.constantFrom<Kind>("exclusive", "queued", "recursive"), {
    minLength: CLASSES,
    maxLength: CLASSES
  }),
  contexts: FastCheck.array(context, { minLength: 1, maxLength: 8 })
})

/** `(prev held shared ? 2 : 0) | (next taken as a recursive read ? 1 : 0)`. */
const typeOf = (kinds: ReadonlyArray<Kind>, prev: Step, next: Step): number =>
  (kinds[prev.lock] !== "exclusive" && prev.mode === "read" ? 2 : 0) |
  (kinds[next.lock] === "recursive" && next.mode === "read" ? 1 : 0)

/** The brute-force verdicts: `"context:step"` of every acquisition that closes a strong cycle. */
const model = (kinds: ReadonlyArray<Kind>, contexts: ReadonlyArray<ReadonlyArray<Step>>): Array<string> => {
  const edges: Array<{ readonly from: number; readonly to: number; readonly type: number }> = []
  const has = (from: number, to: number, type: number) =>
    edges.some((e) => e.from === from && e.to === to && e.type === type)
  const strong = (first: number, second: number) => !((first & 1) !== 0 && (second & 2) !== 0)
  /** Every path from `node` to `target`, no (node, arrival type) state twice; true if one is strong with the new edge. */
  const closes = (prev: number, next: number, type: number): boolean => {
    const visit = (node: number, last: number, seen: ReadonlyArray<string>): boolean => {
      if (node === prev && strong(last, type)) return true
      for (const edge of edges) {
        if (edge.from !== node || !strong(last, edge.type)) continue
        const state = `${edge.to}/${edge.type & 1}`
        if (seen.includes(state)) continue
        if (visit(edge.to, edge.type, [...seen, state])) return true
      }
      return false
    }
    return visit(next, type, [`${next}/${type & 1}`])
  }
  const failures: Array<string> = []
  contexts.forEach((steps, c) => {
    for (let i = 1; i < steps.length; i++) {
      const prev = steps[i - 1]!
      const next = steps[i]!
      const type = typeOf(kinds, prev, next)
      if (has(prev.lock, next.lock, type)) continue
      if (closes(prev.lock, next.lock, type)) {
        failures.push(`${c}:${i}`)
        return
      }
      edges.push({ from: prev.lock, to: next.lock, type })
    }
  })
  return failures
}

const detector = (kinds: ReadonlyArray<Kind>, contexts: ReadonlyArray<ReadonlyArray<Step>>) =>
  Effect.gen(function*() {
    const locks = yield* Effect.forEach(
      kinds,
      (kind, i): Effect.Effect<OrderedLock.OrderedLock | OrderedRWLock.OrderedRWLock> =>
        kind === "exclusive"
          ? OrderedLock.make({ name: `C${i}`, rank: 1 })
          : OrderedRWLock.make({ name: `C${i}`, rank: 1, readers: kind })
    )
    const failures: Array<string> = []
    for (let c = 0; c < contexts.length; c++) {
      const steps = contexts[c]!
      let reached = 0
      const acquire = (i: number): Effect.Effect<void, LockError> => {
        if (i === steps.length) return Effect.void
        const step = steps[i]!
        const lock = locks[step.lock]!
        const inner = Effect.suspend(() => {
          reached = i
          return acquire(i + 1)
        })
        if (OrderedLock.isOrderedLock(lock)) return OrderedLock.withLock(lock, inner)
        return step.mode === "read"
          ? OrderedRWLock.withReadLock(lock as OrderedRWLock.OrderedRWLock, inner)
          : OrderedRWLock.withWriteLock(lock as OrderedRWLock.OrderedRWLock, inner)
      }
      const exit = yield* Effect.exit(acquire(0))
      if (Exit.isFailure(exit)) {
        const error = failureOf(exit)
        assert.strictEqual(error?._tag, "PotentialDeadlock", String(exit))
        failures.push(`${c}:${reached + 1}`)
      }
    }
    return failures
  }).pipe(
    Effect.provide(LockRegistry.layer),
    Effect.provide(LockConfig.layer({ mode: "warn", metrics: false, detection: { potential: "fail" } })),
    Logger.withMinimumLogLevel(LogLevel.None)
  )

describe("learned graph against a brute-force cycle checker", () => {
  it.effect("1,000 random acquisition programs get the same verdicts", () =>
    Effect.gen(function*() {
      const runtime = yield* Effect.runtime<never>()
      let cycles = 0
      yield* Effect.promise(() =>
        FastCheck.assert(
          FastCheck.asyncProperty(program, (p) =>
            Runtime.runPromise(
              runtime,
              Effect.map(detector(p.kinds, p.contexts), (verdicts) => {
                assert.deepStrictEqual(verdicts, model(p.kinds, p.contexts))
                cycles += verdicts.length
              })
            )),
          { numRuns: 1000 }
        )
      )
      // the programs do close cycles (a few hundred per thousand programs)
      assert.isAbove(cycles, 100)
    }))
})
