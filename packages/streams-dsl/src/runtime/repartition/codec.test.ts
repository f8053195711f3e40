import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { RawRecord, RepartitionRecord } from '../../connectors/types.js'
import { encodeBundles, NotARepartitionRecord, RecordTooLargeError, readBundle, soloBundleBytes } from './codec.js'

const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a))
const original: fc.Arbitrary<RawRecord> = fc.record(
  {
    topic: fc.constantFrom('impressions', 'clicks', 'ünïcode-topic'),
    partition: fc.nat({ max: 1000 }),
    offset: fc.nat({ max: 2 ** 52 }),
    key: fc.option(bytes, { nil: null }),
    value: fc.option(bytes, { nil: null }),
    timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
    headers: fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 20 }), bytes), {
      maxKeys: 3,
    }),
  },
  { requiredKeys: ['topic', 'partition', 'offset', 'key', 'value', 'timestamp'] },
)
const routed: fc.Arbitrary<RepartitionRecord> = fc
  .oneof(
    { weight: 8, arbitrary: fc.record({ record: original, before: fc.oneof(fc.constant(-Infinity), fc.nat()) }) },
    {
      weight: 1,
      arbitrary: fc
        .record({ at: fc.nat(), n: fc.nat({ max: 3 }) })
        .map((m) => ({ marker: Buffer.from(JSON.stringify({ at: m.at, origins: [] })) })),
    },
  )
  .chain((r) => fc.nat({ max: 2 }).map((partition) => ({ topic: 'rep', partition, ...r }) as RepartitionRecord))

const asKafka = (value: Buffer, offset = 0): RawRecord => ({
  topic: 'rep',
  partition: 0,
  offset,
  key: null,
  value,
  timestamp: 0,
})

describe('repartition bundles', () => {
  it('round-trip every routed record and marker, per partition, in order (property)', () => {
    fc.assert(
      fc.property(fc.array(routed, { maxLength: 60 }), (records) => {
        const got = new Map<number, unknown[]>()
        for (const b of encodeBundles(records))
          for (const e of readBundle(asKafka(b.value))) got.set(b.partition, [...(got.get(b.partition) ?? []), e])
        for (const p of [0, 1, 2]) {
          const want = records
            .filter((r) => r.partition === p)
            .map((r) =>
              'marker' in r
                ? { marker: { ...JSON.parse(r.marker.toString()) } }
                : {
                    record: {
                      ...r.record,
                      headers: r.record.headers && Object.keys(r.record.headers).length ? r.record.headers : undefined,
                    },
                    before: r.before,
                  },
            )
          const norm = (es: unknown[]) =>
            es.map((e) => {
              const x = e as { record?: RawRecord & { headers?: object }; before?: number; marker?: object }
              if (x.marker) return { marker: x.marker }
              const { headers, ...rest } = x.record as RawRecord
              return { record: { ...rest, headers: headers ? { ...headers } : undefined }, before: x.before }
            })
          expect(norm(got.get(p) ?? [])).toEqual(norm(want))
        }
      }),
      { numRuns: 500 },
    )
  })

  it('never encodes a bundle larger than the limit, and round-trips under it (property)', () => {
    fc.assert(
      fc.property(fc.array(routed, { maxLength: 40 }), fc.integer({ min: 0, max: 2000 }), (records, extra) => {
        // a limit every single entry fits, often smaller than two of them together
        const max = Math.max(0, ...records.map(soloBundleBytes)) + extra
        const bundles = encodeBundles(records, max)
        for (const b of bundles) expect(b.value.length).toBeLessThanOrEqual(max)
        const entries = bundles.reduce((n, b) => n + readBundle(asKafka(b.value)).length, 0)
        expect(entries).toBe(records.length)
      }),
      { numRuns: 500 },
    )
  })

  it('refuses an entry that cannot fit a bundle alone', () => {
    const record: RawRecord = { ...asKafka(Buffer.alloc(5000, 7)), topic: 'clicks' }
    const r: RepartitionRecord = { topic: 'rep', partition: 0, record, before: 0 }
    expect(encodeBundles([r], soloBundleBytes(r))).toHaveLength(1)
    expect(() => encodeBundles([r], soloBundleBytes(r) - 1)).toThrow(RecordTooLargeError)
  })

  it('cuts bundles that would grow past 256 KiB, keeping the order', () => {
    const big = Buffer.alloc(100 * 1024, 1)
    const records: RepartitionRecord[] = Array.from({ length: 7 }, (_, i) => ({
      topic: 'rep',
      partition: 0,
      record: { topic: 'src', partition: 0, offset: i, key: null, value: big, timestamp: i },
      before: i,
    }))
    const bundles = encodeBundles(records)
    expect(bundles.length).toBeGreaterThan(2)
    for (const b of bundles) expect(b.value.length).toBeLessThan(400 * 1024)
    const offsets = bundles.flatMap((b) =>
      readBundle(asKafka(b.value)).map((e) => ('record' in e ? e.record.offset : -1)),
    )
    expect(offsets).toEqual([0, 1, 2, 3, 4, 5, 6])
  })

  it('reads the previous format: one routed record with origin.* headers, and markers with a marker header', () => {
    const data = readBundle({
      ...asKafka(Buffer.from('{"k":1}'), 7),
      key: Buffer.from('k'),
      timestamp: 5,
      headers: {
        'origin.topic': 'clicks',
        'origin.partition': '3',
        'origin.offset': '41',
        'origin.before': '1000',
        trace: 'x',
      },
    })
    expect(data).toEqual([
      {
        record: {
          topic: 'clicks',
          partition: 3,
          offset: 41,
          key: Buffer.from('k'),
          value: Buffer.from('{"k":1}'),
          timestamp: 5,
          headers: { trace: 'x' },
        },
        before: 1000,
      },
    ])
    const marker = readBundle({ ...asKafka(Buffer.from('{"at":9,"origins":[]}')), headers: { marker: '1' } })
    expect(marker).toEqual([{ marker: { at: 9, origins: [] } }])
  })

  it('rejects a foreign or corrupt record with NotARepartitionRecord, never another error (property)', () => {
    const [bundle] = encodeBundles([
      {
        topic: 'rep',
        partition: 0,
        record: { topic: 'src', partition: 1, offset: 2, key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 3 },
        before: 4,
      },
    ])
    const good = (bundle as { value: Buffer }).value
    fc.assert(
      fc.property(
        fc.oneof(
          bytes,
          fc.nat({ max: good.length - 1 }).map((n) => good.subarray(0, n)),
          fc
            .tuple(fc.nat({ max: good.length - 1 }), fc.nat({ max: 255 }))
            .map(([i, v]) => Buffer.concat([good.subarray(0, i), Buffer.from([v]), good.subarray(i + 1)])),
        ),
        (value) => {
          try {
            readBundle(asKafka(value))
          } catch (e) {
            expect(e).toBeInstanceOf(NotARepartitionRecord)
          }
        },
      ),
      { numRuns: 2000 },
    )
  })
})
