// Runs the benchmark suite of packages/bench from the repository root; arguments pass through
// (--filter <prefix>, --json <file>, --smoke, --list). Relative paths resolve from the root.
import { spawnSync } from "node:child_process"
import { join } from "node:path"

const args = process.argv.slice(2).filter((a) => a !== "--")
const result = spawnSync(
  process.execPath,
  [
    "--expose-gc",
    "--conditions=@core-stability/source",
    "--import",
    "tsx",
    join("packages", "bench", "src", "bin.ts"),
    ...args
  ],
  { stdio: "inherit" }
)
process.exit(result.status ?? 1)
