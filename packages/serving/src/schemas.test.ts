import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_PRODUCT_ID_LENGTH, productIdProblem } from './schemas.js'

describe('productIdProblem', () => {
  it('accepts ordinary, unicode, slash and space ids up to 128 characters', () => {
    for (const id of ['p-17', 'a/b', 'prodé✓', ' ', '50%OFF', 'x'.repeat(128), '😀'.repeat(128)]) {
      expect(productIdProblem(id), id).toBeNull()
    }
  })

  it('rejects empty, overlong, control characters and lone surrogates', () => {
    expect(productIdProblem('')).toBe('product_id must not be empty')
    expect(productIdProblem('x'.repeat(129))).toBe('product_id must be at most 128 characters')
    expect(productIdProblem('😀'.repeat(129))).toBe('product_id must be at most 128 characters')
    for (const id of ['a\u0000b', '\n', 'tab\there', '\u007f', '\u0085']) {
      expect(productIdProblem(id), JSON.stringify(id)).toBe('product_id must not contain control characters')
    }
    expect(productIdProblem('\ud800')).toBe('product_id must be valid Unicode')
    expect(productIdProblem('a\udc00b')).toBe('product_id must be valid Unicode')
  })

  it('agrees with a reference rule on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (id) => {
        const chars = [...id]
        const valid =
          chars.length >= 1 &&
          chars.length <= MAX_PRODUCT_ID_LENGTH &&
          chars.every((ch) => {
            const cp = ch.codePointAt(0) as number
            const control = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)
            const surrogate = cp >= 0xd800 && cp <= 0xdfff
            return !control && !surrogate
          })
        expect(productIdProblem(id) === null).toBe(valid)
      }),
      { numRuns: 2000 },
    )
  })
})
