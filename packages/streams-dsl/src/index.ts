export type * from './connectors/types.js'
