import { describe, expect, it } from 'vitest'
import { loadCheckpointConfig } from './checkpoint-config.js'

describe('loadCheckpointConfig', () => {
  it('defaults to checkpoints every 5 s and a 10 s session timeout', () => {
    expect(loadCheckpointConfig({})).toEqual({
      enabled: true,
      intervalMs: 5000,
      sessionTimeoutMs: 10_000,
      incremental: false,
    })
  })

  it('reads the variables', () => {
    expect(
      loadCheckpointConfig({
        CHECKPOINTS: 'off',
        CHECKPOINT_INTERVAL_MS: '250',
        KAFKA_SESSION_TIMEOUT_MS: '6000',
        CHECKPOINT_INCREMENTAL: 'on',
      }),
    ).toEqual({ enabled: false, intervalMs: 250, sessionTimeoutMs: 6000, incremental: true })
  })

  it('rejects bad values with one line naming the variable', () => {
    expect(() => loadCheckpointConfig({ CHECKPOINTS: 'yes' })).toThrow('Invalid configuration: CHECKPOINTS="yes"')
    expect(() => loadCheckpointConfig({ CHECKPOINT_INTERVAL_MS: '5s' })).toThrow(/CHECKPOINT_INTERVAL_MS="5s" must be/)
    expect(() => loadCheckpointConfig({ KAFKA_SESSION_TIMEOUT_MS: '100' })).toThrow(/from 6000 to 300000/)
    expect(() => loadCheckpointConfig({ CHECKPOINT_INCREMENTAL: 'yes' })).toThrow(/CHECKPOINT_INCREMENTAL="yes"/)
  })
})
