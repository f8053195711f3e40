import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CtrResult, historyKey, MAX_PRODUCT_ID_LENGTH, ProductId, productIdRule, REDIS_KEYS } from './contract.js'

describe('productIdRule and ProductId', () => {
  it('accept 1 to 128 characters, counted in code points, whatever they are', () => {
    const astral128 = '😀'.repeat(128) // 256 UTF-16 units
    for (const id of ['p-17', 'a/b', 'prodé✓', ' ', '50%OFF', 'x'.repeat(128), astral128, '__proto__', 'constructor']) {
      expect(productIdRule(id), id).toBeNull()
      expect(ProductId.safeParse(id).success, id).toBe(true)
    }
    expect(ProductId.parse('__proto__')).toBe('__proto__')
  })

  it('reject empty, overlong, control characters and lone surrogates, saying which', () => {
    const cases: [string, string][] = [
      ['', 'must not be empty'],
      ['x'.repeat(129), 'must be at most 128 characters'],
      ['😀'.repeat(129), 'must be at most 128 characters'],
      [`${'😀'.repeat(64)}${'x'.repeat(65)}`, 'must be at most 128 characters'],
      ['a\u0000b', 'must not contain control characters'],
      ['\n', 'must not contain control characters'],
      ['tab\there', 'must not contain control characters'],
      ['\u007f', 'must not contain control characters'],
      ['\u0085', 'must not contain control characters'],
      ['\u009f', 'must not contain control characters'],
      ['\ud800', 'must be valid Unicode (no unpaired surrogates)'],
      ['a\udc00b', 'must be valid Unicode (no unpaired surrogates)'],
      ['\ud83d', 'must be valid Unicode (no unpaired surrogates)'], // half of an emoji
      ['\ude00\ud83d', 'must be valid Unicode (no unpaired surrogates)'], // its halves swapped
    ]
    for (const [id, problem] of cases) {
      expect(productIdRule(id), JSON.stringify(id)).toBe(problem)
      const parsed = ProductId.safeParse(id)
      expect(parsed.success, JSON.stringify(id)).toBe(false)
      expect(parsed.error?.issues[0]?.message).toBe(problem)
    }
    expect(ProductId.safeParse(17).success).toBe(false)
  })

  it('agrees with a reference rule on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (id) => {
        const chars = [...id] // code points; a lone surrogate is one of them
        const valid =
          chars.length >= 1 &&
          chars.length <= MAX_PRODUCT_ID_LENGTH &&
          chars.every((ch) => {
            const cp = ch.codePointAt(0) as number
            const control = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)
            const surrogate = cp >= 0xd800 && cp <= 0xdfff
            return !control && !surrogate
          })
        expect(productIdRule(id) === null).toBe(valid)
      }),
      { numRuns: 3000 },
    )
  })
})

describe('the rest of the contract', () => {
  it('names the Redis keys of docs/contract.md §3 and the job’s own', () => {
    expect(REDIS_KEYS).toEqual({
      latest: 'ctr:latest',
      previous: 'ctr:previous',
      updates: 'ctr:updates',
      historyPrefix: 'ctr:history:',
    })
    expect(historyKey('p-17')).toBe('ctr:history:p-17')
  })

  it('validates the result JSON, product_id by the same rule', () => {
    const r = { product_id: 'p-17', impressions: 120, clicks: 7, ctr: 7 / 120, window_start: 0, window_end: 10_000 }
    expect(CtrResult.parse({ ...r, extra: 1 })).toEqual(r)
    expect(CtrResult.safeParse({ ...r, ctr: null }).success).toBe(true)
    for (const bad of [
      { ...r, product_id: '' },
      { ...r, product_id: 'a\u0001' },
      { ...r, clicks: -1 },
      { ...r, ctr: '1' },
    ])
      expect(CtrResult.safeParse(bad).success, JSON.stringify(bad)).toBe(false)
  })
})
