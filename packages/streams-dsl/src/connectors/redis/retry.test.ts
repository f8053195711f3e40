import { describe, expect, it } from 'vitest'
import { isTransientRedisError, retryWhileUnavailable } from './retry.js'

const recordingLogger = () => {
  const lines: { level: string; msg: string }[] = []
  return {
    lines,
    warn: (_o: object, msg: string) => lines.push({ level: 'warn', msg }),
    info: (_o: object, msg: string) => lines.push({ level: 'info', msg }),
  }
}

class ReplyError extends Error {
  override name = 'ReplyError'
}

describe('retryWhileUnavailable', () => {
  it('waits out an outage, logging one line when it starts and one when it ends', async () => {
    const logger = recordingLogger()
    let calls = 0
    const value = await retryWhileUnavailable(
      async () => {
        if (++calls < 4) throw new Error('connect ECONNREFUSED 127.0.0.1:6390')
        return 'ok'
      },
      { target: 'sink -> redis://127.0.0.1:6390', logger, initialDelayMs: 1, maxDelayMs: 4 },
    )
    expect(value).toBe('ok')
    expect(calls).toBe(4)
    expect(logger.lines.map((l) => l.level)).toEqual(['warn', 'info'])
    expect(logger.lines[0]!.msg).toContain('ECONNREFUSED')
    expect(logger.lines[1]!.msg).toContain('accepts writes again')
  })

  it('rejects at once on an error that waiting will not fix', async () => {
    const logger = recordingLogger()
    let calls = 0
    const attempt = async () => {
      calls++
      throw new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value')
    }
    await expect(retryWhileUnavailable(attempt, { target: 't', logger })).rejects.toThrow('WRONGTYPE')
    expect(calls).toBe(1)
    expect(logger.lines).toEqual([])
  })

  it('stops when its signal is aborted', async () => {
    const ac = new AbortController()
    const p = retryWhileUnavailable(
      async () => {
        throw new Error('Connection is closed.')
      },
      { target: 't', logger: recordingLogger(), signal: ac.signal, initialDelayMs: 10_000 },
    )
    setTimeout(() => ac.abort(), 5)
    await expect(p).rejects.toThrow('closed while waiting')
  })

  it('stops at once when aborted during an attempt that does not answer', async () => {
    const ac = new AbortController()
    const p = retryWhileUnavailable(() => new Promise<never>(() => {}), {
      target: 't',
      logger: recordingLogger(),
      signal: ac.signal,
    })
    setTimeout(() => ac.abort(), 5)
    await expect(p).rejects.toThrow('closed while waiting')
  })

  it('waits out an OOM refusal like an outage', async () => {
    let calls = 0
    await retryWhileUnavailable(
      async () => {
        if (++calls < 3) throw new ReplyError("OOM command not allowed when used memory > 'maxmemory'.")
      },
      { target: 't', logger: recordingLogger(), initialDelayMs: 1 },
    )
    expect(calls).toBe(3)
  })

  it('classifies reply errors', () => {
    expect(isTransientRedisError(new ReplyError('LOADING Redis is loading the dataset in memory'))).toBe(true)
    expect(isTransientRedisError(new ReplyError('ERR unknown command'))).toBe(false)
    expect(isTransientRedisError(new Error('Stream isn\u2019t writeable'))).toBe(true)
    expect(isTransientRedisError(new RangeError('Maximum call stack size exceeded'))).toBe(false)
  })
})

describe('retryWhileUnavailable outage callbacks', () => {
  it('calls onUnavailable once when the outage starts and onRecovered once when the write goes through', async () => {
    const events: string[] = []
    let calls = 0
    await retryWhileUnavailable(
      async () => {
        if (++calls < 4) throw new Error('connect ECONNREFUSED')
      },
      {
        target: 't',
        logger: recordingLogger(),
        initialDelayMs: 1,
        onUnavailable: () => events.push('down'),
        onRecovered: () => events.push('up'),
      },
    )
    expect(events).toEqual(['down', 'up'])
  })

  it('calls neither on a write that succeeds at once, and onRecovered when a failing write is aborted', async () => {
    const events: string[] = []
    const callbacks = { onUnavailable: () => events.push('down'), onRecovered: () => events.push('up') }
    await retryWhileUnavailable(async () => 1, { target: 't', logger: recordingLogger(), ...callbacks })
    expect(events).toEqual([])
    const closed = new AbortController()
    const write = retryWhileUnavailable(
      async () => {
        throw new Error('connect ECONNREFUSED')
      },
      { target: 't', logger: recordingLogger(), initialDelayMs: 1, signal: closed.signal, ...callbacks },
    )
    await new Promise((r) => setTimeout(r, 5))
    closed.abort()
    await expect(write).rejects.toThrow('closed while waiting')
    expect(events).toEqual(['down', 'up'])
  })
})
