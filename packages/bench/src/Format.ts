/**
 * Number formatting shared by the terminal table and the results page.
 *
 * @since 0.1.0
 */
import type { BenchmarkResult, Direction, Unit } from "./BenchmarkResult.js"

const grouped = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 })
const precise = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 3 })

/**
 * A measured value in its unit, compactly: ops/s as `412 k` or `1.23 M`, bytes and ns/op grouped (`1,234`), ms and
 * us with three significant digits.
 *
 * @example
 * ```ts
 * import { Format } from "@core-stability/bench"
 *
 * Format.value(412_345, "ops/s") // "412 k"
 * ```
 *
 * @since 0.1.0
 * @category rendering
 */
export const value = (measured: number, unit: Unit): string => {
  switch (unit) {
    case "ops/s":
      return measured >= 1e6
        ? `${precise.format(measured / 1e6)} M`
        : measured >= 1e3
        ? `${precise.format(measured / 1e3)} k`
        : precise.format(measured)
    case "bytes":
    case "ns/op":
      return measured >= 100 ? grouped.format(measured) : precise.format(measured)
    case "ms":
    case "us":
      return precise.format(measured)
  }
}

/**
 * A ratio with two decimals.
 *
 * @since 0.1.0
 * @category rendering
 */
export const ratio = (measured: number): string => measured.toFixed(2)

/**
 * A target as the comparison it demands (`>= 1.00`, `<= 1.30`), or `-` when the benchmark is reported only.
 *
 * @since 0.1.0
 * @category rendering
 */
export const target = (goal: number | null, direction: Direction): string =>
  goal === null ? "-" : `${direction === "higher" ? ">=" : "<="} ${goal.toFixed(2)}`

/**
 * The verdict: `pass`, `MISS`, or `-` when reported only.
 *
 * @since 0.1.0
 * @category rendering
 */
export const verdict = (result: BenchmarkResult): string => result.pass === null ? "-" : result.pass ? "pass" : "MISS"
