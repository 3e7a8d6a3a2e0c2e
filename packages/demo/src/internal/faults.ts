/**
 * What stopped a failed worker: the injected fault or watchdog timeout behind it, and its kind in a recovery episode.
 *
 * @since 0.1.0
 */
import * as FaultInjector from "@core-stability/testing/FaultInjector"
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"
import type { Fault, RecoveryEpisode } from "./model.js"
import { StageHung } from "./model.js"

/** The injected fault or watchdog timeout behind a failed worker, if that is what stopped it. */
export const faultOf = (cause: Cause.Cause<unknown>): Option.Option<Fault> => {
  if (Cause.isInterruptedOnly(cause)) return Option.none()
  const error = Cause.squash(cause)
  return FaultInjector.isInjectedFault(error) || error instanceof StageHung ? Option.some(error) : Option.none()
}

export const faultName = (fault: Fault): RecoveryEpisode["fault"] =>
  fault._tag === "StageHung" ? "hang" : fault.kind === "die" ? "crash" : "io-error"
