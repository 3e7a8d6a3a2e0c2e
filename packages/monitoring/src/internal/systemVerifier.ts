import * as BufferManager from "@core-stability/coordinator/BufferManager"
import type * as ComponentCoordinator from "@core-stability/coordinator/ComponentCoordinator"
import * as ResourcePool from "@core-stability/coordinator/ResourcePool"
import * as LockRegistry from "@core-stability/locks/LockRegistry"
import type * as RecoveryCoordinator from "@core-stability/recovery/RecoveryCoordinator"
import { StateMachine } from "@core-stability/state-machine"
import type { TransitionRecord } from "@core-stability/state-machine/TransitionRecord"
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import type { MonitoringCoordinator } from "../MonitoringCoordinator.js"
import { InvalidMonitoringOptions, UnknownCheck, VerificationFailed } from "../MonitoringError.js"
import type * as Api from "../SystemVerifier.js"
import type { CheckResult, RestartSummary, VerificationReport } from "../VerificationReport.js"
import { toJson, verdictOf } from "../VerificationReport.js"

type State = ComponentCoordinator.ComponentState

const runningStates: ReadonlySet<State> = new Set(["Running", "Paused"])
const quiescentStates: ReadonlySet<State> = new Set(["Uninitialized", "Stopped"])

const outcome = <A>(passed: boolean, details: ReadonlyArray<string>, data: A): Api.Outcome<A> => ({
  passed,
  details,
  data
})

const plural = (n: number, word: string, words = `${word}s`): string => `${n} ${n === 1 ? word : words}`

// ----- components -----

const expectedFor = (expected: Api.ExpectedStates | undefined, id: string): ReadonlyArray<State> => {
  if (expected === undefined) return ["Running"]
  if (typeof expected === "string") return [expected]
  if (Array.isArray(expected)) return expected as ReadonlyArray<State>
  const own = (expected as Readonly<Record<string, State | ReadonlyArray<State>>>)[id]
  return own === undefined ? ["Running"] : typeof own === "string" ? [own] : own as ReadonlyArray<State>
}

/** @internal */
export const checkComponentStates = (
  components: ComponentCoordinator.ComponentCoordinator,
  expected?: Api.ExpectedStates
): Api.Check<Api.ComponentStates> => ({
  name: "components",
  run: Effect.map(components.components, (infos) => {
    const rows = infos.map((info) => ({ id: info.id, state: info.state, expected: expectedFor(expected, info.id) }))
    const wrong = rows.filter((row) => !row.expected.includes(row.state))
    const details = wrong.length === 0
      ? [`${plural(rows.length, "component")} in their expected states`]
      : wrong.map((row) => {
        const info = infos.find((candidate) => candidate.id === row.id)!
        const why = info.lastFailure === undefined ? "" : `; last failure: ${info.lastFailure.error.message}`
        return `${row.id} is ${row.state}, expected ${row.expected.join(" or ")}${why}`
      })
    return outcome(wrong.length === 0, details, { components: rows, mismatches: wrong.map((row) => row.id) })
  })
})

// ----- health -----

/** @internal */
export const checkHealth = (
  components: ComponentCoordinator.ComponentCoordinator
): Api.Check<ComponentCoordinator.HealthReport> => ({
  name: "health",
  run: Effect.map(Effect.zip(components.health, components.components), ([report, infos]) => {
    const failed = report.checks.filter((check) => check.status === "failed")
    const degraded = report.checks.filter((check) => check.status === "degraded")
    const line = (check: ComponentCoordinator.CheckResult) =>
      `${check.component} (${check.state}) is ${check.status}${check.reason === undefined ? "" : `: ${check.reason}`}`
    // Stopped and Uninitialized components are not checked: counted by state, so "0 healthy" is not read as a fault.
    const checked = new Set(report.checks.map((check) => check.component))
    const unchecked = (state: State) => infos.filter((info) => !checked.has(info.id) && info.state === state).length
    const uninitialized = unchecked("Uninitialized")
    const counts = `${plural(Math.max(infos.length, report.checks.length), "component")}: ` +
      `${report.checks.length - failed.length - degraded.length} healthy, ${unchecked("Stopped")} stopped, ` +
      (uninitialized === 0 ? "" : `${uninitialized} uninitialized, `) +
      `${degraded.length} degraded, ${failed.length} failed`
    const details = failed.length === 0 && degraded.length === 0
      ? [counts]
      : [...failed.map(line), ...degraded.map(line)]
    return outcome(failed.length === 0, details, report)
  })
})

// ----- locks -----

const fiberNumber = (label: string): number | undefined => {
  const match = /^#(\d+)/.exec(label)
  return match === null ? undefined : Number(match[1])
}

/** The ids of every live fiber: the roots, then each fiber's children, level by level. */
const liveFibers: Effect.Effect<ReadonlySet<number>> = Effect.gen(function*() {
  const seen = new Set<number>()
  let level: ReadonlyArray<Fiber.RuntimeFiber<unknown, unknown>> = yield* Fiber.roots
  while (level.length > 0) {
    const fresh = level.filter((fiber) => {
      const id = fiber.id().id
      if (seen.has(id)) return false
      seen.add(id)
      return true
    })
    const children = yield* Effect.forEach(fresh, Fiber.children, { concurrency: "unbounded" })
    level = children.flat()
  }
  return seen
})

const lockLabel = (lock: { readonly name: string; readonly key: string | undefined }): string =>
  lock.key === undefined ? lock.name : `${lock.name}:${lock.key}`

const orphansOf = (snapshot: LockRegistry.LockSnapshot, live: ReadonlySet<number>): Array<Api.OrphanedLock> => {
  const orphans: Array<Api.OrphanedLock> = []
  const dead = (fiber: string) => {
    const id = fiberNumber(fiber)
    return id !== undefined && !live.has(id)
  }
  for (const entry of snapshot.locks) {
    const lock = lockLabel(entry.lock)
    for (const holder of entry.holders) {
      if (dead(holder.fiber)) orphans.push({ lock, role: "holder", fiber: holder.fiber, site: holder.site })
    }
    for (const waiter of entry.waiters) {
      if (dead(waiter.fiber)) orphans.push({ lock, role: "waiter", fiber: waiter.fiber, site: waiter.site })
    }
  }
  return orphans
}

const key = (orphan: Api.OrphanedLock): string => `${orphan.lock}|${orphan.role}|${orphan.fiber}`

/** @internal */
export const checkLocks = (registry?: LockRegistry.Registry): Api.Check<Api.LockLiveness> => {
  const snapshot = registry === undefined
    ? LockRegistry.snapshot()
    : Effect.provideService(LockRegistry.snapshot(), LockRegistry.LockRegistry, registry)
  return {
    name: "locks",
    run: Effect.gen(function*() {
      let current = yield* snapshot
      let live = yield* liveFibers
      let orphans = orphansOf(current, live)
      if (orphans.length > 0) {
        // a fiber forked a moment ago reaches its parent's children asynchronously: confirm after a yield
        const suspects = new Set(orphans.map(key))
        yield* Effect.yieldNow()
        live = yield* liveFibers
        current = yield* snapshot
        orphans = orphansOf(current, live).filter((orphan) => suspects.has(key(orphan)))
      }
      const holders = current.locks.reduce((total, entry) => total + entry.holders.length, 0)
      const waiters = current.locks.reduce((total, entry) => total + entry.waiters.length, 0)
      const details = orphans.length === 0
        ? [`${plural(holders, "holder")} and ${plural(waiters, "waiter")}, all live fibers`]
        : orphans.map((orphan) =>
          `${orphan.lock} ${
            orphan.role === "holder" ? "held" : "awaited"
          } by ${orphan.fiber}, which is no longer alive${
            orphan.site === undefined ? "" : ` (${orphan.role === "holder" ? "taken" : "requested"} at ${orphan.site})`
          }`
        )
      return outcome(orphans.length === 0, details, { holders, waiters, liveFibers: live.size, orphans })
    })
  }
}

// ----- resources -----

const isBufferSource = (
  source: BufferManager.BufferManager<never, never, any> | Api.BufferSource
): source is Api.BufferSource => !BufferManager.isBufferManager(source)

const statsOf = (
  source: BufferManager.BufferManager<never, never, any> | Api.BufferSource
): Effect.Effect<BufferManager.Stats> => isBufferSource(source) ? source.stats : BufferManager.stats(source)

/** @internal */
export const checkResources = (sources: {
  readonly components?: ComponentCoordinator.ComponentCoordinator | undefined
  readonly pools?: ReadonlyArray<{ readonly pool: ResourcePool.ResourcePool; readonly baseline: number }> | undefined
  readonly buffers?: ReadonlyArray<BufferManager.BufferManager<never, never, any> | Api.BufferSource> | undefined
}): Api.Check<Api.ResourceAccounting> => ({
  name: "resources",
  run: Effect.gen(function*() {
    const details: Array<string> = []
    let allocations = 0
    let leaked: Array<ComponentCoordinator.LeakReport["allocations"][number]> = []
    if (sources.components !== undefined) {
      const infos = yield* sources.components.components
      const report = yield* sources.components.leakReport
      const states = new Map(infos.map((info) => [info.id, info.state]))
      allocations = report.allocations.length
      leaked = report.allocations.filter((allocation) => {
        const state = states.get(allocation.component)
        return allocation.releaseFailure !== undefined || state === undefined || quiescentStates.has(state)
      })
      for (const allocation of leaked) {
        const owner = `${allocation.component}${allocation.channel === undefined ? "" : `/${allocation.channel}`}`
        const state = states.get(allocation.component) ?? "unknown"
        details.push(
          `${allocation.type} #${allocation.id} x${allocation.amount} held by ${owner} (${state}), allocated at ${
            allocation.site ?? "an unknown site"
          }${allocation.releaseFailure === undefined ? "" : `: release failed: ${allocation.releaseFailure}`}`
        )
      }
    }
    const managers = (sources.buffers ?? []).filter((source) => !isBufferSource(source)) as ReadonlyArray<
      BufferManager.BufferManager<never, never, any>
    >
    const pools = (sources.pools ?? []).map(({ baseline, pool }) => {
      // one synchronous read of the pool and of its managers: no put or take lands in between
      const stats = ResourcePool.unsafeStats(pool)
      const inUse = stats.tiers.reduce((total, tier) => total + tier.inUse, 0)
      const managed = managers
        .filter((manager) => manager.pool === pool)
        .reduce((total, manager) => total + BufferManager.unsafeStats(manager).heldBuffers, 0)
      return { pool: stats.name, inUse, managed, baseline, owners: stats.owners }
    })
    for (const pool of pools) {
      if (pool.inUse - pool.managed === pool.baseline) continue
      const owners = Object.entries(pool.owners).map(([owner, count]) => `${owner}: ${count}`).join(", ")
      details.push(
        `pool ${pool.pool}: ${pool.inUse} buffer(s) in use, ${pool.managed} held by buffer managers, baseline ${pool.baseline}${
          owners.length === 0 ? "" : ` (by owner: ${owners})`
        }`
      )
    }
    const passed = details.length === 0
    if (passed) {
      details.push(
        `${plural(allocations, "allocation")} held by live components; ${plural(pools.length, "pool")} at baseline`
      )
    }
    return outcome(passed, details, {
      allocations,
      leaked,
      pools: pools.map(({ baseline, inUse, managed, pool }) => ({ pool, inUse, managed, baseline }))
    })
  })
})

// ----- buffers -----

/** @internal */
export const checkBuffers = (
  buffers: ReadonlyArray<BufferManager.BufferManager<never, never, any> | Api.BufferSource>
): Api.Check<Api.BufferBalance> => ({
  name: "buffers",
  run: Effect.map(Effect.forEach(buffers, statsOf), (all) => {
    const queues = all.flatMap((stats) => stats.queues.map((queue) => ({ manager: stats.name, queue })))
    const unbalanced = queues
      .filter(({ queue }) => queue.put !== queue.taken + queue.dropped + queue.size)
      .map(({ manager, queue }) => ({
        manager,
        stage: queue.stage,
        channel: queue.channel,
        put: queue.put,
        taken: queue.taken,
        dropped: queue.dropped,
        queued: queue.size
      }))
    const details = unbalanced.length === 0
      ? [`${plural(queues.length, "queue")} balanced (put = taken + dropped + queued)`]
      : unbalanced.map((queue) => {
        const difference = queue.put - queue.taken - queue.dropped - queue.queued
        return `${queue.manager} ${queue.stage}/${queue.channel}: put ${queue.put} != taken ${queue.taken} + dropped ${queue.dropped} + queued ${queue.queued} (${
          difference > 0 ? `${difference} item(s) unaccounted for` : `${-difference} more out than in`
        })`
      })
    return outcome(unbalanced.length === 0, details, { queues: queues.length, unbalanced })
  })
})

// ----- histories -----

const breaksOf = (machine: string, history: ReadonlyArray<TransitionRecord<string>>): Array<Api.HistoryBreak> => {
  const breaks: Array<Api.HistoryBreak> = []
  let previousSeq: number | undefined = undefined
  let previousTo: { readonly seq: number; readonly to: string } | undefined = undefined
  for (const entry of history) {
    if (previousSeq !== undefined && entry.seq <= previousSeq) {
      breaks.push({ machine, seq: entry.seq, reason: `seq ${entry.seq} does not follow seq ${previousSeq}` })
    }
    previousSeq = entry.seq
    if (!entry.success) continue
    if (previousTo !== undefined && entry.from !== previousTo.to) {
      breaks.push({
        machine,
        seq: entry.seq,
        reason:
          `entry ${entry.seq} (${entry.kind}) starts from ${entry.from}, but entry ${previousTo.seq} ended in ${previousTo.to}`
      })
    }
    previousTo = { seq: entry.seq, to: entry.to }
  }
  return breaks
}

const isHistorySource = (
  source: StateMachine.StateMachine<any> | Api.HistorySource
): source is Api.HistorySource => !StateMachine.isStateMachine(source)

/** @internal */
export const checkHistories = (sources: {
  readonly components?: ComponentCoordinator.ComponentCoordinator | undefined
  readonly machines?: ReadonlyArray<StateMachine.StateMachine<any> | Api.HistorySource> | undefined
}): Api.Check<Api.HistoryConsistency> => ({
  name: "histories",
  run: Effect.gen(function*() {
    const histories: Array<{ readonly name: string; readonly history: ReadonlyArray<TransitionRecord<string>> }> = []
    if (sources.components !== undefined) {
      const components = sources.components
      const ids = yield* components.order
      for (const id of ids) {
        histories.push({ name: `component:${id}`, history: yield* Effect.orDie(components.history(id)) })
      }
    }
    for (const machine of sources.machines ?? []) {
      histories.push(
        isHistorySource(machine)
          ? { name: machine.name, history: yield* machine.history }
          : {
            name: machine.channel === undefined ? machine.name : `${machine.name}/${machine.channel}`,
            history: yield* StateMachine.history(machine)
          }
      )
    }
    const breaks = histories.flatMap(({ history, name }) => breaksOf(name, history))
    const entries = histories.reduce((total, { history }) => total + history.length, 0)
    const details = breaks.length === 0
      ? [`${plural(histories.length, "history", "histories")} (${plural(entries, "entry", "entries")}) linked`]
      : breaks.map((broken) => `${broken.machine}: ${broken.reason}`)
    return outcome(breaks.length === 0, details, { machines: histories.length, entries, breaks })
  })
})

// ----- fibers -----

/** @internal */
export const checkFibers = (sources: {
  readonly components?: ComponentCoordinator.ComponentCoordinator | undefined
  readonly monitoring?: MonitoringCoordinator | undefined
}): Api.Check<Api.FiberLeftovers> => ({
  name: "fibers",
  run: Effect.gen(function*() {
    const stray: Array<Api.StrayFiber> = []
    let workers = 0
    const states = new Map<string, State>()
    if (sources.components !== undefined) {
      const infos = yield* sources.components.components
      const report = yield* sources.components.leakReport
      workers = report.workers.length
      for (const info of infos) {
        states.set(info.id, info.state)
        const alive = report.workers.filter((worker) => worker.component === info.id)
        // the current incarnation's workers are counted in `info.workers`; any other live one is left over
        if (alive.length <= info.workers) continue
        for (const worker of alive) {
          stray.push({
            component: info.id,
            state: info.state,
            name: worker.worker,
            fiber: worker.fiber,
            source: "worker"
          })
        }
      }
    }
    if (sources.monitoring !== undefined) {
      const watched = yield* sources.monitoring.fibers
      for (const fiber of watched) {
        if (fiber.component === undefined || (fiber.status !== "active" && fiber.status !== "hung")) continue
        const state = states.get(fiber.component) ??
          (sources.components === undefined
            ? undefined
            : Option.getOrUndefined(yield* Effect.option(sources.components.state(fiber.component))))
        if (state !== "Stopped") continue
        stray.push({ component: fiber.component, state, name: fiber.name, fiber: fiber.fiber, source: "watched" })
      }
    }
    const details = stray.length === 0
      ? [`${plural(workers, "live worker")}, none left over from a stopped incarnation`]
      : stray.map((fiber) =>
        fiber.source === "worker"
          ? runningStates.has(fiber.state)
            ? `${fiber.component} (${fiber.state}) has more live workers than its current incarnation forked: ${fiber.name} (${fiber.fiber}) may be left over from a previous one`
            : `worker ${fiber.name} (${fiber.fiber}) of ${fiber.component} is still alive, but ${fiber.component} is ${fiber.state}`
          : `watched fiber ${fiber.name} (${fiber.fiber}) of ${fiber.component} is still active, but ${fiber.component} is ${fiber.state}`
      )
    return outcome(stray.length === 0, details, { workers, stray })
  })
})

// ----- running checks -----

const firstLine = (text: string): string => text.split("\n")[0] ?? ""

/**
 * The runs of checks that timed out and have not ended yet, by check name: a check that ignores its interruption
 * (an uninterruptible region, a blocking call) keeps running after its timeout, and is not started again while it
 * does.
 */
type Abandoned = Map<string, Fiber.RuntimeFiber<unknown, unknown>>

/**
 * Runs a check; with `timeoutMs` undefined it is not timed out (a restart must not be interrupted half-way).
 *
 * A timed check runs in a fiber of its own, as `Effect.disconnect` does: at the timeout it is sent an interruption and
 * left to end on its own, so the timeout is an upper bound of the check's time in the report even for a check that
 * ignores interruption. Such a run is kept in `abandoned` until it ends; meanwhile the check is not run again (it is
 * reported as an error), so a stuck check does not pile up a fiber per verification.
 */
const runCheck = (
  check: Api.Check,
  timeoutMs: number | undefined,
  abandoned: Abandoned
): Effect.Effect<CheckResult> =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const stuck = abandoned.get(check.name)
    if (stuck !== undefined) {
      return {
        name: check.name,
        status: "error",
        details: [
          `not run: its run from an earlier verification timed out and is still running (${
            FiberId.threadName(stuck.id())
          } did not stop when interrupted)`
        ],
        durationMs: 0,
        data: undefined
      }
    }
    const exit = yield* (timeoutMs === undefined
      ? Effect.exit(Effect.asSome(check.run))
      : Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.forkDaemon(restore(check.run))
          const done = yield* restore(Effect.timeoutOption(Fiber.await(fiber), Duration.millis(timeoutMs))).pipe(
            Effect.onInterrupt(() => Fiber.interruptFork(fiber))
          )
          if (Option.isSome(done)) return Exit.map(done.value, Option.some)
          // timed out: interrupt it without waiting for it to stop, and keep it until it ends
          abandoned.set(check.name, fiber)
          fiber.addObserver(() => {
            if (abandoned.get(check.name) === fiber) abandoned.delete(check.name)
          })
          yield* Fiber.interruptFork(fiber)
          return Exit.succeed(Option.none())
        })
      ))
    const durationMs = (yield* Clock.currentTimeMillis) - start
    if (Exit.isSuccess(exit)) {
      if (Option.isNone(exit.value)) {
        return {
          name: check.name,
          status: "error",
          details: [`timed out after ${timeoutMs} ms`],
          durationMs,
          data: undefined
        }
      }
      const { data, details, passed } = exit.value.value
      return { name: check.name, status: passed ? "passed" : "failed", details, durationMs, data }
    }
    const failure = Cause.failureOption(exit.cause)
    const reason = Option.isSome(failure)
      ? failure.value instanceof Error ? failure.value.message : String(failure.value)
      : firstLine(Cause.pretty(exit.cause))
    return { name: check.name, status: "error", details: [`could not run: ${reason}`], durationMs, data: undefined }
  })

const runAll = (
  checks: ReadonlyArray<Api.Check>,
  timeoutMs: number,
  abandoned: Abandoned
): Effect.Effect<ReadonlyArray<CheckResult>> =>
  Effect.forEach(checks, (check) => runCheck(check, timeoutMs, abandoned), { concurrency: "unbounded" })

// ----- restart verification -----

interface Before {
  readonly id: string
  readonly generation: number
  readonly allocations: ReadonlyArray<ComponentCoordinator.Allocation<unknown>>
  readonly workers: ReadonlyArray<string>
}

const signature = (
  allocation: { readonly type: string; readonly channel: string | undefined; readonly amount: number }
) => `${allocation.type}${allocation.channel === undefined ? "" : `/${allocation.channel}`} x${allocation.amount}`

const tally = (
  allocations: ReadonlyArray<{ readonly type: string; readonly channel: string | undefined; readonly amount: number }>
): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const allocation of allocations) counts.set(signature(allocation), (counts.get(signature(allocation)) ?? 0) + 1)
  return counts
}

const restartChecks = (
  components: ComponentCoordinator.ComponentCoordinator,
  target: Api.RestartTarget
): { readonly checks: ReadonlyArray<Api.Check>; readonly summary: Effect.Effect<RestartSummary> } => {
  const label = target._tag === "Component" ? target.id : "system"
  let before: ReadonlyArray<Before> = []
  let after = new Map<string, ComponentCoordinator.ComponentInfo>()
  const restart: Api.Check<{ readonly restarted: ReadonlyArray<string> }> = {
    name: "restart",
    run: Effect.gen(function*() {
      const infos = yield* components.components
      const targets = target._tag === "Component"
        ? infos.filter((info) => info.id === target.id)
        : infos.filter((info) => runningStates.has(info.state))
      if (target._tag === "Component" && targets.length === 0) {
        return outcome(false, [`no component "${target.id}"`], { restarted: [] })
      }
      const leak = yield* components.leakReport
      before = yield* Effect.forEach(
        targets,
        (info) =>
          Effect.map(Effect.orDie(components.resources(info.id)), (allocations): Before => ({
            id: info.id,
            generation: info.generation,
            allocations,
            workers: leak.workers.filter((worker) => worker.component === info.id).map((worker) => worker.fiber)
          }))
      )
      const exit = yield* Effect.exit(
        target._tag === "Component"
          ? components.restart(target.id)
          : Effect.zipRight(components.stopAll, components.startAll)
      )
      after = new Map((yield* components.components).map((info) => [info.id, info]))
      const restarted = before.map((entry) => entry.id)
      if (Exit.isSuccess(exit)) {
        return outcome(true, [`restarted ${restarted.length === 0 ? "nothing" : restarted.join(", ")}`], {
          restarted
        })
      }
      const failure = Cause.failureOption(exit.cause)
      const reason = Option.isSome(failure) ? failure.value.message : firstLine(Cause.pretty(exit.cause))
      return outcome(false, [`restart of ${label} failed: ${reason}`], { restarted })
    })
  }
  const running: Api.Check<{ readonly notRestarted: ReadonlyArray<string> }> = {
    name: "restart-running",
    run: Effect.sync(() => {
      const details: Array<string> = []
      const notRestarted: Array<string> = []
      for (const entry of before) {
        const info = after.get(entry.id)
        if (info === undefined) continue
        if (!runningStates.has(info.state)) details.push(`${entry.id} is ${info.state} after the restart`)
        else if (info.generation <= entry.generation) {
          details.push(`${entry.id} was not restarted: generation ${info.generation} (was ${entry.generation})`)
        } else continue
        notRestarted.push(entry.id)
      }
      return outcome(
        details.length === 0,
        details.length === 0 ? [`${plural(before.length, "component")} running again, in a new generation`] : details,
        { notRestarted }
      )
    })
  }
  const resources: Api.Check<{ readonly missing: ReadonlyArray<string>; readonly reused: ReadonlyArray<number> }> = {
    name: "restart-resources",
    run: Effect.gen(function*() {
      const missing: Array<string> = []
      const reused: Array<number> = []
      for (const entry of before) {
        const now = yield* Effect.orDie(components.resources(entry.id))
        const old = new Set(entry.allocations.map((allocation) => allocation.id))
        for (const allocation of now) if (old.has(allocation.id)) reused.push(allocation.id)
        const expected = tally(entry.allocations)
        const actual = tally(now.filter((allocation) => !old.has(allocation.id)))
        for (const [resource, count] of expected) {
          const got = actual.get(resource) ?? 0
          if (got < count) missing.push(`${entry.id}: ${resource}: ${count} before the restart, ${got} re-acquired`)
        }
      }
      const details = [
        ...missing,
        ...reused.map((id) => `allocation #${id} of the old instance is still held instead of being re-acquired`)
      ]
      const total = before.reduce((sum, entry) => sum + entry.allocations.length, 0)
      return outcome(
        details.length === 0,
        details.length === 0 ? [`${plural(total, "allocation")} re-acquired as new allocations`] : details,
        { missing, reused }
      )
    })
  }
  const leftovers: Api.Check<{ readonly allocations: ReadonlyArray<number>; readonly workers: ReadonlyArray<string> }> =
    {
      name: "restart-leftovers",
      run: Effect.map(components.leakReport, (leak) => {
        const oldAllocations = new Set(before.flatMap((entry) => entry.allocations.map((allocation) => allocation.id)))
        const oldWorkers = new Set(before.flatMap((entry) => entry.workers))
        const allocations = leak.allocations.filter((allocation) => oldAllocations.has(allocation.id))
        const workers = leak.workers.filter((worker) => oldWorkers.has(worker.fiber))
        const details = [
          ...allocations.map((allocation) =>
            `${allocation.type} #${allocation.id} of the old ${allocation.component} is still held${
              allocation.releaseFailure === undefined ? "" : `: release failed: ${allocation.releaseFailure}`
            }`
          ),
          ...workers.map((worker) =>
            `worker ${worker.worker} (${worker.fiber}) of the old ${worker.component} is still alive`
          )
        ]
        return outcome(
          details.length === 0,
          details.length === 0 ? ["nothing of the old instance is left"] : details,
          {
            allocations: allocations.map((allocation) => allocation.id),
            workers: workers.map((worker) => worker.fiber)
          }
        )
      })
    }
  return {
    checks: [restart, running, resources, leftovers],
    summary: Effect.sync(() => ({
      target: label,
      components: before.map((entry) => ({
        id: entry.id,
        generationBefore: entry.generation,
        generationAfter: after.get(entry.id)?.generation ?? entry.generation
      }))
    }))
  }
}

// ----- the verifier -----

class VerifierImpl implements Api.SystemVerifier {
  last: VerificationReport | undefined = undefined
  readonly checks: ReadonlyArray<string>
  readonly stuck: Abandoned = new Map()

  constructor(
    readonly options: Api.Options,
    readonly all: ReadonlyArray<Api.Check>,
    readonly timeoutMs: number
  ) {
    this.checks = all.map((check) => check.name)
  }

  publish(report: VerificationReport): Effect.Effect<VerificationReport> {
    return Effect.gen(this, function*() {
      this.last = report
      if (this.options.monitoring !== undefined) yield* this.options.monitoring.recordVerification(report)
      const failing = report.checks.filter((check) => check.status !== "passed").map((check) => check.name)
      const message = `system verification ${report.verdict}${
        report.restart === undefined ? "" : ` (restart of ${report.restart.target})`
      }`
      yield* (report.verdict === "passed"
        ? Effect.logInfo(message)
        : Effect.logWarning(message).pipe(Effect.annotateLogs({ checks: failing.join(", ") })))
      return report
    })
  }

  verify(options?: { readonly only?: undefined } | undefined): Effect.Effect<VerificationReport>
  verify(options: Api.VerifyOptions): Effect.Effect<VerificationReport, UnknownCheck>
  verify(options?: Api.VerifyOptions): Effect.Effect<VerificationReport, UnknownCheck> {
    const only = options?.only
    return Effect.gen(this, function*() {
      if (only !== undefined) {
        const unknown = [...new Set(only.filter((name) => !this.checks.includes(name)))]
        if (unknown.length > 0) return yield* Effect.fail(new UnknownCheck({ checks: unknown, known: this.checks }))
      }
      const checks = only === undefined ? this.all : this.all.filter((check) => only.includes(check.name))
      const startedAt = yield* Clock.currentTimeMillis
      const results = yield* runAll(checks, this.timeoutMs, this.stuck)
      const durationMs = (yield* Clock.currentTimeMillis) - startedAt
      return yield* this.publish({
        startedAt,
        durationMs,
        verdict: verdictOf(results),
        checks: results,
        restart: undefined
      })
    })
  }

  verifyRestart(target: Api.RestartTarget): Effect.Effect<VerificationReport> {
    return Effect.gen(this, function*() {
      const startedAt = yield* Clock.currentTimeMillis
      const components = this.options.components
      if (components === undefined) {
        const result: CheckResult = {
          name: "restart",
          status: "error",
          details: ["could not run: the verifier was made without a ComponentCoordinator"],
          durationMs: 0,
          data: undefined
        }
        return yield* this.publish({
          startedAt,
          durationMs: 0,
          verdict: "error",
          checks: [result],
          restart: { target: target._tag === "Component" ? target.id : "system", components: [] }
        })
      }
      const { checks, summary } = restartChecks(components, target)
      const [restart, ...afterwards] = checks
      const first = yield* runCheck(restart!, undefined, this.stuck)
      const rest = yield* runAll([...afterwards, ...this.all], this.timeoutMs, this.stuck)
      const results = [first, ...rest]
      const durationMs = (yield* Clock.currentTimeMillis) - startedAt
      return yield* this.publish({
        startedAt,
        durationMs,
        verdict: verdictOf(results),
        checks: results,
        restart: yield* summary
      })
    })
  }

  get lastReport(): Effect.Effect<Option.Option<VerificationReport>> {
    return Effect.sync(() => Option.fromNullable(this.last))
  }

  get abandoned(): Effect.Effect<ReadonlyArray<Api.AbandonedCheck>> {
    return Effect.sync(() =>
      [...this.stuck].map(([check, fiber]) => ({ check, fiber: FiberId.threadName(fiber.id()) }))
    )
  }
}

/** @internal */
export const make = (options: Api.Options): Effect.Effect<Api.SystemVerifier, InvalidMonitoringOptions> =>
  Effect.suspend(() => {
    let timeoutMs = 5_000
    if (options.checkTimeout !== undefined) {
      const decoded = Duration.decodeUnknown(options.checkTimeout)
      timeoutMs = Option.isSome(decoded) ? Duration.toMillis(decoded.value) : Number.NaN
      if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) {
        return Effect.fail(
          new InvalidMonitoringOptions({ field: "checkTimeout", reason: "must be a positive finite duration" })
        )
      }
    }
    const pools: Array<{ readonly pool: ResourcePool.ResourcePool; readonly baseline: number }> = []
    for (const [index, entry] of (options.pools ?? []).entries()) {
      const { baseline, pool } = ResourcePool.isResourcePool(entry) ? { pool: entry, baseline: undefined } : entry
      if (baseline !== undefined && !(Number.isInteger(baseline) && baseline >= 0)) {
        return Effect.fail(
          new InvalidMonitoringOptions({ field: `pools[${index}].baseline`, reason: "must be a non-negative integer" })
        )
      }
      pools.push({
        pool,
        baseline: baseline ?? ResourcePool.unsafeStats(pool).tiers.reduce((total, tier) => total + tier.inUse, 0) -
            (options.buffers ?? []).reduce(
              (total, source) =>
                BufferManager.isBufferManager(source) && source.pool === pool
                  ? total + BufferManager.unsafeStats(source).heldBuffers
                  : total,
              0
            )
      })
    }
    const { components } = options
    const checks: Array<Api.Check> = []
    if (components !== undefined) {
      checks.push(checkComponentStates(components, options.expectedStates), checkHealth(components))
    }
    checks.push(checkLocks(options.registry))
    if (components !== undefined || pools.length > 0) {
      checks.push(checkResources({ components, pools, buffers: options.buffers }))
    }
    if (options.buffers !== undefined && options.buffers.length > 0) checks.push(checkBuffers(options.buffers))
    if (components !== undefined || (options.machines !== undefined && options.machines.length > 0)) {
      checks.push(checkHistories({ components, machines: options.machines }))
    }
    if (components !== undefined || options.monitoring !== undefined) {
      checks.push(checkFibers({ components, monitoring: options.monitoring }))
    }
    checks.push(...(options.checks ?? []))
    const names = new Set<string>()
    for (const check of checks) {
      if (names.has(check.name)) {
        return Effect.fail(
          new InvalidMonitoringOptions({ field: "checks", reason: `two checks are named "${check.name}"` })
        )
      }
      names.add(check.name)
    }
    return Effect.succeed(new VerifierImpl(options, checks, timeoutMs))
  })

/** @internal */
export const recoveryStep = (
  verifier: Api.SystemVerifier,
  options?: {
    readonly timeout?: Duration.DurationInput | undefined
    readonly poll?: Duration.DurationInput | undefined
  }
): RecoveryCoordinator.Step<VerificationFailed> => ({
  name: "verify",
  phase: "Verifying",
  timeout: options?.timeout ?? 5_000,
  poll: options?.poll ?? 100,
  required: true,
  run: (context) =>
    Effect.flatMap(verifier.verify(), (report) =>
      report.verdict === "passed" ? Effect.succeed(report) : Effect.fail(
        new VerificationFailed({
          component: context.component,
          verdict: report.verdict,
          checks: report.checks.filter((check) => check.status !== "passed").map((check) => check.name),
          report
        })
      ))
})

/** @internal */
export const writeReport = dual<
  (
    path: string
  ) => (report: VerificationReport) => Effect.Effect<void, PlatformError, FileSystem.FileSystem | Path.Path>,
  (report: VerificationReport, path: string) => Effect.Effect<void, PlatformError, FileSystem.FileSystem | Path.Path>
>(2, (report, path) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const paths = yield* Path.Path
    yield* fs.makeDirectory(paths.dirname(path), { recursive: true })
    yield* fs.writeFileString(path, toJson(report))
  }))
