import { stateBackendContract } from './state-backend.case.js'
import { memoryStateBackend } from './state-backend.js'

stateBackendContract(memoryStateBackend)
