import { describe, expect, it } from 'vitest'
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint-codec.js'
import { checkpointStoreContract, sampleCheckpoint } from './checkpoint-store.case.js'
import { MemoryCheckpointStore } from './memory-checkpoint-store.js'

checkpointStoreContract(
  'memory',
  () => new MemoryCheckpointStore(),
  async (store, taskId, value, key) => store.append(taskId, value, key),
  (store) => store.compact(),
)

describe('checkpoint codec', () => {
  it('rejects a gzipped JSON checkpoint whose structure a restore could not read, naming what is wrong', () => {
    const cp = sampleCheckpoint('3', 42)
    const broken = (patch: object) => encodeCheckpoint({ ...cp, task: { ...cp.task, ...patch } } as never)
    expect(() => decodeCheckpoint(broken({ partitions: 'x' }))).toThrow(
      'checkpoint record of task 3 is malformed: no partitions',
    )
    expect(() => decodeCheckpoint(broken({ windows: [{ operator: 'w' }] }))).toThrow(
      'checkpoint record of task 3 is malformed: a window without operator, bounds, entries or offsets',
    )
    expect(() => decodeCheckpoint(broken({ id: '4' }))).toThrow('task id 4 differs from the record')
  })

  it('round-trips a checkpoint and compresses window state', () => {
    const cp = sampleCheckpoint('3', 42, 10_000)
    const bytes = encodeCheckpoint(cp)
    expect(decodeCheckpoint(bytes)).toEqual(cp)
    expect(bytes.length).toBeLessThan(JSON.stringify(cp).length / 3)
  })

  it('rejects bytes that are not a checkpoint with one line', () => {
    expect(() => decodeCheckpoint(Buffer.from('{"a":1}'))).toThrow(/not a gzipped JSON checkpoint/)
    expect(() => decodeCheckpoint(encodeCheckpoint({ version: 2 } as never))).toThrow(/unknown format \(version 2\)/)
  })
})
