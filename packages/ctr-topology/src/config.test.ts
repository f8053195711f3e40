import { describe, expect, it } from 'vitest'
import { JobConfigError, loadJobConfig } from './config.js'

describe('loadJobConfig', () => {
  it('defaults to CONTRACTS.md §5', () => {
    expect(loadJobConfig({})).toEqual({
      brokers: ['127.0.0.1:9092'],
      redisUrl: 'redis://127.0.0.1:6379',
      applicationId: 'ctr',
      impressionsTopic: 'impressions',
      clicksTopic: 'clicks',
      port: 8001,
      idleTimeoutMs: 10_000,
    })
  })

  it('reads every variable', () => {
    const c = loadJobConfig({
      KAFKA_BROKERS: 'k1:9092, k2:9093',
      REDIS_URL: 'redis://r:6380/4',
      APPLICATION_ID: 'ctr-e2e',
      IMPRESSIONS_TOPIC: 'imp',
      CLICKS_TOPIC: 'clk',
      JOB_PORT: '0',
      IDLE_TIMEOUT_MS: '500',
    })
    expect(c).toEqual({
      brokers: ['k1:9092', 'k2:9093'],
      redisUrl: 'redis://r:6380/4',
      applicationId: 'ctr-e2e',
      impressionsTopic: 'imp',
      clicksTopic: 'clk',
      port: 0,
      idleTimeoutMs: 500,
    })
  })

  it.each([
    [{ KAFKA_BROKERS: 'nohost' }, /invalid KAFKA_BROKERS="nohost": must be host:port/],
    [{ REDIS_URL: 'localhost:6379' }, /invalid REDIS_URL.*redis:\/\//],
    [{ APPLICATION_ID: 'ctr job' }, /invalid APPLICATION_ID="ctr job"/],
    [{ JOB_PORT: '70000' }, /invalid JOB_PORT="70000"/],
    [{ IDLE_TIMEOUT_MS: 'soon' }, /invalid IDLE_TIMEOUT_MS/],
    [{ CLICKS_TOPIC: 'impressions' }, /both "impressions"/],
  ])('rejects %j with one line', (env, message) => {
    let err: unknown
    try {
      loadJobConfig(env)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(JobConfigError)
    expect((err as Error).message).toMatch(message)
    expect((err as Error).message).not.toContain('\n')
  })
})
