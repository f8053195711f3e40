import { describe, expect, it } from 'vitest'
import { ProductParams, productIdProblem } from './schemas.js'

// The rule itself is the job's and is tested with it (packages/ctr-topology/src/contract.test.ts).
describe('productIdProblem and the path parameter', () => {
  it('apply the contract rule, in the API’s words', () => {
    for (const id of ['p-17', 'prodé✓', '😀'.repeat(128), '__proto__']) {
      expect(productIdProblem(id), id).toBeNull()
      expect(ProductParams.parse({ product_id: id })).toEqual({ product_id: id })
    }
    expect(productIdProblem('')).toBe('product_id must not be empty')
    expect(productIdProblem('😀'.repeat(129))).toBe('product_id must be at most 128 characters')
    expect(productIdProblem('a\u0000b')).toBe('product_id must not contain control characters')
    expect(productIdProblem('\ud800')).toBe('product_id must be valid Unicode (no unpaired surrogates)')
    for (const id of ['', '😀'.repeat(129), '\u007f', '\udc00']) {
      expect(ProductParams.safeParse({ product_id: id }).success, JSON.stringify(id)).toBe(false)
    }
  })
})
