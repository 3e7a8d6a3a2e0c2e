// Lays out a workspace package the way every package here is laid out:
//   node scripts/new-package.mjs <dir> "<description>" [--private] [--deps a,b]
// It writes package.json (exports map resolving to src/ inside the workspace through the
// `@core-stability/source` condition and to dist/ everywhere else), tsconfig.build.json,
// vitest.config.ts and docgen.json. It never overwrites a file that exists.
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const [dir, description, ...rest] = process.argv.slice(2)
if (!dir || !description) {
  console.error("usage: node scripts/new-package.mjs <dir> <description> [--private] [--deps a,b]")
  process.exit(2)
}
const isPrivate = rest.includes("--private")
const depsIndex = rest.indexOf("--deps")
const deps = depsIndex >= 0 ? rest[depsIndex + 1].split(",").filter(Boolean) : []
const root = join("packages", dir)
for (const sub of ["src/internal", "test", "dtslint"]) mkdirSync(join(root, sub), { recursive: true })

const write = (file, content) => {
  const path = join(root, file)
  if (!existsSync(path)) writeFileSync(path, content)
}

const entry = (path) => ({
  "@core-stability/source": `./src/${path}.ts`,
  types: `./dist/${path}.d.ts`,
  default: `./dist/${path}.js`
})

const pkg = {
  name: `@core-stability/${dir}`,
  version: "0.1.0",
  description,
  type: "module",
  license: "MIT",
  homepage: "README.md",
  ...(isPrivate ? { private: true } : {}),
  sideEffects: [],
  engines: { node: ">=20" },
  exports: {
    "./package.json": "./package.json",
    ".": entry("index"),
    "./*": entry("*"),
    "./internal/*": null
  },
  files: ["dist", "!dist/**/*.tsbuildinfo", "README.md"],
  scripts: {
    build: "tsc -p tsconfig.build.json",
    test: "vitest run"
  },
  peerDependencies: { effect: "^3.22.4" },
  dependencies: Object.fromEntries(deps.map((d) => [d.startsWith("@") ? d : `@core-stability/${d}`, "workspace:^"])),
  devDependencies: {
    effect: "catalog:",
    ...(dir === "testing" ? {} : { "@core-stability/testing": "workspace:^" })
  }
}
write("package.json", JSON.stringify(pkg, null, 2) + "\n")
write(
  "tsconfig.build.json",
  JSON.stringify(
    {
      extends: "../../tsconfig.base.json",
      compilerOptions: { rootDir: "src", outDir: "dist", noEmit: false, tsBuildInfoFile: "dist/.tsbuildinfo" },
      include: ["src"]
    },
    null,
    2
  ) + "\n"
)
write(
  "tsconfig.json",
  JSON.stringify(
    {
      extends: "../../tsconfig.base.json",
      compilerOptions: { noEmit: true, customConditions: ["@core-stability/source"] },
      include: ["src", "test", "dtslint", "examples"]
    },
    null,
    2
  ) + "\n"
)
write(
  "vitest.config.ts",
  `import { defineProject, mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.js"

export default mergeConfig(shared, defineProject({ test: { name: "${dir}" } }))
`
)
write(
  "docgen.json",
  JSON.stringify(
    {
      $schema: "../../node_modules/@effect/docgen/schema.json",
      srcDir: "src",
      outDir: "docs",
      exclude: ["src/internal/**/*.ts"],
      enableSearch: false,
      examplesCompilerOptions: {
        noEmit: true,
        strict: true,
        skipLibCheck: true,
        moduleResolution: "Bundler",
        module: "ESNext",
        target: "ES2022",
        lib: ["ES2022"],
        types: ["node"],
        customConditions: ["@core-stability/source"]
      }
    },
    null,
    2
  ) + "\n"
)
console.log(`laid out ${root}`)
