/**
 * The contract every state backend passes: its window stores and session stores behave as the operators expect.
 * A backend's test file calls {@link stateBackendContract} with it (the memory one: memory-state-backend.test.ts).
 */
import { describe, expect, it } from 'vitest'
import type { SessionBucket } from './session-store.js'
import type { StateBackend } from './state-backend.js'

type Session = SessionBucket<number>

const session = (key: string, start: number, end: number, acc: number): Session => ({
  key,
  start,
  end,
  acc,
  entries: new Map([[key, acc]]),
  minOffsets: [],
  fired: false,
})

/** Runs the window-store and session-store contracts over the stores `backend` opens. */
export function stateBackendContract(backend: StateBackend): void {
  let n = 0
  // a fresh (operator, task) per test: a persistent backend may keep what an earlier test wrote elsewhere
  const windows = () => backend.windowStore<number>(`contract-window-${n++}`, 0)
  const sessions = () => backend.sessionStore<number>(`contract-session-${n++}`, 0)

  describe(`window store contract: ${backend.name}`, () => {
    it('creates a bucket once and returns the same one after', () => {
      const s = windows()
      const b = s.getOrCreate(10_000, 20_000)
      expect(b).toMatchObject({ start: 10_000, end: 20_000, fired: false })
      b.entries.set('k', 1)
      expect(s.getOrCreate(10_000, 20_000).entries.get('k')).toBe(1)
      expect(s.get(10_000)).toBe(b)
      expect(s.size).toBe(1)
    })

    it('lists buckets in ascending start order and deletes them', () => {
      const s = windows()
      s.getOrCreate(30_000, 40_000)
      s.getOrCreate(10_000, 20_000)
      s.getOrCreate(20_000, 30_000)
      expect(s.buckets().map((b) => b.start)).toEqual([10_000, 20_000, 30_000])
      s.delete(20_000)
      expect(s.get(20_000)).toBeUndefined()
      expect(s.buckets().map((b) => b.start)).toEqual([10_000, 30_000])
      expect([...s.values()].map((b) => b.start).sort((x, y) => x - y)).toEqual([10_000, 30_000])
    })

    it('keeps the lowest offsets per partition slot', () => {
      const s = windows()
      const b = s.getOrCreate(0, 10)
      b.minOffsets[3] = 7
      expect(s.get(0)?.minOffsets[3]).toBe(7)
      expect(s.get(0)?.minOffsets[0]).toBeUndefined()
    })

    it('empties on clear and keeps working after', () => {
      const s = windows()
      s.getOrCreate(0, 10).entries.set('k', 1)
      s.getOrCreate(10, 20)
      s.clear()
      expect(s.size).toBe(0)
      expect(s.buckets()).toEqual([])
      expect(s.get(0)).toBeUndefined()
      expect(s.getOrCreate(0, 10).entries.size).toBe(0)
    })

    it('gives each operator and task a store of its own', () => {
      const a = backend.windowStore<number>(`contract-window-${n}`, 0)
      const b = backend.windowStore<number>(`contract-window-${n}`, 1)
      const c = backend.windowStore<number>(`contract-window-${n++}x`, 0)
      a.getOrCreate(0, 10).entries.set('k', 1)
      expect(b.get(0)).toBeUndefined()
      expect(c.get(0)).toBeUndefined()
    })
  })

  describe(`session store contract: ${backend.name}`, () => {
    it('keeps a key’s sessions as set, and removes them', () => {
      const s = sessions()
      const list = [session('a', 0, 10, 1), session('a', 20, 30, 2)]
      s.set('a', list)
      expect(s.get('a')).toEqual(list)
      expect(s.get('b')).toBeUndefined()
      s.delete('a')
      expect(s.get('a')).toBeUndefined()
    })

    it('lists every session by start, then end, and every key’s list', () => {
      const s = sessions()
      s.set('b', [session('b', 5, 15, 1)])
      s.set('a', [session('a', 0, 10, 1), session('a', 5, 12, 1)])
      expect(s.buckets().map((x) => [x.key, x.start, x.end])).toEqual([
        ['a', 0, 10],
        ['a', 5, 12],
        ['b', 5, 15],
      ])
      expect([...s.lists()].map((l) => l.length).sort()).toEqual([1, 2])
    })

    it('empties on clear', () => {
      const s = sessions()
      s.set('a', [session('a', 0, 10, 1)])
      s.clear()
      expect(s.buckets()).toEqual([])
      expect([...s.lists()]).toEqual([])
      expect(s.get('a')).toBeUndefined()
    })

    // more keys than a persistent backend's heap cache (the sqlite suite's holds 64): most are read back from disk
    const KEYS = 500
    const sessionsOf = (i: number): Session[] => {
      const first = session(`k${i}`, i, i + 10, i)
      first.minOffsets[2] = 3 * i // sparse: slots 0 and 1 hold nothing
      first.fired = i % 2 === 0
      return [first, session(`k${i}`, i + 100, i + 110, -1 - i)]
    }

    it('gives back every key’s sessions as set, with more keys than a heap cache holds', () => {
      const s = sessions()
      for (let i = 0; i < KEYS; i++) s.set(`k${i}`, sessionsOf(i))
      s.set(7, [session(7 as unknown as string, 0, 1, 7)]) // a number key is not its string
      for (let i = 0; i < KEYS; i++) {
        const got = s.get(`k${i}`)
        expect(got).toStrictEqual(sessionsOf(i)) // strict: a slot holding nothing is still a hole
        expect(got?.[0]?.entries.get(`k${i}`)).toBe(i)
      }
      expect(s.get(7)?.[0]?.acc).toBe(7)
      expect(s.get('7')).toBeUndefined()
      expect(s.buckets()).toHaveLength(2 * KEYS + 1)
      expect([...s.lists()]).toHaveLength(KEYS + 1)
    })

    it('keeps a change set back after a get, once the key left a heap cache', () => {
      const s = sessions()
      s.set('a', [session('a', 0, 10, 1), session('a', 20, 30, 2)])
      const list = s.get('a') ?? []
      const changed = { ...session('a', 20, 30, 5), fired: true, minOffsets: [4] }
      expect(list).toHaveLength(2)
      s.set('a', [list[0] as Session, changed])
      for (let i = 0; i < KEYS; i++) s.set(`k${i}`, sessionsOf(i))
      expect(s.get('a')).toEqual([session('a', 0, 10, 1), changed])
      s.delete('k3') // deleted while on disk only
      expect(s.get('k3')).toBeUndefined()
      expect(s.buckets()).toHaveLength(2 * KEYS)
    })

    it('lists every session by start then end, and empties on clear, with more keys than a heap cache holds', () => {
      const s = sessions()
      for (let i = KEYS - 1; i >= 0; i--) s.set(`k${i}`, sessionsOf(i))
      const all = s.buckets()
      expect(all.map((b) => b.start)).toEqual([...all.map((b) => b.start)].sort((x, y) => x - y))
      expect(all[0]).toEqual(sessionsOf(0)[0])
      s.clear()
      expect(s.buckets()).toEqual([])
      expect(s.get('k1')).toBeUndefined()
      s.set('k1', sessionsOf(1))
      expect(s.get('k1')).toEqual(sessionsOf(1))
    })
  })
}
