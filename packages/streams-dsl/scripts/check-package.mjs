// `pnpm --filter @ctr/streams-dsl check:package`: builds the package, packs it as it would be published and checks
// the tarball: publint (package.json fields, exports, files) and @arethetypeswrong/cli (the types resolve as the
// code does, for Node's ESM resolution and bundlers; ESM only, so require() from CommonJS is not checked), plus
// what neither knows: the published exports point at dist/ (publishConfig applied), no source, test or internal
// file is shipped, and every public entry imports in Node.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const here = new URL('..', import.meta.url).pathname
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: here, stdio: 'inherit', ...opts })
const out = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: here, encoding: 'utf8', ...opts })
const fail = (message) => {
  process.stderr.write(`check:package: ${message}\n`)
  process.exit(1)
}

const dir = mkdtempSync(join(tmpdir(), 'streams-dsl-pack-'))
try {
  // pnpm pack runs the prepack script (the build) and applies publishConfig
  run('pnpm', ['pack', '--pack-destination', dir], { stdio: ['ignore', 'ignore', 'inherit'] })
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))
  if (!tarball) fail(`pnpm pack wrote no tarball into ${dir}`)
  const tgz = join(dir, tarball)

  const files = out('tar', ['-tzf', tgz]).trim().split('\n')
  const manifest = JSON.parse(out('tar', ['-xzOf', tgz, 'package/package.json']))
  const exports = Object.entries(manifest.exports ?? {})
  const notDist = exports.filter(([k, v]) => k !== './package.json' && !JSON.stringify(v).includes('./dist/'))
  if (exports.length === 0 || notDist.length > 0)
    fail(`the packed exports must point at dist/ (publishConfig.exports): ${JSON.stringify(manifest.exports)}`)
  if ('./internal' in manifest.exports) fail('the packed exports must not have ./internal')
  const shipped = files.filter((f) => /^package\/src\/|\.test\.|fixtures|\/internal\./.test(f))
  if (shipped.length > 0) fail(`the tarball ships files it must not: ${shipped.join(', ')}`)
  console.log(`${tarball}: ${files.length} files, exports ${exports.map(([k]) => k).join(' ')}`)

  run('pnpm', ['exec', 'publint', '--strict', tgz])
  run('pnpm', ['exec', 'attw', '--profile', 'esm-only', tgz])

  // every entry imports in Node from the built files (the test driver's path loads no Kafka or Redis client)
  for (const [entry, target] of exports) {
    if (entry === './package.json') continue
    const file = join(here, target.default)
    run(process.execPath, [
      '-e',
      `import(${JSON.stringify(file)}).then((m) => { if (!Object.keys(m).length) process.exit(1) })`,
    ])
  }
  console.log('check:package: ok')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
