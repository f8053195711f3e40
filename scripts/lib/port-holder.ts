import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { processRecord } from './process-record.js'

/** The pid of the process listening on TCP `port` (any address), when /proc can tell (Linux, a process we may inspect). */
export function portHolder(port: number): number | null {
  const inodes = new Set<string>()
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      // f[1] local address "0100007F:1F90", f[3] state (0A = LISTEN), f[9] socket inode
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A' && f[9] && f[9] !== '0') inodes.add(`socket:[${f[9]}]`)
    }
  }
  if (inodes.size === 0) return null
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d))
  } catch {
    return null
  }
  for (const pid of pids) {
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      try {
        if (inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) return Number(pid)
      } catch {
        // closed meanwhile
      }
    }
  }
  return null
}

/**
 * The one line for a port this run needs that another program holds: which port, for what, who holds it
 * when that can be found, and the setting that moves it.
 *
 * @example
 * busyPortMessage(8000, 'API', 'PORT') // "port 8000 (API) is in use by another program (pid 4242: python3 -m http.server 8000); stop it or set PORT"
 */
export function busyPortMessage(port: number, what: string, setting: string, note = ''): string {
  const pid = portHolder(port)
  const cmd = pid === null ? null : processRecord(pid)?.argv.join(' ')
  const who = pid === null ? '' : ` (pid ${pid}${cmd ? `: ${cmd.length > 80 ? `${cmd.slice(0, 77)}...` : cmd}` : ''})`
  return `port ${port} (${what}) is in use by another program${note ? ` ${note}` : ''}${who}; stop it or set ${setting}`
}
