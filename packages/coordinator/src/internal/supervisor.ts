/**
 * The pure decisions of the supervisor (OTP's `supervisor` module): which components a restart touches, and whether
 * the restart intensity allows one more restart.
 */

/** @internal */
export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one"

/**
 * The components to restart after `failed` ends, in start order, among `live` (the components that were running or
 * had failed, in start order; `failed` is one of them).
 *
 * - `one_for_one`: only `failed`.
 * - `one_for_all`: every live component.
 * - `rest_for_one`: `failed` and every live component started after it (its dependents among them).
 *
 * @internal
 */
export const affected = (
  strategy: Strategy,
  failed: string,
  live: ReadonlyArray<string>
): ReadonlyArray<string> => {
  switch (strategy) {
    case "one_for_one":
      return [failed]
    case "one_for_all":
      return live
    case "rest_for_one": {
      const at = live.indexOf(failed)
      return at < 0 ? [failed] : live.slice(at)
    }
  }
}

/**
 * Records a restart at `now` in `restarts` (times in ms, oldest first; mutated) after dropping those older than
 * `periodMs`, and says whether it is allowed: OTP terminates the supervisor when more than `maxRestarts` restarts
 * happen within the period.
 *
 * @internal
 */
export const admitRestart = (
  restarts: Array<number>,
  now: number,
  maxRestarts: number,
  periodMs: number
): boolean => {
  while (restarts.length > 0 && restarts[0]! <= now - periodMs) restarts.shift()
  restarts.push(now)
  return restarts.length <= maxRestarts
}

/**
 * Whether a component that ended, with this restart type and this exit, is restarted (OTP child restart types).
 *
 * @internal
 */
export const shouldRestart = (type: "permanent" | "transient" | "temporary", abnormal: boolean): boolean =>
  type === "permanent" || (type === "transient" && abnormal)
