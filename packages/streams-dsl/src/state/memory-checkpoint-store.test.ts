import { describe, expect, it } from 'vitest'
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint-codec.js'
import { checkpointStoreContract, sampleCheckpoint } from './checkpoint-store.case.js'
import { MemoryCheckpointStore } from './memory-checkpoint-store.js'

checkpointStoreContract('memory', () => new MemoryCheckpointStore())

describe('checkpoint codec', () => {
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
