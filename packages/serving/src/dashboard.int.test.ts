import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freshRedis, type TestRedis } from '@ctr/testing'
import type { Redis } from 'ioredis'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApi } from './app.js'
import { createRedisClient } from './redis.js'
import { type RunningServer, startServer } from './server.js'
import { result } from './test-support.js'

// The dashboard in headless Chromium (Debian's, through playwright-core) on seeded Redis data.
const CHANNEL = `ctr:updates:dashboard-test-${process.pid}-${Date.now()}`
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test-artifacts')
const NOW = Math.floor(Date.now() / 10_000) * 10_000
const PRODUCTS = 30
// Generous: the browser, the API and Redis share a busy 2-core machine in CI.
const POLL = { timeout: 20_000, interval: 100 }

let seed: TestRedis
let redis: Redis
let job: Server
let api: RunningServer
let context: BrowserContext
let page: Page
let userDataDir: string
const external: string[] = []

// The shape of the job's /status (packages/streams-dsl runner).
const jobStatus = {
  applicationId: 'ctr',
  topology: 'ctr',
  state: 'running',
  uptimeSeconds: 125,
  watermark: NOW - 4_001,
  allIdle: false,
  partitions: [
    { topic: 'impressions', partition: 0, nextOffset: 1200, watermark: NOW - 4_001, idle: false, lag: 3 },
    { topic: 'clicks', partition: 0, nextOffset: 80, watermark: NOW - 2_001, idle: false, lag: 0 },
  ],
  windows: {
    open: 31,
    oldest: {
      start: NOW - 10_000,
      end: NOW,
      firesAtWatermark: NOW - 1,
      waitingFor: [{ topic: 'impressions', partition: 0 }],
      reason:
        'window fires when the watermark reaches the end; partition impressions-0 holds it (last event 0.3 s ago; ' +
        'idle after 10 s); partition clicks-0 holds it (last event 0.1 s ago; idle after 10 s)',
    },
  },
  counters: { eventsIn: 123456, late: 17, deadLetters: 22, windowsEmitted: 900, lateFirings: 3 },
  deadLetters: { invalid_json: 5, late_event: 17 },
}

beforeAll(async () => {
  seed = await freshRedis()
  for (let i = 1; i <= PRODUCTS; i++) {
    const id = `p-${String(i).padStart(2, '0')}`
    await seed.hset('ctr:latest', id, JSON.stringify(result(id, NOW - 10_000, 100 + i, i)))
    await seed.hset('ctr:previous', id, JSON.stringify(result(id, NOW - 20_000, 100, i % 7)))
  }
  // p-30 (the most impressions, so the one the dashboard picks first) has a history of 20 windows.
  for (let w = 0; w < 20; w++) {
    const start = NOW - 10_000 * (20 - w)
    await seed.zadd('ctr:history:p-30', start, JSON.stringify(result('p-30', start, 100 + w, (w * 3) % 11)))
  }
  job = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(jobStatus))
  })
  await new Promise<void>((r) => job.listen(0, '127.0.0.1', r))
  redis = createRedisClient(seed.url)
  await new Promise((resolve) => redis.once('ready', resolve))
  const jobStatusUrl = `http://127.0.0.1:${(job.address() as AddressInfo).port}/status`
  api = await startServer(createApi({ redis, jobStatusUrl, updatesChannel: CHANNEL }), { port: 0, host: '127.0.0.1' })

  userDataDir = mkdtempSync(join(tmpdir(), 'ctr-dashboard-'))
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  })
  page = context.pages()[0] ?? (await context.newPage())
  page.on('request', (req) => {
    if (!req.url().startsWith(api.url) && !req.url().startsWith('data:')) external.push(req.url())
  })
})

afterAll(async () => {
  await context?.close()
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true })
  await api?.close()
  await new Promise<void>((r) => (job ? job.close(() => r()) : r()))
  await seed?.release()
  redis?.disconnect()
})

/** Writes a new newest window as the job's sink does: shift latest to previous, add to history, publish. */
async function sinkWrite(r: ReturnType<typeof result>) {
  const json = JSON.stringify(r)
  const current = await seed.hget('ctr:latest', r.product_id)
  if (current) await seed.hset('ctr:previous', r.product_id, current)
  await seed.hset('ctr:latest', r.product_id, json)
  await seed.zadd(`ctr:history:${r.product_id}`, r.window_start, json)
  await seed.publish(CHANNEL, json)
}

const firstProduct = () => page.locator('#ctr-table tbody tr').first().locator('td').first().textContent()

describe('dashboard', () => {
  it('renders the table, the chart and the pipeline panel, and follows live updates', async () => {
    await page.goto(`${api.url}/`)
    const rows = page.locator('#ctr-table tbody tr')
    await expect.poll(() => rows.count(), POLL).toBe(PRODUCTS)
    // Sorted by CTR, highest first: p-30 has 30 clicks of 130 impressions.
    expect(await firstProduct()).toBe('p-30')
    expect(await rows.first().locator('td').nth(4).textContent()).toBe(`${((30 / 130) * 100).toFixed(2)}%`)

    // The chart of the product with the most impressions, from its 20 windows of history.
    await expect.poll(() => page.locator('#chart-product').textContent(), POLL).toBe('— p-30')
    await expect.poll(() => page.locator('#chart').getAttribute('data-points'), POLL).toBe('20')
    expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0)

    // Pipeline health from the job's /status (through /pipeline/status).
    const pipeline = page.locator('#pipeline')
    await expect.poll(() => pipeline.textContent(), POLL).toContain('partition impressions-0 holds it')
    expect(await page.locator('#pipeline details summary').textContent()).toMatch(
      /fires when the watermark .*\(2 more\)$/,
    )
    expect(await page.locator('#pipeline details li').count()).toBe(2)
    const text = (await pipeline.textContent()) ?? ''
    for (const part of ['123,456', 'dead letters', 'late events', 'consumer lag', 'impressions-0', 'clicks-0']) {
      expect(text).toContain(part)
    }
    for (const part of ['ctr · running · up 2.1 min', 'invalid_json 5, late_event 17']) {
      expect(text).toContain(part)
    }
    await expect.poll(() => page.locator('#live').textContent(), POLL).toBe('live')

    // A new window for p-05 with a CTR of 90% moves it to the top, with its change against the shifted previous.
    await sinkWrite(result('p-05', NOW, 100, 90))
    await expect.poll(firstProduct, POLL).toBe('p-05')
    const top = rows.first().locator('td')
    expect(await top.nth(4).textContent()).toBe('90.00%')
    expect(await top.nth(5).textContent()).toBe(`+${((0.9 - 5 / 105) * 100).toFixed(2)} pp`)

    // A new window of the charted product adds a point to the chart.
    await sinkWrite(result('p-30', NOW, 200, 20))
    await expect.poll(() => page.locator('#chart').getAttribute('data-points'), POLL).toBe('21')

    // Clicking a product charts it (none stored in its history: its previous and latest windows).
    await rows.filter({ hasText: 'p-07' }).first().click()
    await expect.poll(() => page.locator('#chart-product').textContent(), POLL).toBe('— p-07')
    await expect.poll(() => page.locator('#chart').getAttribute('data-points'), POLL).toBe('2')

    // Sorting by product name.
    await page.locator('#ctr-table th[data-key="product_id"]').click()
    expect(await firstProduct()).toBe('p-01')
    await page.locator('#ctr-table th[data-key="product_id"]').click()
    expect(await firstProduct()).toBe('p-30')

    await page.locator('#ctr-table th[data-key="ctr"]').click()
    await rows.filter({ hasText: 'p-30' }).first().click()
    await expect.poll(() => page.locator('#chart').getAttribute('data-points'), POLL).toBe('21')
    await page.locator('#table-panel .scroll').evaluate((el) => {
      el.scrollTop = 0
    })
    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true })

    // A product named __proto__ is a row like any other, live and after a reload from /ctr/latest.
    await sinkWrite(result('__proto__', NOW, 100, 1))
    const proto = page.locator('#ctr-table tbody tr[data-id="__proto__"] td')
    await expect.poll(() => proto.first().textContent(), POLL).toBe('__proto__')
    await page.reload()
    await expect.poll(() => rows.count(), POLL).toBe(PRODUCTS + 1)
    expect(await proto.nth(4).textContent()).toBe('1.00%')
    expect(external).toEqual([])
  })

  it('serves interactive API docs that work offline', async () => {
    await page.goto(`${api.url}/docs`)
    await expect.poll(() => page.locator('.swagger-ui .opblock').count(), POLL).toBeGreaterThanOrEqual(14)
    expect(await page.locator('.swagger-ui').textContent()).toContain('/ctr/{product_id}')
    await page.screenshot({ path: join(ARTIFACTS, 'docs.png') })
    expect(external).toEqual([])
  })
})
