/**
 * Testing without Kafka: the test driver runs any topology in memory on a manual wall clock (pipe records, move the
 * clock, cut partitions off, crash and restore, read outputs); a collecting sink, a manual clock and an in-memory
 * source.
 *
 * @packageDocumentation
 * @module \@ctr/streams-dsl/testing
 * @example
 * import { collectingSink, TestDriver } from '@ctr/streams-dsl/testing'
 * const d = new TestDriver(app.build(), { startTime: '2025-01-01T12:00:00Z' })
 * await d.pipe('views', [{ page: '/a', at: d.now() }])
 * await d.advanceWallClock('1m')
 */
export { MemoryCheckpointStore } from '../checkpoint/memory-checkpoint-store.js'
export { type CollectingSink, collectingSink } from './collecting-sink.js'
export { ManualClock } from './manual-clock.js'
export { MemorySource } from './memory-source.js'
export { type PipeOptions, TestDriver, type TestDriverOptions } from './test-driver.js'
