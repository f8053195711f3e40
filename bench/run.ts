// `pnpm bench [filter]`: runs every bench/*.bench.ts whose name contains the filter, one after another,
// each in its own process (so peak RSS and JIT state are its own). Results: bench/results/<name>.json.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const filter = process.argv[2] ?? ''
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts') && f.includes(filter))
  .sort()
if (files.length === 0) {
  console.error(`[bench] no benchmark matches "${filter}" in bench/`)
  process.exit(1)
}
let failed = 0
for (const f of files) {
  console.log(`[bench] ${f}`)
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(here, f)], { stdio: 'inherit' })
  if (r.status !== 0) {
    failed++
    console.error(`[bench] ${f} failed (exit ${r.status})`)
  }
}
process.exit(failed ? 1 : 0)
