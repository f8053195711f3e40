import { describe, expect, it } from 'vitest'
import type { WindowStore } from './window-store.js'

/** The contract every window store backend passes (run it from the backend's test file). */
export function windowStoreContract(name: string, create: () => WindowStore<number>): void {
  describe(`window store contract: ${name}`, () => {
    it('creates a bucket once and returns the same one after', () => {
      const s = create()
      const b = s.getOrCreate(10_000, 20_000)
      expect(b).toMatchObject({ start: 10_000, end: 20_000, fired: false })
      b.entries.set('k', 1)
      expect(s.getOrCreate(10_000, 20_000).entries.get('k')).toBe(1)
      expect(s.get(10_000)).toBe(b)
      expect(s.size).toBe(1)
    })

    it('lists buckets in ascending start order and deletes them', () => {
      const s = create()
      s.getOrCreate(30_000, 40_000)
      s.getOrCreate(10_000, 20_000)
      s.getOrCreate(20_000, 30_000)
      expect(s.buckets().map((b) => b.start)).toEqual([10_000, 20_000, 30_000])
      s.delete(20_000)
      expect(s.get(20_000)).toBeUndefined()
      expect(s.buckets().map((b) => b.start)).toEqual([10_000, 30_000])
    })

    it('keeps the lowest offsets per partition slot', () => {
      const s = create()
      const b = s.getOrCreate(0, 10)
      b.minOffsets[3] = 7
      expect(s.get(0)?.minOffsets[3]).toBe(7)
      expect(s.get(0)?.minOffsets[0]).toBeUndefined()
    })
  })
}
