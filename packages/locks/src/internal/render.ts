import type {
  HeldLock,
  LockDescription,
  LockHierarchyError,
  LockOrderViolation,
  LockRecursion,
  LockTimeout,
  LockUpgrade,
  WaitingRequest
} from "../LockError.js"

/** `Name` or `Name[key]`. */
export const lockLabel = (lock: LockDescription): string =>
  lock.key === undefined ? lock.name : `${lock.name}[${lock.key}]`

const at = (site: string | undefined): string => site === undefined ? "" : ` at ${site}`

const heldFor = (held: HeldLock): string => held.heldMs === undefined ? "" : `, held ${held.heldMs} ms`

/** One line per held lock, oldest first. */
export const heldLines = (held: ReadonlyArray<HeldLock>, indent = "  "): string =>
  held.length === 0
    ? `${indent}(none)`
    : held.map((h) =>
      `${indent}${lockLabel(h.lock)} (rank ${h.lock.rank}, ${h.mode}) by ${h.fiber}${
        h.inherited ? " [inherited]" : ""
      }${heldFor(h)}${at(h.site)}`
    ).join("\n")

const waiterLines = (waiters: ReadonlyArray<WaitingRequest>): string =>
  waiters.length === 0
    ? "  (none)"
    : waiters.map((w) => `  ${w.fiber} (${w.mode}), waiting ${w.waitedMs} ms${at(w.site)}`).join("\n")

const isHeld = (u: HeldLock | LockDescription): u is HeldLock => "mode" in u

const ruleText = (e: LockOrderViolation): string => {
  const requested = `${lockLabel(e.lock)} (rank ${e.lock.rank})`
  const other = isHeld(e.conflict) ? e.conflict.lock : e.conflict
  const conflict = `${lockLabel(other)} (rank ${other.rank})`
  switch (e.rule) {
    case "rank-inversion":
      return `locks are taken in increasing rank: ${requested} must be taken before ${conflict}, not while holding it`
    case "same-rank":
      return `${requested} and ${conflict} share a rank: take same-rank locks together with OrderedLock.withLocks ` +
        `(canonical order), or nest them under a held gate lock`
    case "gate-not-held":
      return `${requested} is nested under the gate ${conflict}, which this fiber does not hold`
    case "held-by-ancestor":
      return `${conflict} is held by an ancestor of this fiber: the child would wait for its parent, ` +
        `which deadlocks as soon as the parent waits for the child`
  }
}

const banner = (e: LockOrderViolation): string => {
  switch (e.rule) {
    case "rank-inversion":
      return "possible circular locking dependency"
    case "same-rank":
      return "possible circular locking dependency between locks of the same rank"
    case "gate-not-held":
      return "nested acquisition without its gate lock"
    case "held-by-ancestor":
      return "possible deadlock between a fiber and its parent"
  }
}

export const orderViolation = (e: LockOrderViolation): string =>
  `${banner(e)}: ${e.fiber} is taking ${lockLabel(e.lock)} (rank ${e.lock.rank}, ${e.mode})${at(e.site)}\n` +
  `held locks (oldest first):\n${heldLines(e.held)}\n` +
  `rule broken (${e.rule}): ${ruleText(e)}`

export const recursion = (e: LockRecursion): string =>
  `possible recursive locking: ${e.fiber} is taking ${lockLabel(e.lock)} (${e.mode})${at(e.site)}\n` +
  `but already holds it (${e.previous.mode})${heldFor(e.previous)}${at(e.previous.site)}\n` +
  `held locks (oldest first):\n${heldLines(e.held)}\n` +
  `locks are not reentrant: taking a held lock again would wait for itself`

export const upgrade = (e: LockUpgrade): string =>
  `read-to-write upgrade refused: ${e.fiber} holds a read lock on ${lockLabel(e.lock)} and asked for its write ` +
  `lock${at(e.site)}\nreaders:\n${heldLines(e.readers)}\n` +
  `two readers that both upgrade would wait for each other forever: release the read lock, then take the write lock`

export const timeout = (e: LockTimeout): string =>
  `lock timeout: ${e.fiber} waited ${e.timeoutMs} ms for ${lockLabel(e.lock)} (${e.mode})${at(e.site)}\n` +
  `holders:\n${heldLines(e.holders)}\nother waiters:\n${waiterLines(e.waiters)}`

export const hierarchyError = (e: LockHierarchyError): string => {
  const names = e.conflict.join(", ")
  switch (e.reason) {
    case "DuplicateLevel":
      return `lock hierarchy ${e.hierarchy}: level declared twice: ${names}`
    case "DuplicateRank":
      return `lock hierarchy ${e.hierarchy}: levels share a rank but ranks must be unique: ${names}`
    case "InvalidRank":
      return `lock hierarchy ${e.hierarchy}: ranks must be finite numbers: ${names}`
    case "UnknownPart":
      return `lock hierarchy ${e.hierarchy}: an order constraint names an unknown part: ${names}`
    case "Contradiction":
      return `lock hierarchy ${e.hierarchy}: contradictory before/after constraints form a cycle: ${
        e.conflict.join(" before ")
      }`
    case "Empty":
      return `lock hierarchy ${e.hierarchy}: no levels declared`
  }
}
