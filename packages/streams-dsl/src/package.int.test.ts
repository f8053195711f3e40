import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
const script = (name: string) =>
  execFileSync(process.execPath, [`scripts/${name}`], {
    cwd: PACKAGE,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })

// The package as it would be published and installed (scripts/check-package.mjs, scripts/check-install.mjs):
// slow (two builds and an install), so with the integration tests.
describe('@ctr/streams-dsl as users install it', () => {
  it('packs to dist with exports that publint and attw accept, shipping no source or internal file', () => {
    expect(script('check-package.mjs')).toContain('check:package: ok')
  }, 300_000)

  it('installs from the tarball in a project outside the workspace, type-checks a topology and runs it', () => {
    const out = script('check-install.mjs')
    expect(out).toContain('installed @ctr/streams-dsl ran a topology: [["/a",2],["/b",1]]')
    expect(out).toContain('check:install: ok')
  }, 300_000)
})
