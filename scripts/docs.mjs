// Generates the API reference of every public package from its docstrings into docs/api/<package>/
// with @effect/docgen, which also type-checks and runs every @example.
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { readPackages, topologicalOrder } from "./workspace.mjs"

const docgen = join(process.cwd(), "node_modules", "@effect", "docgen", "bin.cjs")
for (const p of topologicalOrder(readPackages())) {
  if (p.isPrivate || !existsSync(join(p.path, "src", "index.ts"))) continue
  process.stdout.write(`docs ${p.name}\n`)
  execFileSync(process.execPath, [docgen], { cwd: p.path, stdio: "inherit" })
}
