import { describe, expect, it } from 'vitest'
import { classifyRedisError, RedisWriteRefusedError } from './redis-errors.js'

// ioredis rejects with a ReplyError carrying the server's error line; the class is matched by name.
class ReplyError extends Error {
  override name = 'ReplyError'
}

describe('classifyRedisError', () => {
  it.each([
    ["OOM command not allowed when used memory > 'maxmemory'.", 'OOM'],
    ["OOM command not allowed when used memory > 'maxmemory'. script: 7089ad4c, on @user_script:25.", 'OOM'],
    ['BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.', 'BUSY'],
    ['LOADING Redis is loading the dataset in memory', 'LOADING'],
    ["MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", 'MASTERDOWN'],
    ["READONLY You can't write against a read only replica.", 'READONLY'],
    ['NOREPLICAS Not enough good replicas to write.', 'NOREPLICAS'],
    ['TRYAGAIN Multiple keys request during rehashing of slot', 'TRYAGAIN'],
    ['CLUSTERDOWN The cluster is down', 'CLUSTERDOWN'],
    ['MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.', 'MISCONF'],
    ['NOSCRIPT No matching script. Please use EVAL.', 'NOSCRIPT'],
    ['ERR max number of clients reached', 'maxclients'],
  ])('%s is an outage (%s): it clears without changing the job', (message, reason) => {
    expect(classifyRedisError(new ReplyError(message))).toEqual({ kind: 'outage', reason })
  })

  it.each([
    ['WRONGTYPE Operation against a key holding the wrong kind of value', 'WRONGTYPE', 'delete or rename'],
    ['NOAUTH Authentication required.', 'NOAUTH', 'REDIS_URL'],
    ['WRONGPASS invalid username-password pair or user is disabled.', 'WRONGPASS', 'REDIS_URL'],
    ["NOPERM User ctr has no permissions to run the 'evalsha' command", 'NOPERM', 'ACL'],
    ['MOVED 3999 127.0.0.1:6381', 'MOVED', 'standalone Redis'],
    ["CROSSSLOT Keys in request don't hash to the same slot", 'CROSSSLOT', 'standalone Redis'],
    [
      'ERR user_script:24: Script attempted to access nonexistent global variable script: 1a2b, on @user_script:24.',
      'script',
      'the record is not what the sink expects',
    ],
    ["ERR unknown command 'EVALSHA'", 'ERR', 'retrying will not help'],
  ])('%s is permanent (%s) and says what to fix', (message, reason, fix) => {
    const c = classifyRedisError(new ReplyError(message))
    expect(c).toMatchObject({ kind: 'permanent', reason })
    expect(c.fix).toContain(fix)
  })

  it('treats connection failures as outages and programming errors as permanent', () => {
    expect(classifyRedisError(new Error('connect ECONNREFUSED 127.0.0.1:6390'))).toEqual({
      kind: 'outage',
      reason: 'connection',
    })
    expect(classifyRedisError(new Error('Connection is closed.')).kind).toBe('outage')
    expect(classifyRedisError(new RangeError('Maximum call stack size exceeded')).kind).toBe('permanent')
    expect(classifyRedisError(new TypeError('x is not a function')).kind).toBe('permanent')
  })
})

describe('RedisWriteRefusedError', () => {
  it('is one line naming the target, the reply and the fix', () => {
    const e = new RedisWriteRefusedError('sink -> redis://h:1', 'script', 'ERR user_script:3: boom\n  more', 'fix it')
    expect(e.message).toBe('sink -> redis://h:1: Redis refused the write (ERR user_script:3: boom more); fix it')
  })
})
