import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import type { HeldLock } from "../LockError.js"
import type * as LockRegistry from "../LockRegistry.js"
import * as core from "./core.js"
import { heldLines, lockLabel } from "./render.js"

/** @internal */
export const RegistryTypeId: LockRegistry.RegistryTypeId = Symbol.for(
  "@core-stability/locks/LockRegistry"
) as LockRegistry.RegistryTypeId

class RegistryImpl extends core.Registry implements LockRegistry.Registry {
  readonly [RegistryTypeId]: LockRegistry.RegistryTypeId = RegistryTypeId
}

/** @internal */
export const unsafeMake = (): LockRegistry.Registry => new RegistryImpl()

/** @internal */
export const unwrap = (registry: LockRegistry.Registry): core.Registry => registry as RegistryImpl

/** The process-wide registry, used where no other registry is provided. */
export const defaultRegistry: core.Registry = new RegistryImpl()

/** @internal */
export class LockRegistryTag extends Context.Reference<LockRegistryTag>()("@core-stability/locks/LockRegistry", {
  defaultValue: (): LockRegistry.Registry => defaultRegistry as RegistryImpl
}) {}

/** @internal */
export const layer: Layer.Layer<never> = Layer.sync(LockRegistryTag, unsafeMake)

/** Oldest first: the owner's stack order where there is one (holds taken in "off" mode have none). */
const byAcquisition = (a: core.Hold, b: core.Hold): number => {
  const ia = a.owner === undefined ? Number.MAX_SAFE_INTEGER : a.owner.held.indexOf(a)
  const ib = b.owner === undefined ? Number.MAX_SAFE_INTEGER : b.owner.held.indexOf(b)
  return ia - ib
}

/** @internal */
export const snapshotOf = (
  registry: LockRegistry.Registry,
  now: number,
  options?: LockRegistry.SnapshotOptions
): LockRegistry.LockSnapshot => {
  const stacks = options?.stacks === true
  const describe = (hold: core.Hold, inherited: boolean): LockRegistry.SnapshotHold => ({
    ...core.describeHold(hold, now, inherited),
    stack: stacks ? hold.site?.frames : undefined
  })
  const locks: Array<LockRegistry.LockEntry> = []
  const fibers = new Map<core.AnyFiber, Array<core.Hold>>()
  const active = unwrap(registry).busyLocks().sort(core.canonicalOrder)
  for (const lock of active) {
    const holds = lock.writer === undefined ? lock.readers : [lock.writer, ...lock.readers]
    for (const hold of holds) {
      const list = fibers.get(hold.fiber)
      if (list === undefined) fibers.set(hold.fiber, [hold])
      else list.push(hold)
    }
    locks.push({
      lock: lock.describe(),
      holders: holds.map((hold) => describe(hold, false)),
      waiters: lock.waiters().map((waiter) => ({
        ...core.describeWaiter(waiter, now),
        stack: stacks ? waiter.pending.req.site?.frames : undefined
      }))
    })
  }
  return {
    at: now,
    classes: unwrap(registry).classes.size,
    locks,
    fibers: Array.from(fibers, ([fiber, held]) => ({
      fiber: core.fiberLabel(fiber),
      held: held.sort(byAcquisition).map((hold) => describe(hold, false))
    }))
  }
}

/** @internal */
export const snapshot = (options?: LockRegistry.SnapshotOptions): Effect.Effect<LockRegistry.LockSnapshot> =>
  Effect.withFiberRuntime((fiber) =>
    Effect.sync(() =>
      snapshotOf(
        Context.get(fiber.currentContext, LockRegistryTag),
        Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis(),
        options
      )
    )
  )

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): Array<string> => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)]
}

const ms = (value: number | undefined): string => value === undefined ? "-" : `${value} ms`

const stackLines = (stack: ReadonlyArray<string> | undefined): Array<string> =>
  stack === undefined ? [] : stack.map((frame) => `    at ${frame}`)

/** @internal */
export const render = (snapshot: LockRegistry.LockSnapshot): string => {
  const rows: Array<Array<string>> = []
  const stacks: Array<string> = []
  for (const entry of snapshot.locks) {
    const name = lockLabel(entry.lock)
    for (const holder of entry.holders) {
      rows.push([
        name,
        String(entry.lock.rank),
        "held",
        holder.mode,
        holder.fiber,
        ms(holder.heldMs),
        holder.site ?? "-"
      ])
      if (holder.stack !== undefined) stacks.push(`${name} held by ${holder.fiber}`, ...stackLines(holder.stack))
    }
    for (const waiter of entry.waiters) {
      rows.push([
        name,
        String(entry.lock.rank),
        "waiting",
        waiter.mode,
        waiter.fiber,
        ms(waiter.waitedMs),
        waiter.site ?? "-"
      ])
      if (waiter.stack !== undefined) stacks.push(`${name} awaited by ${waiter.fiber}`, ...stackLines(waiter.stack))
    }
  }
  const out = [`locks: ${snapshot.locks.length} busy, ${snapshot.classes} classes`]
  if (rows.length > 0) out.push(...table(["lock", "rank", "state", "mode", "fiber", "for", "site"], rows))
  if (snapshot.fibers.length > 0) {
    out.push("", "held stacks (oldest first):")
    for (const fiber of snapshot.fibers) {
      out.push(`${fiber.fiber}:`, heldLines(fiber.held as ReadonlyArray<HeldLock>, "  "))
    }
  }
  if (stacks.length > 0) out.push("", "stacks:", ...stacks)
  return out.join("\n")
}

/** @internal */
export const leaks = (snapshot: LockRegistry.LockSnapshot): ReadonlyArray<string> => {
  const result: Array<string> = []
  for (const entry of snapshot.locks) {
    const name = lockLabel(entry.lock)
    for (const holder of entry.holders) {
      result.push(`${name} still held (${holder.mode}) by ${holder.fiber}${holder.site ? ` at ${holder.site}` : ""}`)
    }
    for (const waiter of entry.waiters) {
      result.push(`${name} still awaited (${waiter.mode}) by ${waiter.fiber}${waiter.site ? ` at ${waiter.site}` : ""}`)
    }
  }
  return result
}

/** @internal */
export const leakProbe: LockRegistry.LeakProbe = {
  name: "locks",
  leaks: Effect.map(snapshot(), leaks)
}

/** @internal */
export const withFiberName = dual<
  (name: string) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
  <A, E, R>(self: Effect.Effect<A, E, R>, name: string) => Effect.Effect<A, E, R>
>(2, (self, name) => Effect.locally(self, core.currentFiberName, name))
