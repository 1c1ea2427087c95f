// Prints the one closing line CI reads, `N passed, N failed`, from vitest's JSON report.
// Exits non-zero when a test failed or the report is missing.
import { existsSync, readFileSync } from 'node:fs'

const path = process.argv[2] ?? '.reports/vitest.json'
if (!existsSync(path)) {
  console.log(`no test report at ${path}: the test run crashed before writing it`)
  console.log('0 passed, 1 failed')
  process.exit(1)
}
const report = JSON.parse(readFileSync(path, 'utf8'))
const passed = report.numPassedTests ?? 0
// Suites that failed to load count as failures too: their tests never ran.
const failedSuites = (report.testResults ?? []).filter((r) => r.status === 'failed' && (r.assertionResults ?? []).length === 0).length
const failed = (report.numFailedTests ?? 0) + failedSuites
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
console.log(skipped > 0 ? `${passed} passed, ${failed} failed, ${skipped} skipped` : `${passed} passed, ${failed} failed`)
process.exit(failed > 0 || report.success === false ? 1 : 0)
