// The pack check: proves that "import our typed packages" works for a user.
// Builds and packs every public package, installs the tarballs with npm into a throwaway project outside the
// workspace, then type-checks and runs a program that imports each package by its published name, plus every
// `packages/<name>/examples/*.ts` of the packages (examples import only published names).
import { execFileSync } from "node:child_process"
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { basename, join } from "node:path"
import { readPackages, topologicalOrder } from "./workspace.mjs"

const root = process.cwd()
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ["ignore", "inherit", "inherit"] })
// the pnpm running this script: a JavaScript entry point or (pnpm 12) a native executable
const pnpm = (args, cwd) => {
  const execPath = process.env.npm_execpath
  if (!execPath || !execPath.includes("pnpm")) run("npx", ["-y", "pnpm@12.4.2", ...args], cwd)
  else if (/\.[cm]?js$/.test(execPath)) run(process.execPath, [execPath, ...args], cwd)
  else run(execPath, args, cwd)
}

const catalog = Object.fromEntries(
  readFileSync(join(root, "pnpm-workspace.yaml"), "utf8")
    .split("\n")
    .map((line) => line.match(/^\s+"?([@\w/.-]+)"?:\s*([\d.]+)\s*$/))
    .filter(Boolean)
    .map((m) => [m[1], m[2]])
)

const publics = topologicalOrder(readPackages(root)).filter((p) =>
  !p.isPrivate && existsSync(join(p.path, "src", "index.ts"))
)
if (publics.length === 0) {
  console.log("pack check: no public package yet")
  process.exit(0)
}
run(process.execPath, [join(root, "scripts", "build.mjs")], root)

const work = mkdtempSync(join(tmpdir(), "core-stability-pack-check-"))
const tarballs = join(work, "tarballs")
mkdirSync(tarballs)
const files = {}
for (const p of publics) {
  const before = new Set(readdirSync(tarballs))
  pnpm(["pack", "--pack-destination", tarballs], p.path)
  const tgz = readdirSync(tarballs).find((f) => !before.has(f))
  files[p.name] = `file:${join(tarballs, tgz)}`
}

const app = join(work, "app")
mkdirSync(join(app, "src"), { recursive: true })
const thirdParty = ["effect", "@effect/platform", "@effect/platform-node", "typescript", "@types/node"]
writeFileSync(
  join(app, "package.json"),
  JSON.stringify(
    {
      name: "pack-check-app",
      private: true,
      type: "module",
      dependencies: { ...files, ...Object.fromEntries(thirdParty.map((n) => [n, catalog[n]])) },
      overrides: files
    },
    null,
    2
  )
)
writeFileSync(
  join(app, "tsconfig.json"),
  JSON.stringify({
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      exactOptionalPropertyTypes: true,
      outDir: "dist",
      rootDir: "src",
      types: ["node"],
      skipLibCheck: false
    },
    include: ["src"]
  })
)

const programs = []
const barrel = publics
  .map((p, i) =>
    `import * as P${i} from "${p.name}"\nif (Object.keys(P${i}).length === 0) throw new Error("${p.name} exports nothing")`
  )
  .join("\n")
writeFileSync(join(app, "src", "barrels.ts"), `${barrel}\nconsole.log("imported ${publics.length} packages")\n`)
programs.push("barrels")
for (const p of publics) {
  const dir = join(p.path, "examples")
  if (!existsSync(dir)) continue
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
    const name = `${p.dir}-${basename(file, ".ts")}`
    copyFileSync(join(dir, file), join(app, "src", `${name}.ts`))
    programs.push(name)
  }
}

run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], app)
run(process.execPath, [join(app, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], app)
for (const name of programs) {
  process.stdout.write(`run ${name}\n`)
  run(process.execPath, [join("dist", `${name}.js`)], app)
}
rmSync(work, { recursive: true, force: true })
console.log(`pack check passed: ${publics.map((p) => p.name).join(", ")} (${programs.length} programs)`)
