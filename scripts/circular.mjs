// Fails when the workspace has a circular import: between modules inside a package (madge), between packages,
// or a runtime dependency that points up the declared package order.
import madge from "madge"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { packageOrder, readPackages, topologicalOrder } from "./workspace.mjs"

const problems = []
const packages = readPackages()

// 1. Package graph: runtime dependencies point down the declared order; no cycles (dev dependencies included).
for (const p of packages) {
  const rank = packageOrder.indexOf(p.dir)
  if (rank < 0) problems.push(`package ${p.dir} is not in the declared order (scripts/workspace.mjs)`)
  for (const d of p.deps) {
    if (p.dir === "testing") problems.push(`@core-stability/testing must not depend on @core-stability/${d}`)
    else if (packageOrder.indexOf(d) >= rank) {
      problems.push(`@core-stability/${p.dir} depends on @core-stability/${d}, which is not below it in the order`)
    }
  }
}
try {
  topologicalOrder(packages.map((p) => ({ ...p, deps: [...p.deps, ...p.devDeps] })))
} catch (error) {
  problems.push(String(error.message))
}

// 2. Module graph inside every package (sources and tests).
for (const p of packages) {
  for (const sub of ["src", "test"]) {
    const dir = join(p.path, sub)
    if (!existsSync(dir)) continue
    const graph = await madge(dir, {
      fileExtensions: ["ts"],
      tsConfig: join(p.path, "tsconfig.json"),
      detectiveOptions: { ts: { skipTypeImports: true } }
    })
    for (const cycle of graph.circular()) problems.push(`circular import in ${p.dir}/${sub}: ${cycle.join(" -> ")}`)
  }
}

if (problems.length > 0) {
  for (const line of problems) console.error(line)
  process.exit(1)
}
console.log(`no circular imports (${packages.length} packages)`)
