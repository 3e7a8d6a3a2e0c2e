import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import type * as CleanupContract from "../CleanupContract.js"
import type * as Contract from "../Contract.js"
import { ensure, register } from "./contract.js"
import * as explore from "./explore.js"
import * as watchdog from "./watchdog.js"

const contract = "cleanup"

/** @internal */
export class StepFailed extends Data.TaggedError("StepFailed")<{ readonly step: string }> {
  override get message(): string {
    return `cleanup step "${this.step}" failed (injected by the cleanup contract suite)`
  }
}

/** @internal */
export const isStepFailed = (u: unknown): u is CleanupContract.StepFailed => Predicate.isTagged(u, "StepFailed")

type Outcome = "succeed" | "fail" | "die"

interface Spec {
  readonly name: string
  readonly dependsOn: ReadonlyArray<string>
}

/** A service graph: `api` uses `cache` and `db`, `cache` and `worker` use `db`, `metrics` and `logger` stand alone. */
const graph: ReadonlyArray<Spec> = [
  { name: "db", dependsOn: [] },
  { name: "logger", dependsOn: [] },
  { name: "cache", dependsOn: ["db"] },
  { name: "worker", dependsOn: ["db", "logger"] },
  { name: "api", dependsOn: ["cache", "db"] },
  { name: "metrics", dependsOn: [] }
]

const chain: ReadonlyArray<Spec> = [
  { name: "a", dependsOn: [] },
  { name: "b", dependsOn: ["a"] },
  { name: "c", dependsOn: ["b"] }
]

interface Journal {
  readonly events: Array<string>
}

const runScenario = <X>(
  makeCleanup: Effect.Effect<CleanupContract.ContractCleanup<X>, unknown, Scope.Scope>,
  specs: ReadonlyArray<Spec>,
  outcomes: Readonly<Record<string, Outcome>>
): Effect.Effect<Journal, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const cleanup = yield* makeCleanup
    const journal: Journal = { events: [] }
    for (const spec of specs) {
      const outcome = outcomes[spec.name] ?? "succeed"
      const body = Effect.gen(function*() {
        journal.events.push(`start:${spec.name}`)
        yield* Effect.yieldNow()
        journal.events.push(`end:${spec.name}`)
        if (outcome === "fail") return yield* new StepFailed({ step: spec.name })
        if (outcome === "die") return yield* Effect.die(new StepFailed({ step: spec.name }))
      })
      yield* cleanup.register({ name: spec.name, dependsOn: spec.dependsOn, run: body })
    }
    yield* Effect.exit(cleanup.run)
    return journal
  })

const attemptedOnce = (check: string, specs: ReadonlyArray<Spec>, journal: Journal) =>
  Effect.forEach(specs, (spec) => {
    const starts = journal.events.filter((event) => event === `start:${spec.name}`).length
    return ensure(contract, check, starts === 1, () =>
      `step "${spec.name}" was attempted ${starts} time(s); events: ${journal.events.join(" ")}`)
  }, { discard: true })

const edgesRespected = (check: string, specs: ReadonlyArray<Spec>, journal: Journal) =>
  Effect.forEach(specs, (spec) =>
    Effect.forEach(spec.dependsOn, (dependency) => {
      const dependentEnd = journal.events.indexOf(`end:${spec.name}`)
      const dependencyStart = journal.events.indexOf(`start:${dependency}`)
      return ensure(
        contract,
        check,
        dependentEnd >= 0 && dependencyStart >= 0 && dependentEnd < dependencyStart,
        () =>
          `"${spec.name}" depends on "${dependency}", so it must finish cleaning up before "${dependency}" starts; ` +
          `events: ${journal.events.join(" ")}`
      )
    }, { discard: true }), { discard: true })

/** @internal */
export const checks = <X>(
  makeCleanup: Effect.Effect<CleanupContract.ContractCleanup<X>, unknown, Scope.Scope>,
  options?: CleanupContract.Options
): ReadonlyArray<Contract.Check> => {
  const runs = options?.runs ?? explore.defaultRuns
  const seed = options?.seed ?? explore.defaultSeed
  const idle = options?.idle ?? watchdog.defaultIdle
  const guarded = <A, E>(self: Effect.Effect<A, E, Scope.Scope>) =>
    self.pipe(Effect.scoped, (e) => watchdog.watch(e, { idle }), (e) => explore.explore(e, { runs, seed }))

  const isolation = (label: string, outcome: Outcome): Contract.Check => ({
    name: `a step that ${label} does not stop the others: every step attempted once, order kept (${runs} seeds)`,
    run: guarded(Effect.gen(function*() {
      const journal = yield* runScenario(makeCleanup, graph, { cache: outcome })
      yield* attemptedOnce(`isolation (${label})`, graph, journal)
      yield* edgesRespected(`isolation (${label})`, graph, journal)
    }))
  })

  return [
    {
      name: "a chain cleans up dependents first (c, b, a)",
      run: guarded(Effect.gen(function*() {
        const journal = yield* runScenario(makeCleanup, chain, {})
        const order = journal.events.filter((event) => event.startsWith("start:")).map((event) => event.slice(6))
        yield* ensure(
          contract,
          "chain order",
          order.join(",") === "c,b,a",
          () => `cleaned up in order ${order.join(", ")}`
        )
      }))
    },
    {
      name: `every dependent finishes before its dependencies start (${runs} seeds)`,
      run: guarded(Effect.gen(function*() {
        const journal = yield* runScenario(makeCleanup, graph, {})
        yield* edgesRespected("reverse-dependency order", graph, journal)
        yield* attemptedOnce("reverse-dependency order", graph, journal)
      }))
    },
    isolation("fails", "fail"),
    isolation("dies", "die")
  ]
}

/** @internal */
export const cleanupContractSuite = <X>(
  name: string,
  makeCleanup: Effect.Effect<CleanupContract.ContractCleanup<X>, unknown, Scope.Scope>,
  options?: CleanupContract.Options
): void => register(name, checks(makeCleanup, options))
