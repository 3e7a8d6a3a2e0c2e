/**
 * A bounded FIFO queue: O(1) `push` (evicting the oldest entry when full) and `shift`. Storage grows with use up to
 * `capacity`, so an idle listener queue costs little memory.
 *
 * @internal
 */
export class RingBuffer<A> {
  private items: Array<A | undefined> = []
  private head = 0
  private length = 0

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.length
  }

  /** Appends; when full, evicts the oldest entry. */
  push(value: A): void {
    if (this.length === this.capacity) {
      this.items[this.head] = value
      this.head = (this.head + 1) % this.capacity
      return
    }
    const i = (this.head + this.length) % this.capacity
    if (i === this.items.length) this.items.push(value)
    else this.items[i] = value
    this.length++
  }

  /** Removes and returns the oldest entry. */
  shift(): A | undefined {
    if (this.length === 0) return undefined
    const value = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) % this.capacity
    this.length--
    return value
  }
}
