// Runs the benchmark suite of packages/bench; arguments pass through (--filter <prefix>, --json <file>, --smoke).
import { spawnSync } from "node:child_process"
import { join } from "node:path"

const cwd = join(process.cwd(), "packages", "bench")
const args = process.argv.slice(2).filter((a) => a !== "--")
const result = spawnSync(
  process.execPath,
  ["--expose-gc", "--conditions=@core-stability/source", "--import", "tsx", "src/bin.ts", ...args],
  { cwd, stdio: "inherit" }
)
process.exit(result.status ?? 1)
