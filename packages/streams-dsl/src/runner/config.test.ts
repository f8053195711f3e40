import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { json, topic, topology } from '../index.js'
import { ConfigError, loadConfig } from './config.js'
import { createRunner } from './runner.js'

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
      prefetchKiB: 8192,
      commitIntervalMs: 1000,
      tickIntervalMs: 200,
      shutdownGraceMs: 10_000,
      guarantee: 'at-least-once',
    })
  })

  it('reads GUARANTEE and TRANSACTIONAL_ID, and refuses a guarantee it does not know in one line', () => {
    expect(
      loadConfig({ GUARANTEE: 'exactly-once', TRANSACTIONAL_ID: 'ctr-0' }, { applicationId: 'ctr' }),
    ).toMatchObject({
      guarantee: 'exactly-once',
      transactionalId: 'ctr-0',
    })
    expect(() => loadConfig({ GUARANTEE: 'exactly_once_v2' }, { applicationId: 'ctr' })).toThrow(
      'GUARANTEE="exactly_once_v2" must be "at-least-once" or "exactly-once"',
    )
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

describe('GUARANTEE=exactly-once', () => {
  it('refuses to run without checkpoints, in one line naming the fix', () => {
    const app = topology('eos', { watermarks: { maxOutOfOrderness: '1s' } })
    app.source(topic('in', { value: json(z.object({ k: z.string() })) })).to({ name: 'none', write: async () => {} })
    expect(() => createRunner(app.build(), { env: { GUARANTEE: 'exactly-once', CHECKPOINTS: 'off' } })).toThrow(
      'GUARANTEE=exactly-once needs CHECKPOINTS=on: the window state is committed with the offsets and the outputs',
    )
    expect(createRunner(app.build(), { env: { GUARANTEE: 'exactly-once' } }).checkpoints.intervalMs).toBe(1000)
    expect(createRunner(app.build(), { env: {} }).checkpoints.intervalMs).toBe(5000)
  })
})
