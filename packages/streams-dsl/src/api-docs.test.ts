import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, expect, it } from 'vitest'

// docs/api (the API reference in markdown, committed) is what `pnpm docs:api` generates from the JSDoc now.
const pkg = join(dirname(fileURLToPath(import.meta.url)), '..')
const committed = join(pkg, '..', '..', 'docs', 'api')
const out = mkdtempSync(join(tmpdir(), 'streams-dsl-api-docs-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

const files = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort()

it('docs/api is up to date with the JSDoc (else run `pnpm docs:api`)', { timeout: 120_000 }, async () => {
  const typedoc = join(pkg, '..', '..', 'node_modules', '.bin', 'typedoc')
  // treatWarningsAsErrors is on: a broken link or an undocumented export referenced by one fails here
  await promisify(execFile)(typedoc, ['--options', 'typedoc.json', '--out', out], { cwd: pkg })
  const generated = files(out)
  expect(generated.length).toBeGreaterThan(3)
  expect(files(committed), 'the files of docs/api').toEqual(generated)
  for (const f of generated)
    expect(readFileSync(join(committed, f), 'utf8'), `docs/api/${f} (run pnpm docs:api)`).toBe(
      readFileSync(join(out, f), 'utf8'),
    )
})
