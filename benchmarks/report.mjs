// Builds benchmarks/results/README.md and one SVG chart per package from the machine-readable results that each
// bench writes (benchmarks/results/<scenario>.json, with every round's samples). `pnpm bench` runs it at the end;
// `node benchmarks/report.mjs` rebuilds the page alone from the JSON already there. Never invents a number: a
// scenario without JSON is listed with a link to its last Markdown report and fills in on its next run.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const here = new URL('.', import.meta.url).pathname
const resultsDir = join(here, 'results')
const packagesDir = join(here, '..', 'packages')

/** The spread the tables and charts show: the middle 80% of per-round ratios (whiskers) and the middle half (box). */
const SPREAD = { low: 10, high: 90, boxLow: 25, boxHigh: 75 }

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]
}

/** Each round's ratio of a case to its group's baseline: baseline time ÷ case time for the same round. */
function roundRatios(baseline, item) {
  const rounds = Math.min(baseline.samples.ms.length, item.samples.ms.length)
  const ratios = []
  for (let i = 0; i < rounds; i++) {
    const caseMs = item.samples.ms[i]
    if (caseMs > 0) ratios.push(baseline.samples.ms[i] / caseMs)
  }
  return ratios.sort((a, b) => a - b)
}

function spreadOf(baseline, item) {
  const ratios = roundRatios(baseline, item)
  return {
    rounds: ratios.length,
    low: percentile(ratios, SPREAD.low),
    boxLow: percentile(ratios, SPREAD.boxLow),
    median: percentile(ratios, 50),
    boxHigh: percentile(ratios, SPREAD.boxHigh),
    high: percentile(ratios, SPREAD.high),
  }
}

function formatNs(ns) {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`
  return `${ns.toFixed(1)} ns`
}

function formatOps(ops) {
  if (ops < 10) return ops.toFixed(2)
  return Math.round(ops).toLocaleString('en-US')
}

function formatRatio(ratio) {
  if (!Number.isFinite(ratio)) return '–'
  return ratio >= 100 ? ratio.toFixed(0) : ratio.toFixed(2)
}

const escapeXml = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const escapeCell = (text) => text.replace(/\|/g, '\\|')

/** Which package a scenario measures: the longest package name it starts with (`schema-relations` → `schema`). */
function packageOf(scenario, packages) {
  const match = packages.filter((name) => scenario === name || scenario.startsWith(`${name}-`)).sort((a, b) => b.length - a.length)[0]
  return match ?? scenario
}

function readScenarios() {
  const scenarios = []
  for (const file of readdirSync(resultsDir)
    .filter((name) => name.endsWith('.json'))
    .sort()) {
    const data = JSON.parse(readFileSync(join(resultsDir, file), 'utf8'))
    if (typeof data.scenario === 'string' && Array.isArray(data.groups)) scenarios.push(data)
  }
  return scenarios
}

/** Every bench scenario that exists (src/<name>.bench.ts), to list the ones without JSON yet. */
function benchNames() {
  return readdirSync(join(here, 'src'))
    .filter((file) => file.endsWith('.bench.ts'))
    .map((file) => file.replace(/\.bench\.ts$/, ''))
    .sort()
}

/**
 * One chart: a row per non-baseline case, grouped under its group's title, on a log scale of the ratio to the
 * baseline, with a line at 1. Box = middle half of the rounds, whiskers = middle 80%, tick = median.
 */
function renderChart(title, scenarios) {
  const rows = []
  for (const scenario of scenarios) {
    for (const group of scenario.groups) {
      const [baseline, ...others] = group.cases
      if (!baseline || others.length === 0) continue
      rows.push({ heading: `${scenario.scenario}: ${group.title}`, baseline: baseline.name })
      for (const item of others) rows.push({ label: item.name, ratio: item.ratio, spread: spreadOf(baseline, item) })
    }
  }
  const values = rows.flatMap((row) => (row.spread ? [row.spread.low, row.spread.high, row.ratio] : [])).filter(Number.isFinite)
  const min = Math.min(0.5, ...values)
  const max = Math.max(2, ...values)
  const lowExp = Math.floor(Math.log2(min))
  const highExp = Math.ceil(Math.log2(max))
  const width = 960
  const labelWidth = 430
  const plotLeft = labelWidth + 10
  const plotRight = width - 30
  const rowHeight = 22
  const top = 54
  const height = top + rows.length * rowHeight + 40
  const x = (ratio) => plotLeft + ((Math.log2(ratio) - lowExp) / (highExp - lowExp)) * (plotRight - plotLeft)
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="bold" fill="#111">${escapeXml(title)}: ratio to baseline (log scale; above 1 is faster)</text>`,
    `<text x="12" y="40" fill="#555">box: middle half of the rounds, whiskers: ${SPREAD.low}th–${SPREAD.high}th percentile, tick: median of per-round ratios; dot: overall ratio</text>`,
  ]
  // Grid: one line per power of two, labelled.
  const stepExp = highExp - lowExp > 8 ? 2 : 1
  for (let exp = lowExp; exp <= highExp; exp += stepExp) {
    const ratio = 2 ** exp
    const gx = x(ratio).toFixed(1)
    parts.push(
      `<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${height - 30}" stroke="${exp === 0 ? '#333' : '#e3e3e3'}" stroke-width="${exp === 0 ? 1.5 : 1}"/>`,
    )
    const label = ratio >= 1 ? `${ratio}×` : `1/${1 / ratio}×`
    parts.push(`<text x="${gx}" y="${height - 14}" text-anchor="middle" fill="#444">${label}</text>`)
  }
  rows.forEach((row, i) => {
    const y = top + i * rowHeight + rowHeight / 2
    if (row.heading) {
      parts.push(`<text x="12" y="${y + 4}" font-weight="bold" fill="#222">${escapeXml(truncate(row.heading, 80))}</text>`)
      parts.push(
        `<text x="${plotRight}" y="${y + 4}" text-anchor="end" fill="#777">baseline: ${escapeXml(truncate(row.baseline, 50))}</text>`,
      )
      return
    }
    const { spread } = row
    parts.push(`<text x="24" y="${y + 4}" fill="#222">${escapeXml(truncate(row.label, 66))}</text>`)
    if (!Number.isFinite(spread.median)) return
    const colour = spread.median >= 1 ? '#2b7a3d' : '#b3402a'
    parts.push(
      `<line x1="${x(spread.low).toFixed(1)}" y1="${y}" x2="${x(spread.high).toFixed(1)}" y2="${y}" stroke="${colour}" stroke-width="1.5"/>`,
    )
    const boxLeft = x(spread.boxLow)
    parts.push(
      `<rect x="${boxLeft.toFixed(1)}" y="${y - 6}" width="${Math.max(1, x(spread.boxHigh) - boxLeft).toFixed(1)}" height="12" fill="${colour}" fill-opacity="0.35" stroke="${colour}"/>`,
    )
    parts.push(
      `<line x1="${x(spread.median).toFixed(1)}" y1="${y - 7}" x2="${x(spread.median).toFixed(1)}" y2="${y + 7}" stroke="${colour}" stroke-width="2.5"/>`,
    )
    parts.push(`<circle cx="${x(row.ratio).toFixed(1)}" cy="${y}" r="3" fill="#111"/>`)
    parts.push(`<text x="${(x(spread.high) + 6).toFixed(1)}" y="${y + 4}" fill="#333">${formatRatio(row.ratio)}</text>`)
  })
  parts.push('</svg>', '')
  return parts.join('\n')
}

function truncate(text, length) {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`
}

function machineText(machine) {
  return `Node ${machine.node}, ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}`
}

function groupTable(group) {
  const [baseline] = group.cases
  const lines = [
    `#### ${group.title}`,
    '',
    `| case | ratio to baseline | spread over rounds (p${SPREAD.low}–p${SPREAD.high}) | ops/s | p50 / op | p99 / op | client CPU / op |`,
    '|---|---:|---:|---:|---:|---:|---:|',
  ]
  for (const [i, item] of group.cases.entries()) {
    const spread = i === 0 ? undefined : spreadOf(baseline, item)
    const label = i === 0 ? `${item.name} (baseline)` : item.name
    const spreadCell = spread ? `${formatRatio(spread.low)}–${formatRatio(spread.high)} (${spread.rounds} rounds)` : ''
    const cells = [
      formatRatio(item.ratio),
      spreadCell,
      formatOps(item.opsPerSec),
      formatNs(item.p50Ns),
      formatNs(item.p99Ns),
      formatNs(item.cpuUsPerOp * 1e3),
    ]
    lines.push(`| ${escapeCell(label)} | ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

/** The versions worth naming for a scenario: the Tessera packages and the drivers and peers it compares against. */
function versionsText(scenario) {
  return Object.entries(scenario.versions ?? {})
    .map(([name, version]) => `${name} ${version}`)
    .join(', ')
}

export function buildReport() {
  const scenarios = readScenarios()
  const packages = existsSync(packagesDir) ? readdirSync(packagesDir) : []
  const byPackage = new Map()
  for (const scenario of scenarios) {
    const pkg = packageOf(scenario.scenario, packages)
    if (!byPackage.has(pkg)) byPackage.set(pkg, [])
    byPackage.get(pkg).push(scenario)
  }
  const withJson = new Set(scenarios.map((s) => s.scenario))
  const missing = benchNames().filter((name) => !withJson.has(name))

  const lines = [
    '# Benchmark results',
    '',
    '<!-- Generated by `node benchmarks/report.mjs` from benchmarks/results/*.json (written by `pnpm bench`). Do not edit. -->',
    '',
    'Every scenario runs its cases side by side in one process, interleaved round by round with the baseline (the first',
    'case of each table), on a 2-core machine shared with other work: read the ratios and the client CPU time per',
    'operation, which the load disturbs far less than throughput. **Ratio** = ops/s ÷ baseline ops/s over all rounds',
    `(above 1 is faster than the baseline). **Spread**: the ${SPREAD.low}th–${SPREAD.high}th percentile of the per-round ratios`,
    '(baseline time ÷ case time in the same round). **Client CPU / op**: the benchmark process’s CPU time (user + system)',
    '÷ operations. p50/p99 are per-operation times of fixed-size samples.',
    '',
  ]
  if (missing.length > 0) {
    lines.push(
      `Not in this page yet: ${missing.map((name) => (existsSync(join(resultsDir, `${name}.md`)) ? `[${name}](${name}.md)` : name)).join(', ')}.`,
      'Their last results (linked) were written before the benches wrote JSON; they fill in here on the next full `pnpm bench`.',
      '',
    )
  }
  lines.push('## Runs', '', '| scenario | run at (UTC) | machine |', '|---|---|---|')
  for (const scenario of scenarios) {
    lines.push(
      `| [${scenario.scenario}](#${scenario.scenario}) | ${scenario.machine.date.slice(0, 16).replace('T', ' ')} | ${machineText(scenario.machine)} |`,
    )
  }
  lines.push('')
  for (const [pkg, pkgScenarios] of [...byPackage].sort(([a], [b]) => a.localeCompare(b))) {
    const chart = `${pkg}.svg`
    writeFileSync(join(resultsDir, chart), renderChart(pkg, pkgScenarios))
    lines.push(`## ${pkg}`, '', `![${pkg}: ratios to baseline with their spread over rounds](${chart})`, '')
    for (const scenario of pkgScenarios) {
      lines.push(`### ${scenario.scenario}`, '', scenario.intro, '')
      lines.push(`Run ${scenario.machine.date} on ${machineText(scenario.machine)}.`, '')
      lines.push(`Versions: ${versionsText(scenario)}.`, '')
      for (const group of scenario.groups) lines.push(groupTable(group), '')
      if (scenario.notes.length > 0) lines.push('Notes:', '', ...scenario.notes.map((note) => `- ${note}`), '')
    }
  }
  writeFileSync(join(resultsDir, 'README.md'), lines.join('\n'))
  return { scenarios: scenarios.length, charts: byPackage.size, missing }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { scenarios, charts, missing } = buildReport()
  console.log(
    `wrote benchmarks/results/README.md: ${scenarios} scenarios, ${charts} charts${missing.length > 0 ? `; no JSON yet for ${missing.join(', ')}` : ''}`,
  )
}
