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
  { cwd: process.env.INIT_CWD ?? root, stdio: "inherit" }
)
// the demo handles SIGINT / SIGTERM itself (graceful shutdown); forward them and report its exit code
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal))
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 1)))
