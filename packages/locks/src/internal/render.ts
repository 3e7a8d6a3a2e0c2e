import type {
  DeadlockDetected,
  DependencyLink,
  HeldLock,
  LockDescription,
  LockHierarchyError,
  LockOrderViolation,
  LockRecursion,
  LockTimeout,
  LockUpgrade,
  PotentialDeadlock,
  WaitForLink,
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
  `${
    scenario([{
      fiber: e.fiber,
      holds: verb(e.previous.mode, lockLabel(e.lock)),
      wants: verb(e.mode, lockLabel(e.lock))
    }])
  }\nlocks are not reentrant: taking a held lock again would wait for itself`

export const upgrade = (e: LockUpgrade): string =>
  `read-to-write upgrade refused: ${e.fiber} holds a read lock on ${lockLabel(e.lock)} and asked for its write ` +
  `lock${at(e.site)}\nreaders:\n${heldLines(e.readers)}\n` +
  `two readers that both upgrade would wait for each other forever: release the read lock, then take the write lock`

/** The wait-for lines of a timeout, then the blockers that wait for no lock (what the graph cannot see). */
const waitForLines = (e: LockTimeout): string => {
  const waiting = new Set(e.waitFor.map((link) => link.waiter))
  const idle = Array.from(new Set(e.waitFor.map((link) => link.blocker))).filter((fiber) => !waiting.has(fiber))
  return [
    ...e.waitFor.map(waitLine),
    ...idle.map((fiber) =>
      `  ${fiber} waits for no lock: it runs, or waits on something the wait-for graph cannot see ` +
      `(a Deferred, a Fiber.join, a sleep)`
    )
  ].join("\n")
}

export const timeout = (e: LockTimeout): string =>
  `lock timeout: ${e.fiber} waited ${e.timeoutMs} ms for ${lockLabel(e.lock)} (${e.mode})${at(e.site)}\n` +
  `holders:\n${heldLines(e.holders)}\nother waiters:\n${waiterLines(e.waiters)}` +
  (e.waitFor.length === 0 ? "" : `\nwait-for graph from ${e.fiber}:\n${waitForLines(e)}`)

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

/** `lock(A)`, `read(A)` or `write(A)`, like lockdep's `lock(A)` / `rlock(A)`. */
const verb = (mode: string, name: string): string => `${mode === "exclusive" ? "lock" : mode}(${name})`

/**
 * lockdep's "possible unsafe locking scenario", one column per fiber: every fiber first takes the lock it holds
 * (column by column), then every fiber asks for the lock the next column holds; `*** DEADLOCK ***`.
 */
export const scenario = (
  columns: ReadonlyArray<{ readonly fiber: string; readonly holds: string; readonly wants: string }>
): string => {
  const headers = columns.map((c, i) =>
    columns.filter((d) => d.fiber === c.fiber).length > 1 ? `${c.fiber} [${i + 1}]` : c.fiber
  )
  const cells = columns.map((c, i) => [headers[i]!, "-".repeat(headers[i]!.length), c.holds, c.wants])
  const widths = cells.map((column) => Math.max(...column.map((cell) => cell.length)) + 4)
  const row = (index: number, text: string): string =>
    `  ${" ".repeat(widths.slice(0, index).reduce((a, b) => a + b, 0))}${text}`.trimEnd()
  const lines = [
    `  ${cells.map((column, i) => column[0]!.padEnd(widths[i]!)).join("")}`.trimEnd(),
    `  ${cells.map((column, i) => column[1]!.padEnd(widths[i]!)).join("")}`.trimEnd()
  ]
  // a fiber that is joined holds nothing for the fiber before it: its first row stays empty
  columns.forEach((c, i) => c.holds.length > 0 && lines.push(row(i, c.holds)))
  columns.forEach((c, i) => lines.push(row(i, c.wants)))
  return `possible unsafe locking scenario:\n\n${lines.join("\n")}\n\n  *** DEADLOCK ***`
}

const linkLine = (link: DependencyLink): string =>
  `  ${link.from} (${link.fromMode}) -> ${link.to} (${link.toMode}) [${link.type}]: ${
    link.isNew ? "now" : "first seen"
  } in ${link.fiber}${link.fromSite === undefined ? "" : `, ${link.from} taken at ${link.fromSite}`}${
    link.toSite === undefined ? "" : `, ${link.to} taken at ${link.toSite}`
  }`

export const potentialDeadlock = (e: PotentialDeadlock): string => {
  const head = `${e.fiber} is taking ${lockLabel(e.lock)} (rank ${e.lock.rank}, ${e.mode})${at(e.site)}`
  const cycle = e.cycle.map(linkLine).join("\n")
  const held = `held locks (oldest first):\n${heldLines(e.held)}`
  if (e.kind === "recursive") {
    const link = e.cycle[0]!
    return `possible recursive locking: ${head}\nbut already holds a lock of class ${link.from}:\n${cycle}\n` +
      `${held}\n${
        scenario([{ fiber: e.fiber, holds: verb(link.fromMode, link.from), wants: verb(link.toMode, link.to) }])
      }\nmay be due to missing lock nesting notation: take instances of one class together with ` +
      `OrderedLock.withLocks, or nest them under a held gate lock (nestedUnder)`
  }
  const names = [...e.cycle.map((link) => link.from), e.cycle[0]!.from]
  const columns = e.cycle.map((link) => ({
    fiber: link.fiber,
    holds: verb(link.fromMode, link.from),
    wants: verb(link.toMode, link.to)
  }))
  return `possible circular locking dependency: ${head}\n` +
    `the learned lock order already has a path back, so this acquisition closes a cycle: ${names.join(" -> ")}\n` +
    `dependency chain (each edge where it was first seen):\n${cycle}\n${held}\n${scenario(columns)}`
}

const waitLine = (link: WaitForLink): string =>
  link.via === "join"
    ? `  ${link.waiter} joins ${link.blocker}${at(link.site)} (via join: waits for ${link.blocker} to exit)`
    : `  ${link.waiter} waits for ${lockLabel(link.lock)} (${link.mode})${at(link.site)}, ${
      link.reason === "holds" ? "held" : "queued ahead"
    } by ${link.blocker} (${link.blockerMode})${at(link.blockerSite)}`

/** What the blocker of a link has that its waiter wants: a lock it holds or asked for; nothing for a join. */
const heldBy = (link: WaitForLink): string =>
  link.via === "join"
    ? ""
    : link.reason === "holds"
    ? verb(link.blockerMode, lockLabel(link.lock))
    : `queued ${verb(link.blockerMode, lockLabel(link.lock))}`

export const deadlockDetected = (e: DeadlockDetected): string => {
  const columns = e.cycle.map((link, i) => ({
    fiber: link.waiter,
    holds: heldBy(e.cycle[(i + e.cycle.length - 1) % e.cycle.length]!),
    wants: link.via === "join" ? `join(${link.blocker})` : verb(link.mode, lockLabel(link.lock))
  }))
  const wait = e.lock === undefined
    ? `join ${e.joined ?? "a fiber"}`
    : `wait for ${lockLabel(e.lock)} (rank ${e.lock.rank}, ${e.mode})`
  return `deadlock detected: ${e.fiber} would ${wait}${at(e.site)}, closing a wait-for cycle of ${e.cycle.length} ` +
    `fiber${e.cycle.length === 1 ? "" : "s"}\n` +
    `wait-for cycle:\n${e.cycle.map(waitLine).join("\n")}\n` +
    victimHolds(e) +
    `${scenario(columns)}\n` +
    `victim: ${e.fiber}, the fiber whose wait closed the cycle; its ${
      e.lock === undefined ? "join" : "acquisition"
    } fails instead of waiting and the others proceed once it releases its locks${joinedVictim(e)}`
}

/**
 * The victim's holds: its own (released when its failure propagates), then the ones it inherited from its parent,
 * which the victim does not release (their owner does), listed apart.
 */
const victimHolds = (e: DeadlockDetected): string => {
  const own = e.held.filter((h) => !h.inherited)
  const inherited = e.held.filter((h) => h.inherited)
  return `held locks of ${e.fiber} (oldest first; released when its failure propagates):\n${heldLines(own)}\n` +
    (inherited.length === 0
      ? ""
      : `inherited from its parent (held by an ancestor, not released by ${e.fiber}):\n${heldLines(inherited)}\n`)
}

/** The fiber of the cycle that joins the victim, if any: it proceeds once the victim exits (rolled back or not). */
const joinedVictim = (e: DeadlockDetected): string => {
  const last = e.cycle[e.cycle.length - 1]
  return last !== undefined && last.via === "join" && last.waiter !== e.fiber
    ? `; ${last.waiter}, which joins it, once it exits`
    : ""
}
