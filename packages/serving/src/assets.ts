import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`))
const here = dirname(fileURLToPath(import.meta.url))

/** A static file the API serves from memory. */
export type Asset = { body: Uint8Array; type: string; cacheControl: string }

type AssetSource = { path: string; type: string; vendor: boolean }

const JS = 'text/javascript; charset=utf-8'
const CSS = 'text/css; charset=utf-8'
const HTML = 'text/html; charset=utf-8'

// Every file is served from this machine: the dashboard and /docs work with no internet access.
const SOURCES = {
  'index.html': { path: join(here, 'dashboard', 'index.html'), type: HTML, vendor: false },
  'dashboard.js': { path: join(here, 'dashboard', 'dashboard.js'), type: JS, vendor: false },
  'dashboard.css': { path: join(here, 'dashboard', 'dashboard.css'), type: CSS, vendor: false },
  'uPlot.iife.min.js': { path: join(packageDir('uplot'), 'dist', 'uPlot.iife.min.js'), type: JS, vendor: true },
  'uPlot.min.css': { path: join(packageDir('uplot'), 'dist', 'uPlot.min.css'), type: CSS, vendor: true },
  'swagger-ui.css': { path: join(packageDir('swagger-ui-dist'), 'swagger-ui.css'), type: CSS, vendor: true },
  'swagger-ui-bundle.js': {
    path: join(packageDir('swagger-ui-dist'), 'swagger-ui-bundle.js'),
    type: JS,
    vendor: true,
  },
} satisfies Record<string, AssetSource>

/** Names of the files {@link loadAsset} serves. */
export type AssetName = keyof typeof SOURCES

const cache = new Map<AssetName, Asset>()

/**
 * One static file. Vendor files are read once, kept in memory and cacheable for a day; the dashboard's own small
 * files are read on every request and revalidated by the browser, so an edit shows on reload (also in `pnpm dev`).
 *
 * @example
 * const { body, type } = loadAsset('uPlot.iife.min.js')
 */
export function loadAsset(name: AssetName): Asset {
  const hit = cache.get(name)
  if (hit) return hit
  const source: AssetSource = SOURCES[name]
  const asset: Asset = {
    body: readFileSync(source.path),
    type: source.type,
    cacheControl: source.vendor ? 'public, max-age=86400' : 'no-cache',
  }
  if (source.vendor) cache.set(name, asset)
  return asset
}
