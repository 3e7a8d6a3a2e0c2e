/**
 * The lock contract suite: every lock implementation, ours or a user's, must pass it.
 *
 * A lock is anything with `withLock` (run an effect while holding the lock); an optional `locked` lets the suite
 * also check that the lock reads as free after the body ends. Checks:
 *
 * - mutual exclusion: `fibers` contending fibers, never two holders at once and no lost update, over `runs` seeds of
 *   the seeded scheduler;
 * - release when the body fails, dies, or its fiber is interrupted while holding;
 * - an interrupted waiter neither runs its body nor keeps the lock from others;
 * - nothing left behind after contended use (`expectNoLeaks`, with the lock's own leak probes when given);
 * - with `fifo: true`, waiters acquire in arrival order.
 *
 * Every check runs under the deadlock watchdog, so a lock that never releases fails with a report instead of hanging.
 * The suite is modelled on async-mutex's `semaphoreSuite` (one suite run against every implementation).
 *
 * Import it as `@core-stability/testing/LockContract` (it is not in the barrel because it imports `@effect/vitest`).
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Contract from "./Contract.js"
import * as internal from "./internal/lockContract.js"
import type * as LeakCheck from "./LeakCheck.js"

/**
 * The structural lock the suite tests. `X` is the error the lock itself may add (for example a timeout or an
 * ordering violation); the suite never triggers it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContractLock<X = never> {
  readonly withLock: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | X, R>
  readonly locked?: Effect.Effect<boolean> | undefined
}

/**
 * Options of the suite.
 *
 * - `runs` (default 100) and `seed` (default 0): the seeds explored per concurrent check (single-fiber checks use
 *   a tenth of them).
 * - `fibers` (default 4): contending fibers in the mutual-exclusion and FIFO checks.
 * - `fifo` (default `false`): also check that waiters acquire in arrival order.
 * - `idle` (default 2 seconds, real time): the watchdog's patience.
 * - `probes`: leak probes of the implementation (for example its held-locks probe), checked after contended use.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly runs?: number | undefined
  readonly seed?: number | undefined
  readonly fibers?: number | undefined
  readonly fifo?: boolean | undefined
  readonly idle?: Duration.DurationInput | undefined
  readonly probes?: ReadonlyArray<LeakCheck.LeakProbe> | undefined
}

/**
 * The suite's checks as effects, to run one by one (in a vitest file) or to assert that a broken lock fails them.
 * `makeLock` is run once per run, so each run gets a fresh lock; it may use the run's `Scope`.
 *
 * @since 0.1.0
 * @category testing
 */
export const checks: <X>(
  makeLock: Effect.Effect<ContractLock<X>, unknown, Scope.Scope>,
  options?: Options
) => ReadonlyArray<Contract.Check> = internal.checks

/**
 * Registers the lock contract as a vitest `describe(name)` block. Call it at the top level of a test file.
 *
 * For example, at the top level of `test/MyLock.test.ts` (the suite registers vitest tests, so this is not a
 * standalone program and the docs build does not run it):
 *
 * ```ts
 * import { Effect } from "effect"
 * import { lockContractSuite } from "@core-stability/testing/LockContract"
 *
 * lockContractSuite(
 *   "Effect.Semaphore(1)",
 *   Effect.map(Effect.makeSemaphore(1), (semaphore) => ({ withLock: semaphore.withPermits(1) })),
 *   { runs: 100, fifo: true }
 * )
 * ```
 *
 * @since 0.1.0
 * @category testing
 */
export const lockContractSuite: <X>(
  name: string,
  makeLock: Effect.Effect<ContractLock<X>, unknown, Scope.Scope>,
  options?: Options
) => void = internal.lockContractSuite
