import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { RingBuffer } from "./ringBuffer.js"

/**
 * A bounded single-consumer queue for one listener. `put` is synchronous and never blocks: when the queue is full,
 * `"sliding"` evicts the oldest pending item and `"dropping"` discards the new one; either way it returns `false`.
 * A waiting consumer is resumed through the scheduler, so it never runs inside the producer's call.
 *
 * @internal
 */
export class Mailbox<A> {
  private readonly buffer: RingBuffer<A>
  private waiting: ((effect: Effect.Effect<A>) => void) | undefined = undefined

  constructor(readonly capacity: number, readonly overflow: "sliding" | "dropping") {
    this.buffer = new RingBuffer(capacity)
  }

  get size(): number {
    return this.buffer.size
  }

  put(value: A): boolean {
    const waiting = this.waiting
    if (waiting !== undefined) {
      this.waiting = undefined
      waiting(Exit.succeed(value))
      return true
    }
    if (this.buffer.size < this.capacity) {
      this.buffer.push(value)
      return true
    }
    if (this.overflow === "sliding") this.buffer.push(value)
    return false
  }

  readonly take: Effect.Effect<A> = Effect.suspend(() =>
    this.buffer.size > 0
      ? Exit.succeed(this.buffer.shift() as A)
      : Effect.async<A>((resume) => {
        this.waiting = resume
        return Effect.sync(() => {
          if (this.waiting === resume) this.waiting = undefined
        })
      })
  )
}
