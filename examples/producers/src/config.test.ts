import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, usage } from './config.js'

describe('loadConfig', () => {
  it('has working defaults', () => {
    const c = loadConfig([], {})
    expect(c.brokers).toEqual(['127.0.0.1:9092'])
    expect(c).toMatchObject({ impressionsTopic: 'impressions', clicksTopic: 'clicks', rate: 200, products: 20 })
    expect(c.ctr).toEqual({ min: 0.02, max: 0.2 })
    expect(c.outOfOrder + c.late + c.tooLate + c.malformed).toBe(0)
    expect(Number.isInteger(c.seed)).toBe(true)
  })

  it('reads the environment, and flags win over it', () => {
    const env = { KAFKA_BROKERS: 'a:1, b:2', PRODUCER_RATE: '50', PRODUCER_CTR: '0.1', IMPRESSIONS_TOPIC: 'imp' }
    const c = loadConfig(['--rate', '75', '--seed', '7', '--late', '0.1'], env)
    expect(c.brokers).toEqual(['a:1', 'b:2'])
    expect(c.rate).toBe(75)
    expect(c.ctr).toEqual({ min: 0.1, max: 0.1 })
    expect(c.impressionsTopic).toBe('imp')
    expect(c.seed).toBe(7)
    expect(c.late).toBe(0.1)
  })

  it('accepts a CTR range in either order', () => {
    expect(loadConfig(['--ctr', '0.3..0.1'], {}).ctr).toEqual({ min: 0.1, max: 0.3 })
  })

  it.each([
    [['--rate', 'fast'], /invalid --rate \(PRODUCER_RATE="fast"\)/],
    [['--rate', '0'], /--rate.*> 0/],
    [['--ctr', '1.5'], /--ctr.*between 0 and 1/],
    [['--ctr', '0.1..'], /--ctr/],
    [['--products', '2.5'], /--products.*whole number/],
    [['--malformed', '2'], /--malformed.*share/],
    [['--out-of-order-max-ms', '4000'], /out-of-orderness/],
    [['--late', '0.6', '--too-late', '0.6'], /add up to at most 1/],
    [['--brokers', 'localhost'], /--brokers.*host:port/],
    [['--nope', '1'], /nope.*--help/],
  ])('rejects %j with one clear line', (argv, message) => {
    let err: unknown
    try {
      loadConfig(argv, {})
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as Error).message).toMatch(message)
    expect((err as Error).message).not.toContain('\n')
  })

  it('names bad environment values by their variable', () => {
    expect(() => loadConfig([], { PRODUCER_PRODUCTS: '-3' })).toThrow(/PRODUCER_PRODUCTS="-3"/)
  })

  it('lists every flag in the usage text', () => {
    for (const flag of ['--rate', '--products', '--ctr', '--out-of-order', '--late', '--too-late', '--malformed']) {
      expect(usage()).toContain(flag)
    }
  })
})
