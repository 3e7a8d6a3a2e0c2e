// Reads the workspace's packages and their dependency graph. Shared by the root scripts.
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

/**
 * The declared package order: runtime dependencies point down this list only. `testing` depends on none of the
 * other packages; tests of any package may use it as a dev dependency.
 */
export const packageOrder = [
  "locks",
  "state-machine",
  "cleanup",
  "coordinator",
  "recovery",
  "monitoring",
  "testing",
  "bench",
  "demo"
]

/** Every package under `packages/`, with its manifest and its workspace dependencies (runtime and dev). */
export const readPackages = (root = process.cwd()) =>
  readdirSync(join(root, "packages"))
    .filter((dir) => existsSync(join(root, "packages", dir, "package.json")))
    .map((dir) => {
      const manifest = JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8"))
      const workspaceDeps = (field) =>
        Object.keys(manifest[field] ?? {})
          .filter((name) => name.startsWith("@core-stability/"))
          .map((name) => name.slice("@core-stability/".length))
      return {
        dir,
        path: join(root, "packages", dir),
        manifest,
        name: manifest.name,
        isPrivate: manifest.private === true,
        deps: [...new Set([...workspaceDeps("dependencies"), ...workspaceDeps("peerDependencies")])],
        devDeps: workspaceDeps("devDependencies")
      }
    })

/** Packages in dependency order (every package after the packages it depends on at runtime). */
export const topologicalOrder = (packages) => {
  const byDir = new Map(packages.map((p) => [p.dir, p]))
  const done = new Set()
  const out = []
  const visit = (p, trail) => {
    if (done.has(p.dir)) return
    if (trail.includes(p.dir)) throw new Error(`package dependency cycle: ${[...trail, p.dir].join(" -> ")}`)
    for (const d of p.deps) {
      const dep = byDir.get(d)
      if (dep) visit(dep, [...trail, p.dir])
    }
    done.add(p.dir)
    out.push(p)
  }
  for (const p of packages) visit(p, [])
  return out
}
