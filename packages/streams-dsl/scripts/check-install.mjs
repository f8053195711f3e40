// `pnpm --filter @ctr/streams-dsl check:install`: the package as a user installs it. Packs the tarball (the
// prepack build applies publishConfig), creates a project outside the workspace (in the system's temp folder)
// that depends on it, installs it with pnpm (`--prefer-offline`: from the store the workspace's install filled,
// the registry for the rest; `--ignore-scripts`: the test driver's path loads no Kafka client, so its native build
// is not needed),
// then type-checks a TypeScript topology against the installed declarations (NodeNext resolution, as a Node
// project has) and runs it on the test driver. Exits non-zero, saying which step failed, if any does.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const here = new URL('..', import.meta.url).pathname
// the workspace root's TypeScript and @types/node (the user project gets the same versions, from the store)
const rootRequire = createRequire(join(here, '../../package.json'))
const tsc = rootRequire.resolve('typescript/bin/tsc')
const root = rootRequire('./package.json')
const fail = (message) => {
  process.stderr.write(`check:install: ${message}\n`)
  process.exit(1)
}
const step = (what, cmd, args, cwd) => {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (e) {
    fail(`${what} failed: ${cmd} ${args.join(' ')}\n${e.stdout ?? ''}${e.stderr ?? ''}`)
  }
}

const packDir = mkdtempSync(join(tmpdir(), 'streams-dsl-pack-'))
const project = mkdtempSync(join(tmpdir(), 'streams-dsl-user-'))
try {
  step('pnpm pack', 'pnpm', ['pack', '--pack-destination', packDir], here)
  const tarball = readdirSync(packDir).find((f) => f.endsWith('.tgz'))
  if (!tarball) fail(`pnpm pack wrote no tarball into ${packDir}`)
  const own = JSON.parse(
    step('read package.json', process.execPath, ['-p', 'JSON.stringify(require("./package.json"))'], here),
  )
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify(
      {
        name: 'streams-dsl-user',
        private: true,
        type: 'module',
        dependencies: { '@ctr/streams-dsl': `file:${join(packDir, tarball)}`, zod: own.dependencies.zod },
        devDependencies: { '@types/node': root.devDependencies['@types/node'] },
      },
      null,
      2,
    )}\n`,
  )
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2023',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        outDir: 'out',
        types: ['node'],
        skipLibCheck: false,
      },
      include: ['topology.ts'],
    }),
  )
  // a user's first topology: page views per page and minute, checked on the test driver
  writeFileSync(
    join(project, 'topology.ts'),
    `import assert from 'node:assert/strict'
import { json, topic, topology, tumbling, type Windowed } from '@ctr/streams-dsl'
import { collectingSink, TestDriver } from '@ctr/streams-dsl/testing'
import { z } from 'zod'

const View = z.object({ page: z.string(), ts: z.number() })
const app = topology('page-views', { watermarks: { maxOutOfOrderness: '2s' } })
const counts = collectingSink<Windowed<string, number>>('counts')
app
  .source(topic('views', { value: json(View), timestamp: (v) => v.ts }))
  .keyBy((v) => v.page)
  .window(tumbling('1m'))
  .count()
  .to(counts)

const T0 = Date.parse('2025-01-01T12:00:00Z')
const d = new TestDriver(app.build(), { startTime: T0 })
await d.pipe('views', [
  { page: '/a', ts: T0 + 1_000 },
  { page: '/a', ts: T0 + 2_000 },
  { page: '/b', ts: T0 + 3_000 },
  { page: '/a', ts: T0 + 63_000 },
])
assert.deepEqual(
  counts.records.map((r) => [r.key, r.value]),
  [['/a', 2], ['/b', 1]],
)
console.log('installed @ctr/streams-dsl ran a topology:', JSON.stringify(counts.records.map((r) => [r.key, r.value])))
`,
  )
  step(
    'pnpm install (from the store where it can)',
    'pnpm',
    ['install', '--prefer-offline', '--ignore-scripts', '--no-frozen-lockfile'],
    project,
  )
  step('tsc (the installed declarations)', process.execPath, [tsc, '-p', 'tsconfig.json'], project)
  process.stdout.write(step('node out/topology.js', process.execPath, ['out/topology.js'], project))
  console.log(`check:install: ok (${tarball} installed in ${project}, outside the workspace)`)
} finally {
  rmSync(packDir, { recursive: true, force: true })
  rmSync(project, { recursive: true, force: true })
}
