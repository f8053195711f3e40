import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.js'

describe('loadConfig', () => {
  it('uses the contract defaults, the application id from the topology', () => {
    expect(loadConfig({}, { applicationId: 'ctr' })).toEqual({
      kafkaBrokers: '127.0.0.1:9092',
      redisUrl: 'redis://127.0.0.1:6379',
      applicationId: 'ctr',
      port: 8001,
      host: '127.0.0.1',
      logLevel: 'info',
      pollRecords: 1000,
      maxInFlightBytes: 8 * 1024 * 1024,
      prefetchKiB: 16_384,
      commitIntervalMs: 1000,
      tickIntervalMs: 200,
      shutdownGraceMs: 10_000,
    })
  })

  it('reads the environment, honours a Redis database and treats empty values as unset', () => {
    const c = loadConfig(
      {
        KAFKA_BROKERS: 'a:1,b:2',
        REDIS_URL: 'redis://h:6380/3',
        APPLICATION_ID: 'ctr-2',
        JOB_PORT: '0',
        HOST: '0.0.0.0',
        LOG_LEVEL: '',
      },
      { applicationId: 'ctr' },
    )
    expect(c).toMatchObject({
      kafkaBrokers: 'a:1,b:2',
      redisUrl: 'redis://h:6380/3',
      applicationId: 'ctr-2',
      port: 0,
      host: '0.0.0.0',
    })
    expect(c.logLevel).toBe('info')
  })

  it.each([
    [{ JOB_PORT: 'abc' }, 'JOB_PORT="abc" must be an integer from 0 to 65535'],
    [{ JOB_PORT: '70000' }, 'JOB_PORT="70000" must be an integer from 0 to 65535'],
    [{ KAFKA_BROKERS: 'localhost' }, 'KAFKA_BROKERS="localhost" must be a comma-separated list of host:port'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL="http://x" must be a URL like redis://'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL="loud"'],
    [{ APPLICATION_ID: 'a b' }, 'APPLICATION_ID="a b" must be letters'],
  ])('rejects %o with one clear line', (env, message) => {
    let error: unknown
    try {
      loadConfig(env, { applicationId: 'ctr' })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toContain(message)
    expect((error as Error).message).not.toContain('\n')
  })
})
