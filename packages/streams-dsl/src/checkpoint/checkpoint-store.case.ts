import { describe, expect, it } from 'vitest'
import type { CheckpointStore, InvalidCheckpoint, TaskCheckpoint } from './checkpoint.js'
import { encodeCheckpoint } from './checkpoint-codec.js'

/** A checkpoint of task `taskId` whose partition 0 of `t` stands at `offset`, with `keys` open keys. */
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
  /** Appends a raw record for a task, as something other than the store would (a foreign or corrupt record). */
  appendRaw: (store: S, taskId: string, value: Buffer) => Promise<void>,
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
