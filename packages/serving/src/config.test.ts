import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, redactUrl } from './config.js'

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 8000,
      host: '127.0.0.1',
      redisUrl: 'redis://127.0.0.1:6379',
      jobStatusUrl: 'http://127.0.0.1:8001/status',
      corsOrigin: undefined,
      logLevel: 'info',
      cacheMaxStalenessMs: 1000,
      sseMaxClients: 200,
    })
  })

  it('reads every variable; empty ones count as unset', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '0.0.0.0',
      REDIS_URL: 'redis://:pw@redis:6380/3',
      JOB_STATUS_URL: 'http://job:8001/status',
      CORS_ORIGIN: ' http://a.test,http://b.test ',
      LOG_LEVEL: 'debug',
      CACHE_MAX_STALENESS_MS: '0',
      SSE_MAX_CLIENTS: '5',
    })
    expect(config).toEqual({
      port: 9000,
      host: '0.0.0.0',
      redisUrl: 'redis://:pw@redis:6380/3',
      jobStatusUrl: 'http://job:8001/status',
      corsOrigin: 'http://a.test,http://b.test',
      logLevel: 'debug',
      cacheMaxStalenessMs: 0,
      sseMaxClients: 5,
    })
    expect(loadConfig({ PORT: '', CORS_ORIGIN: '' }).port).toBe(8000)
  })

  it('fails with one line naming every bad variable', () => {
    const bad = { PORT: '70000', REDIS_URL: 'localhost:6379', LOG_LEVEL: 'loud', JOB_STATUS_URL: 'ftp://x' }
    expect(() => loadConfig(bad)).toThrow(ConfigError)
    try {
      loadConfig(bad)
    } catch (err) {
      const message = (err as Error).message
      expect(message).not.toContain('\n')
      expect(message).toMatch(/^invalid configuration: /)
      for (const name of ['PORT', 'REDIS_URL', 'LOG_LEVEL', 'JOB_STATUS_URL']) expect(message).toContain(name)
      expect(message).toContain('"70000"')
    }
    expect(() => loadConfig({ PORT: 'abc' })).toThrow('PORT must be a port number (got "abc")')
    expect(() => loadConfig({ PORT: '80.5' })).toThrow('PORT must be an integer')
    expect(() => loadConfig({ SSE_MAX_CLIENTS: '0' })).toThrow('SSE_MAX_CLIENTS must be between 1 and 100000')
    expect(() => loadConfig({ CACHE_MAX_STALENESS_MS: 'soon' })).toThrow('CACHE_MAX_STALENESS_MS must be a number')
  })
})

describe('redactUrl', () => {
  it('hides a password', () => {
    expect(redactUrl('redis://user:secret@h:6379/2')).toBe('redis://user:***@h:6379/2')
    expect(redactUrl('redis://h:6379')).toBe('redis://h:6379')
  })
})
