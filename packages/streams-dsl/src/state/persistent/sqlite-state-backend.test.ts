import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { stateBackendContract } from '../state-backend.case.js'
import type { WindowKey } from '../window-store.js'
import type { DiskMap } from './disk-map.js'
import { sqliteStateBackend } from './sqlite-state-backend.js'

const backend = sqliteStateBackend({ cacheEntries: 64 })
afterAll(() => backend.close())

stateBackendContract(backend)

describe('sqlite state backend', () => {
  it('holds more keys than its cache: every value read back, the heap holding at most the cache', () => {
    const b = backend.windowStore<{ n: number }>('many', 0).getOrCreate(0, 1)
    for (let i = 0; i < 5_000; i++) b.entries.set(`k${i}`, { n: i })
    expect(backend.cachedEntries()).toBeLessThanOrEqual(64)
    expect(b.entries.size).toBe(5_000)
    for (let i = 0; i < 5_000; i += 7) expect(b.entries.get(`k${i}`)).toEqual({ n: i })
    expect([...b.entries.keys()].slice(0, 3)).toEqual(['k0', 'k1', 'k2']) // insertion order
    expect(backend.cachedEntries()).toBeLessThanOrEqual(64)
  })

  it('keeps an accumulator mutated in place after a get, once evicted and read back', () => {
    const b = backend.windowStore<{ n: number }>('in-place', 0).getOrCreate(0, 1)
    b.entries.set('hot', { n: 0 })
    const acc = b.entries.get('hot') as { n: number }
    acc.n = 41
    for (let i = 0; i < 1_000; i++) b.entries.set(i, { n: i }) // evicts 'hot'
    expect((b.entries as DiskMap<{ n: number }>).cached).toBeLessThan(1_000)
    expect(b.entries.get('hot')).toEqual({ n: 41 })
  })

  it('keeps 1 and "1" two keys, and an undefined value', () => {
    const m = backend.windowStore<unknown>('types', 0).getOrCreate(0, 1).entries
    m.set(1, 'number')
    m.set('1', 'string')
    m.set('u', undefined)
    for (let i = 0; i < 200; i++) m.set(`x${i}`, i) // all three evicted
    expect(m.get(1)).toBe('number')
    expect(m.get('1')).toBe('string')
    expect(m.has('u')).toBe(true)
    expect(m.get('u')).toBeUndefined()
  })

  it('frees a deleted bucket’s rows', () => {
    const s = backend.windowStore<number>('deleted', 0)
    const b = s.getOrCreate(0, 1)
    for (let i = 0; i < 300; i++) b.entries.set(i, i)
    s.delete(0)
    expect(s.getOrCreate(0, 1).entries.size).toBe(0)
  })
})

type Op =
  | { op: 'set'; key: WindowKey; value: number }
  | { op: 'get'; key: WindowKey; mutate: boolean }
  | { op: 'delete'; key: WindowKey }
  | { op: 'has'; key: WindowKey }
  | { op: 'iterate'; deleteEvery: number; setDuring: boolean }
  | { op: 'clear' }
  | { op: 'flush' }

const key = fc.oneof(
  fc.integer({ min: 0, max: 150 }),
  fc.integer({ min: 0, max: 150 }).map((n) => `k${n}`),
)
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constant('set' as const), key, value: fc.integer() }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('get' as const), key, mutate: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('delete' as const), key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('has' as const), key }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('iterate' as const),
      deleteEvery: fc.integer({ min: 0, max: 4 }),
      setDuring: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'flush' as const }) },
)

describe('sqlite state backend against the memory backend', () => {
  it('a DiskMap with a tiny cache behaves as a Map under random operations (values, size, order)', () => {
    const small = sqliteStateBackend({ cacheEntries: 64 })
    let n = 0
    try {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
          const disk = small.windowStore<{ v: number }>(`prop-${n++}`, 0).getOrCreate(0, 1).entries
          const mem = new Map<WindowKey, { v: number }>()
          for (const o of ops) {
            switch (o.op) {
              case 'set':
                disk.set(o.key, { v: o.value })
                mem.set(o.key, { v: o.value })
                break
              case 'get': {
                const d = disk.get(o.key)
                const m = mem.get(o.key)
                expect(d).toEqual(m)
                if (o.mutate && d && m) {
                  d.v++ // in place, as an aggregator does
                  m.v++
                }
                break
              }
              case 'delete':
                expect(disk.delete(o.key)).toBe(mem.delete(o.key))
                break
              case 'has':
                expect(disk.has(o.key)).toBe(mem.has(o.key))
                break
              case 'iterate': {
                const seen: [WindowKey, number][] = []
                const seenMem: [WindowKey, number][] = []
                for (const [map, out] of [
                  [disk, seen],
                  [mem, seenMem],
                ] as const) {
                  let i = 0
                  for (const [k, v] of map) {
                    out.push([k, v.v])
                    if (o.deleteEvery > 0 && i % o.deleteEvery === 0) map.delete(k)
                    if (o.setDuring && i === 1) map.set(`new${i}`, { v: -1 })
                    i++
                  }
                }
                expect(seen).toEqual(seenMem)
                break
              }
              case 'clear':
                disk.clear()
                mem.clear()
                break
              case 'flush':
                small.flush()
                break
            }
            expect(disk.size).toBe(mem.size)
          }
          expect([...disk.entries()]).toEqual([...mem.entries()])
          expect([...disk.keys()]).toEqual([...mem.keys()])
          expect([...disk.values()]).toEqual([...mem.values()])
          expect(small.cachedEntries()).toBeLessThanOrEqual(64)
          ;(disk as DiskMap<{ v: number }>).dispose()
        }),
        { numRuns: 150 },
      )
    } finally {
      small.close()
    }
  })
})
