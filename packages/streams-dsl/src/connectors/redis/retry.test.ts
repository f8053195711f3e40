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
    expect(logger.lines[1]!.msg).toContain('reachable again')
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

  it('classifies reply errors', () => {
    expect(isTransientRedisError(new ReplyError('LOADING Redis is loading the dataset in memory'))).toBe(true)
    expect(isTransientRedisError(new ReplyError('ERR unknown command'))).toBe(false)
    expect(isTransientRedisError(new Error('Stream isn\u2019t writeable'))).toBe(true)
    expect(isTransientRedisError(new RangeError('Maximum call stack size exceeded'))).toBe(false)
  })
})
