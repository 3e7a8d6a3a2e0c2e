/**
 * Test helpers: the Node layers, the bundled sample, WAV fixtures generated on the fly with wavefile (no binaries
 * committed besides the sample), and an independent reader of a whole WAV file's channels.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import wavefile from "wavefile"

export const NodeLayer = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)

export const samplePath = fileURLToPath(new URL("../../assets/sample-stereo.wav", import.meta.url))

export const packageDir = fileURLToPath(new URL("../..", import.meta.url))

/** A WAV file built by wavefile: `bitDepth` is one of its codes ("8", "16", "24", "32f", "8m", "4", ...). */
export const wavBytes = (
  channels: number,
  sampleRate: number,
  bitDepth: string,
  samples: ReadonlyArray<ReadonlyArray<number>>,
  options?: { readonly container?: "RIFX" }
): Uint8Array => {
  const wav = new wavefile.WaveFile()
  wav.fromScratch(
    channels,
    sampleRate,
    bitDepth,
    channels === 1 ? [...samples[0]!] : samples.map((s) => [...s]),
    options
  )
  return wav.toBuffer()
}

/** `length` samples of a deterministic pseudo-random 16-bit signal (seeded LCG). */
export const noise = (length: number, seed: number): Array<number> => {
  const out: Array<number> = []
  let x = seed >>> 0
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    out.push((x >>> 16) - 32768)
  }
  return out
}

/** A temporary directory removed when the scope closes. */
export const tempDir = Effect.flatMap(
  FileSystem.FileSystem,
  (fs) => fs.makeTempDirectoryScoped({ prefix: "core-stability-demo-" })
)

/** Writes `bytes` to `dir/name` and returns the path. */
export const writeFixture = (dir: string, name: string, bytes: Uint8Array | string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => {
    const path = `${dir}/${name}`
    return Effect.as(
      typeof bytes === "string" ? fs.writeFileString(path, bytes) : fs.writeFile(path, bytes),
      path
    )
  })

/** Every channel of a 16-bit WAV file, read whole and independently of the demo's reader (through wavefile). */
export const readChannels = (path: string): { sampleRate: number; channels: Array<Int16Array> } => {
  const wav = new wavefile.WaveFile(readFileSync(path))
  const fmt = wav.fmt as { numChannels: number; sampleRate: number }
  const samples = wav.getSamples(false, Int16Array) as unknown
  const channels = fmt.numChannels === 1 ? [samples as Int16Array] : (samples as Array<Int16Array>)
  return { sampleRate: fmt.sampleRate, channels }
}
