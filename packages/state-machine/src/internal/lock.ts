import * as LockError from "@core-stability/locks/LockError"
import * as LockHierarchy from "@core-stability/locks/LockHierarchy"
import * as OrderedLock from "@core-stability/locks/OrderedLock"
import * as Effect from "effect/Effect"
import type { Exclusive } from "./stateMachine.js"

/** The level of the `Global` hierarchy that serialises a machine's exclusive section. */
const LEVEL = "StateMachine.state"

const keyOf = (name: string, channel: string | undefined): string => channel === undefined ? name : `${name}/${channel}`

/**
 * The machine's exclusive section under its ordered lock.
 *
 * A `LockError` becomes a defect: the machine takes exactly one lock, never while running user code of another
 * machine's lock, so with a correct program it cannot happen. It reports a programming error in the caller: the
 * caller already holds a lock ranked at or after `StateMachine.state` (`LockOrderViolation`), a validator re-run
 * under the lock or an effectful invariant or compensation transitions its own machine (`LockRecursion`), or a
 * `LockConfig` timeout shorter than the machine's hooks (`LockTimeout`).
 */
const exclusive = (lock: OrderedLock.OrderedLock, key: string): Exclusive => (self) =>
  OrderedLock.withLock(lock, self).pipe(
    Effect.catchIf(
      LockError.isLockError,
      (error) =>
        Effect.die(
          new Error(
            `state machine "${key}": its ${LEVEL} lock could not be taken (${error._tag}); ` +
              `this is a programming error in the caller: ${error.message}`,
            { cause: error }
          )
        )
    )
  ) as Effect.Effect<any, any>

/** @internal */
export const unsafeMake = (name: string, channel: string | undefined): Exclusive => {
  const key = keyOf(name, channel)
  return exclusive(OrderedLock.unsafeMake({ hierarchy: LockHierarchy.Global, level: LEVEL, key }), key)
}

/** @internal */
export const make = (name: string, channel: string | undefined): Effect.Effect<Exclusive> => {
  const key = keyOf(name, channel)
  return Effect.map(
    OrderedLock.make({ hierarchy: LockHierarchy.Global, level: LEVEL, key }),
    (lock) => exclusive(lock, key)
  )
}
