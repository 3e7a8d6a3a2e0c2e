// Builds every public package to dist/ (JavaScript + .d.ts), dependencies first. Outside the
// `@core-stability/source` condition a package resolves its workspace dependencies to their dist/.
import { execFileSync } from "node:child_process"
import { existsSync, rmSync } from "node:fs"
import { join } from "node:path"
import { readPackages, topologicalOrder } from "./workspace.mjs"

const tsc = join(process.cwd(), "node_modules", "typescript", "bin", "tsc")
for (const p of topologicalOrder(readPackages())) {
  if (p.isPrivate || !existsSync(join(p.path, "src", "index.ts"))) continue
  rmSync(join(p.path, "dist"), { recursive: true, force: true })
  process.stdout.write(`build ${p.name}\n`)
  execFileSync(process.execPath, [tsc, "-p", join(p.path, "tsconfig.build.json")], { stdio: "inherit" })
}
