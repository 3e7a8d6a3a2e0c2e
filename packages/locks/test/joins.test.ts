/**
 * Joins as edges of the wait-for graph (`DeadlockDetector.join` / `await`): a join is the edge "joiner -> joinee" for
 * exactly the duration of the wait. Rings of 2, 3 and 5 fibers mixing joins and lock waits, closed by a join or by a
 * lock wait, in a chosen order (each wait starts once the previous one is registered) and under seeded
 * interleavings; joins of done fibers, self-joins, interruption, no false positives, `detection.actual: "off"`, the
 * reports and the graph export. No sleeps: Deferreds order the fibers, `TestClock` drives the one timeout.
 */
import { Explore } from "@core-stability/testing"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import * as DeadlockDetector from "../src/DeadlockDetector.js"
import * as LockConfig from "../src/LockConfig.js"
import type { DeadlockDetected, LockError } from "../src/LockError.js"
import * as LockMetrics from "../src/LockMetrics.js"
import * as LockRegistry from "../src/LockRegistry.js"
import * as OrderedLock from "../src/OrderedLock.js"
import { assertNoLeaks, expectFailure, untilWaiting } from "./utils.js"

const quiet = <A, E, R>(self: Effect.Effect<A, E, R>) => Logger.withMinimumLogLevel(self, LogLevel.None)

/** Plain locks: no held stacks, only the wait-for graph (the victim's holds come from the cycle). */
const plain = LockConfig.layer({ mode: "off" })
/** Ranks only warn (the rings take same-rank locks in a circle), held stacks kept. */
const warn = LockConfig.layer({ mode: "warn" })

/** The label a report gives a fiber run under `withFiberName(name)`. */
const label = (fiber: Fiber.RuntimeFiber<unknown, unknown>, name: string): string =>
  `${FiberId.threadName(fiber.id())} (${name})`

/** Yields until the wait-for graph of the registry in effect has `n` edges. */
const untilEdges = (n: number) =>
  Effect.gen(function*() {
    for (let turns = 0; turns < 1000; turns++) {
      if ((yield* DeadlockDetector.waitForGraph).edges.length >= n) return
      yield* Effect.yieldNow()
    }
    assert.fail(`the wait-for graph never had ${n} edges`)
  })

/** A link of a ring: fiber i waits for fiber i + 1 by asking for the lock it holds, or by joining it. */
type Link = "lock" | "join"

interface Ring {
  readonly victim: number
  readonly error: DeadlockDetected
  readonly results: ReadonlyArray<string>
  readonly labels: ReadonlyArray<string>
}

/**
 * A ring of `links.length` fibers: fiber i waits for fiber i + 1 through `links[i]`; a fiber holds its lock (`R[i]`)
 * when the fiber before it waits for that lock. Every fiber takes its lock first; then the waits start. With `order`,
 * one at a time, each once the previous one is an edge of the graph: the last one closes the cycle, and its fiber is
 * the victim. Without it, all at once. The victim rolls back (it catches `DeadlockDetected` and returns
 * `"rolled back"`, releasing its lock); every other fiber completes: a lock wait with `"locked"`, a join with what
 * the joined fiber returned.
 */
const ring = (links: ReadonlyArray<Link>, order?: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const n = links.length
    const locks = yield* Effect.forEach(links, (_, i) => OrderedLock.make({ name: "R", rank: 1, key: String(i) }))
    const ready = yield* Effect.forEach(links, () => Deferred.make<void>())
    const go = yield* Effect.forEach(links, () => Deferred.make<void>())
    const caught = yield* Ref.make<ReadonlyArray<readonly [number, DeadlockDetected]>>([])
    const fibers: Array<Fiber.RuntimeFiber<string, LockError>> = []
    const waitOf = (i: number): Effect.Effect<string, LockError> => {
      const next = (i + 1) % n
      return links[i] === "lock"
        ? OrderedLock.withLock(locks[next]!, Effect.succeed("locked"))
        : Effect.map(Effect.suspend(() => DeadlockDetector.join(fibers[next]!)), (seen) => `joined ${seen}`)
    }
    const body = (i: number): Effect.Effect<string, LockError> => {
      const inner = Effect.gen(function*() {
        yield* Deferred.succeed(ready[i]!, undefined)
        yield* Deferred.await(go[i]!)
        return yield* Effect.catchTag(
          waitOf(i),
          "DeadlockDetected",
          (error) => Effect.as(Ref.update(caught, (all) => [...all, [i, error] as const]), "rolled back")
        )
      })
      const holds = links[(i + n - 1) % n] === "lock"
      return (holds ? OrderedLock.withLock(locks[i]!, inner) : inner).pipe(LockRegistry.withFiberName(`ring-${i}`))
    }
    for (let i = 0; i < n; i++) fibers.push(yield* Effect.fork(body(i)))
    yield* Effect.forEach(ready, Deferred.await)
    if (order === undefined) {
      yield* Effect.forEach(go, (d) => Deferred.succeed(d, undefined))
    } else {
      for (let k = 0; k < n; k++) {
        yield* Deferred.succeed(go[order[k]!]!, undefined)
        if (k < n - 1) yield* untilEdges(k + 1)
      }
    }
    const exits = yield* Effect.forEach(fibers, Fiber.await)
    const results = exits.map((exit) => {
      assert.isTrue(Exit.isSuccess(exit), `every fiber completes: ${exit}`)
      return (exit as Exit.Success<string, LockError>).value
    })
    const victims = yield* Ref.get(caught)
    assert.strictEqual(victims.length, 1, "exactly one victim")
    const [victim, error] = victims[0]!
    if (order !== undefined) assert.strictEqual(victim, order[n - 1], "the wait that closed the cycle is the victim")
    const labels = fibers.map((fiber, i) => label(fiber, `ring-${i}`))
    // every non-victim completed, and each joiner saw what the fiber it joined returned
    for (let i = n - 1; i >= 0; i--) {
      const expected = i === victim
        ? "rolled back"
        : links[i] === "lock"
        ? "locked"
        : `joined ${results[(i + 1) % n]}`
      assert.strictEqual(results[i], expected, `ring-${i}`)
    }
    // the cycle: the victim's wait first, then around the ring, each link as it was made
    assert.strictEqual(error.fiber, labels[victim])
    assert.deepStrictEqual(
      error.cycle.map((link) => [link.waiter, link.via, link.blocker]),
      links.map((_, k) => {
        const i = (victim + k) % n
        return [labels[i]!, links[i]!, labels[(i + 1) % n]!]
      })
    )
    if (links[victim] === "join") {
      assert.strictEqual(error.joined, labels[(victim + 1) % n])
      assert.isUndefined(error.lock)
    } else {
      assert.isUndefined(error.joined)
      assert.deepStrictEqual([error.lock?.name, error.lock?.key], ["R", String((victim + 1) % n)])
    }
    // the victim's holds: its own lock, when it holds one
    const victimHolds = links[(victim + n - 1) % n] === "lock"
    assert.deepStrictEqual(error.held.map((held) => held.lock.key), victimHolds ? [String(victim)] : [])
    const stats = yield* DeadlockDetector.stats
    assert.strictEqual(stats.deadlocks, 1)
    // every join edge is gone, and so is every lock wait
    assert.deepStrictEqual((yield* DeadlockDetector.waitForGraph).edges, [])
    yield* assertNoLeaks
    return { victim, error, results, labels } satisfies Ring
  }).pipe(Effect.provide(LockRegistry.layer))

describe("a join closes or completes a cycle of 2 fibers", () => {
  it.effect("join first: the joinee's lock wait closes the cycle and fails; it rolls back, the joiner sees that", () =>
    Effect.gen(function*() {
      // ring-0 holds R[0] and joins ring-1; then ring-1 asks for R[0]
      const { error, results } = yield* ring(["join", "lock"], [0, 1])
      assert.deepStrictEqual(results, ["joined rolled back", "rolled back"])
      assert.include(error.message, "would wait for R[0] (rank 1, exclusive)")
      assert.include(error.message, "*** DEADLOCK ***")
    }).pipe(Effect.provide(warn), quiet))

  it.effect("lock wait first: the join closes the cycle and fails at once, naming it; the joinee completes", () =>
    Effect.gen(function*() {
      // ring-1 asks for R[0] (held by ring-0) first; then ring-0 joins ring-1
      const { error, labels, results } = yield* ring(["join", "lock"], [1, 0])
      assert.deepStrictEqual(results, ["rolled back", "locked"])
      assert.strictEqual(error.joined, labels[1])
      const message = error.message
      assert.include(message, `deadlock detected: ${labels[0]} would join ${labels[1]} at `)
      assert.include(message, `${labels[0]} joins ${labels[1]} at `)
      assert.include(message, `(via join: waits for ${labels[1]} to exit)`)
      assert.include(message, `${labels[1]} waits for R[0] (exclusive)`)
      assert.include(message, `join(${labels[1]})`)
      assert.include(message, "its join fails instead of waiting")
    }).pipe(Effect.provide(warn), quiet))

  it.effect("two joins: the second join closes the cycle", () =>
    Effect.gen(function*() {
      const { error, labels, results } = yield* ring(["join", "join"], [0, 1])
      assert.deepStrictEqual(results, ["joined rolled back", "rolled back"])
      assert.deepStrictEqual(error.cycle.map((link) => link.reason), ["joins", "joins"])
      assert.strictEqual(error.joined, labels[0])
      assert.deepStrictEqual(error.held, [])
    }).pipe(Effect.provide(plain)))

  it.effect("a plain-mode ring (no held stacks): the victim's holds come from the cycle", () =>
    Effect.gen(function*() {
      const { error } = yield* ring(["lock", "join"], [0, 1])
      assert.strictEqual(error.cycle[0]!.via, "join")
      assert.deepStrictEqual(error.held.map((held) => held.lock.key), ["1"])
    }).pipe(Effect.provide(plain)))

  it.effect("a fiber joining itself fails at once with a cycle of one", () =>
    Effect.gen(function*() {
      const self = yield* Effect.withFiberRuntime<Fiber.RuntimeFiber<number, never>>((fiber) =>
        Effect.succeed(fiber as unknown as Fiber.RuntimeFiber<number, never>)
      )
      const error = yield* Effect.flip(DeadlockDetector.join(self))
      assert.strictEqual(error._tag, "DeadlockDetected")
      const me = FiberId.threadName(self.id())
      assert.deepStrictEqual(error.cycle.map((link) => [link.waiter, link.via, link.blocker]), [[me, "join", me]])
      assert.include(error.message, "closing a wait-for cycle of 1 fiber\n")
      assert.deepStrictEqual((yield* DeadlockDetector.waitForGraph).edges, [])
      // counted, and tagged as a join (the metric is process-wide: other tests may have counted too)
      const counted = yield* Metric.value(
        LockMetrics.deadlocks.pipe(Metric.tagged("lock", "(join)"), Metric.tagged("mode", "join"))
      )
      assert.isAtLeast(counted.count, 1)
      assert.strictEqual((yield* DeadlockDetector.stats).deadlocks, 1)
    }).pipe(Effect.provide(LockRegistry.layer)))
})

describe("cycles through several joins and locks", () => {
  it.effect("3 fibers: a join, then two lock waits; the last lock wait is the victim", () =>
    Effect.gen(function*() {
      const { results } = yield* ring(["join", "lock", "lock"], [0, 1, 2])
      assert.deepStrictEqual(results, ["joined locked", "locked", "rolled back"])
    }).pipe(Effect.provide(plain)))

  it.effect("3 fibers: two lock waits, then the join closes the cycle", () =>
    Effect.gen(function*() {
      const { results } = yield* ring(["join", "lock", "lock"], [1, 2, 0])
      assert.deepStrictEqual(results, ["rolled back", "locked", "locked"])
    }).pipe(Effect.provide(plain)))

  it.effect("3 fibers: two joins and a lock wait, closed by the lock wait", () =>
    Effect.gen(function*() {
      const { results } = yield* ring(["join", "join", "lock"], [0, 1, 2])
      assert.deepStrictEqual(results, ["joined joined rolled back", "joined rolled back", "rolled back"])
    }).pipe(Effect.provide(warn), quiet))

  it.effect("5 fibers: joins and locks alternating, closed by a lock wait in the middle", () =>
    Effect.gen(function*() {
      const { error, results } = yield* ring(["lock", "join", "lock", "join", "lock"], [0, 1, 3, 4, 2])
      assert.strictEqual(error.cycle.length, 5)
      assert.deepStrictEqual(results, ["locked", "joined rolled back", "rolled back", "joined locked", "locked"])
    }).pipe(Effect.provide(warn), quiet))

  it.effect("5 fibers: closed by a join", () =>
    Effect.gen(function*() {
      const { results } = yield* ring(["join", "lock", "join", "lock", "lock"], [1, 2, 3, 4, 0])
      assert.deepStrictEqual(results, ["rolled back", "locked", "joined locked", "locked", "locked"])
    }).pipe(Effect.provide(plain)))

  it.effect("3 fibers (join, lock, join), waits started together, under 100 seeded interleavings", () =>
    Effect.asVoid(Explore.explore(ring(["join", "lock", "join"]), { runs: 100 })).pipe(Effect.provide(warn), quiet))

  it.effect("5 fibers (two joins, three locks), waits started together, under 50 seeded interleavings", () =>
    Effect.asVoid(Explore.explore(ring(["lock", "join", "lock", "lock", "join"]), { runs: 50 })).pipe(
      Effect.provide(plain)
    ))
})

describe("the join edge lives exactly as long as the wait", () => {
  it.effect("joining a fiber that has exited adds no edge and returns its result at once", () =>
    Effect.gen(function*() {
      const done = yield* Effect.fork(Effect.succeed(1))
      const failed = yield* Effect.fork(Effect.fail("boom" as const))
      yield* Fiber.await(done)
      yield* Fiber.await(failed)
      assert.strictEqual(yield* DeadlockDetector.join(done), 1)
      assert.deepStrictEqual(yield* Effect.flip(DeadlockDetector.join(failed)), "boom")
      assert.deepStrictEqual(yield* DeadlockDetector.await(done), Exit.succeed(1))
      assert.strictEqual((yield* DeadlockDetector.stats).joins, 0)
    }).pipe(Effect.provide(LockRegistry.layer)))

  it.effect("a join that waits adds one edge, removed when the joinee succeeds or fails", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const ok = yield* Effect.fork(Effect.as(Deferred.await(release), "ok"))
      const ko = yield* Effect.fork(Effect.zipRight(Deferred.await(release), Effect.fail("ko" as const)))
      const joinOk = yield* Effect.fork(DeadlockDetector.join(ok))
      const awaitKo = yield* Effect.fork(DeadlockDetector.await(ko))
      yield* untilEdges(2)
      const graph = yield* DeadlockDetector.waitForGraph
      assert.deepStrictEqual(
        graph.edges.map((edge) => [edge.waiter, edge.via, edge.reason, edge.blocker]).sort(),
        [
          [FiberId.threadName(joinOk.id()), "join", "joins", FiberId.threadName(ok.id())],
          [FiberId.threadName(awaitKo.id()), "join", "joins", FiberId.threadName(ko.id())]
        ].sort()
      )
      yield* Deferred.succeed(release, undefined)
      assert.strictEqual(yield* Fiber.join(joinOk), "ok")
      assert.deepStrictEqual(yield* Fiber.join(awaitKo), Exit.fail("ko"))
      const after = yield* DeadlockDetector.waitForGraph
      assert.deepStrictEqual([after.fibers, after.edges], [[], []])
      assert.strictEqual((yield* DeadlockDetector.stats).joins, 2)
    }).pipe(Effect.provide(LockRegistry.layer)))

  it.effect("an interrupted joiner removes its edge: the graph is empty and no stale edge makes a false cycle", () =>
    Effect.gen(function*() {
      const l = yield* OrderedLock.make({ name: "L", rank: 1 })
      const go = yield* Deferred.make<void>()
      const joinee = yield* Effect.fork(
        Effect.zipRight(Deferred.await(go), OrderedLock.withLock(l, Effect.succeed("got L")))
      )
      // the joiner holds L while it joins
      const joiner = yield* Effect.fork(OrderedLock.withLock(l, DeadlockDetector.join(joinee)))
      yield* untilEdges(1)
      assert.strictEqual((yield* DeadlockDetector.waitForGraph).edges[0]!.via, "join")
      yield* Fiber.interrupt(joiner)
      const graph = yield* DeadlockDetector.waitForGraph
      assert.deepStrictEqual([graph.fibers, graph.edges], [[], []])
      // had the edge stayed, the joinee's wait for L would look like a cycle; L is free, and it gets it
      yield* Deferred.succeed(go, undefined)
      assert.strictEqual(yield* Fiber.join(joinee), "got L")
      assert.strictEqual((yield* DeadlockDetector.stats).deadlocks, 0)
      yield* assertNoLeaks
    }).pipe(Effect.provide(LockRegistry.layer)))
})

describe("no false positives", () => {
  it.effect("a join without a cycle: the joinee takes other locks and waits for a lock held by a third fiber", () =>
    Effect.gen(function*() {
      const a = yield* OrderedLock.make({ name: "A", rank: 1 })
      const b = yield* OrderedLock.make({ name: "B", rank: 2 })
      const c = yield* OrderedLock.make({ name: "C", rank: 3 })
      const cHeld = yield* Deferred.make<void>()
      const releaseC = yield* Deferred.make<void>()
      const third = yield* Effect.fork(
        OrderedLock.withLock(c, Effect.zipRight(Deferred.succeed(cHeld, undefined), Deferred.await(releaseC)))
      )
      yield* Deferred.await(cHeld)
      const go = yield* Deferred.make<void>()
      const joinee = yield* Effect.fork(
        Effect.zipRight(Deferred.await(go), OrderedLock.withLock(b, OrderedLock.withLock(c, Effect.succeed("B, C"))))
      )
      const joiner = yield* Effect.fork(OrderedLock.withLock(a, DeadlockDetector.join(joinee)))
      yield* untilEdges(1)
      yield* Deferred.succeed(go, undefined)
      yield* untilWaiting(c, 1)
      // joiner -> joinee -> third: a chain, not a cycle
      const graph = yield* DeadlockDetector.waitForGraph
      assert.deepStrictEqual(graph.edges.map((edge) => edge.via).sort(), ["join", "lock"])
      yield* Deferred.succeed(releaseC, undefined)
      assert.strictEqual(yield* Fiber.join(joiner), "B, C")
      yield* Fiber.join(third)
      assert.strictEqual((yield* DeadlockDetector.stats).deadlocks, 0)
      yield* assertNoLeaks
    }).pipe(Effect.provide(LockRegistry.layer)))

  it.effect("Deferred waits are not joins, even while a join makes the search run for a fiber holding nothing", () =>
    Effect.gen(function*() {
      const l = yield* OrderedLock.make({ name: "l", rank: 1 })
      const inside = yield* Deferred.make<void>()
      const requesterReady = yield* Deferred.make<Deferred.Deferred<void>>()
      const go = yield* Deferred.make<void>()
      // the requester creates the Deferred the holder awaits (Deferred.await "blocks on" its creator)
      const requester = yield* Effect.fork(Effect.gen(function*() {
        const done = yield* Deferred.make<void>()
        yield* Deferred.succeed(requesterReady, done)
        yield* Deferred.await(go)
        return yield* OrderedLock.withLock(l, Effect.succeed("got it"))
      }))
      const done = yield* Deferred.await(requesterReady)
      const holder = yield* Effect.fork(
        OrderedLock.withLock(l, Effect.zipRight(Deferred.succeed(inside, undefined), Deferred.await(done)))
      )
      yield* Deferred.await(inside)
      // somebody joins the requester, so its wait for l is searched although it holds nothing
      const watcher = yield* Effect.fork(DeadlockDetector.join(requester))
      yield* untilEdges(1)
      yield* Deferred.succeed(go, undefined)
      yield* untilWaiting(l, 1)
      yield* Deferred.succeed(done, undefined)
      assert.strictEqual(yield* Fiber.join(watcher), "got it")
      yield* Fiber.join(holder)
      assert.strictEqual((yield* DeadlockDetector.stats).deadlocks, 0)
      yield* assertNoLeaks
    }).pipe(Effect.provide(LockRegistry.layer)))

  it.effect("a joiner awaiting a Deferred completed by the joinee is not a cycle", () =>
    Effect.gen(function*() {
      const l = yield* OrderedLock.make({ name: "l", rank: 1 })
      const signal = yield* Deferred.make<void>()
      const worker = yield* Effect.fork(Effect.zipRight(Deferred.succeed(signal, undefined), Effect.succeed(7)))
      const result = yield* OrderedLock.withLock(
        l,
        Effect.zipRight(Deferred.await(signal), DeadlockDetector.join(worker))
      )
      assert.strictEqual(result, 7)
      assert.strictEqual((yield* DeadlockDetector.stats).deadlocks, 0)
    }).pipe(Effect.provide(LockRegistry.layer)))
})

describe("detection.actual: off", () => {
  it.effect("a cycle through a join is left to the timeout; the edge still shows in the graph and the report", () =>
    Effect.gen(function*() {
      const l = yield* OrderedLock.make({ name: "L", rank: 1, timeout: "10 millis" })
      const go = yield* Deferred.make<void>()
      const joinee = yield* Effect.fork(
        Effect.zipRight(Deferred.await(go), OrderedLock.withLock(l, Effect.void)).pipe(
          LockRegistry.withFiberName("joinee")
        )
      )
      const joiner = yield* Effect.fork(
        OrderedLock.withLock(l, Effect.either(DeadlockDetector.join(joinee))).pipe(LockRegistry.withFiberName("joiner"))
      )
      yield* untilEdges(1)
      yield* Deferred.succeed(go, undefined)
      yield* untilWaiting(l, 1)
      // the cycle is closed, and nobody failed
      assert.deepStrictEqual((yield* DeadlockDetector.waitForGraph).edges.map((edge) => edge.via), ["lock", "join"])
      yield* TestClock.adjust("10 millis")
      const seen = yield* Fiber.join(joiner)
      assert.isTrue(Either.isLeft(seen))
      const timeout = (seen as Either.Left<LockError, void>).left
      assert.strictEqual(timeout._tag, "LockTimeout")
      const joinerLabel = label(joiner, "joiner")
      const joineeLabel = label(joinee, "joinee")
      if (timeout._tag === "LockTimeout") {
        assert.deepStrictEqual(timeout.waitFor.map((link) => [link.waiter, link.via, link.blocker]), [
          [joineeLabel, "lock", joinerLabel],
          [joinerLabel, "join", joineeLabel]
        ])
        assert.include(timeout.message, `${joinerLabel} joins ${joineeLabel} at `)
        assert.notInclude(timeout.message, "waits for no lock")
      }
      assert.strictEqual((yield* DeadlockDetector.stats).deadlocks, 0)
      yield* assertNoLeaks
    }).pipe(
      Effect.provide(LockConfig.layer({ detection: { actual: "off" } })),
      Effect.provide(LockRegistry.layer)
    ))

  it.effect("a join that closes a cycle waits instead of failing", () =>
    Effect.gen(function*() {
      const l = yield* OrderedLock.make({ name: "L", rank: 1, timeout: "10 millis" })
      const joiner = yield* Effect.fork(OrderedLock.withLock(
        l,
        Effect.gen(function*() {
          const joinee = yield* OrderedLock.forkDetached(OrderedLock.withLock(l, Effect.void))
          yield* untilWaiting(l, 1)
          return yield* Effect.either(DeadlockDetector.join(joinee))
        })
      ))
      yield* untilEdges(2)
      yield* TestClock.adjust("10 millis")
      const seen = yield* Fiber.join(joiner)
      assert.isTrue(Either.isLeft(seen) && seen.left._tag === "LockTimeout")
      assert.strictEqual((yield* DeadlockDetector.stats).deadlocks, 0)
      yield* assertNoLeaks
    }).pipe(
      Effect.provide(LockConfig.layer({ mode: "off", detection: { actual: "off" } })),
      Effect.provide(LockRegistry.layer)
    ))
})

describe("reports", () => {
  /** `posting` holds the ledger and joins `audit`, which asks for the ledger: in the order given. */
  const postingAndAudit = (joinFirst: boolean) =>
    Effect.gen(function*() {
      const ledger = yield* OrderedLock.make({ name: "Bank.ledger", rank: 1 })
      const go = yield* Deferred.make<void>()
      const audit = yield* Effect.fork(
        Effect.zipRight(Deferred.await(go), OrderedLock.withLock(ledger, Effect.succeed("audited"))).pipe(
          Effect.catchTag("DeadlockDetected", (error) => Effect.succeed(error)),
          LockRegistry.withFiberName("audit")
        )
      )
      const posting = yield* Effect.fork(
        OrderedLock.withLock(
          ledger,
          Effect.gen(function*() {
            if (!joinFirst) {
              yield* Deferred.succeed(go, undefined)
              yield* untilWaiting(ledger, 1)
            }
            return yield* DeadlockDetector.join(audit)
          })
        ).pipe(LockRegistry.withFiberName("posting"))
      )
      if (joinFirst) {
        yield* untilEdges(1)
        yield* Deferred.succeed(go, undefined)
      }
      return {
        posting: yield* Fiber.await(posting),
        audit: yield* Fiber.await(audit),
        p: label(posting, "posting"),
        a: label(audit, "audit")
      }
    }).pipe(Effect.provide(LockRegistry.layer))

  it.effect("a join that closes the cycle: the join is the first link, the scenario shows join(...)", () =>
    Effect.gen(function*() {
      const { a, audit, p, posting } = yield* postingAndAudit(false)
      assert.deepStrictEqual(audit, Exit.succeed("audited"))
      const error = expectFailure(posting, "DeadlockDetected")
      const site = "[^\\n]*joins\\.test\\.ts:\\d+:\\d+\\)?"
      const lines = [
        `deadlock detected: ${escapeRegExp(p)} would join ${escapeRegExp(a)} at ${site}, closing a wait-for cycle ` +
        `of 2 fibers`,
        `wait-for cycle:`,
        `  ${escapeRegExp(p)} joins ${escapeRegExp(a)} at ${site} \\(via join: waits for ${escapeRegExp(a)} to exit\\)`,
        `  ${escapeRegExp(a)} waits for Bank\\.ledger \\(exclusive\\) at ${site}, held by ${escapeRegExp(p)} ` +
        `\\(exclusive\\) at ${site}`,
        `held locks of ${escapeRegExp(p)} \\(oldest first; released when its failure propagates\\):`,
        `  Bank\\.ledger \\(rank 1, exclusive\\) by ${escapeRegExp(p)}, held 0 ms at ${site}`,
        `possible unsafe locking scenario:`,
        ``,
        ` +${escapeRegExp(p)} +${escapeRegExp(a)}`,
        ` +-+ +-+`,
        `  lock\\(Bank\\.ledger\\)`,
        `  join\\(${escapeRegExp(a)}\\)`,
        ` +lock\\(Bank\\.ledger\\)`,
        ``,
        `  \\*\\*\\* DEADLOCK \\*\\*\\*`,
        `victim: ${escapeRegExp(p)}, the fiber whose wait closed the cycle; ` +
        `its join fails instead of waiting and the others proceed once it releases its locks`
      ]
      assert.match(error.message, new RegExp(`^${lines.join("\\n")}$`))
    }))

  it.effect("a lock wait that closes the cycle through a join: the joinee is the victim, the joiner sees it", () =>
    Effect.gen(function*() {
      const { a, audit, p, posting } = yield* postingAndAudit(true)
      assert.isTrue(Exit.isSuccess(audit))
      // the audit rolled back (it caught its DeadlockDetected and returned it): the posting's join saw that
      assert.deepStrictEqual(posting, audit)
      const error = (audit as Exit.Success<DeadlockDetected, never>).value
      assert.strictEqual(error._tag, "DeadlockDetected")
      assert.deepStrictEqual(error.cycle.map((link) => [link.waiter, link.reason, link.blocker]), [
        [a, "holds", p],
        [p, "joins", a]
      ])
      assert.match(error.message, /^deadlock detected: .* \(audit\) would wait for Bank\.ledger \(rank 1, exclusive\)/)
      assert.include(error.message, `\n  ${p} joins ${a} at `)
      assert.isTrue(
        error.message.endsWith(
          `the others proceed once it releases its locks; ${p}, which joins it, once it exits`
        )
      )
    }))
})

describe("export", () => {
  it.effect("a join edge in DOT (dashed), Mermaid (dotted), JSON (via: join) and text", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const worker = yield* Effect.fork(Deferred.await(release).pipe(LockRegistry.withFiberName("worker")))
      const joiner = yield* Effect.fork(DeadlockDetector.join(worker).pipe(LockRegistry.withFiberName("joiner")))
      yield* untilEdges(1)
      yield* TestClock.adjust("5 millis")
      const graph = yield* DeadlockDetector.waitForGraph
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(joiner)
      const j = label(joiner, "joiner")
      const w = label(worker, "worker")
      assert.strictEqual(
        DeadlockDetector.toDot(graph),
        [
          `digraph "wait-for" {`,
          `  "${j}";`,
          `  "${w}";`,
          `  "${j}" -> "${w}" [label="joins (waits for it to exit)", style=dashed];`,
          `}`
        ].join("\n")
      )
      assert.strictEqual(
        DeadlockDetector.toMermaid(graph),
        [`flowchart LR`, `  n0["${j}"]`, `  n1["${w}"]`, `  n0 -.->|"joins (waits for it to exit)"| n1`].join("\n")
      )
      const json = JSON.parse(DeadlockDetector.toJson(graph))
      assert.deepStrictEqual(json.edges[0], {
        via: "join",
        waiter: j,
        site: graph.edges[0]!.site,
        blocker: w,
        reason: "joins",
        waitedMs: 5
      })
      assert.include(graph.edges[0]!.site!, "joins.test.ts")
      assert.match(
        DeadlockDetector.renderWaitFor(graph),
        new RegExp(
          `^wait-for graph: 2 fibers, 1 edges\\n  ${escapeRegExp(j)} -> ${escapeRegExp(w)}: joins \\(waits for it to ` +
            `exit\\), waiting 5 ms at [^;]*joins\\.test\\.ts:\\d+:\\d+\\)?; ${escapeRegExp(w)} has not exited$`
        )
      )
    }).pipe(Effect.provide(LockRegistry.layer)))
})

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
