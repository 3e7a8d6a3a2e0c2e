import { type LockError, LockHierarchy, OrderedLock } from "@core-stability/locks"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/**
 * The BufferManager's locks, on the global hierarchy (`LockHierarchy.Global`, levels `BufferManager.cleanup` <
 * `.state` < `.component` < `.update`, the seed's order). Only the two that guard something here are materialised:
 * `cleanup` serialises cleanup and reopen (held for the whole cleanup); `update` makes an update region atomic and is
 * held by cleanup only while it closes the manager, so cleanup never starts inside a region and a sink may open one.
 * Neither is ever taken on the put/take path or while waiting for data.
 *
 * @internal
 */
export interface BufferLocks {
  readonly cleanup: Effect.Effect<void, LockError.LockError, Scope.Scope>
  readonly update: Effect.Effect<void, LockError.LockError, Scope.Scope>
}

const options = (name: string, level: "cleanup" | "update") =>
  ({ hierarchy: LockHierarchy.Global, level: `BufferManager.${level}`, key: name }) as const

const fromLocks = (cleanup: OrderedLock.OrderedLock, update: OrderedLock.OrderedLock): BufferLocks => ({
  cleanup: OrderedLock.lock(cleanup),
  update: OrderedLock.lock(update)
})

/** Makes the locks in the `LockRegistry` in effect. @internal */
export const make = (name: string): Effect.Effect<BufferLocks> =>
  Effect.zipWith(
    OrderedLock.make(options(name, "cleanup")),
    OrderedLock.make(options(name, "update")),
    fromLocks
  )

/** Makes the locks in the process-wide registry. @internal */
export const unsafeMake = (name: string): BufferLocks =>
  fromLocks(OrderedLock.unsafeMake(options(name, "cleanup")), OrderedLock.unsafeMake(options(name, "update")))
