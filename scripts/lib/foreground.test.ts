/**
 * The `npm start` supervisor (ForegroundRun: signals, crashes, pid files, leftovers) with real processes: the
 * stand-in supervisor fixtures/supervise.ts runs stand-in services (fixtures/sleeper.ts), each test in a
 * temporary run directory, on free ports; nothing here touches a real `npm start` run, Kafka or Redis.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  alive,
  cleanUp,
  type Fixture,
  fixtureArgv,
  freshRunDir,
  logOf,
  pidOf,
  startFixture,
  until,
} from './fixtures/run-fixture.js'
import { repoRoot } from './paths.js'
import { processRecord, writePidFile } from './process-record.js'

const GRACE_MS = 2000
const services = (...s: { name: string; env?: Record<string, string> }[]) => ({
  FIXTURE_SERVICES: JSON.stringify(s),
  STOP_GRACE_MS: String(GRACE_MS),
})
const stopTime = (log: string) => Number(/sleeper stopping at (\d+)/.exec(log)?.[1])
const pidFiles = (runDir: string) => readdirSync(join(runDir, 'pipeline')).filter((f) => f.endsWith('.pid'))

const runDirs: string[] = []
const started: ChildProcess[] = []
/** A run directory removed of its processes after the test. */
const runDir = () => {
  const dir = freshRunDir()
  runDirs.push(dir)
  return dir
}
/** A process the test starts itself, killed after it. */
const own = (command: string, args: string[], logFile?: string): ChildProcess => {
  const child = spawn(command, args, {
    cwd: repoRoot,
    detached: true,
    stdio: logFile ? ['ignore', 'pipe', 'pipe'] : 'ignore',
  })
  if (logFile) {
    let log = ''
    const keep = (d: Buffer) => {
      log += d
      writeFileSync(logFile, log)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
  }
  started.push(child)
  return child
}
const upAndRunning = (f: Fixture) => until(() => f.output().includes('[fixture] all up'), 30_000, 'the fixture up')

afterEach(async () => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  for (const dir of runDirs.splice(0)) await cleanUp(dir)
})

describe('npm start supervisor: nothing left behind', () => {
  it('SIGHUP stops every child cleanly, in order, and removes the pid files', async () => {
    const dir = runDir()
    const f = startFixture(dir, services({ name: 'a' }, { name: 'b' }))
    await upAndRunning(f)
    const [a, b] = [pidOf(dir, 'a'), pidOf(dir, 'b')]
    expect(a && alive(a) && b && alive(b)).toBe(true)
    f.child.kill('SIGHUP')
    expect(await f.exited).toEqual({ code: 0, signal: null })
    expect(f.output()).toContain('SIGHUP received (the terminal closed)')
    expect(alive(a as number) || alive(b as number)).toBe(false)
    // Stopped by the supervisor itself (not by their watch), a before b.
    for (const name of ['a', 'b']) expect(logOf(dir, name)).not.toContain('[supervisor-watch]')
    expect(stopTime(logOf(dir, 'a'))).toBeLessThanOrEqual(stopTime(logOf(dir, 'b')))
    expect(pidFiles(dir)).toEqual([])
  }, 60_000)

  it('closing the terminal (the pty hangs up) stops every child cleanly, from the supervisor itself', async () => {
    const dir = runDir()
    const term = spawnInTerminal(dir, services({ name: 'a' }, { name: 'b' }))
    await until(() => pidOf(dir, 'b') !== null && logOf(dir, 'b').includes('sleeper up'), 30_000, 'a and b up')
    const pids = ['supervisor', 'a', 'b'].map((n) => pidOf(dir, n) as number)
    term.kill('SIGKILL') // the terminal goes away
    await until(() => pids.every((p) => !alive(p)), 10_000, 'supervisor, a and b gone')
    for (const name of ['a', 'b']) {
      expect(logOf(dir, name)).toContain('sleeper stopped cleanly')
      expect(logOf(dir, name)).not.toContain('[supervisor-watch]')
    }
    expect(stopTime(logOf(dir, 'a'))).toBeLessThanOrEqual(stopTime(logOf(dir, 'b')))
    expect(pidFiles(dir)).toEqual([])
  }, 60_000)

  it('SIGKILL of the supervisor: every child stops cleanly by itself within the grace period', async () => {
    const dir = runDir()
    const f = startFixture(dir, services({ name: 'a' }, { name: 'b' }))
    await upAndRunning(f)
    const [a, b] = [pidOf(dir, 'a') as number, pidOf(dir, 'b') as number]
    f.child.kill('SIGKILL')
    const killedAt = Date.now()
    await until(() => !alive(a) && !alive(b), GRACE_MS, 'a and b gone within the grace period')
    expect(Date.now() - killedAt).toBeLessThan(GRACE_MS)
    for (const name of ['a', 'b']) {
      const log = logOf(dir, name)
      expect(log).toContain(`[supervisor-watch] the supervisor (pid ${f.pid}) is gone: stopping (SIGTERM)`)
      expect(log).toContain('sleeper stopped cleanly')
    }
  }, 60_000)

  it('SIGKILL of the supervisor: a child that ignores SIGTERM is killed at the end of the grace period', async () => {
    const dir = runDir()
    const f = startFixture(dir, services({ name: 'a', env: { SLEEPER_IGNORE_TERM: '1' } }))
    await upAndRunning(f)
    const a = pidOf(dir, 'a') as number
    f.child.kill('SIGKILL')
    const killedAt = Date.now()
    await until(() => logOf(dir, 'a').includes('sleeper ignores SIGTERM'), 5000, 'the SIGTERM to a')
    await until(() => !alive(a), GRACE_MS + 3000, 'a killed')
    const took = Date.now() - killedAt
    expect(took).toBeGreaterThanOrEqual(GRACE_MS - 200)
    expect(took).toBeLessThan(GRACE_MS + 3000)
  }, 60_000)

  it('SIGKILL of the supervisor while it stops a child: no second SIGTERM, the clean stop completes', async () => {
    const dir = runDir()
    const f = startFixture(dir, services({ name: 'a', env: { SLEEPER_STOP_MS: '1200' } }))
    await upAndRunning(f)
    const a = pidOf(dir, 'a') as number
    f.child.kill('SIGTERM')
    await until(() => logOf(dir, 'a').includes('sleeper stopping'), 5000, 'a stopping')
    f.child.kill('SIGKILL')
    await until(() => !alive(a), 10_000, 'a gone')
    const log = logOf(dir, 'a')
    expect(log).toContain('already stopping')
    expect(log).toContain('sleeper stopped cleanly')
    expect(log).not.toContain('second SIGTERM')
  }, 60_000)

  it('an uncaught exception in the supervisor stops every child cleanly, in order, and exits 1', async () => {
    const dir = runDir()
    const f = startFixture(dir, { ...services({ name: 'a' }, { name: 'b' }), FIXTURE_CRASH_MS: '300' })
    const { code } = await f.exited
    expect(code).toBe(1)
    expect(f.output()).toContain('[fixture] internal error, stopping everything: Error: fixture crash')
    expect(f.output()).toContain('[fixture] stopping a and b ...')
    for (const name of ['a', 'b']) {
      expect(logOf(dir, name)).toContain('sleeper stopped cleanly')
      expect(logOf(dir, name)).not.toContain('[supervisor-watch]')
    }
    expect(stopTime(logOf(dir, 'a'))).toBeLessThanOrEqual(stopTime(logOf(dir, 'b')))
    expect(pidFiles(dir)).toEqual([])
  }, 60_000)
})

describe('npm start supervisor: what an earlier run left', () => {
  it('reports a leftover child in one line and stops it cleanly before starting', async () => {
    const dir = runDir()
    // A child of an earlier run, its supervisor gone: the pid file as the supervisor writes it.
    const oldLog = join(dir, 'old-a.log')
    const old = own(process.execPath, ['--import', 'tsx', 'scripts/lib/fixtures/sleeper.ts'], oldLog)
    await until(() => existsSync(oldLog), 20_000, 'the old a up')
    expect(writePidFile(join(dir, 'pipeline', 'a.pid'), old.pid as number)).not.toBeNull()
    const f = startFixture(dir, services({ name: 'a' }))
    await upAndRunning(f)
    const lines = f.output().split('\n')
    expect(lines.filter((l) => l.includes('an earlier run left'))).toEqual([
      `[fixture] an earlier run left a running (pid ${old.pid}); stopping it (SIGTERM, SIGKILL after 2 s)`,
    ])
    expect(f.output()).not.toContain('killed')
    expect(alive(old.pid as number)).toBe(false)
    expect(readFileSync(oldLog, 'utf8')).toContain('sleeper stopped cleanly')
    const now = pidOf(dir, 'a') as number
    expect(now).not.toBe(old.pid)
    expect(alive(now)).toBe(true)
    f.child.kill('SIGTERM')
    expect((await f.exited).code).toBe(0)
  }, 60_000)

  it('kills a wedged leftover that survived its supervisor, after the grace period, and starts afresh', async () => {
    const dir = runDir()
    const first = startFixture(dir, services({ name: 'a' }, { name: 'b', env: { SLEEPER_HANG: '1' } }))
    await upAndRunning(first)
    const [a, b] = [pidOf(dir, 'a') as number, pidOf(dir, 'b') as number]
    await until(() => logOf(dir, 'b').includes('sleeper hangs'), 10_000, 'b wedged')
    first.child.kill('SIGKILL')
    await until(() => !alive(a), GRACE_MS + 2000, 'a stopped by itself')
    await new Promise((r) => setTimeout(r, GRACE_MS + 500))
    expect(alive(b)).toBe(true) // wedged: its own watch cannot run
    const second = startFixture(dir, services({ name: 'a' }, { name: 'b' }))
    await upAndRunning(second)
    const out = second.output()
    expect(out).toContain(
      `[fixture] an earlier run left b running (pid ${b}); stopping it (SIGTERM, SIGKILL after 2 s)`,
    )
    expect(out).toContain(`[fixture] b (pid ${b}) did not stop within 2 s: killed`)
    expect(out).not.toContain('left a running') // a's pid file was stale: removed silently
    expect(alive(b)).toBe(false)
    expect(alive(pidOf(dir, 'b') as number)).toBe(true)
    second.child.kill('SIGTERM')
    expect((await second.exited).code).toBe(0)
  }, 90_000)

  it('leaves alone programs that pid files name but that are not the recorded process', async () => {
    const dir = runDir()
    const pipeline = join(dir, 'pipeline')
    mkdirSync(pipeline)
    const record = (pid: number) => processRecord(pid) ?? { startTime: 'none' }
    const cases = [
      // recorded `sleep 1000`, running `sleep 10000`: a similar command line
      { name: 'similar', child: own('sleep', ['10000']), argv: ['sleep', '1000'], shift: 0 },
      // recorded `sleep 1000`, running `sleep 1000 1000`: a command line that contains the recorded one
      { name: 'contains', child: own('sleep', ['1000', '1000']), argv: ['sleep', '1000'], shift: 0 },
      // the same command line, started later than the recorded process: the pid was reused
      { name: 'reused', child: own('sleep', ['1000']), argv: ['sleep', '1000'], shift: -1 },
    ]
    await until(() => cases.every((c) => processRecord(c.child.pid as number)?.argv[0] === 'sleep'), 5000, 'sleeps')
    for (const c of cases) {
      const pid = c.child.pid as number
      const startTime = String(Number(record(pid).startTime) + c.shift)
      writeFileSync(join(pipeline, `${c.name}.pid`), `${pid}\n${JSON.stringify({ argv: c.argv, startTime })}\n`)
    }
    // a pid file of an older version: the pid alone cannot prove the process is ours
    const legacy = own('sleep', ['1000'])
    writeFileSync(join(pipeline, 'legacy.pid'), `${legacy.pid}\n`)

    const f = startFixture(dir, services())
    await upAndRunning(f)
    for (const c of [...cases.map((x) => x.child), legacy]) expect(alive(c.pid as number)).toBe(true)
    expect(f.output()).not.toContain('an earlier run left')
    for (const c of cases) expect(f.output()).toContain(`pid ${c.child.pid} is now another program (sleep 1000`)
    expect(pidFiles(dir)).toEqual(['supervisor.pid'])
    f.child.kill('SIGTERM')
    expect((await f.exited).code).toBe(0)
    for (const c of [...cases.map((x) => x.child), legacy]) expect(alive(c.pid as number)).toBe(true)
  }, 60_000)

  it('refuses to start, in one line, while the earlier supervisor still runs, and touches nothing', async () => {
    const dir = runDir()
    const first = startFixture(dir, services({ name: 'a' }))
    await upAndRunning(first)
    const a = pidOf(dir, 'a') as number
    const second = startFixture(dir, services({ name: 'a' }))
    expect((await second.exited).code).toBe(1)
    expect(second.output()).toBe(
      `the fixture is already running (pid ${first.pid}); stop it first (Ctrl-C in its terminal, or kill ${first.pid}), then start again\n`,
    )
    expect(alive(first.pid) && alive(a)).toBe(true)
    expect(pidOf(dir, 'a')).toBe(a)
    first.child.kill('SIGTERM')
    expect((await first.exited).code).toBe(0)
  }, 60_000)

  it('a port held by another program: one line naming the port, the holder and the setting', async () => {
    const dir = runDir()
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number }
        s.close(() => resolve(port))
      })
    })
    const holder = own(process.execPath, ['-e', `require('net').createServer().listen(${port}, '127.0.0.1')`])
    await until(() => portTaken(port), 10_000, 'the port taken')
    const f = startFixture(dir, { ...services({ name: 'a' }), FIXTURE_PORT: String(port) })
    expect((await f.exited).code).toBe(1)
    expect(f.output()).toBe(
      `port ${port} (stand-in) is in use by another program (pid ${holder.pid}: ${process.execPath} -e require('net').createServer().listen(${port}, '127.0.0.1')); stop it or set FIXTURE_PORT\n`,
    )
    expect(pidOf(dir, 'a')).toBeNull()
  }, 60_000)
})

function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(true))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)))
  })
}

/** Runs supervise.ts in a terminal of its own (`script` allocates a pty); returns `script`, whose death hangs it up. */
function spawnInTerminal(dir: string, env: Record<string, string>): ChildProcess {
  const child = spawn('script', ['-qfec', `${process.execPath} ${fixtureArgv.join(' ')}`, '/dev/null'], {
    cwd: repoRoot,
    env: { ...process.env, CTR_RUN_DIR: dir, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  child.stdout?.resume()
  child.stderr?.resume()
  started.push(child)
  return child
}
