// Prints the one closing line CI reads, `N passed, N failed`, from vitest's JSON reports.
// Given several reports (one per Node version, the install smoke test), prints one line per report first and the
// total of all of them last. Exits non-zero when a test failed or a report is missing.
import { existsSync, readFileSync } from 'node:fs'

const paths = process.argv.length > 2 ? process.argv.slice(2) : ['.reports/vitest.json']

function count(path) {
  if (!existsSync(path)) return { passed: 0, failed: 1, skipped: 0, success: false, missing: true }
  const report = JSON.parse(readFileSync(path, 'utf8'))
  // Suites that failed to load count as failures too: their tests never ran.
  const failedSuites = (report.testResults ?? []).filter((r) => r.status === 'failed' && (r.assertionResults ?? []).length === 0).length
  return {
    passed: report.numPassedTests ?? 0,
    failed: (report.numFailedTests ?? 0) + failedSuites,
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
    success: report.success !== false,
    missing: false,
  }
}

function line({ passed, failed, skipped }) {
  return skipped > 0 ? `${passed} passed, ${failed} failed, ${skipped} skipped` : `${passed} passed, ${failed} failed`
}

const total = { passed: 0, failed: 0, skipped: 0, success: true }
for (const path of paths) {
  const counts = count(path)
  if (counts.missing) console.log(`no test report at ${path}: the test run crashed before writing it`)
  if (paths.length > 1) console.log(`${path}: ${line(counts)}`)
  total.passed += counts.passed
  total.failed += counts.failed
  total.skipped += counts.skipped
  total.success &&= counts.success
}
console.log(line(total))
process.exit(total.failed > 0 || !total.success ? 1 : 0)
