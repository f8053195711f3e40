import { MemoryWindowStore } from './memory-window-store.js'
import { windowStoreContract } from './window-store.case.js'

windowStoreContract('memory', () => new MemoryWindowStore<number>())
