export { type CollectingSink, collectingSink } from './collecting-sink.js'
export { ManualClock } from './manual-clock.js'
export { MemorySource } from './memory-source.js'
export { type PipeOptions, TestDriver, type TestDriverOptions } from './test-driver.js'
