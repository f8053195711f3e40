// The CTR dashboard: plain browser script, no build step. Data: /ctr/latest and /ctr/previous once, then
// /ctr/stream (Server-Sent Events) for every new result; /ctr/{id}/history for the chart; /pipeline/status and
// /healthz every 2 s. Rendering is batched (at most every 250 ms) so a burst of updates stays cheap.
;(() => {
  const latest = new Map()
  const previous = new Map()
  const flashed = new Set()
  const state = { sortKey: 'ctr', sortDir: -1, filter: '', selected: null, history: [], chart: null, redisDown: false }
  const $ = (id) => document.getElementById(id)
  const tbody = document.querySelector('#ctr-table tbody')

  const esc = (s) =>
    String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])
  const pct = (v) => (v == null ? '–' : `${(v * 100).toFixed(2)}%`)
  const time = (ms) => (ms == null ? '–' : new Date(ms).toLocaleTimeString([], { hour12: false }))
  const int = (v) => (v == null ? '–' : Number(v).toLocaleString())
  const secs = (ms) => {
    if (ms == null) return '–'
    if (ms < 1000) return `${Math.round(ms)} ms`
    if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`
    if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`
    return `${(ms / 3_600_000).toFixed(1)} h`
  }
  const change = (id) => {
    const a = latest.get(id)
    const b = previous.get(id)
    return a?.ctr == null || b?.ctr == null ? null : a.ctr - b.ctr
  }

  async function getJson(url) {
    const res = await fetch(url, { headers: { accept: 'application/json' } })
    const body = await res.json().catch(() => null)
    if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`)
    return body
  }

  // ---- results table ----
  let renderQueued = false
  function scheduleRender() {
    if (renderQueued) return
    renderQueued = true
    setTimeout(() => {
      renderQueued = false
      renderTable()
    }, 250)
  }

  function sortValue(r, key) {
    if (key === 'change') return change(r.product_id)
    return r[key]
  }

  function renderTable() {
    const { sortKey, sortDir, filter } = state
    const rows = [...latest.values()].filter((r) => !filter || r.product_id.toLowerCase().includes(filter))
    rows.sort((a, b) => {
      const x = sortValue(a, sortKey)
      const y = sortValue(b, sortKey)
      if (x == null || y == null) return x == null ? (y == null ? 0 : 1) : -1 // missing values last
      if (x < y) return -sortDir
      if (x > y) return sortDir
      return a.product_id < b.product_id ? -1 : 1
    })
    const html = rows.map((r) => {
      const d = change(r.product_id)
      const cls = [r.product_id === state.selected ? 'selected' : '', flashed.has(r.product_id) ? 'flash' : '']
      return `<tr data-id="${esc(r.product_id)}" class="${cls.join(' ').trim()}"><td>${esc(r.product_id)}</td><td>${time(r.window_start)}–${time(r.window_end)}</td><td class="num">${int(r.impressions)}</td><td class="num">${int(r.clicks)}</td><td class="num">${pct(r.ctr)}</td><td class="num ${d > 0 ? 'up' : d < 0 ? 'down' : ''}">${d == null ? '–' : `${d > 0 ? '+' : ''}${(d * 100).toFixed(2)} pp`}</td></tr>`
    })
    tbody.innerHTML = html.join('')
    flashed.clear()
    $('empty').hidden = latest.size > 0
    $('summary').textContent = `${latest.size.toLocaleString()} products`
    for (const th of document.querySelectorAll('#ctr-table th')) {
      th.setAttribute('aria-sort', th.dataset.key !== sortKey ? 'none' : sortDir > 0 ? 'ascending' : 'descending')
    }
  }

  document.querySelector('#ctr-table thead').addEventListener('click', (e) => {
    const key = e.target.closest('th')?.dataset.key
    if (!key) return
    state.sortDir = state.sortKey === key ? -state.sortDir : key === 'product_id' ? 1 : -1
    state.sortKey = key
    renderTable()
  })
  tbody.addEventListener('click', (e) => {
    const id = e.target.closest('tr')?.dataset.id
    if (id !== undefined) select(id)
  })
  $('filter').addEventListener('input', (e) => {
    state.filter = e.target.value.trim().toLowerCase()
    renderTable()
  })

  // Same rule as the sink (docs/contract.md §3.3): a newer window shifts latest to previous, the same window replaces.
  function apply(r) {
    const cur = latest.get(r.product_id)
    if (!cur || r.window_start > cur.window_start) {
      if (cur) previous.set(r.product_id, cur)
      latest.set(r.product_id, r)
    } else if (r.window_start === cur.window_start) {
      latest.set(r.product_id, r)
    } else if (r.window_start === previous.get(r.product_id)?.window_start) {
      previous.set(r.product_id, r)
    }
    flashed.add(r.product_id)
    if (r.product_id === state.selected) addPoint(r)
    $('summary').dataset.updated = String(Date.now())
    scheduleRender()
  }

  async function loadAll() {
    const [l, p] = await Promise.all([getJson('/ctr/latest'), getJson('/ctr/previous')])
    latest.clear()
    previous.clear()
    for (const r of Object.values(l)) latest.set(r.product_id, r)
    for (const r of Object.values(p)) previous.set(r.product_id, r)
    renderTable()
    if (state.selected == null && latest.size > 0) {
      const best = [...latest.values()].sort((a, b) => b.impressions - a.impressions)[0]
      select(best.product_id)
    }
  }

  // ---- chart of one product's last windows ----
  function select(id) {
    state.selected = id
    $('chart-product').textContent = `— ${id}`
    for (const tr of tbody.querySelectorAll('tr.selected')) tr.classList.remove('selected')
    for (const tr of tbody.querySelectorAll('tr')) if (tr.dataset.id === id) tr.classList.add('selected')
    loadHistory(id)
  }

  async function loadHistory(id) {
    let items
    try {
      items = (await getJson(`/ctr/${encodeURIComponent(id)}/history?limit=60`)).items
      $('chart-note').textContent = ''
    } catch (err) {
      items = [latest.get(id), previous.get(id)].filter(Boolean)
      $('chart-note').textContent = `history unavailable (${err.message}); showing latest and previous`
    }
    if (id !== state.selected) return
    state.history = items.slice().sort((a, b) => a.window_start - b.window_start)
    if (state.history.length === 0) state.history = [latest.get(id), previous.get(id)].filter(Boolean).reverse()
    drawChart()
  }

  function addPoint(r) {
    const i = state.history.findIndex((h) => h.window_start === r.window_start)
    if (i >= 0) state.history[i] = r
    else state.history.push(r)
    state.history.sort((a, b) => a.window_start - b.window_start)
    if (state.history.length > 60) state.history.shift()
    drawChart()
  }

  function chartData() {
    const h = state.history
    return [
      h.map((r) => r.window_start / 1000),
      h.map((r) => (r.ctr == null ? null : r.ctr * 100)),
      h.map((r) => r.impressions),
      h.map((r) => r.clicks),
    ]
  }

  function drawChart() {
    const el = $('chart')
    el.dataset.points = String(state.history.length) // what the chart shows, for tests and curious readers
    if (state.chart) {
      state.chart.setData(chartData())
      return
    }
    const opts = {
      width: el.clientWidth || 600,
      height: 260,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, ctr: { auto: true, range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] } },
      axes: [
        { stroke: '#6a737d', grid: { stroke: '#eef0f3' }, space: 90, values: (_u, v) => v.map((x) => time(x * 1000)) },
        {
          scale: 'ctr',
          size: 60,
          stroke: '#2563eb',
          values: (_u, v) => v.map((x) => `${x.toFixed(1)}%`),
          grid: { stroke: '#eef0f3' },
        },
        { scale: 'n', side: 1, stroke: '#6a737d', grid: { show: false } },
      ],
      series: [
        { value: (_u, v) => (v == null ? '–' : time(v * 1000)) },
        {
          label: 'CTR',
          scale: 'ctr',
          stroke: '#2563eb',
          width: 2,
          points: { size: 5 },
          value: (_u, v) => (v == null ? '–' : `${v.toFixed(2)}%`),
        },
        { label: 'impressions', scale: 'n', stroke: '#9ca3af', width: 1, dash: [4, 3] },
        { label: 'clicks', scale: 'n', stroke: '#f59e0b', width: 1 },
      ],
    }
    state.chart = new uPlot(opts, chartData(), el)
    new ResizeObserver(() => state.chart.setSize({ width: el.clientWidth, height: 260 })).observe(el)
  }

  // ---- live updates ----
  function connect() {
    const es = new EventSource('/ctr/stream')
    let opened = false
    es.addEventListener('ready', () => {
      $('live').textContent = 'live'
      $('live').classList.remove('off')
      // After a reconnect, catch up with what was published while the stream was down.
      if (opened || latest.size === 0) loadAll().catch(() => {})
      opened = true
    })
    es.addEventListener('ctr', (e) => {
      try {
        apply(JSON.parse(e.data))
      } catch {
        // a malformed event is skipped; the server only sends valid results
      }
    })
    es.onerror = () => {
      $('live').textContent = 'reconnecting…'
      $('live').classList.add('off')
    }
  }

  // ---- pipeline health ----
  function stat(label, value, title = '') {
    return `<div class="stat" title="${esc(title)}"><b>${esc(value)}</b><span>${esc(label)}</span></div>`
  }

  async function pollPipeline() {
    try {
      const h = await fetch('/healthz').then((r) => r.json())
      const ok = h.status === 'ok'
      // Updates published while Redis was unreachable were missed: reload everything once it is back.
      if (ok && state.redisDown) loadAll().catch(() => {})
      state.redisDown = !ok
      $('redis').textContent = ok ? 'Redis ok' : 'Redis unreachable'
      $('redis').classList.toggle('off', !ok)
    } catch {
      $('redis').textContent = 'API unreachable'
      $('redis').classList.add('off')
    }
    let s
    try {
      s = await getJson('/pipeline/status')
    } catch (err) {
      $('pipeline').innerHTML = `<p class="reason">Job unreachable: ${esc(err.message)}</p>`
      return
    }
    const now = Date.now()
    const c = s.counters ?? {}
    const w = s.windows ?? {}
    const parts = Array.isArray(s.partitions) ? s.partitions : []
    const lag = parts.reduce((sum, p) => sum + (typeof p.lag === 'number' ? p.lag : 0), 0)
    const hasLag = parts.some((p) => typeof p.lag === 'number')
    const stats = [
      stat('watermark', typeof s.watermark === 'number' ? time(s.watermark) : '–', 'job watermark (event time)'),
      stat('behind wall clock', typeof s.watermark === 'number' ? secs(now - s.watermark) : '–'),
      stat('consumer lag', hasLag ? int(lag) : '–', 'records not yet read, all partitions'),
      stat('events in', int(c.eventsIn)),
      stat('late events', int(c.late)),
      stat('dead letters', int(c.deadLetters)),
      stat('windows emitted', int(c.windowsEmitted)),
      stat('late firings', int(c.lateFirings)),
      stat('open windows', int(w.open)),
    ]
    const o = w.oldest
    // The job's reason names each holding partition ('…; partition x-0 holds it at …'): the first part is the summary.
    const [first, ...rest] = String(o?.reason ?? 'waiting for the watermark').split(/; (?=partition )/)
    const title = o
      ? `Oldest open window ${time(o.start)}–${time(o.end)}${o.key != null ? ` (${esc(o.key)})` : ''}`
      : ''
    const reason = !o
      ? `<p class="muted">${s.allIdle ? 'All inputs idle: event time follows the wall clock.' : 'No open window.'}</p>`
      : rest.length === 0
        ? `<div class="reason">${title}: ${esc(first)}</div>`
        : `<details class="reason"><summary>${title}: ${esc(first)} (${rest.length} more)</summary><ul>${rest.map((r) => `<li>${esc(r)}</li>`).join('')}</ul></details>`
    const head = [s.applicationId, s.state, s.uptimeSeconds != null ? `up ${secs(s.uptimeSeconds * 1000)}` : null]
    const dlq = Object.entries(s.deadLetters ?? {})
      .filter(([, n]) => typeof n === 'number' && n > 0)
      .map(([why, n]) => `${esc(why)} ${int(n)}`)
    const notes = [
      head.some((x) => x != null)
        ? `<p class="muted">${head
            .filter((x) => x != null)
            .map(esc)
            .join(' · ')}</p>`
        : '',
      s.error ? `<p class="reason">Job error: ${esc(s.error)}</p>` : '',
      dlq.length ? `<p class="muted">Dead letters by reason: ${dlq.join(', ')}</p>` : '',
    ]
    const rows = parts
      .map(
        (p) =>
          `<tr><td>${esc(p.topic ?? '?')}-${esc(p.partition ?? '?')}</td><td class="num">${typeof p.watermark === 'number' ? time(p.watermark) : '–'}</td><td class="num">${p.lag == null ? '–' : int(p.lag)}</td><td>${p.idle ? 'idle' : 'active'}</td></tr>`,
      )
      .join('')
    const table = rows
      ? `<div class="parts-scroll"><table class="parts"><thead><tr><th>partition</th><th class="num">watermark</th><th class="num">lag</th><th>state</th></tr></thead><tbody>${rows}</tbody></table></div>`
      : ''
    const wasOpen = $('pipeline').querySelector('details')?.open // keep the reader's choice across refreshes
    $('pipeline').innerHTML = `${notes.join('')}<div class="stats">${stats.join('')}</div>${reason}${table}`
    if (wasOpen) $('pipeline').querySelector('details')?.setAttribute('open', '')
  }

  async function start() {
    try {
      await loadAll()
    } catch (err) {
      $('summary').textContent = `cannot load results: ${err.message}`
    }
    connect()
    pollPipeline()
    setInterval(pollPipeline, 2000)
  }
  start()
})()
