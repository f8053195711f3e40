import { firstValueFrom, from, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { RawRecord } from '../connectors/types.js'
import { json, topic, topology, tumbling } from '../index.js'
import { collectingSink } from '../testing/collecting-sink.js'
import { type EngineInput, runTopology } from './operator.js'

describe('runTopology (RxJS operator)', () => {
  it('moves batches and markers, emits watermark advances and checkpoints after the outputs are written', async () => {
    const app = topology('t')
    const out = collectingSink<{ k: string; n: number }>('out')
    app
      .source(topic('in', { value: json(z.object({ k: z.string(), ts: z.number() })), timestamp: (e) => e.ts }))
      .keyBy((e) => e.k)
      .window(tumbling(10))
      .count()
      .map((r) => ({ k: r.key, n: r.value }))
      .to(out)
    const rec = (offset: number, ts: number): RawRecord => ({
      topic: 'in',
      partition: 0,
      offset,
      key: null,
      value: Buffer.from(JSON.stringify({ k: 'a', ts })),
      timestamp: ts,
    })
    let written = -1
    const inputs: EngineInput[] = [
      { kind: 'assign', partitions: [{ topic: 'in', partition: 0 }] },
      { topic: 'in', partition: 0, records: [rec(0, 1), rec(1, 2), rec(2, 25)] },
      { kind: 'tick' },
      { kind: 'checkpoint', id: 7 },
    ]
    const outputs = await firstValueFrom(
      from(inputs).pipe(
        runTopology(app.build(), {
          clock: { now: () => 30 },
          onMetrics: () => {
            written = out.records.length
          },
        }),
        toArray(),
      ),
    )
    expect(outputs.map((o) => o.kind)).toEqual(['watermark', 'checkpoint'])
    expect(outputs[0]).toEqual({ kind: 'watermark', watermark: 24 })
    expect(out.records).toEqual([{ k: 'a', n: 2 }])
    expect(written).toBe(1)
    const cp = outputs[1]
    expect(cp?.kind === 'checkpoint' && cp.offsets).toEqual([{ topic: 'in', partition: 0, offset: 2 }])
    expect(cp?.kind === 'checkpoint' && cp.snapshot.tasks[0]?.windows).toHaveLength(1)
  })
})
