import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'

// The TypeScript examples of docs/guide.md, extracted, type-checked with tsc and run, in memory: a ```ts block
// is type-checked and run; a ```ts kafka block needs Kafka and Redis, so it is type-checked only.

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const GUIDE = resolve(PACKAGE, '../../docs/guide.md')
/** Inside the package, so `@ctr/streams-dsl` resolves to it (a package may import itself by name). */
const OUT = join(PACKAGE, '.cache', 'guide-snippets')
const PUBLIC = [
  '@ctr/streams-dsl',
  '@ctr/streams-dsl/testing',
  '@ctr/streams-dsl/kafka',
  '@ctr/streams-dsl/redis',
  '@ctr/streams-dsl/runner',
  '@ctr/streams-dsl/state',
  'zod',
  'node:assert/strict',
]
const run = promisify(execFile)

/** Imports each snippet named on the command line in turn and appends how it ended to results.jsonl. */
const RUN_ALL = `import { appendFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
for (const file of process.argv.slice(2)) {
  let error
  try {
    await import(pathToFileURL(file).href)
  } catch (e) {
    error = e instanceof Error ? (e.stack ?? e.message) : String(e)
  }
  appendFileSync('results.jsonl', JSON.stringify({ file, error }) + '\\n')
}
`

type Snippet = { readonly file: string; readonly line: number; readonly run: boolean; readonly code: string }

/** The ```ts blocks of a markdown text, with the line of their first code line. */
function tsSnippets(markdown: string): Snippet[] {
  const out: Snippet[] = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^```ts(?:\s+(\S+))?\s*$/.exec(lines[i] as string)
    if (!open) continue
    const end = lines.indexOf('```', i + 1)
    if (end < 0) throw new Error(`docs/guide.md:${i + 1}: unclosed code block`)
    const tag = open[1]
    if (tag !== undefined && tag !== 'kafka') throw new Error(`docs/guide.md:${i + 1}: unknown tag "ts ${tag}"`)
    const n = String(out.length + 1).padStart(2, '0')
    out.push({ file: `snippet-${n}.ts`, line: i + 2, run: tag === undefined, code: lines.slice(i + 1, end).join('\n') })
    i = end
  }
  return out
}

const where = (s: Snippet, line = 1) => `docs/guide.md:${s.line + line - 1}`

/** Replaces `.../snippet-05.ts:28:8` in a stack trace by the line of docs/guide.md it came from. */
const atGuideLines = (text: string) =>
  text.replace(/\S*(snippet-\d+\.ts):(\d+)(?::\d+)?/g, (all, file: string, line: string) => {
    const s = snippets.find((x) => x.file === file)
    return s ? `${where(s, Number(line))} (${all})` : all
  })

/** Output of a child process that failed (execFile rejects with stdout and stderr on the error). */
const failure = (e: unknown) => {
  const x = e as { stdout?: string; stderr?: string; message: string }
  return `${x.stdout ?? ''}${x.stderr ?? ''}` || x.message
}

const snippets = tsSnippets(readFileSync(GUIDE, 'utf8'))
let typeErrors: string[] = []
const runs = new Map<string, { ok: boolean; output: string }>()

beforeAll(async () => {
  rmSync(OUT, { recursive: true, force: true })
  mkdirSync(OUT, { recursive: true })
  for (const s of snippets) writeFileSync(join(OUT, s.file), `${s.code}\n`)
  writeFileSync(
    join(OUT, 'tsconfig.json'),
    JSON.stringify({ extends: '../../../../tsconfig.base.json', include: ['*.ts'] }, null, 2),
  )
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  try {
    await run(process.execPath, [tsc, '-p', join(OUT, 'tsconfig.json'), '--pretty', 'false'], { cwd: OUT })
  } catch (e) {
    // snippet-03.ts(5,10): error TS2345: ... -> docs/guide.md:<line>: error TS2345: ...
    typeErrors = failure(e)
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const m = /^(snippet-\d+\.ts)\((\d+),(\d+)\): (.*)$/.exec(l)
        const s = m && snippets.find((x) => x.file === m[1])
        return s && m ? `${where(s, Number(m[2]))}:${m[3]}: ${m[4]}` : l
      })
  }
  // The examples run one after the other in one process (`node --import tsx`, as a user would run one), each a
  // module of its own; the runner records how each ended, so one that fails does not hide the others.
  const results = join(OUT, 'results.jsonl')
  writeFileSync(join(OUT, 'run-all.mjs'), RUN_ALL)
  writeFileSync(results, '')
  const runnable = snippets.filter((x) => x.run).map((x) => x.file)
  let output = ''
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'run-all.mjs', ...runnable], { cwd: OUT })
    output = r.stdout + r.stderr
  } catch (e) {
    output = failure(e)
  }
  for (const l of readFileSync(results, 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(l) as { file: string; error?: string }
    runs.set(r.file, r.error === undefined ? { ok: true, output: '' } : { ok: false, output: atGuideLines(r.error) })
  }
  for (const f of runnable) if (!runs.has(f)) runs.set(f, { ok: false, output: `did not finish; output:\n${output}` })
}, 300_000)

describe('docs/guide.md', () => {
  it('has an example for each concept, most of them run', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(10)
    expect(snippets.filter((s) => s.run).length).toBeGreaterThanOrEqual(8)
  })

  it('imports only the public entry points of @ctr/streams-dsl', () => {
    const imports = snippets.flatMap((s) =>
      [...s.code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'/gm)].map((m) => ({
        s,
        from: (m[1] ?? m[2]) as string,
      })),
    )
    expect(imports.length).toBeGreaterThan(snippets.length)
    expect(imports.filter((i) => !PUBLIC.includes(i.from)).map((i) => `${where(i.s)}: ${i.from}`)).toEqual([])
  })

  it('type-checks every example (tsc)', () => {
    expect(typeErrors).toEqual([])
  })

  // Each example that runs asserts with node:assert; a failed assertion is the error its import ends with.
  for (const s of snippets.filter((x) => x.run))
    it(`runs the example at ${where(s)}`, () => {
      const r = runs.get(s.file)
      expect(r?.ok, r?.output).toBe(true)
      expect(s.code).toMatch(/\bassert\.\w+\(/)
    })
})
