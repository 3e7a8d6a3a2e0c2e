import type { ErrorInfo, Kind, TransitionRecord } from "../TransitionRecord.js"

const KINDS: ReadonlyArray<Kind> = ["transition", "rollback", "reset"]
const KIND_INDEX: { readonly [K in Kind]: number } = { transition: 0, rollback: 1, reset: 2 }
const SUCCESS = 4

type Metadata = Readonly<Record<string, unknown>> | undefined

const NO_NUMBERS = new Float64Array(0)
const NO_FLAGS = new Uint8Array(0)
const NO_OBJECTS: Array<never> = []

/**
 * The bounded history of a machine, stored by column: numbers in typed arrays, states as references to the
 * definition's strings, and the optional fields in plain arrays that stay empty-valued in the common case.
 *
 * An append is O(1) and retains no per-entry object, so a 100,000-entry history costs the garbage collector no more
 * than a 10-entry one; entries are materialised as `TransitionRecord`s only when read. Storage grows by doubling up
 * to `capacity`; when full, an append overwrites the oldest entry. `pop` and `shift` make it usable as the rollback
 * stack too.
 *
 * @internal
 */
export class HistoryBuffer<S extends string = string> {
  private allocated = 0
  private head = 0
  private length = 0
  // Until the first append, every column is a shared empty placeholder: `grow` replaces them all before any write.
  private seqs = NO_NUMBERS
  private times = NO_NUMBERS
  private durations = NO_NUMBERS
  private flags = NO_FLAGS
  private froms = NO_OBJECTS as Array<S>
  private tos = NO_OBJECTS as Array<S>
  private reasons = NO_OBJECTS as Array<string | undefined>
  private errors = NO_OBJECTS as Array<ErrorInfo | undefined>
  private metadatas = NO_OBJECTS as Array<Metadata>

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.length
  }

  push(record: TransitionRecord<S>): void {
    if (this.length === this.allocated && this.allocated < this.capacity) this.grow()
    let i: number
    if (this.length === this.capacity) {
      i = this.head
      this.head = (this.head + 1) % this.capacity
    } else {
      i = (this.head + this.length) % this.allocated
      this.length++
    }
    this.seqs[i] = record.seq
    this.times[i] = record.at
    this.durations[i] = record.durationMs
    this.flags[i] = KIND_INDEX[record.kind] | (record.success ? SUCCESS : 0)
    this.froms[i] = record.from
    this.tos[i] = record.to
    this.reasons[i] = record.reason
    this.errors[i] = record.error
    this.metadatas[i] = record.metadata
  }

  /** The entry at position `i`, 0 being the oldest. */
  get(i: number): TransitionRecord<S> | undefined {
    return i < 0 || i >= this.length ? undefined : this.read((this.head + i) % this.allocated)
  }

  /** The `seq` of the entry at position `i`, without materialising it. */
  seqAt(i: number): number {
    return this.seqs[(this.head + i) % this.allocated]!
  }

  /** The `at` of the entry at position `i`, without materialising it. */
  timeAt(i: number): number {
    return this.times[(this.head + i) % this.allocated]!
  }

  last(): TransitionRecord<S> | undefined {
    return this.get(this.length - 1)
  }

  /** Removes the newest entry. */
  pop(): void {
    if (this.length === 0) return
    this.clearSlot((this.head + this.length - 1) % this.allocated)
    this.length--
  }

  /** Removes the oldest entry. */
  shift(): void {
    if (this.length === 0) return
    this.clearSlot(this.head)
    this.head = (this.head + 1) % this.allocated
    this.length--
  }

  clear(): void {
    for (let i = 0; i < this.length; i++) this.clearSlot((this.head + i) % this.allocated)
    this.head = 0
    this.length = 0
  }

  toArray(): Array<TransitionRecord<S>> {
    const out = new Array<TransitionRecord<S>>(this.length)
    for (let i = 0; i < this.length; i++) out[i] = this.read((this.head + i) % this.allocated)
    return out
  }

  private read(i: number): TransitionRecord<S> {
    const flags = this.flags[i]!
    return {
      seq: this.seqs[i]!,
      kind: KINDS[flags & 3]!,
      from: this.froms[i]!,
      to: this.tos[i]!,
      at: this.times[i]!,
      durationMs: this.durations[i]!,
      success: (flags & SUCCESS) !== 0,
      reason: this.reasons[i],
      error: this.errors[i],
      metadata: this.metadatas[i]
    }
  }

  private clearSlot(i: number): void {
    this.reasons[i] = undefined
    this.errors[i] = undefined
    this.metadatas[i] = undefined
  }

  /** Doubles the storage (up to `capacity`), laying the entries out oldest first from slot 0. */
  private grow(): void {
    const allocated = Math.min(this.capacity, Math.max(8, this.allocated * 2))
    const order = (i: number) => (this.head + i) % this.allocated
    const numbers = (old: Float64Array) => {
      const next = new Float64Array(allocated)
      for (let i = 0; i < this.length; i++) next[i] = old[order(i)]!
      return next
    }
    const objects = <A>(old: Array<A>): Array<A> => {
      const next = new Array<A>(this.length)
      for (let i = 0; i < this.length; i++) next[i] = old[order(i)]!
      return next
    }
    const flags = new Uint8Array(allocated)
    for (let i = 0; i < this.length; i++) flags[i] = this.flags[order(i)]!
    this.seqs = numbers(this.seqs)
    this.times = numbers(this.times)
    this.durations = numbers(this.durations)
    this.flags = flags
    this.froms = objects(this.froms)
    this.tos = objects(this.tos)
    this.reasons = objects(this.reasons)
    this.errors = objects(this.errors)
    this.metadatas = objects(this.metadatas)
    this.head = 0
    this.allocated = allocated
  }
}
