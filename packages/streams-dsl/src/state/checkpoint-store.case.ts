import { describe, expect, it } from 'vitest'
import type { CheckpointStore, TaskCheckpoint } from './checkpoint.js'

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
export function checkpointStoreContract(name: string, create: () => Promise<CheckpointStore> | CheckpointStore): void {
  describe(`checkpoint store contract: ${name}`, () => {
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
