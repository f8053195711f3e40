import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  checkMarkdownLinks,
  checkRepository,
  contractCitations,
  forbiddenReferences,
  formatProblems,
  headingAnchors,
  markdownLinks,
  type RepoView,
  sectionNumbers,
} from './lib/docs-links.js'

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)))

describe('the repository refers only to itself', () => {
  const { files, problems } = checkRepository(ROOT)

  it('walks the tracked text files', () => {
    expect(files).toContain('README.md')
    expect(files).toContain('docs/contract.md')
    expect(files).toContain('packages/streams-dsl/src/runtime/watermarks.ts')
    expect(files.some((f) => f.includes('node_modules/'))).toBe(false)
  })

  it('has no reference outside it, no broken relative link and no citation of a missing contract section', () => {
    expect(formatProblems(problems)).toEqual([])
  })
})

describe('forbiddenReferences', () => {
  it('finds the old shared documents and paths out of the repository', () => {
    const text = [
      'see CONTRACTS.md §2',
      '(CONTRACTS §2: idleness)',
      'is in [the contract](../shared/CONTRACTS.md)',
      'the CTR topology of DESIGN.md',
      'as STYLE.md says',
      'cat /work/shared/ENVIRONMENT.md',
    ].join('\n')
    expect(forbiddenReferences(text).map((p) => p.line)).toEqual([1, 2, 3, 3, 4, 5, 6, 6])
  })

  it('lets the project’s own contract and ordinary words through', () => {
    expect(forbiddenReferences('docs/contract.md §2.3; the contracts of a sink; design.md.ts; shared/lib')).toEqual([])
  })
})

describe('markdown links', () => {
  const contract = [
    '# The contract',
    '## 2. Time semantics',
    '### 2.3 Job watermark and idleness',
    '## Notes',
    '## Notes',
  ].join('\n')
  const repo: RepoView = {
    exists: (p) => ['README.md', 'docs/contract.md', 'docs/guide.md', 'packages/x'].includes(p),
    read: (p) => (p === 'docs/contract.md' ? contract : '# Guide\n'),
  }
  const problems = (path: string, md: string) =>
    checkMarkdownLinks(path, md, repo).map((p) => `${p.line}: ${p.message}`)

  it('finds inline links, images and definitions, not those in code', () => {
    const md = [
      '[a](docs/x.md) ![b](img.png "title")',
      '```md',
      '[c](in-a-fence.md)',
      '```',
      '`[d](code.md)`',
      '[e]: <def.md>',
    ]
    expect(markdownLinks(md.join('\n'))).toEqual([
      { line: 1, target: 'docs/x.md' },
      { line: 1, target: 'img.png' },
      { line: 6, target: 'def.md' },
    ])
  })

  it('accepts existing files and headings, relative to the linking file', () => {
    const md = [
      '[c](docs/contract.md) [g](docs/guide.md#guide) [s](docs/contract.md#23-job-watermark-and-idleness)',
      '[n](docs/contract.md#notes-1) [dir](packages/x) [root](/README.md) [web](https://example.com/a.md) [m](mailto:a@b)',
    ]
    expect(problems('README.md', md.join('\n'))).toEqual([])
    expect(problems('docs/guide.md', '[c](contract.md#2-time-semantics) [r](../README.md) [self](#guide)')).toEqual([])
  })

  it('reports missing files, missing headings and targets outside the repository', () => {
    const md =
      '[a](docs/missing.md)\n[b](docs/contract.md#24-when-every-partition-is-idle)\n[c](../../shared/CONTRACTS.md)'
    expect(problems('docs/guide.md', md)).toEqual([
      '1: link "docs/missing.md": docs/docs/missing.md does not exist',
      '2: link "docs/contract.md#24-when-every-partition-is-idle": docs/docs/contract.md does not exist',
      '3: link "../../shared/CONTRACTS.md" points outside the repository',
    ])
    expect(problems('README.md', md)[1]).toBe(
      '2: link "docs/contract.md#24-when-every-partition-is-idle": docs/contract.md has no heading #24-when-every-partition-is-idle',
    )
  })

  it('gives headings GitHub’s anchors', () => {
    const md =
      "## 2.4 When every partition is idle\n### Repartitioning (`tasks: 'auto'`)\n## `npm start`: stopping\n## A\n## A"
    expect([...headingAnchors(md)]).toEqual([
      '24-when-every-partition-is-idle',
      'repartitioning-tasks-auto',
      'npm-start-stopping',
      'a',
      'a-1',
    ])
  })
})

describe('contract citations', () => {
  it('finds the sections cited, in text and in links', () => {
    const text = 'docs/contract.md §2.3\n[docs/contract.md](../docs/contract.md) §1-§3\n[docs/contract.md §4](x.md)'
    expect(contractCitations(text)).toEqual([
      { line: 1, section: '2.3' },
      { line: 2, section: '1' },
      { line: 2, section: '3' },
      { line: 3, section: '4' },
    ])
  })

  it('reads the numbered headings of the contract', () => {
    expect([...sectionNumbers('# Title\n## 1. Topics\n### 1.2 Events\n```\n## 9. in a fence\n```\n## Notes')]).toEqual([
      '1',
      '1.2',
    ])
  })
})
