import { assert, describe, it } from "@effect/vitest"
import * as Reports from "../src/internal/reports.js"

/** Bucket bounds of the lock histograms: 0.01 ms times powers of 4, then Infinity. */
const bounds = [...Array.from({ length: 11 }, (_, i) => Number((0.01 * 4 ** i).toPrecision(4))), Infinity]

/** A histogram's cumulative buckets for whole-millisecond observations. */
const buckets = (observations: ReadonlyArray<number>): ReadonlyArray<readonly [number, number]> =>
  bounds.map((bound) => [bound, observations.filter((ms) => ms <= bound).length] as const)

const tags = (lock: string) => ({ lock, mode: "exclusive" })

const histogram = (metric: string, lock: string, observations: ReadonlyArray<number>): Reports.LockStat => ({
  metric,
  tags: tags(lock),
  count: observations.length,
  sumMs: observations.reduce((n, ms) => n + ms, 0),
  buckets: buckets(observations)
})

const counter = (metric: string, lock: string, count: number): Reports.LockStat => ({ metric, tags: tags(lock), count })

const keyed = (stats: ReadonlyArray<Reports.LockStat>): ReadonlyMap<string, Reports.LockStat> =>
  new Map(stats.map((s) => [`${s.metric}|${s.tags.lock}`, s]))

/** A report of a run with the given lock statistics and status, and nothing else of note. */
const data = (
  statistics: ReadonlyArray<Reports.LockStat>,
  status: Partial<Pick<Reports.ReportData, "status" | "signal" | "exitCode" | "framesCaptured" | "checks">> = {}
): Reports.ReportData => ({
  status: "completed",
  exitCode: 0,
  framesCaptured: 12000,
  input: { path: "in.wav", sampleRate: 16000, channels: 2, frames: 12000 },
  elapsedMs: 100,
  components: [],
  history: [],
  recoveries: { episodes: [] },
  locks: { statistics },
  checks: [{ name: "a check", ok: true, detail: "fine" }],
  cleanup: { status: "Completed", executionOrder: [] },
  queues: [],
  pool: { name: "demo", inUse: 0, tiers: [] },
  recoveryLog: { directory: "recovery", session: "s", files: [] },
  ...status
})

describe("Reports", () => {
  describe("lockDelta", () => {
    it("subtracts the earlier snapshot, buckets included, and gives every acquired lock zero wait statistics", () => {
      const before = keyed([counter("lock_acquisitions", "A", 2), histogram("lock_hold_ms", "A", [0, 3])])
      const after = keyed([
        counter("lock_acquisitions", "A", 5),
        histogram("lock_hold_ms", "A", [0, 3, 0, 1, 30]),
        counter("lock_acquisitions", "B", 1),
        histogram("lock_hold_ms", "B", [2]),
        counter("lock_contended_acquisitions", "B", 1),
        histogram("lock_wait_ms", "B", [4])
      ])
      const delta = Reports.lockDelta(before, after)
      const find = (metric: string, lock: string) => delta.find((s) => s.metric === metric && s.tags.lock === lock)
      assert.strictEqual(find("lock_acquisitions", "A")?.count, 3)
      assert.deepStrictEqual(find("lock_hold_ms", "A")?.buckets, buckets([0, 1, 30]))
      assert.strictEqual(find("lock_hold_ms", "A")?.sumMs, 31)
      // A was never contended: its wait metrics are there with zero counts, on the same bucket bounds.
      assert.deepStrictEqual(find("lock_contended_acquisitions", "A"), counter("lock_contended_acquisitions", "A", 0))
      assert.deepStrictEqual(find("lock_wait_ms", "A"), histogram("lock_wait_ms", "A", []))
      assert.deepStrictEqual(find("lock_wait_ms", "B"), histogram("lock_wait_ms", "B", [4]))
      assert.strictEqual(delta.length, 8)
    })
  })

  describe("lockSummaries", () => {
    it("counts acquisitions and contended waits, and gives percentiles as the bucket bounds they fall under", () => {
      const [a] = Reports.lockSummaries([
        counter("lock_acquisitions", "A", 5),
        counter("lock_contended_acquisitions", "A", 2),
        histogram("lock_hold_ms", "A", [0, 0, 0, 1, 30]),
        histogram("lock_wait_ms", "A", [3, 5])
      ])
      assert.deepStrictEqual(a, {
        name: "A (exclusive)",
        acquisitions: 5,
        contended: 2,
        waitMs: 8,
        wait: { p50: "≤ 10.24 ms", max: "≤ 10.24 ms" },
        holdMs: 31,
        hold: { p50: "< 1 ms", max: "≤ 40.96 ms" }
      })
    })
  })

  describe("statusLine", () => {
    it("says how a run ended: completed with its checks, or which signal stopped it after how many frames", () => {
      assert.strictEqual(
        Reports.statusLine(data([])),
        "completed: 12000 of 12000 frames per channel processed; all 1 checks passed (exit code 0)"
      )
      assert.strictEqual(
        Reports.statusLine(data([], { status: "interrupted", signal: "SIGINT", exitCode: 130, framesCaptured: 683 })),
        "interrupted by SIGINT after 683 of 12000 frames per channel; partial outputs finalised, checks skipped " +
          "(exit code 130)"
      )
      assert.strictEqual(
        Reports.statusLine(data([], { status: "interrupted", signal: "SIGTERM", exitCode: 143, checks: [] })),
        "interrupted by SIGTERM during the final checks: 12000 of 12000 frames per channel processed, the outputs " +
          "are complete; checks skipped (exit code 143)"
      )
    })

    it("heads report.md and report.html", () => {
      const interrupted = data([], { status: "interrupted", signal: "SIGINT", exitCode: 130, framesCaptured: 683 })
      const line = "interrupted by SIGINT after 683 of 12000 frames per channel"
      assert.include(Reports.markdown(interrupted), `# Demo run: interrupted\n\n**Status:** ${line}`)
      assert.include(Reports.html(interrupted), `<p class="status bad"><strong>Status:</strong> ${line}`)
    })
  })

  describe("the lock chart", () => {
    const quiet = [
      counter("lock_acquisitions", "A", 15),
      histogram("lock_hold_ms", "A", [...Array<number>(12).fill(0), 1, 2, 27]),
      counter("lock_contended_acquisitions", "A", 0),
      histogram("lock_wait_ms", "A", []),
      counter("lock_acquisitions", "B", 3),
      histogram("lock_hold_ms", "B", [0, 0, 1]),
      counter("lock_contended_acquisitions", "B", 0),
      histogram("lock_wait_ms", "B", [])
    ]

    it("says in one sentence that nothing was contended instead of drawing empty wait bars", () => {
      const html = Reports.html(data(quiet))
      assert.include(
        html,
        "2 lock classes were acquired 18 times in this run, and none was contended: every acquisition was granted " +
          "at once, so no fiber waited for a lock."
      )
      assert.notInclude(html, "#7e57c2")
      assert.include(html, "15 acquisitions, held 30 ms in total, p50 &lt; 1 ms, longest ≤ 40.96 ms")
      assert.notInclude(html, ".00")
      const md = Reports.markdown(data(quiet))
      assert.include(md, "| lock (mode) | acquisitions | contended | held in total (ms) | hold p50 | longest hold |")
      assert.include(md, "| A (exclusive) | 15 | 0 | 30 | < 1 ms | ≤ 40.96 ms |")
    })

    it("draws wait bars with the contended counts when an acquisition waited", () => {
      const contended = quiet.map((s) =>
        s.tags.lock !== "B"
          ? s
          : s.metric === "lock_contended_acquisitions"
          ? counter("lock_contended_acquisitions", "B", 2)
          : s.metric === "lock_wait_ms"
          ? histogram("lock_wait_ms", "B", [1, 6])
          : s
      )
      const html = Reports.html(data(contended))
      assert.include(html, "2 acquisition(s) of 1 lock class(es) had to wait, 7 ms in total.")
      assert.include(html, "#7e57c2")
      assert.include(html, "2 waited, 7 ms in total, p50 ≤ 2.56 ms, longest ≤ 10.24 ms")
      assert.include(html, "none waited")
      assert.include(
        Reports.markdown(data(contended)),
        "| B (exclusive) | 3 | 2 | 7 | ≤ 2.56 ms | 1 | < 1 ms | ≤ 2.56 ms |"
      )
    })
  })
})
