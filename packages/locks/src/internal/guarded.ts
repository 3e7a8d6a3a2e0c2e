import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import { pipeArguments } from "effect/Pipeable"
import type * as GuardedLock from "../GuardedLock.js"
import type { LockError } from "../LockError.js"
import type * as OrderedLock from "../OrderedLock.js"
import * as lock from "./lock.js"

/** @internal */
export const TypeId: GuardedLock.TypeId = Symbol.for("@core-stability/locks/GuardedLock") as GuardedLock.TypeId

class GuardedLockImpl<A> implements GuardedLock.GuardedLock<A> {
  readonly [TypeId]: GuardedLock.TypeId = TypeId
  declare readonly _A: (_: A) => A
  constructor(readonly lock: OrderedLock.OrderedLock, public value: A) {}
  pipe(...args: Array<unknown>) {
    return pipeArguments(this, args as unknown as IArguments)
  }
}

/** A guard is valid for one lock region only; using it afterwards is a bug in the caller (a defect). */
class GuardImpl<A> implements GuardedLock.Guard<A> {
  open = true
  constructor(readonly guarded: GuardedLockImpl<A>) {}
  private check(): void {
    if (!this.open) {
      throw new Error(
        `the guard of ${this.guarded.lock.name} was used outside its lock region: ` +
          `read or change a guarded value only inside GuardedLock.withGuard`
      )
    }
  }
  get get(): Effect.Effect<A> {
    return Effect.sync(() => {
      this.check()
      return this.guarded.value
    })
  }
  set(value: A): Effect.Effect<void> {
    return Effect.sync(() => {
      this.check()
      this.guarded.value = value
    })
  }
  update(f: (a: A) => A): Effect.Effect<void> {
    return Effect.sync(() => {
      this.check()
      this.guarded.value = f(this.guarded.value)
    })
  }
  modify<B>(f: (a: A) => readonly [B, A]): Effect.Effect<B> {
    return Effect.sync(() => {
      this.check()
      const [b, a] = f(this.guarded.value)
      this.guarded.value = a
      return b
    })
  }
}

/** @internal */
export const unsafeMake = <A>(options: OrderedLock.UnsafeMakeOptions & { readonly value: A }) =>
  new GuardedLockImpl(lock.unsafeMake(options), options.value)

/** @internal */
export const make = <A>(options: OrderedLock.MakeOptions & { readonly value: A }) =>
  Effect.map(lock.make(options), (l): GuardedLock.GuardedLock<A> => new GuardedLockImpl(l, options.value))

/** @internal */
export const isGuardedLock = (u: unknown): u is GuardedLock.GuardedLock<unknown> =>
  typeof u === "object" && u !== null && TypeId in u

/** @internal */
export const withGuard = dual<
  <A, B, E, R>(
    f: (guard: GuardedLock.Guard<A>) => Effect.Effect<B, E, R>,
    options?: OrderedLock.AcquireOptions
  ) => (self: GuardedLock.GuardedLock<A>) => Effect.Effect<B, E | LockError, R>,
  <A, B, E, R>(
    self: GuardedLock.GuardedLock<A>,
    f: (guard: GuardedLock.Guard<A>) => Effect.Effect<B, E, R>,
    options?: OrderedLock.AcquireOptions
  ) => Effect.Effect<B, E | LockError, R>
>((args) => isGuardedLock(args[0]), (self, f, options) =>
  lock.withLock(
    self.lock,
    Effect.suspend(() => {
      const guard = new GuardImpl(self as unknown as GuardedLockImpl<any>)
      return Effect.ensuring(
        f(guard),
        Effect.sync(() => {
          guard.open = false
        })
      )
    }),
    options
  ))

/** @internal */
export const get = <A>(self: GuardedLock.GuardedLock<A>): Effect.Effect<A, LockError> =>
  withGuard(self, (guard) => guard.get)

/** @internal */
export const set = dual<
  <A>(value: A) => (self: GuardedLock.GuardedLock<A>) => Effect.Effect<void, LockError>,
  <A>(self: GuardedLock.GuardedLock<A>, value: A) => Effect.Effect<void, LockError>
>(2, (self, value) => withGuard(self, (guard) => guard.set(value)))

/** @internal */
export const update = dual<
  <A>(f: (a: A) => A) => (self: GuardedLock.GuardedLock<A>) => Effect.Effect<void, LockError>,
  <A>(self: GuardedLock.GuardedLock<A>, f: (a: A) => A) => Effect.Effect<void, LockError>
>(2, (self, f) => withGuard(self, (guard) => guard.update(f)))

/** @internal */
export const modify = dual<
  <A, B>(f: (a: A) => readonly [B, A]) => (self: GuardedLock.GuardedLock<A>) => Effect.Effect<B, LockError>,
  <A, B>(self: GuardedLock.GuardedLock<A>, f: (a: A) => readonly [B, A]) => Effect.Effect<B, LockError>
>(2, (self, f) => withGuard(self, (guard) => guard.modify(f)))
