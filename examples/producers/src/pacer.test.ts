import { describe, expect, it } from 'vitest'
import { Pacer } from './pacer.js'

describe('Pacer', () => {
  it('emits rate events per second whatever the tick lengths', () => {
    const pacer = new Pacer(100, 1000)
    let total = 0
    for (const t of [1000, 1007, 1133, 1250, 1999, 2000, 2011, 3500, 11000]) total += pacer.due(t)
    expect(total).toBe(1000)
  })

  it('never emits a negative count, even if the clock steps back', () => {
    const pacer = new Pacer(10, 0)
    expect(pacer.due(1000)).toBe(10)
    expect(pacer.due(500)).toBe(0)
    expect(pacer.due(2000)).toBe(10)
  })

  it('handles fractional rates', () => {
    const pacer = new Pacer(0.5, 0)
    expect(pacer.due(1999)).toBe(0)
    expect(pacer.due(2000)).toBe(1)
  })
})
