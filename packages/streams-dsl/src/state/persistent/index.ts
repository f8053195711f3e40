/**
 * `@ctr/streams-dsl/state`: where operators keep their state. The persistent backend (an embedded SQLite file
 * per engine, a bounded heap cache) loads the native `better-sqlite3` addon, an optional peer dependency:
 * install it to use this entry.
 *
 * @packageDocumentation
 * @module \@ctr/streams-dsl/state
 * @example
 * import { sqliteStateBackend } from '@ctr/streams-dsl/state'
 * createRunner(topology, { state: sqliteStateBackend({ dir: './state', cacheEntries: 100_000 }) })
 */
export type { SessionBucket, SessionStore } from '../session-store.js'
export { memoryStateBackend, type StateBackend } from '../state-backend.js'
export type { WindowBucket, WindowKey, WindowStore } from '../window-store.js'
export { type SqliteStateBackend, type SqliteStateOptions, sqliteStateBackend } from './sqlite-state-backend.js'
