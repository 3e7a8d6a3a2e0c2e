/**
 * The testing kit's lock contract (`lockContractSuite`) against the locks of this package: mutual exclusion over 100
 * seeds of the seeded scheduler, release on failure, defect and interruption, interrupted waiters, FIFO order, and
 * no leaks after contended use, with the registry's leak probe (`LockRegistry.leakProbe`: no lock left held, no
 * waiter left queued). The locks live in the process-wide registry, which is what the probe reads.
 */
import { type ContractLock, lockContractSuite } from "@core-stability/testing/LockContract"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as LockConfig from "../src/LockConfig.js"
import type { LockError } from "../src/LockError.js"
import * as LockRegistry from "../src/LockRegistry.js"
import * as OrderedLock from "../src/OrderedLock.js"
import * as OrderedRWLock from "../src/OrderedRWLock.js"

const options = { runs: 100, fifo: true, probes: [LockRegistry.leakProbe] }

/** A configuration context built once (providing it costs a run next to nothing). */
const configured = (config: LockConfig.Options) => {
  const context = Effect.runSync(Effect.scoped(Layer.build(LockConfig.layer(config))))
  return <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => Effect.provide(self, context)
}

const subject = (
  withLock: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | LockError, R>,
  locked: Effect.Effect<boolean>
): ContractLock<LockError> => ({ withLock, locked })

const strict = configured({ mode: "strict" })
const off = configured({ mode: "off" })

lockContractSuite(
  "OrderedLock (strict mode, default detection) passes the lock contract",
  Effect.map(
    OrderedLock.make({ name: "contract.exclusive", rank: 1 }),
    (lock) => subject((self) => strict(OrderedLock.withLock(lock, self)), OrderedLock.locked(lock))
  ),
  options
)

lockContractSuite(
  "OrderedLock (off mode) passes the lock contract",
  Effect.map(
    OrderedLock.make({ name: "contract.exclusive-off", rank: 1 }),
    (lock) => subject((self) => off(OrderedLock.withLock(lock, self)), OrderedLock.locked(lock))
  ),
  options
)

lockContractSuite(
  "OrderedRWLock write side (strict mode) passes the lock contract",
  Effect.map(
    OrderedRWLock.make({ name: "contract.rw", rank: 1 }),
    (lock) => subject((self) => strict(OrderedRWLock.withWriteLock(lock, self)), OrderedRWLock.writeLocked(lock))
  ),
  options
)
