import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as FaultInjector from "../FaultInjector.js"
import * as Prng from "./prng.js"

/** @internal */
export const HitTypeId: unique symbol = Symbol.for("@core-stability/testing/FaultInjector/hit")

/**
 * The service shape plus the hot-path entry the `point` accessor uses: `[HitTypeId](name)` counts the hit now and
 * returns what to run (a shared `Effect.void` when nothing fires), so a point with no fault allocates nothing.
 *
 * @internal
 */
export interface Injector extends FaultInjector.FaultInjector.Service {
  readonly [HitTypeId]: (name: string) => Effect.Effect<void, FaultInjector.InjectedFault>
}

/** @internal */
export class InjectedFault extends Data.TaggedError("InjectedFault")<{
  readonly point: string
  readonly kind: "fail" | "die"
  readonly hit: number
  readonly error: unknown
}> {
  override get message(): string {
    const detail = this.error === undefined ? "" : `: ${String(this.error)}`
    return `fault injected at point "${this.point}" (hit ${this.hit}, ${this.kind})${detail}`
  }
}

/** @internal */
export const isInjectedFault = (u: unknown): u is FaultInjector.InjectedFault => Predicate.isTagged(u, "InjectedFault")

/** @internal */
export class FaultSpecError extends Data.TaggedError("FaultSpecError")<{
  readonly spec: string
  readonly token: string
  readonly reason: string
}> {
  override get message(): string {
    return `invalid fault spec token "${this.token}" in "${this.spec}": ${this.reason}`
  }
}

/** @internal */
export const isFaultSpecError = (u: unknown): u is FaultInjector.FaultSpecError =>
  Predicate.isTagged(u, "FaultSpecError")

const emptyHits: ReadonlyMap<string, number> = new Map()
const emptyLog: ReadonlyArray<FaultInjector.FiredFault> = []

/** @internal */
export const none: Injector = {
  point: () => Effect.void,
  hits: Effect.succeed(emptyHits),
  fired: Effect.succeed(emptyLog),
  [HitTypeId]: () => Effect.void
}

/** @internal */
export class FaultInjectorTag extends Context.Reference<FaultInjectorTag>()("@core-stability/testing/FaultInjector", {
  defaultValue: (): FaultInjector.FaultInjector.Service => none
}) {}

const faultKinds: ReadonlyArray<FaultInjector.FaultKind> = ["fail", "die", "interrupt", "delay"]

const validate = (point: string, fault: FaultInjector.FaultConfig): string | undefined => {
  if (point.length === 0) return "the point name is empty"
  if (!faultKinds.includes(fault.kind)) {
    return `unknown kind ${JSON.stringify(fault.kind)}: expected one of ${faultKinds.join(", ")}`
  }
  if (fault.probability !== undefined && !(fault.probability >= 0 && fault.probability <= 1)) {
    return `probability must be within [0, 1], got ${fault.probability}`
  }
  if (fault.nth !== undefined && !(Number.isInteger(fault.nth) && fault.nth >= 1)) {
    return `nth must be an integer >= 1, got ${fault.nth}`
  }
  if (fault.kind === "delay") {
    if (fault.delay === undefined) return "a delay fault needs a delay"
    const millis = Duration.decodeUnknown(fault.delay)
    if (millis._tag === "None" || !Duration.isFinite(millis.value)) return "the delay must be a finite duration"
  }
  return undefined
}

interface Armed {
  readonly fault: FaultInjector.FaultConfig
  readonly random: () => number
}

/** @internal */
export const validateOptions = (options: FaultInjector.Options | undefined): FaultSpecError | undefined => {
  const spec = "FaultInjector options"
  const seed = options?.seed ?? 0
  if (!Number.isSafeInteger(seed)) {
    return new FaultSpecError({ spec, token: "seed", reason: `the seed must be a safe integer, got ${seed}` })
  }
  for (const [point, fault] of Object.entries(options?.faults ?? {})) {
    const reason = validate(point, fault)
    if (reason !== undefined) {
      return new FaultSpecError({ spec, token: point, reason })
    }
  }
  return undefined
}

const construct = (options: FaultInjector.Options | undefined): Injector => {
  const seed = options?.seed ?? 0
  const armed = new Map<string, Armed>()
  for (const [point, fault] of Object.entries(options?.faults ?? {})) {
    armed.set(point, { fault, random: Prng.make((Prng.seed32(seed) ^ Prng.hashString(point)) | 0) })
  }
  const counts = new Map<string, number>()
  const log: Array<FaultInjector.FiredFault> = []
  const fire = (point: string, hit: number, fault: FaultInjector.FaultConfig): Effect.Effect<void, InjectedFault> => {
    log.push({ point, kind: fault.kind, hit })
    switch (fault.kind) {
      case "fail":
        return Effect.fail(new InjectedFault({ point, kind: "fail", hit, error: fault.error }))
      case "die":
        return Effect.die(new InjectedFault({ point, kind: "die", hit, error: fault.error }))
      case "interrupt":
        return Effect.interrupt
      case "delay":
        return Effect.sleep(fault.delay ?? Duration.zero)
    }
  }
  const hit = (point: string): Effect.Effect<void, InjectedFault> => {
    const count = (counts.get(point) ?? 0) + 1
    counts.set(point, count)
    const entry = armed.get(point)
    if (entry === undefined) return Effect.void
    const { fault, random } = entry
    if (fault.nth !== undefined && fault.nth !== count) return Effect.void
    if (fault.probability !== undefined && !(random() < fault.probability)) return Effect.void
    return fire(point, count, fault)
  }
  return {
    point: (name) => Effect.suspend(() => hit(name)),
    hits: Effect.sync(() => new Map(counts)),
    fired: Effect.sync(() => log.slice()),
    [HitTypeId]: hit
  }
}

/** @internal */
export const unsafeMake = (options?: FaultInjector.Options): FaultInjector.FaultInjector.Service => {
  const error = validateOptions(options)
  if (error !== undefined) {
    throw error
  }
  return construct(options)
}

/** @internal */
export const make = (
  options?: FaultInjector.Options
): Effect.Effect<FaultInjector.FaultInjector.Service, FaultInjector.FaultSpecError> =>
  Effect.suspend(() => {
    const error = validateOptions(options)
    return error === undefined ? Effect.succeed(construct(options)) : Effect.fail(error)
  })

/** @internal */
export const layer = (options?: FaultInjector.Options): Layer.Layer<FaultInjectorTag, FaultInjector.FaultSpecError> =>
  Layer.effect(FaultInjectorTag, make(options))

const asInjector = (service: FaultInjector.FaultInjector.Service): Injector =>
  HitTypeId in service ? service as Injector : { ...service, [HitTypeId]: service.point }

/** @internal */
export const point = (name: string): Effect.Effect<void, FaultInjector.InjectedFault> =>
  Effect.flatMap(FaultInjectorTag, (service) => asInjector(service)[HitTypeId](name))

/** @internal */
export const hits: Effect.Effect<ReadonlyMap<string, number>> = Effect.flatMap(FaultInjectorTag, (s) => s.hits)

/** @internal */
export const fired: Effect.Effect<ReadonlyArray<FaultInjector.FiredFault>> = Effect.flatMap(
  FaultInjectorTag,
  (s) => s.fired
)

// ---------------------------------------------------------------------------------------------------------------
// spec strings: "processor-left:crash@p=0.01,writer-right:io-error@n=3,cache:delay=250ms"
// ---------------------------------------------------------------------------------------------------------------

const pointPattern = /^[A-Za-z0-9_.\-/]+$/
const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m)$/
const errorPattern = /^[A-Za-z0-9_.]+(?:-[A-Za-z0-9_.]+)*-error$|^error$/

const expectedFaults = "expected fail, error, <name>-error, die, crash, interrupt or delay=<n>ms|s|m"

const parseFault = (text: string): Either.Either<FaultInjector.ParsedFault, string> => {
  switch (text) {
    case "fail":
      return Either.right({ kind: "fail" })
    case "die":
    case "crash":
      return Either.right({ kind: "die", error: text })
    case "interrupt":
      return Either.right({ kind: "interrupt" })
  }
  if (text.startsWith("delay=")) {
    const match = durationPattern.exec(text.slice("delay=".length))
    if (match === null) return Either.left(`bad delay "${text}": expected delay=<n>ms, delay=<n>s or delay=<n>m`)
    const amount = Number(match[1])
    const unit = match[2] === "ms"
      ? Duration.millis(amount)
      : match[2] === "s"
      ? Duration.seconds(amount)
      : Duration.minutes(amount)
    return Either.right({ kind: "delay", delay: unit })
  }
  if (errorPattern.test(text)) {
    return Either.right({ kind: "fail", error: text })
  }
  return Either.left(`unknown fault "${text}"; ${expectedFaults}`)
}

const parseTrigger = (
  fault: FaultInjector.ParsedFault,
  text: string
): Either.Either<FaultInjector.ParsedFault, string> => {
  const [key, value, ...rest] = text.split("=")
  if (value === undefined || rest.length > 0 || value.length === 0) {
    return Either.left(`bad trigger "@${text}": expected @p=<probability> or @n=<hit>`)
  }
  // plain decimal numbers only (`Number` would also take "0x1", "1e1", " 1")
  if (!/^(?:\d+(?:\.\d*)?|\.\d+)$/.test(value)) {
    return Either.left(`bad trigger "@${text}": "${value}" is not a decimal number`)
  }
  if ((key === "p" && fault.probability !== undefined) || (key === "n" && fault.nth !== undefined)) {
    return Either.left(`a second @${key}= trigger "@${text}": give each trigger once`)
  }
  const number = Number(value)
  switch (key) {
    case "p":
      if (!(number >= 0 && number <= 1)) return Either.left(`bad probability "${value}": expected a number in [0, 1]`)
      return Either.right({ ...fault, probability: number })
    case "n":
      if (!(Number.isInteger(number) && number >= 1)) return Either.left(`bad hit "${value}": expected an integer >= 1`)
      return Either.right({ ...fault, nth: number })
    default:
      return Either.left(`unknown trigger "@${text}": expected @p=<probability> or @n=<hit>`)
  }
}

/** @internal */
export const parseEntry = (token: string): Either.Either<readonly [string, FaultInjector.ParsedFault], string> => {
  const colon = token.indexOf(":")
  if (colon < 0) return Either.left(`expected <point>:<fault>[@p=<probability>|@n=<hit>]`)
  const point = token.slice(0, colon)
  if (!pointPattern.test(point)) return Either.left(`bad point name "${point}": use letters, digits, _ . - /`)
  const [faultText, ...triggers] = token.slice(colon + 1).split("@")
  let result = parseFault(faultText!)
  for (const trigger of triggers) {
    result = Either.flatMap(result, (fault) => parseTrigger(fault, trigger))
  }
  return Either.map(result, (fault) => [point, fault] as const)
}

const tokens = (spec: string): Array<string> =>
  spec.trim().length === 0 ? [] : spec.split(",").map((token) => token.trim())

const parseAll = (
  spec: string
): Either.Either<FaultInjector.ParsedFaults, { readonly token: string; readonly reason: string }> => {
  const faults: Record<string, FaultInjector.ParsedFault> = {}
  for (const token of tokens(spec)) {
    const entry = parseEntry(token)
    if (Either.isLeft(entry)) return Either.left({ token, reason: entry.left })
    const [point, fault] = entry.right
    if (point in faults) return Either.left({ token, reason: `point "${point}" is configured twice` })
    faults[point] = fault
  }
  return Either.right(faults)
}

/** @internal */
export const FaultConfigSchema = Schema.Struct({
  kind: Schema.Literal("fail", "die", "interrupt", "delay"),
  probability: Schema.optional(Schema.Number.pipe(Schema.between(0, 1))),
  nth: Schema.optional(Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))),
  error: Schema.optional(Schema.Unknown),
  delay: Schema.optional(Schema.DurationFromSelf)
})

/** @internal */
export const FaultSpec: Schema.Schema<FaultInjector.ParsedFaults, string> = Schema.transformOrFail(
  Schema.String,
  Schema.Record({ key: Schema.String, value: FaultConfigSchema }),
  {
    strict: true,
    decode: (spec, _, ast) =>
      Either.match(parseAll(spec), {
        onLeft: ({ reason, token }) => ParseResult.fail(new ParseResult.Type(ast, spec, `token "${token}": ${reason}`)),
        onRight: (faults) => ParseResult.succeed(faults)
      }),
    encode: (faults, _, ast) =>
      ParseResult.fail(new ParseResult.Forbidden(ast, faults, "a fault spec is parsed, never rendered"))
  }
)

/** @internal */
export const parse = (spec: string): Effect.Effect<FaultInjector.ParsedFaults, FaultInjector.FaultSpecError> =>
  Either.match(parseAll(spec), {
    onLeft: ({ reason, token }) => Effect.fail(new FaultSpecError({ spec, token, reason })),
    onRight: Effect.succeed
  })

/** @internal */
export const layerFromSpec = (
  spec: string,
  options?: { readonly seed?: number | undefined }
): Layer.Layer<FaultInjectorTag, FaultInjector.FaultSpecError> =>
  Layer.effect(FaultInjectorTag, Effect.flatMap(parse(spec), (faults) => make({ seed: options?.seed, faults })))
