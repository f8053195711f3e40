#!/usr/bin/env node
// Fresh-machine setup shared by `npm start` and `npm test`.
//
// Idempotent and quiet once done: a stamp in .cache/ records the inputs of the
// last successful install (package manifests and lockfile), so a warm run only
// hashes a few files. A first run installs, showing each step:
//   1. the pinned pnpm (from package.json "packageManager"),
//   2. the Debian packages the Kafka client links against and Chromium for the
//      browser test, and Java 17 and Maven for the local Kafka when those commands are missing
//      (only when missing and apt-get is usable),
//   3. the workspace dependencies, building @confluentinc/kafka-javascript
//      against the system libraries (no internet download needed).
// Usage: node scripts/bootstrap.mjs [pnpm-script [args...] | -- command [args...]]
//   Afterwards runs `pnpm run <script>` with the pinned pnpm, or the command directly.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cacheDir = join(root, '.cache')
const stampFile = join(cacheDir, 'bootstrap.stamp')
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const pnpmVersion = rootPkg.packageManager.split('@')[1]

// Debian packages: -dev libraries librdkafka links against (CKJS_LINKING=dynamic),
// and Chromium for the dashboard's browser test.
const DEBIAN_PACKAGES = [
  'libssl-dev',
  'zlib1g-dev',
  'libzstd-dev',
  'libsasl2-dev',
  'liblz4-dev',
  'libcurl4-openssl-dev',
  'chromium',
]

const step = (msg) => console.log(`[bootstrap] ${msg}`)
const fail = (msg) => {
  console.error(`[bootstrap] ${msg}`)
  process.exit(1)
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts })
  if (r.error) return { ok: false, error: r.error.message }
  return { ok: r.status === 0, status: r.status }
}

function has(cmd, args = ['--version']) {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim()
  } catch {
    return null
  }
}

function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number)
  if (major < 20 || (major === 20 && minor < 19)) {
    fail(`Node ${process.versions.node} is too old: this project needs Node 20.19 or newer.`)
  }
}

/** Returns the command that runs the pinned pnpm. */
function ensurePnpm() {
  if (has('pnpm') === pnpmVersion) return 'pnpm'
  const local = join(cacheDir, 'pnpm', 'node_modules', '.bin', 'pnpm')
  if (existsSync(local) && has(local) === pnpmVersion) return local
  step(`installing pnpm ${pnpmVersion} (npm i -g pnpm@${pnpmVersion})`)
  if (run('npm', ['i', '-g', '--no-fund', '--no-audit', `pnpm@${pnpmVersion}`]).ok && has('pnpm') === pnpmVersion) {
    return 'pnpm'
  }
  step(`global install not possible; installing pnpm ${pnpmVersion} into .cache/pnpm`)
  mkdirSync(join(cacheDir, 'pnpm'), { recursive: true })
  if (!run('npm', ['i', '--no-fund', '--no-audit', '--prefix', join(cacheDir, 'pnpm'), `pnpm@${pnpmVersion}`]).ok) {
    fail(`could not install pnpm ${pnpmVersion}; install it yourself: npm i -g pnpm@${pnpmVersion}`)
  }
  return local
}

// The local Kafka cluster (scripts/kafka.ts) runs on Java 17+ and is fetched with Maven: installed
// only when the command is missing altogether (any JDK/JRE or Maven the user has will do).
const COMMAND_PACKAGES = [
  { cmd: 'java', args: ['-version'], pkg: 'openjdk-17-jre-headless' },
  { cmd: 'mvn', args: ['-v'], pkg: 'maven' },
  // Tests that take Redis down start a private redis-server; npm start starts one when none answers.
  { cmd: 'redis-server', args: ['--version'], pkg: 'redis-server' },
]

function missingDebianPackages() {
  if (!has('dpkg-query', ['--version'])) return []
  const missing = DEBIAN_PACKAGES.filter((p) => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    const s = has('dpkg-query', ['-W', '-f=${Status}', p])
    return !s?.includes('install ok installed')
  })
  // `has` returns '' (not null) for a command that prints only to stderr, like `java -version`.
  for (const { cmd, args, pkg } of COMMAND_PACKAGES) if (has(cmd, args) === null) missing.push(pkg)
  return missing
}

function ensureDebianPackages() {
  const missing = missingDebianPackages()
  if (missing.length === 0) return
  const isRoot = process.getuid?.() === 0
  const sudo = !isRoot && has('sudo', ['-n', 'true']) !== null ? ['sudo', '-n'] : null
  if (!has('apt-get', ['--version']) || (!isRoot && !sudo)) {
    step(
      `missing Debian packages: ${missing.join(' ')}. Install them (apt-get install ${missing.join(' ')}) ` +
        'if the Kafka client fails to build or the browser test cannot find Chromium.',
    )
    return
  }
  const prefix = sudo ?? []
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  mkdirSync(cacheDir, { recursive: true })
  const logFile = join(cacheDir, 'apt.log')
  step(`installing Debian packages: ${missing.join(' ')} (apt-get, about a minute; log in .cache/apt.log)`)
  const aptGet = (args) => {
    const r = spawnSync(prefix[0] ?? 'apt-get', [...prefix.slice(1), ...(prefix.length ? ['apt-get'] : []), ...args], {
      env,
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    appendFileSync(logFile, `$ apt-get ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}\n`)
    return { ok: r.status === 0 }
  }
  if (!aptGet(['update', '-qq']).ok || !aptGet(['install', '-y', '-qq', '--no-install-recommends', ...missing]).ok) {
    step(`apt-get could not install ${missing.join(' ')}; continuing, the install below may fail without them`)
  }
}

function manifestHash() {
  const h = createHash('sha256')
  const files = ['package.json', 'pnpm-workspace.yaml', 'pnpm-lock.yaml']
  for (const dir of ['packages', 'examples']) {
    const base = join(root, dir)
    if (!existsSync(base)) continue
    for (const name of readdirSync(base).sort()) files.push(join(dir, name, 'package.json'))
  }
  for (const f of files) {
    const p = join(root, f)
    h.update(f)
    if (existsSync(p)) h.update(readFileSync(p))
  }
  h.update(pnpmVersion)
  return h.digest('hex')
}

// Lines of the native build worth showing; the compiler's warnings (hundreds) go to .cache/install.log only.
const BUILD_NOISE = /kafka-javascript (install|postinstall): (?!.*(error|ERR!|gyp info ok|Pre-built|fallback))/i

/** Runs pnpm install, showing its progress but not the native build's compiler output; full log in .cache/. */
function pnpmInstall(pnpm, args, env) {
  mkdirSync(cacheDir, { recursive: true })
  const logFile = join(cacheDir, 'install.log')
  writeFileSync(logFile, '')
  return new Promise((resolve) => {
    const child = spawn(pnpm, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    const started = Date.now()
    let building = false
    const heartbeat = setInterval(() => {
      if (building) step(`still building the Kafka client (${Math.round((Date.now() - started) / 1000)} s)`)
    }, 20_000)
    const onLine = (line) => {
      appendFileSync(logFile, `${line}\n`)
      if (BUILD_NOISE.test(line)) {
        if (!building) step('building @confluentinc/kafka-javascript from source against the system libraries')
        building = true
        return
      }
      console.log(line)
    }
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', onLine)
    child.on('error', () => resolve(false))
    child.on('close', (code) => {
      clearInterval(heartbeat)
      resolve(code === 0)
    })
  })
}

async function installDependencies(pnpm) {
  const hash = manifestHash()
  const upToDate =
    existsSync(join(root, 'node_modules', '.modules.yaml')) &&
    existsSync(stampFile) &&
    readFileSync(stampFile, 'utf8') === hash
  if (upToDate) return
  step('installing dependencies with pnpm (the first time builds the Kafka client: about 3 minutes)')
  const env = {
    ...process.env,
    // Link librdkafka against the Debian libraries instead of downloading its own.
    CKJS_LINKING: 'dynamic',
    // pnpm 12 does not pass nodedir from npmrc to node-gyp; Node's headers live in /usr/include/node.
    ...(existsSync('/usr/include/node/node.h') ? { npm_config_nodedir: '/usr' } : {}),
  }
  const frozen = existsSync(join(root, 'pnpm-lock.yaml')) ? ['--frozen-lockfile'] : []
  if (!(await pnpmInstall(pnpm, ['install', ...frozen, '--reporter=append-only'], env))) {
    fail(
      `pnpm install failed (see above; full log in .cache/install.log). Missing Debian packages? ${DEBIAN_PACKAGES.slice(0, 6).join(' ')}`,
    )
  }
  mkdirSync(cacheDir, { recursive: true })
  writeFileSync(stampFile, hash)
  step('dependencies installed')
}

checkNode()
const pnpm = ensurePnpm()
if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== manifestHash()) ensureDebianPackages()
await installDependencies(pnpm)

// After the set-up, either `-- <command...>` (run directly: no package manager between
// the terminal and a long-running process, so Ctrl-C reaches it once and we wait for
// its clean stop) or `<pnpm-script> [args...]`.
const argv = process.argv.slice(2)
const direct = argv[0] === '--'
const [cmd, ...args] = direct ? argv.slice(1) : argv
if (cmd) {
  // Ctrl-C, and the hang-up when the terminal closes, reach the whole foreground
  // process group; let the child shut down cleanly and report its own exit status
  // instead of dying first.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => {})
  const r = direct
    ? spawnSync(cmd === 'node' ? process.execPath : cmd, args, { stdio: 'inherit', cwd: root })
    : spawnSync(pnpm, ['run', '--silent', cmd, ...args], { stdio: 'inherit', cwd: root })
  if (r.error) fail(`could not run ${cmd}: ${r.error.message}`)
  process.exit(r.status ?? (r.signal ? 130 : 1))
}
