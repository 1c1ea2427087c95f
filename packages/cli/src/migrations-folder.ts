import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Migration } from '@tessera/schema'
import type { Jiti } from 'jiti'
import { usageError } from './cli-error'

/** `<digits>_<name>.<ext>`: the id is the digits (as text), the name the rest. */
const FILE_PATTERN = /^(\d+)_([^.]+)\.(sql|ts|mts|cts|js|mjs|cjs)$/
const MODULE_EXTENSIONS = new Set(['ts', 'mts', 'cts', 'js', 'mjs', 'cjs'])
const UP_MARKER = /^--\s*tessera:up\s*$/m
const DOWN_MARKER = /^--\s*tessera:down\s*$/m
const NO_TRANSACTION_MARKER = /^--\s*tessera:no-transaction\s*$/m

/** A migration file of the folder. */
export interface MigrationFile {
  id: string
  name: string
  file: string
}

/** The migration files of `directory`, sorted by id; a duplicate id or a `.sql` file without an id is a usage error. */
export function listMigrationFiles(directory: string): MigrationFile[] {
  if (!existsSync(directory)) return []
  const files: MigrationFile[] = []
  const problems: string[] = []
  const seen = new Map<string, string>()
  for (const entry of readdirSync(directory).sort()) {
    if (entry.endsWith('.d.ts')) continue
    const match = FILE_PATTERN.exec(entry)
    if (match === null) {
      if (entry.endsWith('.sql')) problems.push(`${entry} is not named <id>_<name>.sql (id: digits, e.g. 20250101120000_create_users.sql)`)
      continue
    }
    const [, id = '', name = ''] = match
    const other = seen.get(id)
    if (other !== undefined) problems.push(`${entry} and ${other} have the same id ${id}`)
    seen.set(id, entry)
    files.push({ id, name, file: join(directory, entry) })
  }
  if (problems.length > 0) throw usageError(`migrations folder ${directory}: ${problems.join('; ')}`)
  return files.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** SQL that is only comments and whitespace is no step. */
function hasStatements(text: string): boolean {
  return text.replace(/--[^\n]*/g, '').trim() !== ''
}

/**
 * Parses a `.sql` migration: the part after `-- tessera:up` (or the whole file without markers) is `up`, the part
 * after `-- tessera:down` is `down`; `-- tessera:no-transaction` runs it outside a transaction.
 */
export function parseSqlMigration(file: MigrationFile, text: string): Migration {
  const downAt = text.search(DOWN_MARKER)
  const upMatch = UP_MARKER.exec(text)
  const upStart = upMatch === null ? 0 : upMatch.index + upMatch[0].length
  if (downAt >= 0 && downAt < upStart) throw usageError(`migration ${file.file} has -- tessera:down before -- tessera:up`)
  const up = (downAt >= 0 ? text.slice(upStart, downAt) : text.slice(upStart)).trim()
  const down = downAt >= 0 ? text.slice(downAt).replace(DOWN_MARKER, '').trim() : ''
  if (!hasStatements(up)) throw usageError(`migration ${file.file} has no up statements`)
  const outside = NO_TRANSACTION_MARKER.test(text)
  const base = { id: file.id, name: file.name }
  if (outside) return { ...base, transaction: false, up, ...(hasStatements(down) ? { down } : {}) }
  return { ...base, up, ...(hasStatements(down) ? { down } : {}) }
}

/** Reads every migration of `directory`: `.sql` files, and modules exporting `up` (and `down`, `transaction`, `checksum`). */
export async function loadMigrations(directory: string, loader: Jiti): Promise<Migration[]> {
  const migrations: Migration[] = []
  for (const file of listMigrationFiles(directory)) {
    const extension = file.file.slice(file.file.lastIndexOf('.') + 1)
    if (!MODULE_EXTENSIONS.has(extension)) {
      migrations.push(parseSqlMigration(file, readFileSync(file.file, 'utf8')))
      continue
    }
    let loaded: Record<string, unknown>
    try {
      const module = (await loader.import(pathToFileURL(file.file).href)) as Record<string, unknown>
      loaded = (typeof module.default === 'object' && module.default !== null ? module.default : module) as Record<string, unknown>
    } catch (error) {
      throw usageError(
        `cannot load migration ${file.file}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
        error,
      )
    }
    if (loaded.up === undefined) throw usageError(`migration ${file.file} exports no up step (export const up = async (tx) => { … })`)
    migrations.push({ ...loaded, id: file.id, name: file.name } as Migration)
  }
  return migrations
}

/** A name for a file: `Add users table` → `add_users_table`. */
export function slug(name: string): string {
  const slugged = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
  if (slugged === '') throw usageError(`migration name ${JSON.stringify(name)} has no letters or digits`)
  return slugged
}

function timestampId(now: Date): string {
  return now.toISOString().replace(/[-:T]/g, '').slice(0, 14)
}

/**
 * The next ids after the folder's: a UTC timestamp `YYYYMMDDHHMMSS` (one more than the latest id when that is not
 * smaller), or, in a folder numbered `001`, `002`…, the next numbers at the same width.
 */
export function nextIds(existing: readonly string[], count: number, now = new Date()): string[] {
  const latest = existing.at(-1)
  const ids: string[] = []
  if (latest !== undefined && latest.length < 14) {
    for (let i = 1; i <= count; i++) ids.push((BigInt(latest) + BigInt(i)).toString().padStart(latest.length, '0'))
    return ids
  }
  let next = BigInt(timestampId(now))
  if (latest !== undefined && BigInt(latest) >= next) next = BigInt(latest) + 1n
  for (let i = 0; i < count; i++) ids.push((next + BigInt(i)).toString())
  return ids
}

/** Writes new `.sql` migrations (the folder is created if missing) and returns their paths. */
export function writeMigrationFiles(
  directory: string,
  entries: readonly { name: string; up: string; down?: string | undefined; header?: string | undefined }[],
): string[] {
  mkdirSync(directory, { recursive: true })
  const ids = nextIds(
    listMigrationFiles(directory).map((file) => file.id),
    entries.length,
  )
  return entries.map((entry, index) => {
    const file = join(directory, `${ids[index]}_${slug(entry.name)}.sql`)
    const header = entry.header === undefined ? '' : `${entry.header.trimEnd()}\n`
    const down = entry.down ?? '-- Write the statements that revert this migration here.'
    writeFileSync(file, `${header}-- tessera:up\n${entry.up.trimEnd()}\n\n-- tessera:down\n${down.trimEnd()}\n`, { flag: 'wx' })
    return file
  })
}
