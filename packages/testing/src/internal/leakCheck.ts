import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import { globalValue } from "effect/GlobalValue"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Scope from "effect/Scope"
import type * as LeakCheck from "../LeakCheck.js"
import { describeFiber, FiberTracker } from "./fiberTracker.js"

/** @internal */
export class LeakProbes extends Context.Reference<LeakProbes>()("@core-stability/testing/LeakProbes", {
  defaultValue: (): ReadonlyArray<LeakCheck.LeakProbe> => []
}) {}

/** @internal */
export const layer = (probes: ReadonlyArray<LeakCheck.LeakProbe>): Layer.Layer<LeakProbes> =>
  Layer.effect(LeakProbes, Effect.map(LeakProbes, (installed) => [...installed, ...probes]))

const kindLabel: Record<LeakCheck.Leak["kind"], string> = {
  fiber: "fiber",
  scope: "scope",
  resource: "resource",
  probe: "probe"
}

/** @internal */
export const renderLeaks = (leaks: ReadonlyArray<LeakCheck.Leak>): string =>
  leaks.map((leak) => `  - [${kindLabel[leak.kind]}: ${leak.source}] ${leak.description}`).join("\n")

/** @internal */
export class LeakDetected extends Data.TaggedError("LeakDetected")<{
  readonly leaks: ReadonlyArray<LeakCheck.Leak>
  readonly failure: Option.Option<Cause.Cause<unknown>>
}> {
  override get message(): string {
    const failure = Option.match(this.failure, {
      onNone: () => "",
      onSome: (cause) => `\nthe effect itself also failed:\n${Cause.pretty(cause)}`
    })
    return `expectNoLeaks: ${this.leaks.length} leak(s) when the effect ended:\n${renderLeaks(this.leaks)}${failure}`
  }
}

/** @internal */
export const isLeakDetected = (u: unknown): u is LeakCheck.LeakDetected => Predicate.isTagged(u, "LeakDetected")

interface Registry {
  readonly resources: Map<number, string>
  readonly scopes: Map<number, { readonly label: string; readonly scope: Scope.CloseableScope }>
  nextId: number
}

const currentRegistry = globalValue(
  Symbol.for("@core-stability/testing/LeakCheck/currentRegistry"),
  () => FiberRef.unsafeMake<Registry | undefined>(undefined, { fork: (parent) => parent, join: (parent) => parent })
)

/** @internal */
export const track = (label: string): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(FiberRef.get(currentRegistry), (registry) => {
    if (registry === undefined) {
      return Effect.void
    }
    return Effect.acquireRelease(
      Effect.sync(() => {
        const id = registry.nextId++
        registry.resources.set(id, label)
        return id
      }),
      (id) => Effect.sync(() => registry.resources.delete(id))
    )
  })

/** @internal */
export const makeScope = (label: string): Effect.Effect<Scope.CloseableScope> =>
  Effect.flatMap(FiberRef.get(currentRegistry), (registry) =>
    Effect.tap(Scope.make(), (scope) => {
      if (registry === undefined) {
        return Effect.void
      }
      const id = registry.nextId++
      registry.scopes.set(id, { label, scope })
      return Scope.addFinalizer(scope, Effect.sync(() => registry.scopes.delete(id)))
    }))

/**
 * How many finalizers a scope made by `Scope.make` still holds. Effect 3's scope keeps them in `state.finalizers`
 * (`forkIn` relies on the same shape); a child scope or a `forkScoped` fiber removes its entry when it ends, so
 * what remains is exactly what closing the scope would release.
 */
const pendingFinalizers = (scope: Scope.Scope): number => {
  const state =
    (scope as unknown as { readonly state?: { readonly _tag: string; readonly finalizers?: Map<{}, unknown> } })
      .state
  return state !== undefined && state._tag === "Open" && state.finalizers !== undefined ? state.finalizers.size : 0
}

const collectProbeLeaks = (probes: ReadonlyArray<LeakCheck.LeakProbe>): Effect.Effect<Array<LeakCheck.Leak>> =>
  Effect.map(
    Effect.forEach(probes, (probe) =>
      Effect.map(
        probe.leaks,
        (descriptions) =>
          descriptions.map((description): LeakCheck.Leak => ({ kind: "probe", source: probe.name, description }))
      )),
    (groups) => groups.flat()
  )

/** @internal */
export const expectNoLeaks: {
  (
    options?: LeakCheck.Options
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | LeakCheck.LeakDetected, Exclude<R, Scope.Scope>>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    options?: LeakCheck.Options
  ): Effect.Effect<A, E | LeakCheck.LeakDetected, Exclude<R, Scope.Scope>>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    options?: LeakCheck.Options
  ): Effect.Effect<A, E | LeakCheck.LeakDetected, Exclude<R, Scope.Scope>> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const tracker = new FiberTracker()
        const registry: Registry = { resources: new Map(), scopes: new Map(), nextId: 0 }
        const scope = yield* Scope.make()
        const exit = yield* restore(self).pipe(
          Scope.extend(scope),
          Effect.locally(currentRegistry, registry),
          Effect.supervised(tracker),
          Effect.exit
        )
        const leaks: Array<LeakCheck.Leak> = []
        const fibers = Array.from(tracker.live)
        for (const [fiber, parent] of fibers) {
          leaks.push({
            kind: "fiber",
            source: "fibers",
            description: `${yield* describeFiber(fiber, parent)} (still alive)`
          })
        }
        const held = pendingFinalizers(scope)
        if (held > 0) {
          leaks.push({
            kind: "scope",
            source: "the effect's Scope",
            description: `${held} finalizer(s) never ran: resources acquired with acquireRelease, addFinalizer or ` +
              `forkScoped were not released before the effect ended`
          })
        }
        for (const { label, scope: tracked } of registry.scopes.values()) {
          leaks.push({
            kind: "scope",
            source: label,
            // one of the finalizers is the registry's own bookkeeping
            description: `made with LeakCheck.makeScope and never closed (${
              pendingFinalizers(tracked) - 1
            } finalizer(s) pending)`
          })
        }
        for (const label of registry.resources.values()) {
          leaks.push({ kind: "resource", source: label, description: "acquired and still held" })
        }
        const installed = yield* LeakProbes
        leaks.push(...(yield* collectProbeLeaks([...installed, ...(options?.probes ?? [])])))
        if (options?.interruptLeakedFibers !== false) {
          yield* Effect.forEach(fibers, ([fiber]) => Fiber.interruptFork(fiber), { discard: true })
        }
        yield* Scope.close(scope, exit)
        if (leaks.length > 0) {
          return yield* new LeakDetected({
            leaks,
            failure: Exit.isFailure(exit) ? Option.some(exit.cause) : Option.none()
          })
        }
        return yield* exit
      })
    )
)
