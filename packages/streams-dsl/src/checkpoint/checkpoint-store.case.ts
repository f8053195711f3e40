import { describe, expect, it } from 'vitest'
import type { CheckpointStore, InvalidCheckpoint, TaskCheckpoint } from './checkpoint.js'
import { encodeCheckpoint } from './checkpoint-codec.js'

/** A checkpoint of task `taskId` whose partition 0 of `t` stands at `offset`, with `keys` open keys. */
/** A window of {@link sampleCheckpoint}'s task with the given entries. */
const windowOf = (entries: [string, unknown][], start = 0) => ({
  operator: 'window',
  start,
  end: start + 10_000,
  fired: false,
  minOffsets: [{ topic: 't', partition: 0, offset: 0 }],
  entries,
})

/** Base `base` of task 0 at `offset`: keys p-0 .. p-(keys-1). */
const baseOf = (base: number, offset: number, keys: number, supersedes?: { base: number; deltas: number }) => ({
  ...sampleCheckpoint('0', offset, keys),
  chain: { base, delta: 0, ...(supersedes && { supersedes }) },
})

/** Delta `delta` on base `base` of task 0 at `offset`: `set` keys changed, `deleted` keys removed, in window 0. */
function deltaOf(
  base: number,
  delta: number,
  offset: number,
  set: [string, unknown][],
  deleted: string[],
  extra: TaskCheckpoint['task']['windows'] = [],
): TaskCheckpoint {
  const cp = sampleCheckpoint('0', offset, 0)
  return {
    ...cp,
    chain: { base, delta },
    task: { ...cp.task, windows: [{ ...windowOf(set), partial: true, deleted }, ...extra] },
  }
}

/** What a read gives: a whole checkpoint at `offset` with window 0 holding `entries` (and more windows). */
function wholeAt(
  offset: number,
  chain: TaskCheckpoint['chain'],
  entries: [string, unknown][],
  extra: TaskCheckpoint['task']['windows'] = [],
): TaskCheckpoint {
  const cp = sampleCheckpoint('0', offset, 0)
  return { ...cp, ...(chain && { chain }), task: { ...cp.task, windows: [windowOf(entries), ...extra] } }
}

const v = (i: number, clicks: number) => ({ impressions: i, clicks })

export function sampleCheckpoint(taskId: string, offset: number, keys = 3): TaskCheckpoint {
  return {
    version: 1,
    topology: 'sample',
    taskId,
    watermark: 1_000 + offset,
    maxEventTime: 5_000 + offset,
    lastEventWallTime: 1_764_000_000_000,
    writtenAt: 1_764_000_000_000 + offset,
    task: {
      id: taskId,
      partitions: [{ topic: 't', partition: Number(taskId) || 0, nextOffset: offset, maxEventTime: 4_000 + offset }],
      windows: [
        {
          operator: 'window',
          start: 0,
          end: 10_000,
          fired: false,
          minOffsets: [{ topic: 't', partition: 0, offset: 0 }],
          entries: Array.from({ length: keys }, (_, i) => [`p-${i}`, { impressions: i, clicks: offset }]),
        },
      ],
    },
  }
}

/** The contract every checkpoint store passes (run it from the backend's test file). */
export function checkpointStoreContract<S extends CheckpointStore>(
  name: string,
  create: () => Promise<S> | S,
  /** Appends a raw record for a task (key: the task id, or `key`), as something other than the store would (a foreign or corrupt record). */
  appendRaw: (store: S, taskId: string, value: Buffer, key?: string) => Promise<void>,
  /** Compacts the store as Kafka's log cleaner would (newest record per key, tombstones gone), if it can be forced. */
  compact?: (store: S) => void,
): void {
  describe(`checkpoint store contract: ${name}`, () => {
    it('skips newer records that are not usable checkpoints, reports them, and returns the one before', async () => {
      const store = await create()
      await store.write([sampleCheckpoint('0', 10), sampleCheckpoint('1', 20)])
      await appendRaw(store, '0', Buffer.from('{"not": "gzip"}'))
      await appendRaw(store, '0', encodeCheckpoint({ ...sampleCheckpoint('0', 99), topology: 'someone-else' }))
      await appendRaw(store, '1', encodeCheckpoint(sampleCheckpoint('7', 30))) // another task's state under key 1
      const invalid: InvalidCheckpoint[] = []
      const got = await store.read(['0', '1'], {
        accept: (cp) => (cp.topology === 'sample' ? undefined : `it belongs to topology "${cp.topology}"`),
        onInvalid: (i) => invalid.push(i),
      })
      expect(got.get('0')).toEqual(sampleCheckpoint('0', 10))
      expect(got.get('1')).toEqual(sampleCheckpoint('1', 20))
      expect(
        // per task, newest first (tasks may come in any order)
        [...invalid]
          .sort((x, y) => x.taskId.localeCompare(y.taskId))
          .map((i) => [i.taskId, i.reason.replace(/^changelog record \S+ \(task \d\) skipped: /, '')]),
      ).toEqual([
        ['0', 'it belongs to topology "someone-else"'],
        ['0', expect.stringMatching(/^checkpoint record is not a gzipped JSON checkpoint/)],
        ['1', 'holds task 7, not 1'],
      ])
      const ofTask0 = invalid.filter((i) => i.taskId === '0')
      expect(ofTask0[0]?.record.key?.toString()).toBe('0')
      expect(ofTask0[1]?.record.value?.toString()).toBe('{"not": "gzip"}')
      await store.close?.()
    })

    it('returns nothing for a task whose only records are unusable', async () => {
      const store = await create()
      await appendRaw(store, '3', Buffer.from([0x1f, 0x8b, 0, 1, 2]))
      const invalid: InvalidCheckpoint[] = []
      expect((await store.read(['3'], { onInvalid: (i) => invalid.push(i) })).size).toBe(0)
      expect(invalid).toHaveLength(1)
      await store.close?.()
    })

    it('returns nothing for tasks never checkpointed', async () => {
      const store = await create()
      expect((await store.read(['0', 'x'])).size).toBe(0)
      await store.close?.()
    })

    it('returns the newest checkpoint of each task, whole', async () => {
      const store = await create()
      await store.write([sampleCheckpoint('0', 10), sampleCheckpoint('1', 20)])
      await store.write([sampleCheckpoint('0', 30)])
      const got = await store.read(['0', '1', '2'])
      expect([...got.keys()].sort()).toEqual(['0', '1'])
      expect(got.get('0')).toEqual(sampleCheckpoint('0', 30))
      expect(got.get('1')).toEqual(sampleCheckpoint('1', 20))
      await store.close?.()
    })

    it('incremental: returns a base with its deltas applied in order (changes, deletions, windows gone and new)', async () => {
      const store = await create()
      await store.write([baseOf(1, 10, 4)]) // p-0 .. p-3, clicks 10
      await store.write([
        deltaOf(
          1,
          1,
          20,
          [
            ['p-1', v(1, 20)],
            ['p-9', v(9, 20)],
          ],
          ['p-2'],
        ),
      ])
      const w2 = { ...windowOf([['q', 1]], 10_000) }
      await store.write([deltaOf(1, 2, 30, [['p-0', v(0, 30)]], ['p-9'], [w2])])
      const got = (await store.read(['0'])).get('0')
      expect(got).toEqual(
        wholeAt(
          30,
          { base: 1, delta: 2 },
          [
            ['p-0', v(0, 30)],
            ['p-1', v(1, 20)],
            ['p-3', v(3, 10)],
          ],
          [w2],
        ),
      )
      // a delta whose window 0 is absent: the window was purged
      await store.write([{ ...deltaOf(1, 3, 40, [], []), task: { ...deltaOf(1, 3, 40, [], []).task, windows: [] } }])
      expect((await store.read(['0'])).get('0')?.task.windows).toEqual([])
      await store.close?.()
    })

    it('incremental: a crash between writes restores the last delta written, with its offsets', async () => {
      const store = await create()
      await store.write([baseOf(5, 10, 3)])
      await store.write([deltaOf(5, 1, 20, [['p-1', v(1, 20)]], [])])
      // delta 2 never written (the instance crashed): the state as of delta 1, read again from its offset
      const got = (await store.read(['0'])).get('0')
      expect(got?.task.partitions[0]?.nextOffset).toBe(20)
      expect(got?.task.windows[0]?.entries).toEqual([
        ['p-0', v(0, 10)],
        ['p-1', v(1, 20)],
        ['p-2', v(2, 10)],
      ])
      // a new base written, its tombstones of the old chain not (a crash right after): the new base alone
      await store.write([{ ...baseOf(6, 50, 2) }])
      expect((await store.read(['0'])).get('0')).toEqual(baseOf(6, 50, 2))
      await store.close?.()
    })

    it('incremental: a new base deletes the chain it supersedes; after compaction only the new chain is left', async () => {
      const store = await create()
      await store.write([baseOf(1, 10, 3)])
      await store.write([deltaOf(1, 1, 20, [['p-0', v(0, 20)]], [])])
      await store.write([deltaOf(1, 2, 30, [['p-1', v(1, 30)]], ['p-2'])])
      await store.write([baseOf(2, 40, 5, { base: 1, deltas: 2 })])
      await store.write([deltaOf(2, 1, 50, [['p-4', v(4, 50)]], ['p-0'])])
      const expected = wholeAt(50, { base: 2, delta: 1 }, [
        ['p-1', v(1, 40)],
        ['p-2', v(2, 40)],
        ['p-3', v(3, 40)],
        ['p-4', v(4, 50)],
      ])
      expect((await store.read(['0'])).get('0')).toEqual(expected)
      if (compact) {
        compact(store)
        expect((store as unknown as { keys(id: string): string[] }).keys('0')).toEqual(['0#b2', '0#d2.1'])
        expect((await store.read(['0'])).get('0')).toEqual(expected)
      }
      await store.close?.()
    })

    it('incremental: a poison delta ends the chain there, reported with the deltas after it', async () => {
      const store = await create()
      await store.write([baseOf(3, 10, 2)])
      await store.write([deltaOf(3, 1, 20, [['p-0', v(0, 20)]], [])])
      await appendRaw(store, '0', Buffer.from('not a checkpoint'), '0#d3.2')
      await store.write([deltaOf(3, 3, 40, [['p-1', v(1, 40)]], [])])
      const invalid: InvalidCheckpoint[] = []
      const got = (await store.read(['0'], { onInvalid: (i) => invalid.push(i) })).get('0')
      expect(got).toEqual(
        wholeAt(20, { base: 3, delta: 1 }, [
          ['p-0', v(0, 20)],
          ['p-1', v(1, 10)],
        ]),
      )
      expect(invalid.map((i) => i.reason.replace(/^changelog record \S+ \(task 0\) skipped: /, ''))).toEqual([
        expect.stringMatching(/^checkpoint record is not a gzipped JSON checkpoint/),
        'delta 3 of base 3 follows a missing or unusable delta 2',
      ])
      await store.close?.()
    })

    it('keeps a task of 100k open keys', async () => {
      const store = await create()
      const big = sampleCheckpoint('0', 7, 100_000)
      await store.write([big])
      const got = (await store.read(['0'])).get('0')
      expect(got?.task.windows[0]?.entries).toHaveLength(100_000)
      expect(got?.task.windows[0]?.entries[99_999]).toEqual(['p-99999', { impressions: 99_999, clicks: 7 }])
      await store.close?.()
    })
  })
}
