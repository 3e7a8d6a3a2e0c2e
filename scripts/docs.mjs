// Generates the API reference of every public package from its docstrings with @effect/docgen, which also
// type-checks every @example, then collects the pages into docs/api/<package>/.
import { execFileSync } from "node:child_process"
import { cpSync, existsSync, rmSync } from "node:fs"
import { delimiter, join } from "node:path"
import { readPackages, topologicalOrder } from "./workspace.mjs"

const root = process.cwd()
const docgen = join(root, "node_modules", "@effect", "docgen", "bin.cjs")
// docgen type-checks the examples with `tsc`, found by name, then runs them with tsx
const env = {
  ...process.env,
  PATH: `${join(root, "node_modules", ".bin")}${delimiter}${process.env.PATH}`,
  // the examples run under tsx against the sources
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --conditions=@core-stability/source`.trim()
}
rmSync(join(root, "docs", "api"), { recursive: true, force: true })
for (const p of topologicalOrder(readPackages(root))) {
  if (p.isPrivate || !existsSync(join(p.path, "src", "index.ts"))) continue
  process.stdout.write(`docs ${p.name}\n`)
  execFileSync(process.execPath, [docgen], { cwd: p.path, stdio: "inherit", env })
  cpSync(join(p.path, "docs", "modules"), join(root, "docs", "api", p.dir), { recursive: true })
}
