import type * as BufferManager from "../BufferManager.js"

/** @internal */
export const sizingDefaults: BufferManager.SizingPolicy = {
  cpuThresholdPercent: 80,
  memoryThresholdBytes: 100 * 1024 * 1024,
  growFactor: 1.5,
  shrinkFactor: 0.75,
  minSamplesPerFrame: 480,
  cooldownMs: 5000,
  tierBytes: [4 * 1024, 64 * 1024, 1024 * 1024]
}

/** @internal */
export const deriveFrame = (config: BufferManager.FrameConfig): BufferManager.Frame => ({
  samplesPerFrame: config.samplesPerFrame,
  channelCount: config.channelCount,
  bytesPerSample: config.bytesPerSample,
  sampleRateHz: config.sampleRateHz,
  bytesPerChannel: config.samplesPerFrame * config.bytesPerSample,
  bytes: config.samplesPerFrame * config.bytesPerSample * config.channelCount,
  durationMs: (config.samplesPerFrame / config.sampleRateHz) * 1000
})

/** The bound (bytes) of the smallest tier that holds `bytes`, or the largest tier. */
const tierBound = (tiers: ReadonlyArray<number>, bytes: number): number => {
  let largest = 0
  for (const size of tiers) {
    if (bytes <= size) return size
    if (size > largest) largest = size
  }
  return largest
}

/** @internal */
export const decideSize = (input: BufferManager.SizingInput): BufferManager.SizingDecision => {
  const policy = input.policy ?? sizingDefaults
  const frame = deriveFrame(input.frame)
  const last = input.lastAdjustmentMs
  if (last !== undefined && input.nowMs - last < policy.cooldownMs) {
    return { _tag: "Unchanged", frame, reason: "cooldown", retryInMs: policy.cooldownMs - (input.nowMs - last) }
  }
  const causes: Array<BufferManager.SizingCause> = []
  let samples = frame.samplesPerFrame
  if (input.load.cpuPercent > policy.cpuThresholdPercent) {
    causes.push("cpu")
    const boundBytes = tierBound(policy.tierBytes, frame.bytesPerChannel)
    const cap = Math.max(samples, Math.floor(boundBytes / frame.bytesPerSample))
    samples = Math.min(Math.floor(samples * policy.growFactor), cap)
  }
  if (input.load.memoryBytes > policy.memoryThresholdBytes) {
    causes.push("memory")
    const floor = Math.min(samples, policy.minSamplesPerFrame)
    samples = Math.max(Math.floor(samples * policy.shrinkFactor), floor)
  }
  if (causes.length === 0) return { _tag: "Unchanged", frame, reason: "nominal", retryInMs: 0 }
  if (samples === frame.samplesPerFrame) return { _tag: "Unchanged", frame, reason: "bounded", retryInMs: 0 }
  return { _tag: "Adjusted", from: frame, to: deriveFrame({ ...frame, samplesPerFrame: samples }), causes }
}
