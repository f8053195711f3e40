import { describe, expect, it } from 'vitest'
import { loadJobConfig } from './config.js'

describe('loadJobConfig', () => {
  it('defaults to docs/contract.md §5', () => {
    const c = loadJobConfig({})
    expect(c).toMatchObject({
      applicationId: 'ctr',
      impressionsTopic: 'impressions',
      clicksTopic: 'clicks',
      idleTimeoutMs: 10_000,
      historyWindows: 120,
      historyTtlSeconds: 0,
    })
    expect(c.runner).toMatchObject({
      kafkaBrokers: '127.0.0.1:9092',
      redisUrl: 'redis://127.0.0.1:6379',
      applicationId: 'ctr',
      port: 8001,
    })
  })

  it('reads every variable, and the application id reaches the runner', () => {
    const c = loadJobConfig({
      KAFKA_BROKERS: 'k1:9092,k2:9093',
      REDIS_URL: 'redis://r:6380/4',
      APPLICATION_ID: 'ctr-e2e',
      IMPRESSIONS_TOPIC: 'imp',
      CLICKS_TOPIC: 'clk',
      JOB_PORT: '0',
      IDLE_TIMEOUT_MS: '500',
      HISTORY_WINDOWS: '0',
      HISTORY_TTL_SECONDS: '86400',
    })
    expect(c).toMatchObject({ applicationId: 'ctr-e2e', impressionsTopic: 'imp', clicksTopic: 'clk' })
    expect(c).toMatchObject({ idleTimeoutMs: 500, historyWindows: 0, historyTtlSeconds: 86_400 })
    expect(c.runner).toMatchObject({ kafkaBrokers: 'k1:9092,k2:9093', redisUrl: 'redis://r:6380/4', port: 0 })
    expect(c.runner.applicationId).toBe('ctr-e2e')
  })

  it.each([
    [{ KAFKA_BROKERS: 'nohost' }, /KAFKA_BROKERS="nohost"/],
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL="localhost:6379"/],
    [{ APPLICATION_ID: 'ctr job' }, /APPLICATION_ID="ctr job"/],
    [{ JOB_PORT: '70000' }, /JOB_PORT="70000"/],
    [{ IDLE_TIMEOUT_MS: 'soon' }, /IDLE_TIMEOUT_MS="soon"/],
    [{ HISTORY_TTL_SECONDS: '-1' }, /HISTORY_TTL_SECONDS="-1" must be 0 or more/],
    [{ CLICKS_TOPIC: 'impressions' }, /both "impressions"/],
  ])('rejects %j with one line', (env, message) => {
    let err: unknown
    try {
      loadJobConfig(env)
    } catch (e) {
      err = e
    }
    expect((err as Error).name).toBe('ConfigError')
    expect((err as Error).message).toMatch(message)
    expect((err as Error).message).not.toContain('\n')
  })
})
