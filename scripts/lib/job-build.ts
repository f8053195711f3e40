/**
 * The CTR job runs as one bundled JavaScript file, `.build/job.mjs`, built from
 * packages/ctr-topology/src/main.ts by esbuild: run from the TypeScript sources through tsx's loader it kept
 * a second V8 isolate for the loader thread and the compiled sources (~38 MB of RSS at idle, 88 vs 126 MB)
 * and compiled every module at start. The native Kafka client stays outside the bundle (resolved from the
 * repository's node_modules); everything else is bundled. A build takes about half a second; every command
 * that starts the job (`pnpm job`, `pnpm job:start`, `npm start`, the e2e bench) builds first, so the bundle
 * is never older than the sources.
 *
 * `tsx scripts/lib/job-build.ts` builds it from the command line (what `pnpm job` does).
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { repoRoot } from './paths.js'

/** The bundled job, relative to the repository root. */
export const JOB_BUNDLE = '.build/job.mjs'

/** Builds `.build/job.mjs`; throws with esbuild's message when the sources do not build. */
export async function buildJob(): Promise<string> {
  const outfile = join(repoRoot, JOB_BUNDLE)
  await build({
    entryPoints: [join(repoRoot, 'packages/ctr-topology/src/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // the native binding loads its .node file relative to its own package
    external: ['@confluentinc/kafka-javascript'],
    // CommonJS dependencies bundled into an ES module still call require() for Node's built-ins
    banner: {
      js: "import { createRequire as __jobRequire } from 'node:module'; const require = __jobRequire(import.meta.url);",
    },
    logLevel: 'warning',
    legalComments: 'none',
  })
  return outfile
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    await buildJob()
  } catch {
    // esbuild has printed what does not build
    process.exit(1)
  }
}
