/**
 * The terminal table of a run's results.
 *
 * @since 0.1.0
 */
import type { BenchmarkResult } from "./BenchmarkResult.js"
import * as Format from "./Format.js"

const columns: ReadonlyArray<{
  readonly header: string
  readonly align: "left" | "right"
  readonly cell: (result: BenchmarkResult) => string
}> = [
  { header: "id", align: "left", cell: (result) => result.id },
  { header: "subject", align: "right", cell: (result) => Format.value(result.subjectValue, result.unit) },
  { header: "baseline", align: "right", cell: (result) => Format.value(result.baselineValue, result.unit) },
  { header: "unit", align: "left", cell: (result) => result.unit },
  { header: "ratio", align: "right", cell: (result) => Format.ratio(result.ratio) },
  { header: "target", align: "left", cell: (result) => Format.target(result.target, result.direction) },
  { header: "result", align: "left", cell: Format.verdict }
]

/**
 * Renders results as an aligned plain-text table, one row per benchmark, with a closing line counting passes, misses
 * and reported-only rows.
 *
 * @example
 * ```ts
 * import { Table } from "@core-stability/bench"
 *
 * console.log(Table.render([]))
 * ```
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (results: ReadonlyArray<BenchmarkResult>): string => {
  const rows = [columns.map((column) => column.header), ...results.map((result) => columns.map((c) => c.cell(result)))]
  const widths = columns.map((_, index) => Math.max(...rows.map((row) => row[index]!.length)))
  const line = (row: ReadonlyArray<string>): string =>
    row.map((cell, index) =>
      columns[index]!.align === "left" ? cell.padEnd(widths[index]!) : cell.padStart(widths[index]!)
    )
      .join("  ")
      .trimEnd()
  const passed = results.filter((result) => result.pass === true).length
  const missed = results.filter((result) => result.pass === false).length
  const reported = results.length - passed - missed
  return [
    line(rows[0]!),
    widths.map((width) => "-".repeat(width)).join("  "),
    ...rows.slice(1).map(line),
    "",
    `${passed} passed, ${missed} missed, ${reported} reported only`
  ].join("\n")
}
