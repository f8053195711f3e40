/**
 * The package as a user gets it: `pnpm pack` (the build, publishConfig applied), then a project outside the
 * workspace (test/outside-install, copied to a temp dir) installs the tarball with npm — its dependencies from the
 * npm cache, else the registry — compiles its TypeScript against the published declarations and runs a topology on
 * the test driver. `--ignore-scripts`: the Kafka client's install step builds librdkafka (minutes); the DSL and
 * the test driver never load it.
 */
import { execFile } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const exec = promisify(execFile)
const pkgDir = join(import.meta.dirname, '..')
let dir: string
let app: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'streams-dsl-outside-'))
  await exec('pnpm', ['pack', '--pack-destination', dir], { cwd: pkgDir })
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))
  if (!tarball) throw new Error(`pnpm pack wrote no tarball into ${dir}`)
  app = join(dir, 'app')
  cpSync(join(import.meta.dirname, 'outside-install'), app, { recursive: true })
  const manifest = readFileSync(join(app, 'package.json'), 'utf8').replace('file:TARBALL', `file:../${tarball}`)
  writeFileSync(join(app, 'package.json'), manifest)
  // a plain npm project: none of the workspace's pnpm settings (pnpm passes them on as npm_config_*)
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')))
  await exec('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app, env })
}, 300_000)

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('@ctr/streams-dsl installed from its tarball outside the workspace', () => {
  it('compiles a TypeScript project against the published types and runs a topology on the test driver', async () => {
    await exec(join(app, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: app })
    const { stdout } = await exec(process.execPath, ['dist/main.js'], { cwd: app })
    const t0 = Date.parse('2025-01-01T12:00:00Z')
    expect(JSON.parse(stdout)).toEqual({
      results: [
        { page: '/a', views: 2, from: t0 },
        { page: '/b', views: 1, from: t0 },
      ],
      rejected: ['invalid_event', 'invalid_json'],
      tasks: 'auto',
    })
  })

  it('installs what the manifest says: dist only, and no internal entry', async () => {
    const installed = join(app, 'node_modules', '@ctr', 'streams-dsl')
    expect(readdirSync(installed).sort()).toEqual(['README.md', 'dist', 'package.json'])
    const probe = `import('@ctr/streams-dsl/internal').then(() => console.log('resolved'), (e) => console.log(e.code))`
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', probe], { cwd: app })
    expect(stdout.trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED')
  })
})
