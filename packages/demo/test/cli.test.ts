import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { assert, describe, it } from "@effect/vitest"
import type * as Console from "effect/Console"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as FaultSpec from "../src/FaultSpec.js"
import * as Cli from "../src/internal/cli.js"
import * as Demo from "../src/internal/demo.js"
import { NodeLayer, noise, packageDir, readChannels, samplePath, wavBytes } from "./utils/wav.js"

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs the demo's executable as `pnpm demo` does; with `interruptWith`, sends that signal once the run has printed its
 * first line and `afterMs` more milliseconds have passed.
 */
const runBin = (
  args: ReadonlyArray<string>,
  interrupt?: { readonly signal: NodeJS.Signals; readonly afterMs: number }
): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--conditions=@core-stability/source", "--import", "tsx", "src/bin.ts", ...args],
      { cwd: packageDir, stdio: ["ignore", "pipe", "pipe"] }
    )
    let stdout = ""
    let stderr = ""
    let signalled = false
    child.stdout.on("data", (chunk) => {
      stdout += chunk
      if (interrupt !== undefined && !signalled && stdout.includes("\n")) {
        signalled = true
        setTimeout(() => child.kill(interrupt.signal), interrupt.afterMs)
      }
    })
    child.stderr.on("data", (chunk) => {
      stderr += chunk
    })
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

const withTempDir = async (f: (dir: string) => Promise<void>) => {
  const dir = mkdtempSync(join(tmpdir(), "core-stability-demo-cli-"))
  try {
    await f(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Header sizes and file size of a WAV file: a finalised file has data = file - 44 and riff = data + 36. */
const sizes = (path: string) => {
  const bytes = readFileSync(path)
  return { riff: bytes.readUInt32LE(4), data: bytes.readUInt32LE(40), file: bytes.length }
}

describe("demo executable", () => {
  it("rejects bad input with one line on stderr, exit code 2, and nothing written", () =>
    withTempDir(async (dir) => {
      const fixture = (name: string, bytes: Uint8Array | string) => {
        const path = join(dir, name)
        writeFileSync(path, bytes)
        return path
      }
      const whole = wavBytes(2, 16000, "16", [noise(2000, 1), noise(2000, 2)])
      const cases: Array<[ReadonlyArray<string>, string]> = [
        [["--input", join(dir, "missing.wav")], `demo: input file not found: ${join(dir, "missing.wav")}`],
        [["--input", fixture("text.wav", "plain text, not audio")], "demo: input is not a WAV file: "],
        [["--input", fixture("u8.wav", wavBytes(1, 8000, "8", [[1, 2, 3]]))], "demo: unsupported WAV encoding in "],
        [["--input", fixture("f32.wav", wavBytes(2, 48000, "32f", [[0.1], [0.2]]))], "demo: unsupported WAV encoding"],
        [["--input", fixture("cut.wav", whole.slice(0, 5000))], "demo: input WAV file is truncated: "],
        [["--faults", "writer-right:io-error@n=0"], "demo: invalid --faults spec: \"writer-right:io-error@n=0\": "]
      ]
      const out = join(dir, "out")
      // Two at a time: each child loads the whole stack, and the machine may have only two cores.
      const runs: Array<Run> = []
      for (let i = 0; i < cases.length; i += 2) {
        runs.push(...await Promise.all(cases.slice(i, i + 2).map(([args]) => runBin([...args, "--out", out]))))
      }
      runs.forEach((run, i) => {
        const [args, expected] = cases[i]!
        const lines = run.stderr.split("\n").filter((line) => line.trim() !== "")
        assert.strictEqual(run.code, 2, args.join(" "))
        assert.strictEqual(lines.length, 1, run.stderr)
        assert.isTrue(lines[0]!.startsWith(expected), `${lines[0]} should start with ${expected}`)
        assert.strictEqual(run.stdout, "", args.join(" "))
      })
      assert.isFalse(existsSync(out))
    }), 60_000)

  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    it(`finalises partial outputs and exits ${code} on ${signal}`, () =>
      withTempDir(async (dir) => {
        const out = join(dir, "out")
        const run = await runBin(["--out", out, "--realtime"], { signal, afterMs: 700 })
        assert.strictEqual(run.code, code, run.stderr)
        assert.include(run.stdout, `interrupted by ${signal}`)
        const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"))
        assert.strictEqual(report.status, "interrupted")
        assert.strictEqual(report.signal, signal)
        assert.strictEqual(report.exitCode, code)
        assert.isAbove(report.framesCaptured, 0)
        assert.isBelow(report.framesCaptured, report.input.frames)
        assert.strictEqual(JSON.parse(readFileSync(join(out, "segments.json"), "utf8")).status, "interrupted")
        // report.md and report.html say it at the top too: which signal, and how many frames were processed.
        const status = `interrupted by ${signal} after ${report.framesCaptured} of ${report.input.frames} frames ` +
          `per channel; partial outputs finalised, checks skipped (exit code ${code})`
        assert.include(readFileSync(join(out, "report.md"), "utf8"), `**Status:** ${status}.`)
        assert.include(readFileSync(join(out, "report.html"), "utf8"), `<strong>Status:</strong> ${status}.`)
        const input = readChannels(samplePath).channels
        const samples = report.framesCaptured * 480
        for (const [name, index] of [["left.wav", 0], ["right.wav", 1]] as const) {
          assert.deepStrictEqual(sizes(join(out, name)), {
            riff: 36 + samples * 2,
            data: samples * 2,
            file: 44 + samples * 2
          })
          assert.deepStrictEqual(readChannels(join(out, name)).channels[0], input[index]!.slice(0, samples))
        }
      }), 60_000)
  }
})

describe("the root `demo` script (scripts/demo.mjs)", () => {
  it(
    "takes one Ctrl-C that reaches it twice (from the terminal and forwarded by pnpm) as one signal",
    () =>
      withTempDir(async (dir) => {
        const out = join(dir, "out")
        const run = await new Promise<Run>((resolve, reject) => {
          // its own process group, as a terminal's foreground job
          const wrapper = spawn(process.execPath, ["scripts/demo.mjs", "--out", out, "--realtime"], {
            cwd: join(packageDir, "..", ".."),
            env: { ...process.env, INIT_CWD: "" },
            stdio: ["ignore", "pipe", "pipe"],
            detached: true
          })
          let stdout = ""
          let stderr = ""
          let signalled = false
          wrapper.stdout.on("data", (chunk) => {
            stdout += chunk
            if (!signalled && stdout.includes("\n")) {
              signalled = true
              setTimeout(() => {
                process.kill(-wrapper.pid!, "SIGINT") // the terminal: the whole foreground group
                wrapper.kill("SIGINT") // pnpm forwarding the same keypress
              }, 700)
            }
          })
          wrapper.stderr.on("data", (chunk) => {
            stderr += chunk
          })
          wrapper.on("error", reject)
          wrapper.on("close", (code) => resolve({ code, stdout, stderr }))
        })
        assert.strictEqual(run.code, 130, run.stderr)
        assert.notInclude(run.stderr, "second SIGINT")
        assert.include(run.stdout, "interrupted by SIGINT")
        const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"))
        assert.strictEqual(report.status, "interrupted")
        assert.isTrue(existsSync(join(out, "report.md")) && existsSync(join(out, "segments.json")))
      }),
    60_000
  )
})

describe("command line, in process", () => {
  const CliLayer = Layer.mergeAll(
    NodeLayer,
    NodeTerminal.layer,
    Layer.effect(Demo.StopSignal, Deferred.make<Demo.StopSignalName>())
  )

  /** Runs the command line with a console that records what it prints. */
  const runCli = (args: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const printed = { log: [] as Array<string>, error: [] as Array<string> }
      const console = yield* Effect.console
      const recording: Console.Console = {
        ...console,
        log: (...line) => Effect.sync(() => printed.log.push(line.join(" "))),
        error: (...line) => Effect.sync(() => printed.error.push(line.join(" ")))
      }
      const code = yield* Effect.withConsole(Cli.run(["node", "bin.ts", ...args]), recording)
      return { code, ...printed }
    }).pipe(Effect.provide(CliLayer))

  it.effect("turns option errors into one line and exit code 2", () =>
    Effect.gen(function*() {
      const cases: Array<[ReadonlyArray<string>, string]> = [
        [["--faults", "capture:crash@n=1", "--no-faults"], "demo: --faults: cannot be combined with --no-faults"],
        [["--seed", "x"], "demo: --seed: \"x\" is not an integer"],
        [["--frobnicate"], "demo: Received unknown argument: '--frobnicate'"],
        [
          ["--faults", "capture:crash"],
          "demo: invalid --faults spec: \"capture:crash\": a rule is <point>:<kind>@<trigger>"
        ]
      ]
      for (const [args, expected] of cases) {
        const run = yield* runCli([...args, "--out", "/nonexistent/never"])
        assert.strictEqual(run.code, 2, args.join(" "))
        assert.strictEqual(run.error.length, 1, run.error.join("|"))
        assert.isTrue(run.error[0]!.startsWith(expected), run.error[0])
        assert.deepStrictEqual(run.log, [])
      }
    }))

  it.effect("refuses an input that is not a regular file, saying what it is", () =>
    Effect.gen(function*() {
      const run = yield* runCli(["--input", "/dev/null", "--out", "/nonexistent/never"])
      assert.strictEqual(run.code, 2)
      assert.deepStrictEqual(run.error, ["demo: cannot read input /dev/null: it is a character device, not a file"])
      assert.deepStrictEqual(run.log, [])
    }))

  it.effect("--help describes every option: what it does, its default, an example, the --faults grammar", () =>
    Effect.gen(function*() {
      const run = yield* runCli(["--help"])
      assert.strictEqual(run.code, 0)
      const help = run.log.join("\n")
      for (
        const text of [
          // --input
          "16-bit integer PCM (WAVE_FORMAT_PCM or WAVE_FORMAT_EXTENSIBLE), mono or stereo, any sample rate",
          "Default: the bundled two-speaker sample, packages/demo/assets/sample-stereo.wav",
          // --out: everything a run writes
          "left.wav and right.wav",
          "segments.json",
          "report.json, report.md and report.html",
          "recovery/ (the RecoveryLogger's files",
          "Default: out (relative to the working directory)",
          // --faults
          "comma-separated rules <point>:<kind>@<trigger>",
          "capture, processor-left, processor-right, writer-left or writer-right",
          "crash (the stage's worker dies), io-error (it fails), hang (a 500 ms stall",
          "n=<integer from 1>",
          "p=<number from 0 to 1>",
          `Default: ${FaultSpec.defaultSpec} (one fault of each kind)`,
          "Example: --faults capture:crash@n=10,writer-left:io-error@p=0.01",
          // --seed, --realtime, --no-faults, --quiet
          "Default: 42",
          "one 480-sample frame every 30 ms at 16 kHz",
          "Inject no faults",
          "only errors and failed checks",
          // the command
          "Exit codes: 0 every check passed"
        ]
      ) {
        assert.include(help, text)
      }
      // Every option of the demo has its own description (and a default) after the library's line for its type.
      assert.strictEqual(help.split("Default: ").length - 1, 7)
    }))

  it.effect("prints its version", () =>
    Effect.gen(function*() {
      const run = yield* runCli(["--version"])
      assert.strictEqual(run.code, 0)
      assert.include(run.log.join("\n"), Cli.version)
    }))
})
