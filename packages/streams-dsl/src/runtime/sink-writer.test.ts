import { describe, expect, it } from 'vitest'
import type { Sink } from '../connectors/types.js'
import { SinkWriters } from './sink-writer.js'

/** A sink whose writes resolve only when told to. */
function gatedSink() {
  const written: number[][] = []
  const gates: (() => void)[] = []
  const sink: Sink<number> = {
    name: 'gated',
    write: (records) =>
      new Promise<void>((resolve) =>
        gates.push(() => {
          written.push([...records])
          resolve()
        }),
      ),
  }
  const open = async () => {
    while (gates.length === 0) await new Promise((r) => setTimeout(r, 1))
    gates.shift()?.()
  }
  return { sink, written, open }
}

describe('SinkWriters.discard and mute (an instance dropping a lost assignment)', () => {
  it('drops what waits but lets the write in flight finish; muted, pushes are dropped', async () => {
    const { sink, written, open } = gatedSink()
    const writers = new SinkWriters()
    const w = writers.of(sink)
    w.push([1, 2]) // in flight at once
    w.push([3, 4]) // waits behind it
    expect(writers.discard()).toBe(2)
    writers.mute(true)
    w.push([5])
    writers.mute(false)
    await open()
    await writers.flush()
    w.push([6])
    const flushed = writers.flush()
    await open()
    await flushed
    expect(written).toEqual([[1, 2], [6]])
  })
})

describe('SinkWriters.onAbort (exactly-once: a write whose transaction must be aborted)', () => {
  /** A sink whose first write rejects with `error`; later writes succeed. */
  const failingOnce = (error: Error) => {
    const written: number[][] = []
    let calls = 0
    const sink: Sink<number> = {
      name: 'tx',
      write: async (records) => {
        if (calls++ === 0) throw error
        written.push([...records])
      },
    }
    return { sink, written }
  }
  const aborted = () =>
    Object.assign(new Error('delivery to out failed: Local: Message timed out'), { transactionAborted: true })

  it('hands the error to the handler instead of failing the writer; later writes go on', async () => {
    const { sink, written } = failingOnce(aborted())
    const writers = new SinkWriters()
    const seen: string[] = []
    writers.onAbort = (e) => seen.push(e.message)
    const w = writers.of(sink)
    w.push([1, 2])
    await writers.flush()
    expect(seen).toEqual(['delivery to out failed: Local: Message timed out'])
    expect(writers.failure).toBeUndefined()
    w.push([3])
    await writers.flush()
    expect(written).toEqual([[3]])
  })

  it('fails the writer as before without a handler, or for an error that is not an abort', async () => {
    const lone = new SinkWriters().of(failingOnce(aborted()).sink)
    lone.push([1])
    await expect(lone.flush()).rejects.toThrow('Message timed out')

    const writers = new SinkWriters()
    const seen: Error[] = []
    writers.onAbort = (e) => seen.push(e)
    const w = writers.of(failingOnce(new Error('record too large')).sink)
    w.push([1])
    await expect(writers.flush()).rejects.toThrow('record too large')
    expect(seen).toEqual([])
    expect(() => w.push([2])).toThrow('record too large')
  })
})

describe("a sink's maxBatch and readable callback", () => {
  it("cuts writes at the sink's maxBatch, else at 5000", async () => {
    const sizes = (maxBatch?: number) => {
      const seen: number[] = []
      const sink: Sink<number> = {
        name: 's',
        ...(maxBatch !== undefined && { maxBatch }),
        write: async (records) => {
          seen.push(records.length)
        },
      }
      return { sink, seen }
    }
    for (const [maxBatch, expected] of [
      [undefined, [5000, 5000, 2000]],
      [20_000, [12_000]],
      [3000, [3000, 3000, 3000, 3000]],
    ] as const) {
      const { sink, seen } = sizes(maxBatch)
      const w = new SinkWriters().of(sink)
      w.push(Array.from({ length: 12_000 }, (_, i) => i))
      await w.flush()
      // the first write starts at once with what was pushed; what follows waits for it
      expect(seen).toEqual(expected)
    }
  })

  it('times results when the sink says they are readable, not when its slower rest resolves', async () => {
    let release: () => void = () => {}
    const sink: Sink<number> = {
      name: 'two-step',
      write: async (_records, readable) => {
        readable?.()
        await new Promise<void>((r) => {
          release = r
        })
      },
    }
    const timed: { ms: number; records: number }[] = []
    const w = new SinkWriters(50_000, (_sink, ms, records) => timed.push({ ms, records })).of(sink)
    w.push([1, 2, 3], performance.now())
    await new Promise((r) => setTimeout(r, 50))
    expect(timed).toHaveLength(1) // timed while the write is still in flight
    expect(timed[0]?.records).toBe(3)
    expect(timed[0]?.ms).toBeLessThan(40)
    release()
    await w.flush()
    expect(timed).toHaveLength(1) // not timed again as the write resolves
  })

  it('times results as the write resolves when the sink never says', async () => {
    const sink: Sink<number> = { name: 'plain', write: () => new Promise((r) => setTimeout(r, 30)) }
    const timed: number[] = []
    const w = new SinkWriters(50_000, (_sink, ms) => timed.push(ms)).of(sink)
    w.push([1], performance.now())
    await w.flush()
    expect(timed).toHaveLength(1)
    expect(timed[0]).toBeGreaterThanOrEqual(25)
  })
})
