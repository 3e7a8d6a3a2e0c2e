import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Either, Exit, Fiber, Layer, Schema, TestClock } from "effect"
import * as FaultInjector from "../src/FaultInjector.js"

const hitTimes = (n: number, point: string) =>
  Effect.forEach(Array.from({ length: n }), () => Effect.exit(FaultInjector.point(point)))

describe("FaultInjector", () => {
  it.effect("without an injector a point does nothing and counts nothing", () =>
    Effect.gen(function*() {
      const exits = yield* hitTimes(3, "writer")
      assert.isTrue(exits.every(Exit.isSuccess))
      assert.strictEqual((yield* FaultInjector.hits).size, 0)
      assert.deepStrictEqual(yield* FaultInjector.fired, [])
    }))

  it.effect("with no faults configured, hits are counted and nothing fires", () =>
    Effect.gen(function*() {
      const exits = yield* hitTimes(4, "writer")
      assert.isTrue(exits.every(Exit.isSuccess))
      assert.deepStrictEqual(Array.from(yield* FaultInjector.hits), [["writer", 4]])
      assert.deepStrictEqual(yield* FaultInjector.fired, [])
    }).pipe(Effect.provide(FaultInjector.layer())))

  it.effect("fails on the Nth hit only, with the configured error", () =>
    Effect.gen(function*() {
      const exits = yield* hitTimes(5, "writer-right")
      assert.deepStrictEqual(exits.map(Exit.isFailure), [false, false, true, false, false])
      const failure = Cause.failureOption((exits[2] as Exit.Failure<void, FaultInjector.InjectedFault>).cause)
      assert.isTrue(failure._tag === "Some" && FaultInjector.isInjectedFault(failure.value))
      const fault = (failure as { readonly value: FaultInjector.InjectedFault }).value
      assert.strictEqual(fault.point, "writer-right")
      assert.strictEqual(fault.hit, 3)
      assert.strictEqual(fault.error, "io-error")
      assert.include(fault.message, `fault injected at point "writer-right" (hit 3, fail): io-error`)
      assert.deepStrictEqual(yield* FaultInjector.fired, [{ point: "writer-right", kind: "fail", hit: 3 }])
    }).pipe(
      Effect.provide(FaultInjector.layer({ faults: { "writer-right": { kind: "fail", nth: 3, error: "io-error" } } }))
    ))

  it.effect("dies and interrupts", () =>
    Effect.gen(function*() {
      const died = yield* Effect.exit(FaultInjector.point("processor"))
      assert.isTrue(Exit.isFailure(died) && Cause.isDie(died.cause))
      const interrupted = yield* Effect.exit(FaultInjector.point("consumer"))
      assert.isTrue(Exit.isFailure(interrupted) && Cause.isInterruptedOnly(interrupted.cause))
      assert.deepStrictEqual(yield* FaultInjector.fired, [
        { point: "processor", kind: "die", hit: 1 },
        { point: "consumer", kind: "interrupt", hit: 1 }
      ])
    }).pipe(Effect.provide(FaultInjector.layer({
      faults: { processor: { kind: "die" }, consumer: { kind: "interrupt" } }
    }))))

  it.effect("delays in virtual time", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(FaultInjector.point("cache"))
      yield* TestClock.adjust(Duration.millis(249))
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust(Duration.millis(1))
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(fiber)))
    }).pipe(Effect.provide(FaultInjector.layer({ faults: { cache: { kind: "delay", delay: "250 millis" } } }))))

  it.effect("fires with a probability that the seed makes reproducible", () =>
    Effect.gen(function*() {
      const pattern = (seed: number) =>
        hitTimes(200, "processor-left").pipe(
          Effect.map((exits) => exits.map((exit) => Exit.isFailure(exit) ? "x" : ".").join("")),
          Effect.provide(
            FaultInjector.layer({ seed, faults: { "processor-left": { kind: "fail", probability: 0.1 } } })
          )
        )
      const first = yield* pattern(42)
      assert.strictEqual(yield* pattern(42), first)
      assert.notStrictEqual(yield* pattern(43), first)
      const fired = first.split("").filter((c) => c === "x").length
      assert.isAbove(fired, 5)
      assert.isBelow(fired, 40)
    }))

  it.effect("a point's decisions do not depend on other points' hits", () =>
    Effect.gen(function*() {
      const faults: FaultInjector.Faults = {
        a: { kind: "fail", probability: 0.5 },
        b: { kind: "fail", probability: 0.5 }
      }
      const onlyA = yield* hitTimes(50, "a").pipe(Effect.provide(FaultInjector.layer({ seed: 9, faults })))
      const interleaved = yield* Effect.forEach(Array.from({ length: 50 }), () =>
        Effect.zipLeft(Effect.exit(FaultInjector.point("a")), Effect.exit(FaultInjector.point("b")))).pipe(
          Effect.provide(FaultInjector.layer({ seed: 9, faults }))
        )
      assert.deepStrictEqual(interleaved.map(Exit.isFailure), onlyA.map(Exit.isFailure))
    }))

  it.effect("a service made with make is used through the reference", () =>
    Effect.gen(function*() {
      const injector = yield* FaultInjector.make({ faults: { x: { kind: "fail" } } })
      const exit = yield* Effect.exit(injector.point("x"))
      assert.isTrue(Exit.isFailure(exit))
      const viaReference = yield* Effect.exit(
        Effect.provideService(FaultInjector.point("x"), FaultInjector.FaultInjector, injector)
      )
      assert.isTrue(Exit.isFailure(viaReference))
      assert.deepStrictEqual(Array.from(yield* injector.hits), [["x", 2]])
      assert.strictEqual(FaultInjector.none.point("x"), FaultInjector.none.point("y"))
    }))

  it.effect("refuses invalid configurations, naming the point", () =>
    Effect.gen(function*() {
      const bad = yield* Effect.flip(FaultInjector.make({ faults: { writer: { kind: "fail", probability: 2 } } }))
      assert.isTrue(FaultInjector.isFaultSpecError(bad))
      assert.strictEqual(bad.token, "writer")
      assert.include(bad.message, "probability must be within [0, 1], got 2")
      const nth = yield* Effect.flip(FaultInjector.make({ faults: { w: { kind: "die", nth: 0 } } }))
      assert.include(nth.reason, "nth must be an integer >= 1")
      const delay = yield* Effect.flip(FaultInjector.make({ faults: { w: { kind: "delay" } } }))
      assert.include(delay.reason, "a delay fault needs a delay")
      const seed = yield* Effect.flip(FaultInjector.make({ seed: 0.5 }))
      assert.strictEqual(seed.token, "seed")
      assert.throws(() => FaultInjector.unsafeMake({ faults: { "": { kind: "fail" } } }), /the point name is empty/)
    }))

  it.effect("regression (review of the testing kit): an unknown kind in options is a FaultSpecError, not a fault", () =>
    Effect.gen(function*() {
      const options = { faults: { w: { kind: "boom" } } } as unknown as FaultInjector.Options
      const error = yield* Effect.flip(Layer.build(FaultInjector.layer(options)).pipe(Effect.scoped))
      assert.include(error.message, `unknown kind "boom"`)
    }))

  describe("spec strings", () => {
    it.effect("parses the demo's format", () =>
      Effect.gen(function*() {
        const faults = yield* FaultInjector.parse(
          "processor-left:crash@p=0.01, writer-right:io-error@n=3,cache:delay=250ms,queue:interrupt,db:fail@n=2@p=0.5"
        )
        assert.deepStrictEqual(faults["processor-left"], { kind: "die", error: "crash", probability: 0.01 })
        assert.deepStrictEqual(faults["writer-right"], { kind: "fail", error: "io-error", nth: 3 })
        assert.strictEqual(faults.cache?.kind, "delay")
        assert.isTrue(Duration.equals(faults.cache!.delay!, Duration.millis(250)))
        assert.deepStrictEqual(faults.queue, { kind: "interrupt" })
        assert.deepStrictEqual(faults.db, { kind: "fail", nth: 2, probability: 0.5 })
        assert.deepStrictEqual(yield* FaultInjector.parse("  "), {})
      }))

    it.effect("names the bad token", () =>
      Effect.gen(function*() {
        const cases: ReadonlyArray<readonly [string, string, string]> = [
          ["a:crash,writer:explode", "writer:explode", `unknown fault "explode"`],
          ["writer", "writer", "expected <point>:<fault>"],
          ["w:die@p=1.5", "w:die@p=1.5", `bad probability "1.5"`],
          ["w:die@n=0", "w:die@n=0", `bad hit "0"`],
          ["w:die@q=1", "w:die@q=1", `unknown trigger "@q=1"`],
          ["w:delay=soon", "w:delay=soon", `bad delay "delay=soon"`],
          ["w:die,w:fail", "w:fail", `point "w" is configured twice`],
          ["a b:die", "a b:die", `bad point name "a b"`],
          // regressions (review of the testing kit): a repeated trigger was silently overwritten, and `Number` took
          // hexadecimal and exponent forms
          ["w:fail@n=3@n=4", "w:fail@n=3@n=4", `a second @n= trigger "@n=4"`],
          ["w:fail@p=0.5@p=0.2", "w:fail@p=0.5@p=0.2", `a second @p= trigger "@p=0.2"`],
          ["w:fail@p=0x1", "w:fail@p=0x1", `"0x1" is not a decimal number`],
          ["w:fail@n=1e1", "w:fail@n=1e1", `"1e1" is not a decimal number`]
        ]
        for (const [spec, token, reason] of cases) {
          const error = yield* Effect.flip(FaultInjector.parse(spec))
          assert.strictEqual(error.token, token, spec)
          assert.include(error.reason, reason, spec)
          assert.include(error.message, `invalid fault spec token "${token}" in "${spec}"`)
        }
      }))

    it.effect("decodes through the FaultSpec schema", () =>
      Effect.gen(function*() {
        const decoded = yield* Schema.decode(FaultInjector.FaultSpec)("w:io-error@n=1")
        assert.deepStrictEqual(decoded, { w: { kind: "fail", error: "io-error", nth: 1 } })
        const error = Schema.decodeEither(FaultInjector.FaultSpec)("w:boom")
        assert.isTrue(Either.isLeft(error))
        assert.include(String((error as Either.Left<Error, unknown>).left.message), `token "w:boom"`)
      }))

    it.effect("installs an injector from a spec and a seed", () =>
      Effect.gen(function*() {
        const exits = yield* hitTimes(3, "writer-right")
        assert.deepStrictEqual(exits.map(Exit.isFailure), [false, false, true])
      }).pipe(Effect.provide(FaultInjector.layerFromSpec("writer-right:io-error@n=3", { seed: 1 }))))

    it.effect("a bad spec fails the layer with the token", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Layer.build(FaultInjector.layerFromSpec("w:nope")).pipe(Effect.scoped))
        assert.strictEqual(error.token, "w:nope")
      }))
  })
})
