/**
 * What a failed Redis write means for a sink: an `outage` is waited out (the write retries with backoff, the sink
 * reports `unavailable`, the runner pauses the input); a `permanent` error cannot clear by retrying, so the write
 * fails with a one-line message saying what to fix.
 */
export type RedisErrorClass = {
  readonly kind: 'outage' | 'permanent'
  /** Short, low-cardinality reason for `/status` and metric labels: the reply's error code or `connection`. */
  readonly reason: string
  /** For permanent errors: what the user must change. */
  readonly fix?: string
}

type Rule = { readonly code: string; readonly kind: RedisErrorClass['kind']; readonly fix?: string }

/**
 * Per error code (the first word of a Redis error reply). Outages are refusals that clear without touching the
 * job: memory freed or maxmemory raised (`OOM`), a long script ending (`BUSY`), a restart (`LOADING`), a
 * failover (`READONLY`, `MASTERDOWN`, `NOREPLICAS`, cluster codes), a disk that takes RDB saves again (`MISCONF`),
 * a script cache flushed (`NOSCRIPT`: the retry sends the script again). The README has the same table.
 */
const RULES: readonly Rule[] = [
  { code: 'OOM', kind: 'outage' },
  { code: 'BUSY', kind: 'outage' },
  { code: 'LOADING', kind: 'outage' },
  { code: 'MASTERDOWN', kind: 'outage' },
  { code: 'READONLY', kind: 'outage' },
  { code: 'NOREPLICAS', kind: 'outage' },
  { code: 'TRYAGAIN', kind: 'outage' },
  { code: 'CLUSTERDOWN', kind: 'outage' },
  { code: 'MISCONF', kind: 'outage' },
  { code: 'NOSCRIPT', kind: 'outage' },
  {
    code: 'WRONGTYPE',
    kind: 'permanent',
    fix: 'a key this sink writes holds another Redis type: delete or rename that key, or configure other key names',
  },
  {
    code: 'NOAUTH',
    kind: 'permanent',
    fix: 'Redis needs a password: put it in REDIS_URL (redis://:password@host:port)',
  },
  { code: 'WRONGPASS', kind: 'permanent', fix: 'fix the user name or password in REDIS_URL' },
  {
    code: 'NOPERM',
    kind: 'permanent',
    fix: 'grant the Redis ACL user the commands (EVAL, EVALSHA, HGET, HSET, ZADD, PUBLISH, ...) and keys this sink uses',
  },
  {
    code: 'MOVED',
    kind: 'permanent',
    fix: 'REDIS_URL points at a Redis Cluster node: these sinks need a standalone Redis (or a primary with replicas)',
  },
  {
    code: 'ASK',
    kind: 'permanent',
    fix: 'REDIS_URL points at a Redis Cluster node: these sinks need a standalone Redis (or a primary with replicas)',
  },
  {
    code: 'CROSSSLOT',
    kind: 'permanent',
    fix: 'REDIS_URL points at a Redis Cluster: these sinks need a standalone Redis (or a primary with replicas)',
  },
]

const SCRIPT_ERROR = /user_script|Error running script|Error compiling script/
const TOO_MANY_CLIENTS = /^ERR max number of clients reached/

/**
 * Classifies an error of a Redis write. Reply errors by their code (see the table above and the README); a script
 * that fails (`ERR user_script:...`) is permanent: the record or the script is wrong, replaying it fails again.
 * `ERR max number of clients reached` is an outage (clients leave). Errors that are not replies (connection
 * refused, closed, reset, timed out, not writeable) are outages; JavaScript programming errors are permanent.
 *
 * @example
 * classifyRedisError(new ReplyError("OOM command not allowed when used memory > 'maxmemory'."))
 * // { kind: 'outage', reason: 'OOM' }
 */
export function classifyRedisError(err: unknown): RedisErrorClass {
  if (!(err instanceof Error)) return { kind: 'outage', reason: 'connection' }
  if (err.name !== 'ReplyError') {
    const bug =
      err instanceof RangeError ||
      err instanceof TypeError ||
      err instanceof SyntaxError ||
      err instanceof ReferenceError
    return bug
      ? { kind: 'permanent', reason: 'bug', fix: 'a bug in the sink or its options (please report it)' }
      : { kind: 'outage', reason: 'connection' }
  }
  const code = /^[A-Z]+/.exec(err.message)?.[0] ?? 'ERR'
  const rule = RULES.find((r) => r.code === code)
  if (rule) return { kind: rule.kind, reason: code, ...(rule.fix && { fix: rule.fix }) }
  if (TOO_MANY_CLIENTS.test(err.message)) return { kind: 'outage', reason: 'maxclients' }
  if (SCRIPT_ERROR.test(err.message))
    return {
      kind: 'permanent',
      reason: 'script',
      fix: 'the Lua script failed on a record: the record is not what the sink expects or the script has a bug',
    }
  return { kind: 'permanent', reason: code, fix: 'Redis refuses this command; retrying will not help' }
}

/**
 * True for connection-level failures and Redis replies that say "not now" (see {@link classifyRedisError});
 * false for replies that retrying will not fix and for programming errors.
 */
export function isTransientRedisError(err: unknown): boolean {
  return classifyRedisError(err).kind === 'outage'
}

/**
 * A Redis write refused for good: the message is one line naming the sink, Redis's reply and what to fix, e.g.
 * `redis-hash(k) -> redis://127.0.0.1:6379: Redis refused the write (WRONGTYPE Operation against a key holding
 * the wrong kind of value); a key this sink writes holds another Redis type: delete or rename that key, ...`.
 */
export class RedisWriteRefusedError extends Error {
  override readonly name = 'RedisWriteRefusedError'

  constructor(
    target: string,
    readonly reason: string,
    readonly reply: string,
    fix: string | undefined,
  ) {
    super(`${target}: Redis refused the write (${oneLine(reply)})${fix ? `; ${fix}` : ''}`)
  }
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim()
