/**
 * The human-readable reports of a run, generated from its `report.json` data: `report.md` (Mermaid diagrams of the
 * state machines and the component graph, the global lock order, the recovery episodes) and `report.html` (one
 * self-contained page: inline CSS and inline SVG, no scripts; a timeline of component states and recoveries and a
 * lock chart: acquisitions, contended waits, wait and hold time per lock class).
 *
 * @since 0.1.0
 */
import * as LockHierarchy from "@core-stability/locks/LockHierarchy"
import * as Definition from "@core-stability/state-machine/Definition"
import * as Presets from "@core-stability/state-machine/Presets"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricState from "effect/MetricState"
import type { ComponentSummary, QueueCounters, RecoveryEpisode, StageStatus, StateChange } from "./pipeline.js"

/**
 * One lock metric of the run: its name, tags (`lock`: the lock class, `mode`), and its count. Histograms
 * (`lock_wait_ms`, `lock_hold_ms`) also have the sum of their observations and their buckets: `[upper bound in ms,
 * observations up to that bound]` (cumulative, the last bound `Infinity`; `JSON.stringify` writes it as `null`).
 */
export interface LockStat {
  readonly metric: string
  readonly tags: Readonly<Record<string, string>>
  readonly count: number
  readonly sumMs?: number | undefined
  readonly buckets?: ReadonlyArray<readonly [number, number]> | undefined
}

const key = (name: string, tags: Readonly<Record<string, string>>) =>
  `${name}|${Object.entries(tags).map(([k, v]) => `${k}=${v}`).sort().join(",")}`

/** The process's lock metrics (`lock_*`), keyed by name and tags. */
export const lockMetrics: Effect.Effect<ReadonlyMap<string, LockStat>> = Effect.map(Metric.snapshot, (pairs) => {
  const out = new Map<string, LockStat>()
  for (const pair of pairs) {
    const name = pair.metricKey.name
    if (!name.startsWith("lock_")) continue
    const tags: Record<string, string> = {}
    for (const tag of pair.metricKey.tags) tags[tag.key] = tag.value
    const state = pair.metricState
    if (MetricState.isCounterState(state)) {
      out.set(key(name, tags), { metric: name, tags, count: Number(state.count) })
    } else if (MetricState.isHistogramState(state)) {
      out.set(key(name, tags), { metric: name, tags, count: state.count, sumMs: state.sum, buckets: state.buckets })
    }
  }
  return out
})

/** The metrics every acquired lock reports, with zero counts when nothing was recorded (no acquisition waited). */
const perLockMetrics = ["lock_contended_acquisitions", "lock_wait_ms"] as const

/**
 * What the run added to the lock metrics between two snapshots (the metrics are process-wide). Every lock with
 * acquisitions also gets `lock_contended_acquisitions` and `lock_wait_ms` entries, with zero counts when none of its
 * acquisitions waited (the metrics themselves only exist once something was recorded).
 */
export const lockDelta = (
  before: ReadonlyMap<string, LockStat>,
  after: ReadonlyMap<string, LockStat>
): ReadonlyArray<LockStat> => {
  const stats = new Map<string, LockStat>()
  for (const [k, stat] of after) {
    const prev = before.get(k)
    const count = stat.count - (prev?.count ?? 0)
    if (count <= 0) continue
    stats.set(
      key(stat.metric, stat.tags),
      stat.sumMs === undefined ? { ...stat, count } : {
        ...stat,
        count,
        sumMs: stat.sumMs - (prev?.sumMs ?? 0),
        buckets: stat.buckets?.map(([bound, n], i) => [bound, n - (prev?.buckets?.[i]?.[1] ?? 0)] as const)
      }
    )
  }
  for (const stat of [...stats.values()]) {
    if (stat.metric !== "lock_acquisitions") continue
    const hold = stats.get(key("lock_hold_ms", stat.tags))
    for (const metric of perLockMetrics) {
      if (stats.has(key(metric, stat.tags))) continue
      stats.set(
        key(metric, stat.tags),
        metric === "lock_wait_ms"
          ? { metric, tags: stat.tags, count: 0, sumMs: 0, buckets: hold?.buckets?.map(([bound]) => [bound, 0]) ?? [] }
          : { metric, tags: stat.tags, count: 0 }
      )
    }
  }
  return [...stats.values()].sort((a, b) => key(a.metric, a.tags).localeCompare(key(b.metric, b.tags)))
}

/** One lock class and mode of the run, from its metrics: what the reports show. */
export interface LockSummary {
  /** The lock class and mode, e.g. `"StateMachine.state (exclusive)"`. */
  readonly name: string
  readonly acquisitions: number
  /** Acquisitions that had to wait. */
  readonly contended: number
  /** Total time the contended acquisitions waited (ms). */
  readonly waitMs: number
  readonly wait: Percentiles | undefined
  /** Total time the lock was held (ms, the sum of whole-millisecond clock readings). */
  readonly holdMs: number
  readonly hold: Percentiles | undefined
}

/** The median and the largest observation of a histogram, as the upper bounds of the buckets they fall into. */
export interface Percentiles {
  readonly p50: string
  readonly max: string
}

const formatMs = (ms: number): string =>
  Number.isInteger(ms) ? `${ms}` : ms >= 10 ? ms.toFixed(0) : String(Number(ms.toPrecision(2)))

/** `"< 1 ms"`, `"≤ 2.56 ms"`, `"> 41943 ms"`: where a bucket puts an observation. */
const bucketText = (buckets: ReadonlyArray<readonly [number, number]>, index: number): string => {
  const bound = buckets[index]![0]
  if (bound < 1) return "< 1 ms"
  if (bound === Infinity) return `> ${formatMs(buckets[index - 1]?.[0] ?? 0)} ms`
  // The bounds are 0.01 ms times powers of 4: two decimals are exact.
  return `≤ ${Math.round(bound * 100) / 100} ms`
}

const percentiles = (stat: LockStat | undefined): Percentiles | undefined => {
  const buckets = stat?.buckets
  if (stat === undefined || buckets === undefined || stat.count === 0 || buckets.length === 0) return undefined
  const median = buckets.findIndex(([, n]) => n >= Math.ceil(stat.count / 2))
  const max = buckets.findIndex(([, n]) => n >= stat.count)
  return {
    p50: bucketText(buckets, median < 0 ? buckets.length - 1 : median),
    max: bucketText(buckets, max < 0 ? buckets.length - 1 : max)
  }
}

/** Per lock class and mode: acquisitions, contended waits, wait and hold time; in the order of the statistics. */
export const lockSummaries = (statistics: ReadonlyArray<LockStat>): ReadonlyArray<LockSummary> => {
  const nameOf = (s: LockStat) => `${s.tags.lock ?? Object.values(s.tags).join(" ")} (${s.tags.mode ?? "-"})`
  const byName = (metric: string) =>
    new Map(statistics.filter((s) => s.metric === metric).map((s) => [nameOf(s), s] as const))
  const contended = byName("lock_contended_acquisitions")
  const waits = byName("lock_wait_ms")
  const holds = byName("lock_hold_ms")
  return statistics.filter((s) => s.metric === "lock_acquisitions").map((a) => {
    const name = nameOf(a)
    const wait = waits.get(name)
    const hold = holds.get(name)
    return {
      name,
      acquisitions: a.count,
      contended: contended.get(name)?.count ?? wait?.count ?? 0,
      waitMs: wait?.sumMs ?? 0,
      wait: percentiles(wait),
      holdMs: hold?.sumMs ?? 0,
      hold: percentiles(hold)
    }
  })
}

/** One sentence on the run's locks: how many, how often taken, and whether any acquisition had to wait. */
const lockSentence = (locks: ReadonlyArray<LockSummary>): string => {
  const acquisitions = locks.reduce((n, l) => n + l.acquisitions, 0)
  const contended = locks.filter((l) => l.contended > 0)
  const waits = contended.reduce((n, l) => n + l.contended, 0)
  const taken = `${locks.length} lock classes were acquired ${acquisitions} times in this run`
  return contended.length === 0
    ? `${taken}, and none was contended: every acquisition was granted at once, so no fiber waited for a lock.`
    : `${taken}; ${waits} acquisition(s) of ${contended.length} lock class(es) had to wait, ` +
      `${formatMs(contended.reduce((n, l) => n + l.waitMs, 0))} ms in total.`
}

const lockNote = "Times are clock readings in whole milliseconds (a hold shorter than 1 ms reads 0 ms), recorded in " +
  "the lock_hold_ms and lock_wait_ms histograms, whose buckets grow by a factor of 4 from 0.01 ms: the p50 and the " +
  "longest are the upper bounds of the buckets the median and the largest observation fall into, not exact values."

/**
 * The one-line status of a run: completed with its checks, or interrupted by which signal after how many frames.
 */
export const statusLine = (data: ReportData): string => {
  const frames = `${data.framesCaptured} of ${data.input.frames} frames per channel`
  const exit = `exit code ${data.exitCode}`
  if (data.status === "completed") {
    const failed = data.checks.filter((check) => !check.ok).length
    return `completed: ${frames} processed; ` +
      (failed === 0
        ? `all ${data.checks.length} checks passed`
        : `${failed} of ${data.checks.length} checks failed`) +
      ` (${exit})`
  }
  const by = `interrupted by ${data.signal ?? "a signal"}`
  return data.framesCaptured >= data.input.frames
    ? `${by} during the final checks: ${frames} processed, the outputs are complete; checks skipped (${exit})`
    : `${by} after ${frames}; partial outputs finalised, checks skipped (${exit})`
}

/** What the renderers need: a subset of the report. */
export interface ReportData {
  readonly status: string
  readonly signal?: string | undefined
  readonly exitCode: number
  readonly framesCaptured: number
  readonly input: {
    readonly path: string
    readonly sampleRate: number
    readonly channels: number
    readonly frames: number
  }
  readonly elapsedMs: number
  readonly components: ReadonlyArray<ComponentSummary>
  readonly history: ReadonlyArray<StateChange>
  readonly recoveries: { readonly episodes: ReadonlyArray<RecoveryEpisode> }
  readonly locks: { readonly statistics: ReadonlyArray<LockStat> }
  readonly checks: ReadonlyArray<{ readonly name: string; readonly ok: boolean; readonly detail: string }>
  readonly cleanup: { readonly status: string; readonly executionOrder: ReadonlyArray<string> }
  readonly queues: ReadonlyArray<QueueCounters>
  readonly pool: {
    readonly name: string
    readonly inUse: number
    readonly tiers: ReadonlyArray<{
      readonly name: string
      readonly size: number
      readonly limit: number
      readonly allocations: number
      readonly reuses: number
      readonly releases: number
      readonly peak: number
      readonly inUse: number
    }>
  }
  readonly recoveryLog: { readonly directory: string; readonly session: string; readonly files: ReadonlyArray<string> }
}

const queueRows = (data: ReportData) =>
  data.queues.map((q) => [
    q.name,
    q.capacity,
    q.put,
    q.taken,
    q.dropped,
    q.overflowed,
    q.highWater,
    q.latencyMeanMs.toFixed(2),
    q.latencyMaxMs
  ])

const queueHeader = ["queue", "capacity", "put", "taken", "dropped", "full", "high water", "latency mean (ms)", "max"]

const tierRows = (data: ReportData) =>
  data.pool.tiers.map((t) => [
    `${data.pool.name}/${t.name}`,
    `${t.size} B x ${t.limit}`,
    t.allocations,
    t.reuses,
    t.releases,
    t.peak,
    t.inUse
  ])

const tierHeader = ["pool tier", "buffers", "allocations", "reuses", "releases", "peak in use", "in use at the end"]

const fence = (body: string) => "```mermaid\n" + body.trim() + "\n```"

const node = (name: string) => `${name.replace(/-/g, "_")}["${name}"]`

/** The data flow: an arrow from each component to the ones that take its frames, labelled with the queue. */
const componentGraph = (data: ReportData): string =>
  [
    "flowchart LR",
    ...data.components.flatMap((c) =>
      c.takesFrom.map((from) =>
        `  ${node(from)} -->|"${from === "capture" ? "capture" : "processing"}-${c.channels[0] ?? ""}"| ${node(c.name)}`
      )
    )
  ].join("\n")

/** `report.md`: Markdown with Mermaid diagrams. */
export const markdown = (data: ReportData): string => {
  const lines: Array<string> = []
  lines.push(`# Demo run: ${data.status}`, "")
  lines.push(`**Status:** ${statusLine(data)}.`, "")
  lines.push(
    `Input \`${data.input.path}\`, ${data.input.channels} channel(s) at ${data.input.sampleRate} Hz; ` +
      `pipeline ${data.elapsedMs} ms.`,
    ""
  )
  lines.push("## Checks", "", "| check | result | detail |", "| --- | --- | --- |")
  for (const c of data.checks) lines.push(`| ${c.name} | ${c.ok ? "PASS" : "FAIL"} | ${c.detail} |`)
  if (data.checks.length === 0) lines.push("| (skipped: the run was interrupted) | | |")
  lines.push(
    "",
    "## Components",
    "",
    "The stages are components of the `ComponentCoordinator`. Frames flow along the arrows, each a queue of the " +
      "`BufferManager` (`<stage>-<channel>`). A component depends on the components it feeds: they start before it " +
      "and stop after it.",
    ""
  )
  lines.push(fence(componentGraph(data)), "")
  lines.push(
    "| component | depends on | takes frames from | channels | end state | starts | restarts | failures |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |"
  )
  for (const c of data.components) {
    lines.push(
      `| ${c.name} | ${c.dependencies.join(", ") || "-"} | ${c.takesFrom.join(", ") || "(the input)"} | ` +
        `${c.channels.join(", ")} | ${c.state} | ${c.generation} | ${c.restarts} | ${c.failures} |`
    )
  }
  lines.push("")
  lines.push(
    "## Buffers",
    "",
    "The `BufferManager`'s queues (every frame, and one end-of-stream marker per queue) and the `ResourcePool` the " +
      "frames' sample buffers (capture to writer) and the queues' buffers come from.",
    ""
  )
  const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string | number>>) => {
    lines.push(`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`)
    for (const row of rows) lines.push(`| ${row.join(" | ")} |`)
    lines.push("")
  }
  table(queueHeader, queueRows(data))
  table(tierHeader, tierRows(data))
  lines.push("## Recovery episodes", "")
  if (data.recoveries.episodes.length === 0) {
    lines.push("None.", "")
  } else {
    lines.push(
      "| # | component | fault | frame | at (ms) | MTTR (ms) | steps | verified |",
      "| --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    for (const e of data.recoveries.episodes) {
      lines.push(
        `| ${e.id} | ${e.component} | ${e.fault} | ${e.seq ?? "-"} | ${e.detectedAtMs} | ${e.mttrMs} | ` +
          `${e.steps.map((s) => s.name).join(" → ")} | ${e.recovered ? "yes" : "NO"} |`
      )
    }
    lines.push("")
  }
  lines.push(
    `The \`RecoveryLogger\` (session ${data.recoveryLog.session}) wrote ${data.recoveryLog.files.length} file(s) ` +
      `under \`${data.recoveryLog.directory}/\`${data.recoveryLog.files.length === 0 ? "." : ":"}`,
    "",
    ...data.recoveryLog.files.map((file) => `- \`${file}\``),
    ...(data.recoveryLog.files.length === 0 ? [] : [""])
  )
  lines.push("## State machines", "")
  lines.push(
    "The recovery episodes follow the main path of the `Recovery` preset (stop capture, flush buffers, " +
      "reinitialise, verify); the shutdown drives the `CleanupPhase` preset through the CleanupCoordinator " +
      `(${data.cleanup.executionOrder.join(", ")}: ${data.cleanup.status}); every stage runs on a \`Component\` ` +
      "machine of the ComponentCoordinator (a fault moves it to `Error`; the episode's reinitialise step restarts " +
      "it: `Error -> Stopped -> Initializing -> Running`).",
    ""
  )
  for (
    const [title, def] of [
      ["Recovery", Presets.Recovery],
      ["CleanupPhase", Presets.CleanupPhase],
      ["Component", Presets.Component]
    ] as const
  ) {
    lines.push(`### ${title}`, "", fence(Definition.toMermaid(def as Definition.Definition.Any)), "")
  }
  lines.push("## Lock order", "", "`LockHierarchy.Global`: a fiber takes levels of increasing rank.", "")
  lines.push("| rank | level |", "| --- | --- |")
  for (const level of LockHierarchy.Global.levels) lines.push(`| ${level.rank} | ${level.name} |`)
  lines.push("", "## Lock statistics (this run)", "")
  const locks = lockSummaries(data.locks.statistics)
  if (locks.length === 0) {
    lines.push("No lock was taken.")
  } else {
    const anyContended = locks.some((l) => l.contended > 0)
    lines.push(lockSentence(locks), "")
    lines.push(
      `| lock (mode) | acquisitions | contended |${anyContended ? " waited (ms) | wait p50 |" : ""} ` +
        "held in total (ms) | hold p50 | longest hold |",
      `| --- | --- | --- |${anyContended ? " --- | --- |" : ""} --- | --- | --- |`
    )
    for (const l of locks) {
      lines.push(
        `| ${l.name} | ${l.acquisitions} | ${l.contended} |` +
          (anyContended ? ` ${formatMs(l.waitMs)} | ${l.wait?.p50 ?? "-"} |` : "") +
          ` ${formatMs(l.holdMs)} | ${l.hold?.p50 ?? "-"} | ${l.hold?.max ?? "-"} |`
      )
    }
    lines.push(
      "",
      lockNote,
      "",
      "The raw metrics (`lock_*`, per lock and mode) are `locks.statistics` in `report.json`."
    )
  }
  return lines.join("\n") + "\n"
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const stateColor: Readonly<Record<StageStatus, string>> = {
  Uninitialized: "#d0d4da",
  Idle: "#b0bec5",
  Initializing: "#a5d6a7",
  Initiating: "#a5d6a7",
  Running: "#4caf50",
  Paused: "#fdd835",
  Stopping: "#90caf9",
  StoppingCapture: "#90caf9",
  Stopped: "#1e88e5",
  Error: "#e53935"
}

/** The states a run's timeline shows in its legend (the others of the preset are never entered here). */
const legendStates: ReadonlyArray<StageStatus> = [
  "Uninitialized",
  "Initializing",
  "Running",
  "Stopping",
  "Stopped",
  "Error"
]

/** An SVG timeline: one row per component, its states as coloured bars, recoveries as red markers. */
const timeline = (data: ReportData): string => {
  const names = data.components.map((c) => c.name)
  const width = 900
  const left = 130
  const row = 28
  const end = Math.max(1, data.elapsedMs, ...data.history.map((h) => h.atMs))
  const x = (ms: number) => left + (ms / end) * (width - left - 10)
  const parts: Array<string> = []
  names.forEach((name, i) => {
    const y = 10 + i * row
    parts.push(`<text x="4" y="${y + 15}">${esc(name)}</text>`)
    const changes = data.history.filter((h) => h.component === name)
    changes.forEach((h, j) => {
      const until = changes[j + 1]?.atMs ?? end
      const w = Math.max(1, x(until) - x(h.atMs))
      parts.push(
        `<rect x="${x(h.atMs).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="20" ` +
          `fill="${stateColor[h.state]}"><title>${esc(`${name}: ${h.state} from ${h.atMs} ms`)}</title></rect>`
      )
    })
  })
  for (const e of data.recoveries.episodes) {
    const i = names.indexOf(e.component)
    const y = 10 + Math.max(0, i) * row
    parts.push(
      `<path d="M${x(e.detectedAtMs).toFixed(1)} ${y - 4} l5 -6 h-10 z" fill="#b71c1c">` +
        `<title>${
          esc(`#${e.id} ${e.component} ${e.fault} at frame ${e.seq ?? "-"}, MTTR ${e.mttrMs} ms`)
        }</title></path>`
    )
  }
  const h = 20 + names.length * row + 20
  parts.push(`<text x="${left}" y="${h - 4}">0 ms</text><text x="${width - 60}" y="${h - 4}">${end} ms</text>`)
  const legend = legendStates.map((s) => `<span class="key"><i style="background:${stateColor[s]}"></i>${s}</span>`)
    .join(" ")
  return `<svg viewBox="0 0 ${width} ${h}" width="${width}" height="${h}" role="img">${parts.join("")}</svg>` +
    `<p>${legend} <span class="key"><i style="background:#b71c1c"></i>recovery</span></p>`
}

/**
 * The locks: one sentence on contention, then per lock class a bar of its total hold time (grey) and, when any
 * acquisition of the run waited, of its total wait time (purple), each with the counts and the bucket percentiles.
 */
const lockChart = (data: ReportData): string => {
  const locks = lockSummaries(data.locks.statistics)
  if (locks.length === 0) return "<p>No lock was taken.</p>"
  const anyContended = locks.some((l) => l.contended > 0)
  const scale = Math.max(1, ...locks.map((l) => Math.max(l.waitMs, l.holdMs)))
  const width = 1000
  const left = 300
  const span = 160
  const rowHeight = anyContended ? 36 : 24
  const bar = (y: number, ms: number, color: string, text: string) => {
    const w = Math.max(1, (ms / scale) * span)
    return `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="11" fill="${color}"></rect>` +
      `<text x="${left + span + 10}" y="${y + 10}">${esc(text)}</text>`
  }
  const parts = locks.map((l, i) => {
    const y = 6 + i * rowHeight
    const held =
      `${l.acquisitions} acquisition${l.acquisitions === 1 ? "" : "s"}, held ${formatMs(l.holdMs)} ms in total` +
      (l.hold === undefined ? "" : `, p50 ${l.hold.p50}, longest ${l.hold.max}`)
    const waited = l.contended === 0
      ? "none waited"
      : `${l.contended} waited, ${formatMs(l.waitMs)} ms in total` +
        (l.wait === undefined ? "" : `, p50 ${l.wait.p50}, longest ${l.wait.max}`)
    return `<text x="4" y="${y + 10}">${esc(l.name)}</text>` +
      bar(y, l.holdMs, "#9e9e9e", held) +
      (anyContended ? bar(y + 13, l.waitMs, "#7e57c2", waited) : "")
  })
  const h = 8 + locks.length * rowHeight
  return `<p>${esc(lockSentence(locks))}</p>` +
    `<svg viewBox="0 0 ${width} ${h}" width="${width}" height="${h}" role="img">${parts.join("")}</svg>` +
    `<p><span class="key"><i style="background:#9e9e9e"></i>hold time (total)</span>` +
    (anyContended ? `<span class="key"><i style="background:#7e57c2"></i>wait time (total)</span>` : "") +
    `</p><p class="note">${esc(lockNote)}</p>`
}

const htmlTable = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string | number>>) =>
  `<table><tr>${header.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>${
    rows.map((row) => `<tr>${row.map((cell) => `<td>${esc(String(cell))}</td>`).join("")}</tr>`).join("")
  }</table>`

/** `report.html`: one self-contained page (inline CSS and SVG, no scripts). */
export const html = (data: ReportData): string => {
  const checks = data.checks.map((c) =>
    `<tr class="${c.ok ? "ok" : "bad"}"><td>${c.ok ? "PASS" : "FAIL"}</td><td>${esc(c.name)}</td>` +
    `<td>${esc(c.detail)}</td></tr>`
  ).join("")
  const episodes = data.recoveries.episodes.map((e) =>
    `<tr><td>${e.id}</td><td>${esc(e.component)}</td><td>${e.fault}</td><td>${e.seq ?? "-"}</td>` +
    `<td>${e.detectedAtMs}</td><td>${e.mttrMs}</td><td>${e.steps.map((s) => esc(s.name)).join(" &rarr; ")}</td>` +
    `<td>${e.recovered ? "yes" : "NO"}</td></tr>`
  ).join("")
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo run: ${esc(data.status)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
tr.ok td:first-child{color:#2e7d32;font-weight:bold}tr.bad td:first-child{color:#c62828;font-weight:bold}
p.status{padding:6px 10px;border-left:4px solid}p.status.ok{border-color:#2e7d32;background:#e8f5e9}
p.status.bad{border-color:#c62828;background:#ffebee}p.note{color:#555;font-size:12px}
svg text{font:12px system-ui,sans-serif}.key{margin-right:12px}.key i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
</style></head><body>
<h1>Demo run: ${esc(data.status)}</h1>
<p class="status ${data.status === "completed" && data.exitCode === 0 ? "ok" : "bad"}"><strong>Status:</strong> ${
    esc(statusLine(data))
  }.</p>
<p>Input <code>${esc(data.input.path)}</code>, ${data.input.channels} channel(s) at ${data.input.sampleRate} Hz;
pipeline ${data.elapsedMs} ms; shutdown through the CleanupCoordinator: ${esc(data.cleanup.status)}
(${data.cleanup.executionOrder.map(esc).join(", ")}).</p>
<h2>Checks</h2><table><tr><th></th><th>check</th><th>detail</th></tr>${
    checks || "<tr><td colspan=3>skipped: the run was interrupted</td></tr>"
  }</table>
<h2>Timeline of component states and recoveries</h2>${timeline(data)}
<h2>Components (ComponentCoordinator)</h2>${
    htmlTable(
      ["component", "depends on", "takes frames from", "channels", "end state", "starts", "restarts", "failures"],
      data.components.map((c) => [
        c.name,
        c.dependencies.join(", ") || "-",
        c.takesFrom.join(", ") || "(the input)",
        c.channels.join(", "),
        c.state,
        c.generation,
        c.restarts,
        c.failures
      ])
    )
  }
<h2>Recovery episodes</h2>${
    episodes === ""
      ? "<p>None.</p>"
      : `<table><tr><th>#</th><th>component</th><th>fault</th><th>frame</th><th>at (ms)</th><th>MTTR (ms)</th><th>steps</th><th>verified</th></tr>${episodes}</table>`
  }
<h2>Buffers</h2>${htmlTable(queueHeader, queueRows(data))}${htmlTable(tierHeader, tierRows(data))}
<p>Recovery log (<code>RecoveryLogger</code>, session ${esc(data.recoveryLog.session)}): ${
    data.recoveryLog.files.length === 0
      ? "no file written."
      : data.recoveryLog.files.map((file) => `<code>${esc(file)}</code>`).join(", ")
  }</p>
<h2>Locks: wait and hold time</h2>${lockChart(data)}
</body></html>
`
}
