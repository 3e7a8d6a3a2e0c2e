// Runs the demo (packages/demo) from the repository root; arguments pass through (see docs/demo.md).
// Relative paths given as arguments are taken from the directory the command was started in.
import { spawn } from "node:child_process"
import { join } from "node:path"

const root = process.cwd()
const args = process.argv.slice(2).filter((a) => a !== "--")
const child = spawn(
  process.execPath,
  [
    // the pipeline streams: a small young generation and a 128 MB old space keep peak RSS low on long inputs
    "--max-old-space-size=128",
    "--max-semi-space-size=2",
    "--conditions=@core-stability/source",
    "--import",
    import.meta.resolve("tsx"),
    join(root, "packages", "demo", "src", "bin.ts"),
    ...args
  ],
  // Its own process group: a terminal's Ctrl-C goes to the foreground group (pnpm and this script), so the demo gets
  // it from here only, once, instead of from the terminal and again from here (a second signal means "stop now").
  { cwd: process.env.INIT_CWD ?? root, stdio: "inherit", detached: true }
)
// The demo handles SIGINT / SIGTERM itself (graceful shutdown). One keypress can reach this script twice, from the
// terminal and forwarded by pnpm: the same signal within 500 ms is not forwarded again; a later one is (to force).
const forwardedAt = new Map()
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    const now = Date.now()
    if (now - (forwardedAt.get(signal) ?? -Infinity) < 500) return
    forwardedAt.set(signal, now)
    child.kill(signal)
  })
}
// Report the demo's exit code; never leave it running without this script.
process.on("exit", () => {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
})
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 1)))
