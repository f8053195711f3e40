/**
 * Checks that the repository refers only to itself: no references to documents outside it (the old shared design
 * documents, `../shared/...`), no relative markdown link to a file or heading that does not exist, and no citation
 * of a section of docs/contract.md that it does not have. Run by `scripts/docs-links.test.ts` over every
 * git-tracked (and new, not ignored) text file.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, join, normalize } from 'node:path'

/** One problem found, to be printed as `path:line: message`. */
export type DocProblem = { readonly path: string; readonly line: number; readonly message: string }

/** The repository's own contract, which code and docs cite by section. */
export const CONTRACT_PATH = 'docs/contract.md'

/**
 * References to documents that are not in the repository. Upper-case `CONTRACTS` is the old shared contract (the
 * project's own is docs/contract.md); the rest are the other shared documents and paths that lead out of the repo.
 */
const FORBIDDEN: readonly { readonly pattern: RegExp; readonly message: string }[] = [
  { pattern: /\bCONTRACTS\b/, message: 'refers to a contract outside the repository; cite docs/contract.md §N' },
  { pattern: /\b(?:DESIGN|STYLE|ENVIRONMENT)\.md\b/, message: 'refers to a document outside the repository' },
  { pattern: /\.\.\/shared\b|\/work\/shared\b/, message: 'refers to a path outside the repository' },
]

/** Lines of `text` that refer to something outside the repository. */
export function forbiddenReferences(text: string): { line: number; message: string }[] {
  const out: { line: number; message: string }[] = []
  text.split('\n').forEach((l, i) => {
    for (const f of FORBIDDEN) {
      const m = f.pattern.exec(l)
      if (m) out.push({ line: i + 1, message: `"${m[0]}": ${f.message}` })
    }
  })
  return out
}

/**
 * The lines of a markdown text with fenced code blocks blanked and inline code spans removed (what is left can
 * hold links and headings); line numbers are kept.
 */
function proseLines(markdown: string): string[] {
  let fence: string | null = null
  return markdown.split('\n').map((l) => {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(l)
    if (fence !== null) {
      if (m?.[1] && m[1][0] === fence[0] && m[1].length >= fence.length && l.trim() === m[1]) fence = null
      return ''
    }
    if (m?.[1]) {
      fence = m[1]
      return ''
    }
    return l.replace(/(`+)[^`]*?\1/g, '')
  })
}

/** Link targets in a markdown text: inline links and images `[text](target)` and definitions `[label]: target`. */
export function markdownLinks(markdown: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = []
  proseLines(markdown).forEach((l, i) => {
    for (const m of l.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ line: i + 1, target: m[1]! })
    const def = /^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/.exec(l)
    if (def) out.push({ line: i + 1, target: def[1]! })
  })
  return out
}

/**
 * The anchors GitHub gives the headings of a markdown text (its slugger: the heading's text, lower case, without
 * punctuation, spaces as hyphens, `-1`, `-2`, ... for repeats), plus explicit `<a id>` / `<a name>` anchors.
 *
 * @example
 * headingAnchors("### Repartitioning (`tasks: 'auto'`)") // Set { 'repartitioning-tasks-auto' }
 */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  let fence: string | null = null
  for (const l of markdown.split('\n')) {
    const f = /^\s{0,3}(`{3,}|~{3,})/.exec(l)
    if (fence !== null) {
      if (f?.[1] && f[1][0] === fence[0] && l.trim() === f[1]) fence = null
      continue
    }
    if (f?.[1]) {
      fence = f[1]
      continue
    }
    for (const a of l.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(a[1]!)
    const h = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(l)
    if (!h) continue
    const text = h[1]!.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, '')
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    anchors.add(n === 0 ? base : `${base}-${n}`)
  }
  return anchors
}

/** Section numbers (`2`, `2.3`) of the numbered headings of a markdown text (`## 2. Time`, `### 2.3 Idleness`). */
export function sectionNumbers(markdown: string): Set<string> {
  const out = new Set<string>()
  for (const l of proseLines(markdown)) {
    const m = /^#{2,6}\s+(\d+(?:\.\d+)*)\.?\s/.exec(l)
    if (m) out.add(m[1]!)
  }
  return out
}

/** Citations of docs/contract.md sections in any text: `docs/contract.md §2.3`, `[docs/contract.md](…) §1-§3`. */
export function contractCitations(text: string): { line: number; section: string }[] {
  const out: { line: number; section: string }[] = []
  text.split('\n').forEach((l, i) => {
    for (const m of l.matchAll(/contract\.md(?:\]\([^)\s]*\))?\s+§(\d+(?:\.\d+)*)(?:\s*-\s*§(\d+(?:\.\d+)*))?/g)) {
      out.push({ line: i + 1, section: m[1]! })
      if (m[2]) out.push({ line: i + 1, section: m[2] })
    }
  })
  return out
}

/** What {@link checkMarkdownLinks} needs to know about the repository. */
export type RepoView = {
  /** True when the repository-relative path is a file or directory. */
  exists(path: string): boolean
  /** The markdown text of a repository-relative path (for its anchors). */
  read(path: string): string
}

/**
 * Problems with the relative links of the markdown file `path` (repository-relative): a target that does not exist,
 * one outside the repository, or an anchor that is not a heading of the target. Links with a scheme (`https:`,
 * `mailto:`) are not checked; a target starting with `/` is relative to the repository root, as on GitHub.
 */
export function checkMarkdownLinks(path: string, markdown: string, repo: RepoView): DocProblem[] {
  const problems: DocProblem[] = []
  for (const { line, target } of markdownLinks(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue
    const hash = target.indexOf('#')
    const file = decodeURIComponent((hash < 0 ? target : target.slice(0, hash)).split('?')[0]!)
    const anchor = hash < 0 ? '' : decodeURIComponent(target.slice(hash + 1))
    const resolved = file === '' ? path : file.startsWith('/') ? normalize(file.slice(1)) : join(dirname(path), file)
    const inside = normalize(resolved)
    if (inside.startsWith('..') || isAbsolute(inside)) {
      problems.push({ path, line, message: `link "${target}" points outside the repository` })
      continue
    }
    if (!repo.exists(inside)) {
      problems.push({ path, line, message: `link "${target}": ${inside} does not exist` })
      continue
    }
    if (anchor !== '' && inside.endsWith('.md') && !headingAnchors(repo.read(inside)).has(anchor))
      problems.push({ path, line, message: `link "${target}": ${inside} has no heading #${anchor}` })
  }
  return problems
}

/** The repository's tracked files and the new ones git does not ignore, repository-relative. */
export function repositoryFiles(root: string): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  return [...new Set(out.split('\0').filter((p) => p !== '' && existsSync(join(root, p))))].sort()
}

/** The checker's own files, which spell out forbidden references and bad citations to find them. */
const SELF = new Set(['scripts/lib/docs-links.ts', 'scripts/docs-links.test.ts'])

/** Every problem in the repository at `root`: forbidden references, broken links, unknown contract sections. */
export function checkRepository(root: string): { files: string[]; problems: DocProblem[] } {
  const files = repositoryFiles(root)
  const repo: RepoView = {
    exists: (p) => existsSync(join(root, p)),
    read: (p) => readFileSync(join(root, p), 'utf8'),
  }
  const contract = repo.exists(CONTRACT_PATH) ? sectionNumbers(repo.read(CONTRACT_PATH)) : new Set<string>()
  const problems: DocProblem[] = []
  const text: string[] = []
  for (const path of files) {
    const bytes = readFileSync(join(root, path))
    if (bytes.includes(0)) continue // binary
    text.push(path)
    const content = bytes.toString('utf8')
    if (path.endsWith('.md')) problems.push(...checkMarkdownLinks(path, content, repo))
    if (SELF.has(path)) continue
    for (const p of forbiddenReferences(content)) problems.push({ path, ...p })
    for (const c of contractCitations(content))
      if (!contract.has(c.section))
        problems.push({
          path,
          line: c.line,
          message: `cites ${CONTRACT_PATH} §${c.section}, which has no such section`,
        })
  }
  return { files: text, problems }
}

/** The problems as `path:line: message` lines. */
export function formatProblems(problems: readonly DocProblem[]): string[] {
  return problems.map((p) => `${p.path}:${p.line}: ${p.message}`)
}
