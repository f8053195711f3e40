import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

// Every export of the public entries (package.json `exports`, all but ./internal) is documented: a summary and an
// @example; every public member of an exported class or interface has a summary.
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, string> }
const entries = Object.entries(pkg.exports).filter(([name]) => name !== './internal')

const program = ts.createProgram(
  entries.map(([, file]) => join(root, file)),
  {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  },
)
const checker = program.getTypeChecker()

const summary = (node: ts.Node): string =>
  ts
    .getJSDocCommentsAndTags(node)
    .filter(ts.isJSDoc)
    .map((d) => ts.getTextOfJSDocComment(d.comment) ?? '')
    .join('')
    .trim()
const hasExample = (node: ts.Node) => ts.getJSDocTags(node).some((t) => t.tagName.text === 'example')
const isInternal = (node: ts.Node) => ts.getJSDocTags(node).some((t) => t.tagName.text === 'internal')

function problems(entry: string, file: string): { checked: number; problems: string[] } {
  const source = program.getSourceFile(join(root, file))
  if (!source) return { checked: 0, problems: [`${entry}: ${file} not found`] }
  const module = checker.getSymbolAtLocation(source)
  if (!module) return { checked: 0, problems: [`${entry}: no module symbol`] }
  const out: string[] = []
  const exports = checker.getExportsOfModule(module)
  for (const exported of exports) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
    const decls = symbol.declarations ?? []
    // a class and its instance type, or a const and a type of one name, count once: one declaration documented is enough
    const documented = decls.filter((d) => summary(d) !== '')
    if (documented.length === 0) out.push(`${entry} ${exported.name}: no summary`)
    else if (!decls.some(hasExample)) out.push(`${entry} ${exported.name}: no @example`)
    for (const d of decls) {
      if (!ts.isClassDeclaration(d) && !ts.isInterfaceDeclaration(d)) continue
      for (const m of d.members) {
        if (!m.name || isInternal(m)) continue
        const mods = ts.canHaveModifiers(m) ? (ts.getModifiers(m) ?? []) : []
        // private and protected members are not API; an override is documented where it is declared first
        const skip = [ts.SyntaxKind.PrivateKeyword, ts.SyntaxKind.ProtectedKeyword, ts.SyntaxKind.OverrideKeyword]
        if (mods.some((x) => skip.includes(x.kind))) continue
        if (ts.isPrivateIdentifier(m.name)) continue
        if (ts.isConstructorDeclaration(m)) continue
        const name = m.name.getText(d.getSourceFile())
        // a member documented where it is declared first (the interface it implements, the class it overrides) is too
        const inherited = checker.getSymbolAtLocation(m.name)?.getDocumentationComment(checker) ?? []
        if (summary(m) === '' && ts.displayPartsToString(inherited).trim() === '')
          out.push(`${entry} ${exported.name}.${name}: no summary`)
      }
    }
  }
  return { checked: exports.length, problems: out }
}

describe('public API documentation', () => {
  it.each(entries)('%s: every export has a summary and an @example', (entry, file) => {
    const r = problems(entry, file)
    expect(r.problems).toEqual([])
    expect(r.checked).toBeGreaterThanOrEqual(4) // the entry was read, not skipped
  })
})
