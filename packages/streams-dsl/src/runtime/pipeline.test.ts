import { VirtualTimeScheduler } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { type Work, WorkPipeline } from './pipeline.js'

const batch = (n: number): Work => ({
  kind: 'batches',
  batches: [
    {
      topic: 't',
      partition: 0,
      records: [{ topic: 't', partition: 0, offset: n, key: null, value: null, timestamp: 0 }],
    },
  ],
})
const label = (w: Work) => (w.kind === 'batches' ? `batch ${w.batches[0]?.records[0]?.offset}` : w.kind)

describe('WorkPipeline (the runtime pipeline)', () => {
  it('runs work one item at a time, in arrival order, even when an item is slow', async () => {
    const log: string[] = []
    let running = 0
    const p = new WorkPipeline(
      async (w) => {
        running++
        expect(running).toBe(1)
        log.push(`start ${label(w)}`)
        await new Promise((r) => setTimeout(r, w.kind === 'batches' && w.batches[0]?.records[0]?.offset === 0 ? 20 : 1))
        log.push(`end ${label(w)}`)
        running--
      },
      { tickMs: 1e9, commitMs: 1e9 },
    )
    p.start()
    await Promise.all([p.submit(batch(0)), p.submit({ kind: 'commit' }), p.submit(batch(1))])
    expect(log).toEqual(['start batch 0', 'end batch 0', 'start commit', 'end commit', 'start batch 1', 'end batch 1'])
    p.close()
  })

  it('queues one tick behind a slow item, not one per timer firing', async () => {
    const scheduler = new VirtualTimeScheduler()
    const seen: string[] = []
    let release!: () => void
    const slow = new Promise<void>((r) => {
      release = r
    })
    const p = new WorkPipeline(
      async (w) => {
        seen.push(label(w))
        if (w.kind === 'batches') await slow
      },
      { tickMs: 100, commitMs: 250, scheduler },
    )
    p.start()
    const first = p.submit(batch(0))
    scheduler.maxFrames = 1000
    scheduler.flush() // ten ticks and four commits fire while the batch runs
    release()
    await first
    await p.submit({ kind: 'flush' }) // runs after everything queued before it
    expect(seen).toEqual(['batch 0', 'tick', 'commit', 'flush'])
    p.close()
  })

  it('rejects the submitter of a failing item and goes on with the next', async () => {
    const p = new WorkPipeline(
      async (w) => {
        if (w.kind === 'commit') throw new Error('commit refused')
      },
      { tickMs: 1e9, commitMs: 1e9 },
    )
    p.start()
    await expect(p.submit({ kind: 'commit' })).rejects.toThrow('commit refused')
    await expect(p.submit(batch(0))).resolves.toBeUndefined()
    p.close()
  })

  it('refuses work once closed, at once, instead of leaving its submitter waiting', async () => {
    const p = new WorkPipeline(async () => {}, { tickMs: 1e9, commitMs: 1e9 })
    p.start()
    p.close()
    await expect(p.submit({ kind: 'flush' })).rejects.toThrow('the pipeline is closed: flush not run')
  })
})
