/**
 * The dashboard: one HTML page with its script inline, no build step and nothing fetched from elsewhere. It polls
 * `dashboard.json` (relative, so it works under any base path) every second and writes every value with
 * `textContent`, never as HTML.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tessera dashboard</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2433; background: #f6f7f9; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; }
  h2 { font-size: 1rem; margin: 0 0 .5rem; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 1rem; }
  section { background: #fff; border: 1px solid #d8dce3; border-radius: 6px; padding: .8rem 1rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .2rem .4rem; border-bottom: 1px solid #eceef2; font-variant-numeric: tabular-nums; }
  th { font-weight: 600; color: #5a6275; }
  .big { font-size: 1.6rem; font-weight: 600; }
  .kpis { display: flex; gap: 1.5rem; }
  .up, .closed { color: #16794c; } .down, .open { color: #b42318; } .degraded, .half-open { color: #b54708; }
  #status { color: #5a6275; font-size: .85rem; }
  code { font-size: .8rem; word-break: break-all; }
</style>
</head>
<body>
<h1>Tessera <span id="status">connecting…</span></h1>
<div class="grid">
  <section id="queries"><h2>Queries</h2>
    <div class="kpis">
      <div><div class="big" id="query-rate">–</div>per second</div>
      <div><div class="big" id="query-p50">–</div>p50 ms</div>
      <div><div class="big" id="query-p99">–</div>p99 ms</div>
      <div><div class="big" id="query-count">–</div>total (<span id="query-errors">0</span> failed)</div>
    </div>
  </section>
  <section><h2>Pools</h2><table><thead><tr><th>pool</th><th>in use</th><th>idle</th><th>waiting</th><th>max</th><th>wait p99 ms</th></tr></thead><tbody id="pools"></tbody></table></section>
  <section><h2>Caches</h2><table><thead><tr><th>cache</th><th>hit ratio</th><th>hits</th><th>misses</th><th>stale</th></tr></thead><tbody id="caches"></tbody></table></section>
  <section><h2>Circuit breakers</h2><table><thead><tr><th>breaker</th><th>state</th><th>changes</th></tr></thead><tbody id="breakers"></tbody></table></section>
  <section><h2>Cluster nodes</h2><table><thead><tr><th>cluster</th><th>node</th><th>role</th><th>status</th><th>lag ms</th></tr></thead><tbody id="nodes"></tbody></table></section>
  <section><h2>Slow queries (latest 10)</h2><table><thead><tr><th>ms</th><th>statement</th><th>wait ms</th><th>trace</th></tr></thead><tbody id="slow"></tbody></table></section>
</div>
<script>
(function () {
  var previous = null
  function text(value) { return value === undefined || value === null ? '–' : String(value) }
  function fixed(value, digits) { return typeof value === 'number' ? value.toFixed(digits) : '–' }
  function rows(id, list, cells) {
    var body = document.getElementById(id)
    body.textContent = ''
    list.forEach(function (item) {
      var tr = document.createElement('tr')
      cells(item).forEach(function (cell) {
        var td = document.createElement('td')
        if (cell && typeof cell === 'object') { td.textContent = cell.text; td.className = cell.className || '' }
        else td.textContent = text(cell)
        tr.appendChild(td)
      })
      if (item && item.name) tr.dataset.name = item.name
      body.appendChild(tr)
    })
  }
  function render(data) {
    var live = data.live || { queries: { count: 0, errors: 0, p50Ms: 0, p99Ms: 0 }, slowQueries: [], caches: [], breakers: [] }
    var rate = 0
    if (previous && data.at > previous.at) rate = (live.queries.count - previous.count) * 1000 / (data.at - previous.at)
    previous = { at: data.at, count: live.queries.count }
    document.getElementById('query-rate').textContent = fixed(rate, 1)
    document.getElementById('query-p50').textContent = fixed(live.queries.p50Ms, 1)
    document.getElementById('query-p99').textContent = fixed(live.queries.p99Ms, 1)
    document.getElementById('query-count').textContent = text(live.queries.count)
    document.getElementById('query-errors').textContent = text(live.queries.errors)
    rows('pools', data.pools, function (p) { return [p.name, p.inUse, p.idle, p.waiting, p.max, fixed(p.waitP99Ms, 1)] })
    var caches = data.caches.map(function (c) { return { name: c.name, ratio: c.hitRatio, hits: c.hits, misses: c.misses, stale: c.staleServed } })
    // Without caches given to the handler, the caches seen on the channels (named by their namespace).
    if (caches.length === 0) live.caches.forEach(function (c) { caches.push({ name: c.cache, ratio: c.hitRatio, hits: c.hits, misses: c.misses, stale: c.stale }) })
    rows('caches', caches, function (c) { return [c.name, fixed(c.ratio * 100, 1) + ' %', c.hits, c.misses, c.stale] })
    rows('breakers', live.breakers.map(function (b) { return { name: b.breaker, state: b.state, changes: b.changes } }), function (b) {
      return [b.name, { text: b.state, className: b.state }, b.changes]
    })
    var nodes = []
    data.clusters.forEach(function (cluster) { cluster.nodes.forEach(function (n) { nodes.push({ name: n.name, cluster: cluster.name, role: n.role, status: n.status, lagMs: n.lagMs }) }) })
    rows('nodes', nodes, function (n) { return [n.cluster, n.name, n.role, { text: n.status, className: n.status }, n.lagMs] })
    rows('slow', live.slowQueries.slice(-10).reverse(), function (s) { return [fixed(s.durationMs, 0), { text: s.sql }, fixed(s.poolWaitMs, 1), s.traceId ? s.traceId.slice(0, 16) : '–'] })
    document.getElementById('status').textContent = 'updated ' + new Date(data.at).toLocaleTimeString() + ', up ' + data.uptimeS + ' s'
  }
  function poll() {
    fetch('dashboard.json', { cache: 'no-store' })
      .then(function (response) { return response.json() })
      .then(render)
      .catch(function (error) { document.getElementById('status').textContent = 'unreachable: ' + error.message })
      .finally(function () { setTimeout(poll, 1000) })
  }
  poll()
})()
</script>
</body>
</html>
`
