import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const fixture = fileURLToPath(new URL("./fixtures/main.ts", import.meta.url))
const packageRoot = fileURLToPath(new URL("..", import.meta.url))

interface Child {
  readonly process: ChildProcess
  /** Resolves when a stdout line equal to `line` has been printed. */
  readonly line: (line: string) => Promise<void>
  readonly exit: Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>
}

/** Starts the fixture in a real child process; output is collected, lines are awaited (no sleeps). */
const start = (mode: string): Child => {
  const child = spawn(process.execPath, ["--conditions=@core-stability/source", "--import", "tsx", fixture, mode], {
    cwd: packageRoot,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  const waiters: Array<{ readonly line: string; readonly resolve: () => void }> = []
  const check = () => {
    const lines = stdout.split("\n")
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (lines.includes(waiters[i]!.line)) waiters.splice(i, 1)[0]!.resolve()
    }
  }
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
    check()
  })
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk
  })
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })
  return {
    process: child,
    line: (line) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ line, resolve })
        check()
        void exit.then(({ stderr, stdout }) =>
          reject(new Error(`exited before printing "${line}"\nstdout:\n${stdout}\nstderr:\n${stderr}`))
        )
      }),
    exit
  }
}

const order = (stdout: string): Array<string> => stdout.split("\n").filter((line) => line.length > 0)

describe.concurrent("CleanupMain.runMain with real signals", () => {
  it("SIGINT: runs the cleanup steps, then the program's finalizers, and exits 130", async () => {
    const child = start("ok")
    await child.line("ready")
    child.process.kill("SIGINT")
    const { code, stdout } = await child.exit
    assert.strictEqual(code, 130)
    assert.deepStrictEqual(order(stdout), [
      "ready",
      "step stop-capture",
      "step flush-storage",
      "step close-logs",
      "program finalizer"
    ])
  })

  it("SIGTERM: exits 143 after a completed cleanup", async () => {
    const child = start("ok")
    await child.line("ready")
    child.process.kill("SIGTERM")
    const { code, stdout } = await child.exit
    assert.strictEqual(code, 143)
    assert.include(stdout, "step close-logs")
  })

  it("SIGTERM with a failing step: independent steps still run, exit code 1, the failure is reported", async () => {
    const child = start("fail")
    await child.line("ready")
    child.process.kill("SIGTERM")
    const { code, stderr, stdout } = await child.exit
    assert.strictEqual(code, 1)
    assert.include(stdout, "step flush-storage failing")
    assert.include(stdout, "step close-logs")
    assert.include(stdout + stderr, "Cleanup run 1 failed: flush-storage (Failed)")
  })

  it("a hung step: the hard deadline forces exit 1", async () => {
    const child = start("hang")
    await child.line("ready")
    child.process.kill("SIGINT")
    await child.line("blocking")
    const { code, stderr } = await child.exit
    assert.strictEqual(code, 1)
    assert.include(stderr, "hard deadline of 300 ms")
  })

  it("a second signal exits at once with its own code", async () => {
    const child = start("block")
    await child.line("ready")
    child.process.kill("SIGTERM")
    await child.line("blocking")
    child.process.kill("SIGINT")
    const { code, stderr, stdout } = await child.exit
    assert.strictEqual(code, 130)
    assert.include(stderr, "second SIGINT")
    assert.notInclude(stdout, "step close-logs")
  })

  it("no signal: the program ends, the cleanup runs, exit 0 (1 when the cleanup failed)", async () => {
    const ok = start("exit")
    const failed = start("exit-fail")
    const [first, second] = await Promise.all([ok.exit, failed.exit])
    assert.strictEqual(first.code, 0)
    assert.include(first.stdout, "step close-logs")
    assert.strictEqual(second.code, 1)
  })
})
