/**
 * Where operators get their state from. The engine holds one {@link StateBackend} (`EngineOptions.state`, in
 * memory by default) and hands it to every operator it builds; an operator asks it for one store per task and
 * never names a store class, so a persistent backend plugs in without touching the engine or the operators.
 */
import { MemorySessionStore } from './memory-session-store.js'
import { MemoryWindowStore } from './memory-window-store.js'
import type { SessionStore } from './session-store.js'
import type { WindowStore } from './window-store.js'

/**
 * Opens the stores of operators. Called once per (operator, task) when the task first holds state there; the
 * store lives as long as the engine (a task that moves away is emptied with `clear()`). Every backend passes
 * the contract suite in `state-backend.case.ts`.
 *
 * @example
 * const engine = createEngine(topology, { state: memoryStateBackend })
 */
export interface StateBackend {
  /** Backend name, for logs and the contract suite (`'memory'`). */
  readonly name: string
  /** The window store of a window operator (by node name) in one task (by the engine's task index). */
  windowStore<A>(operator: string, task: number): WindowStore<A>
  /** The session store of a session-window operator in one task. */
  sessionStore<A>(operator: string, task: number): SessionStore<A>
}

/**
 * State in the engine's memory (the default): fast, lost with the process (the checkpoints make it durable),
 * bounded by the heap.
 *
 * @example
 * createRunner(topology, { state: memoryStateBackend })
 */
export const memoryStateBackend: StateBackend = {
  name: 'memory',
  windowStore: <A>() => new MemoryWindowStore<A>(),
  sessionStore: <A>() => new MemorySessionStore<A>(),
}
