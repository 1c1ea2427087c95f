import { type Token, tokenize } from './sql-lexer'

/** What {@link classifyStatement} found out about an SQL text. Every list is in order of first appearance. */
export interface StatementClassification {
  /**
   * Every statement in the text is a read that changes nothing and takes no locks: `SELECT`, `WITH … SELECT`,
   * `VALUES`, `TABLE`, `SHOW`, or `EXPLAIN` (with `ANALYZE` only of a read), with no data-modifying CTE, no
   * `FOR UPDATE/SHARE`, no `SELECT … INTO` and no call of a function known to write, take locks or change session
   * state. A user-defined function is not known to write: it is listed in {@link unknownFunctions}.
   */
  readOnly: boolean
  /**
   * Running the text twice may give different results with no write in between: a volatile function (`now()`,
   * `random()`, `nextval()`…), a time or session value (`current_timestamp`, `current_user`…), a `'now'` literal,
   * a system catalog or statistics view (`pg_*`, `information_schema`), `TABLESAMPLE`, `SHOW` or `EXPLAIN`.
   */
  volatile: boolean
  /**
   * Tables (and views) the text reads, as written: schema-qualified when written so, unquoted names folded to lower
   * case, names that need quotes quoted (`app."Users"`). CTE names are not tables.
   */
  tables: string[]
  /** Whether {@link tables} names everything read: false when a function it does not know may read other tables. */
  tablesKnown: boolean
  /** Tables the text writes: targets of `INSERT`, `UPDATE`, `DELETE`, `MERGE`, `TRUNCATE`, `COPY`, `REFRESH`. */
  writtenTables: string[]
  /**
   * Whether {@link writtenTables} names everything the text may change: false for DDL, `CALL`, `DO`, `EXECUTE`,
   * statements it does not know, and any call of a function it does not know.
   */
  writtenTablesKnown: boolean
  /** Functions called that are neither known to be free of side effects and stable nor known to be volatile. */
  unknownFunctions: string[]
  /** Statements in the text (empty ones not counted). */
  statementCount: number
  /** Why the text is not read-only, volatile, or has unknown tables: one short sentence each, for logs and stats. */
  reasons: string[]
}

/**
 * Classifies SQL text conservatively, for whoever must know whether running it changes anything (read retries,
 * read/write routing) or whether its result may be reused (query caches): a false "read-only" is a defect, a false
 * "write" only costs load. The text is read with PostgreSQL's lexical rules (comments, '…', E'…', $tag$…$tag$,
 * "…" identifiers), so keywords inside literals, identifiers and comments never count. A text with several
 * statements is read-only only if each is. An unterminated literal or comment, which PostgreSQL would reject, is
 * not read-only. A '…' literal holding a backslash is read twice (as if `standard_conforming_strings` were on, then
 * off) and the more cautious answer wins.
 *
 * @example
 * classifyStatement('SELECT nextval($1)').readOnly // false: nextval() writes a sequence
 * classifyStatement('WITH t AS (SELECT 1) SELECT * FROM app.users, t').tables // ['app.users']
 */
export function classifyStatement(text: string): StatementClassification {
  const standard = tokenize(text)
  const result = classifyTokens(standard.tokens, standard.unterminated)
  if (!standard.backslashInLiteral) return result
  const escaped = tokenize(text, true)
  return mostCautious(result, classifyTokens(escaped.tokens, escaped.unterminated))
}

/** Builds the classification of one text while its statements are walked. */
class Findings {
  readOnly = true
  volatile = false
  tablesKnown = true
  writtenTablesKnown = true
  statementCount = 0
  readonly tables = new Set<string>()
  readonly writtenTables = new Set<string>()
  readonly unknownFunctions = new Set<string>()
  readonly reasons = new Set<string>()

  write(reason: string): void {
    this.readOnly = false
    this.reasons.add(reason)
  }

  volatility(reason: string): void {
    this.volatile = true
    this.reasons.add(reason)
  }

  unknownReads(reason: string): void {
    this.tablesKnown = false
    this.reasons.add(reason)
  }

  result(): StatementClassification {
    return {
      readOnly: this.readOnly,
      volatile: this.volatile,
      tables: [...this.tables],
      tablesKnown: this.tablesKnown,
      writtenTables: [...this.writtenTables],
      writtenTablesKnown: this.writtenTablesKnown,
      unknownFunctions: [...this.unknownFunctions],
      statementCount: this.statementCount,
      reasons: [...this.reasons],
    }
  }
}

function classifyTokens(tokens: Token[], unterminated: boolean): StatementClassification {
  const findings = new Findings()
  if (unterminated) {
    findings.write('an unterminated literal, quoted identifier or comment (PostgreSQL would reject the text)')
    findings.writtenTablesKnown = false
  }
  let start = 0
  for (let i = 0; i <= tokens.length; i++) {
    const token = tokens[i]
    if (token !== undefined && !(token.kind === 'punctuation' && token.value === ';')) continue
    if (i > start) {
      findings.statementCount++
      new StatementWalker(tokens.slice(start, i), findings).walk()
    }
    start = i + 1
  }
  if (findings.statementCount === 0) findings.write('no statement')
  return findings.result()
}

function mostCautious(a: StatementClassification, b: StatementClassification): StatementClassification {
  const union = (x: string[], y: string[]) => [...new Set([...x, ...y])]
  return {
    readOnly: a.readOnly && b.readOnly,
    volatile: a.volatile || b.volatile,
    tables: union(a.tables, b.tables),
    tablesKnown: a.tablesKnown && b.tablesKnown,
    writtenTables: union(a.writtenTables, b.writtenTables),
    writtenTablesKnown: a.writtenTablesKnown && b.writtenTablesKnown,
    unknownFunctions: union(a.unknownFunctions, b.unknownFunctions),
    statementCount: Math.max(a.statementCount, b.statementCount),
    reasons: union(a.reasons, b.reasons),
  }
}

// ---- what the classifier knows ------------------------------------------------------------------------------

/** Statements that read and change nothing. */
const READ_VERBS = new Set(['select', 'with', 'values', 'table', 'show', 'explain'])
/** Statements that change no table's rows (session, transaction, cursor and maintenance commands); not reads either. */
const NO_DATA_VERBS = new Set([
  'set',
  'reset',
  'begin',
  'start',
  'commit',
  'end',
  'rollback',
  'abort',
  'savepoint',
  'release',
  'listen',
  'unlisten',
  'notify',
  'deallocate',
  'discard',
  'declare',
  'fetch',
  'move',
  'close',
  'checkpoint',
  'vacuum',
  'analyze',
  'analyse',
  'lock',
  'load',
  'prepare',
])
/** Statements whose written tables the walker names. */
const DML_VERBS = new Set(['insert', 'update', 'delete', 'merge', 'truncate', 'copy', 'refresh'])

/** Functions that write, take locks or change session state: a statement calling one is not read-only. */
const WRITING_FUNCTIONS = new Set([
  'nextval',
  'setval',
  'setseed',
  'txid_current',
  'pg_current_xact_id',
  'pg_notify',
  'set_config',
  'loread',
  'lowrite',
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_switch_wal',
  'pg_switch_xlog',
  'pg_create_restore_point',
  'pg_promote',
  'pg_wal_replay_pause',
  'pg_wal_replay_resume',
  'pg_backup_start',
  'pg_backup_stop',
  'pg_start_backup',
  'pg_stop_backup',
  'pg_create_physical_replication_slot',
  'pg_create_logical_replication_slot',
  'pg_copy_physical_replication_slot',
  'pg_copy_logical_replication_slot',
  'pg_drop_replication_slot',
  'pg_replication_slot_advance',
  'pg_logical_slot_get_changes',
  'pg_logical_slot_get_binary_changes',
  'pg_logical_emit_message',
  'pg_export_snapshot',
  'pg_import_system_collations',
  'pg_log_backend_memory_contexts',
  'brin_summarize_new_values',
  'brin_summarize_range',
  'brin_desummarize_range',
  'gin_clean_pending_list',
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema',
])
/** Prefixes of writing function families: advisory locks, large objects, dblink, statistics resets, file writes. */
const WRITING_PREFIXES = ['pg_advisory_', 'pg_try_advisory_', 'lo_', 'dblink', 'pg_stat_reset', 'pg_file_', 'pg_replication_origin_']
/** Writing functions that run arbitrary SQL, possibly on any table. */
const ARBITRARY_SQL_FUNCTIONS = new Set(['query_to_xml', 'query_to_xmlschema', 'query_to_xml_and_xmlschema'])

/** Functions free of side effects whose result may change between two runs with no write in between. */
const VOLATILE_FUNCTIONS = new Set([
  'now',
  'clock_timestamp',
  'statement_timestamp',
  'transaction_timestamp',
  'timeofday',
  'random',
  'random_normal',
  'gen_random_uuid',
  'gen_random_bytes',
  'gen_salt',
  'uuidv4',
  'uuidv7',
  'currval',
  'lastval',
  'pg_backend_pid',
  'pg_current_xact_id_if_assigned',
  'pg_current_snapshot',
  'pg_sleep',
  'pg_sleep_for',
  'pg_sleep_until',
  'current_setting',
  'pg_is_in_recovery',
  'pg_postmaster_start_time',
  'pg_conf_load_time',
  'pg_trigger_depth',
  'pg_my_temp_schema',
  'inet_client_addr',
  'inet_client_port',
  'inet_server_addr',
  'inet_server_port',
  'age',
  'pg_blocking_pids',
  'pg_safe_snapshot_blocking_pids',
  'pg_database_size',
  'pg_relation_size',
  'pg_total_relation_size',
  'pg_table_size',
  'pg_indexes_size',
  'current_schema',
  'current_schemas',
])
const VOLATILE_PREFIXES = ['uuid_generate_', 'txid_', 'pg_stat_', 'pg_last_', 'pg_current_wal', 'pg_wal_lsn', 'pg_is_wal_replay']

/** SQL value functions written without parentheses that read the clock or the session. */
const VOLATILE_KEYWORDS = new Set([
  'current_timestamp',
  'current_time',
  'current_date',
  'localtime',
  'localtimestamp',
  'current_user',
  'session_user',
  'current_role',
  'user',
  'system_user',
  'current_schema',
  'current_catalog',
])
/** String literals that PostgreSQL reads as the current time when cast to a date or time type. */
const VOLATILE_LITERALS = new Set(['now', 'today', 'tomorrow', 'yesterday'])

/** Built-in functions free of side effects whose result depends only on their arguments and the rows read. */
const STABLE_FUNCTIONS = new Set(
  `count sum avg min max array_agg string_agg json_agg jsonb_agg json_object_agg jsonb_object_agg bool_and bool_or every
  bit_and bit_or stddev stddev_pop stddev_samp variance var_pop var_samp percentile_cont percentile_disc mode corr
  covar_pop covar_samp xmlagg row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value
  nth_value coalesce nullif greatest least lower upper initcap length char_length character_length octet_length
  bit_length substring substr position strpos trim btrim ltrim rtrim lpad rpad replace regexp_replace regexp_match
  regexp_matches regexp_split_to_array regexp_split_to_table regexp_like regexp_count regexp_instr regexp_substr
  split_part concat concat_ws format left right repeat reverse translate starts_with md5 sha224 sha256 sha384 sha512
  encode decode convert_from convert_to to_hex ascii chr quote_ident quote_literal quote_nullable overlay
  string_to_array string_to_table array_to_string to_char to_number to_date to_timestamp normalize abs ceil ceiling
  floor round trunc sign sqrt cbrt power pow exp ln log log10 mod div pi degrees radians width_bucket gcd lcm
  factorial scale date_trunc date_part extract make_date make_time make_timestamp make_timestamptz make_interval
  justify_days justify_hours justify_interval date_bin isfinite timezone json_build_object jsonb_build_object
  json_build_array jsonb_build_array to_json to_jsonb row_to_json array_to_json json_object jsonb_object
  json_extract_path json_extract_path_text jsonb_extract_path jsonb_extract_path_text json_array_length
  jsonb_array_length json_each jsonb_each json_each_text jsonb_each_text json_array_elements jsonb_array_elements
  json_array_elements_text jsonb_array_elements_text json_object_keys jsonb_object_keys json_typeof jsonb_typeof
  jsonb_set jsonb_insert jsonb_pretty jsonb_strip_nulls json_strip_nulls jsonb_path_query jsonb_path_query_array
  jsonb_path_query_first jsonb_path_exists jsonb_path_match json_populate_record jsonb_populate_record json_to_record
  jsonb_to_record json_to_recordset jsonb_to_recordset json_populate_recordset jsonb_populate_recordset json_table
  xmltable xmlelement xmlforest xmlconcat array_length array_upper array_lower array_dims array_ndims cardinality
  array_append array_prepend array_cat array_remove array_replace array_position array_positions unnest array_fill
  generate_series generate_subscripts num_nonnulls num_nulls pg_typeof format_type to_tsvector to_tsquery
  plainto_tsquery phraseto_tsquery websearch_to_tsquery ts_rank ts_rank_cd ts_headline setweight current_database
  version`.split(/\s+/),
)

/** Keywords and type names that take parentheses without being a function call. */
const NOT_CALLS = new Set(
  `select from where and or not in exists any all some as on using join values cast case when then else end is
  between like ilike similar over filter within group partition order by row array lateral distinct union intersect
  except with recursive materialized returning set into table only having limit offset fetch window rollup cube
  grouping sets tablesample repeatable interval numeric decimal varchar char character varying bit timestamp time
  float double precision collate escape for of nulls first last asc desc default check references primary key
  unique foreign constraint if do nothing conflict update delete insert merge matched include`.split(/\s+/),
)

/** Keywords that end a FROM list at its own depth. */
const FROM_LIST_ENDS = new Set([
  'where',
  'group',
  'having',
  'window',
  'order',
  'limit',
  'offset',
  'fetch',
  'for',
  'union',
  'intersect',
  'except',
  'returning',
  'select',
  'values',
  'into',
  'set',
  'when',
])

/** Words that cannot start a relation name after FROM or JOIN: they start a subquery or another clause. */
const NOT_RELATIONS = new Set(['select', 'with', 'values', 'lateral', 'only', 'rows'])

function isWord(token: Token | undefined, value?: string): boolean {
  return token !== undefined && token.kind === 'word' && (value === undefined || token.value === value)
}

function isPunctuation(token: Token | undefined, value: string): boolean {
  return token !== undefined && token.kind === 'punctuation' && token.value === value
}

function isName(token: Token | undefined): boolean {
  return token !== undefined && (token.kind === 'word' || token.kind === 'quoted')
}

/** An identifier as PostgreSQL would print it: bare when it can be, quoted otherwise. */
function displayName(token: Token): string {
  if (token.kind === 'word' || /^[a-z_][a-z0-9_$]*$/.test(token.value)) return token.value
  return `"${token.value.replaceAll('"', '""')}"`
}

function isWritingFunction(name: string): boolean {
  return WRITING_FUNCTIONS.has(name) || WRITING_PREFIXES.some((prefix) => name.startsWith(prefix))
}

function isVolatileFunction(name: string): boolean {
  return VOLATILE_FUNCTIONS.has(name) || VOLATILE_PREFIXES.some((prefix) => name.startsWith(prefix))
}

/** A CTE name and where in the statement it stands for the CTE rather than a table of that name. */
interface CteScope {
  name: string
  from: number
  to: number
}

/** Walks one statement's tokens. */
class StatementWalker {
  /** Paren depth before each token; `closing[i]` is the index of the `)` matching a `(` at `i`. */
  private readonly depth: number[] = []
  private readonly closing = new Map<number, number>()
  private readonly ctes: CteScope[] = []
  /** Token indexes that name a CTE or an alias column list, not a function. */
  private readonly notCalls = new Set<number>()
  /** Depths at which a FROM list is open (a `,` there starts another FROM item). */
  private readonly fromLists = new Set<number>()

  constructor(
    private readonly tokens: Token[],
    private readonly findings: Findings,
  ) {
    const open: number[] = []
    let depth = 0
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i] as Token
      if (token.kind === 'punctuation' && (token.value === ')' || token.value === ']')) {
        depth = Math.max(0, depth - 1)
        const opened = open.pop()
        if (opened !== undefined) this.closing.set(opened, i)
      }
      this.depth.push(depth)
      if (token.kind === 'punctuation' && (token.value === '(' || token.value === '[')) {
        depth++
        open.push(i)
      }
    }
  }

  walk(): void {
    const tokens = this.tokens
    const findings = this.findings
    let first = 0
    while (isPunctuation(tokens[first], '(')) first++
    const verbToken = tokens[first]
    const verb = verbToken?.kind === 'word' ? verbToken.value : ''
    if (verb === 'explain') {
      this.walkExplain(first + 1)
      return
    }
    if (!READ_VERBS.has(verb) && !DML_VERBS.has(verb)) {
      const shown = verb === '' ? 'a statement that does not start with a keyword' : verb.toUpperCase()
      findings.write(`${shown} is not a read-only statement`)
      // COMMIT PREPARED and ROLLBACK PREPARED end a transaction prepared elsewhere; PREPARE TRANSACTION too.
      const prepared = isWord(tokens[first + 1], 'prepared') || (verb === 'prepare' && isWord(tokens[first + 1], 'transaction'))
      if (!NO_DATA_VERBS.has(verb) || prepared) findings.writtenTablesKnown = false
      // Nothing in it is read or run now (DDL, session and transaction commands): its words are not walked.
      return
    }
    if (verb === 'show') {
      findings.volatility('SHOW reads a session setting')
      return
    }
    if (verb === 'table') this.relation(first + 1, 'read')
    this.collectCtes()
    for (let i = first; i < tokens.length; i++) this.visit(i)
  }

  /** EXPLAIN [ANALYZE] [VERBOSE] stmt, or EXPLAIN (option [value], …) stmt: only ANALYZE runs the statement. */
  private walkExplain(from: number): void {
    const tokens = this.tokens
    let analyze = false
    let i = from
    if (isPunctuation(tokens[i], '(')) {
      const end = this.closing.get(i) ?? tokens.length - 1
      for (let j = i + 1; j < end; j++) {
        if (!isWord(tokens[j], 'analyze') && !isWord(tokens[j], 'analyse')) continue
        const value = tokens[j + 1]
        const off = value !== undefined && ['false', 'off', '0'].includes(value.value.toLowerCase()) && value.kind !== 'quoted'
        if (!off) analyze = true
      }
      i = end + 1
    } else {
      while (isWord(tokens[i]) && ['analyze', 'analyse', 'verbose'].includes(tokens[i]?.value ?? '')) {
        if (tokens[i]?.value !== 'verbose') analyze = true
        i++
      }
    }
    const inner = new Findings()
    new StatementWalker(this.tokens.slice(i), inner).walk()
    const findings = this.findings
    findings.volatility('EXPLAIN output depends on planner statistics and settings')
    for (const table of inner.tables) findings.tables.add(table)
    for (const table of inner.writtenTables) findings.tables.add(table)
    if (!inner.tablesKnown || !inner.writtenTablesKnown) findings.unknownReads('EXPLAIN of a statement whose tables are not all known')
    for (const name of inner.unknownFunctions) findings.unknownFunctions.add(name)
    if (!analyze) return
    // EXPLAIN ANALYZE runs the statement: it is what the statement is.
    if (!inner.readOnly) findings.write('EXPLAIN ANALYZE runs a statement that is not read-only')
    for (const reason of inner.reasons) findings.reasons.add(reason)
    if (!inner.writtenTablesKnown) findings.writtenTablesKnown = false
    for (const table of inner.writtenTables) findings.writtenTables.add(table)
  }

  /** Finds `WITH [RECURSIVE] name [(columns)] AS [NOT] [MATERIALIZED] (…)` lists and where each name is visible. */
  private collectCtes(): void {
    const tokens = this.tokens
    for (let i = 0; i < tokens.length; i++) {
      if (!isWord(tokens[i], 'with')) continue
      const depth = this.depth[i] as number
      // The scope ends where the enclosing parentheses close.
      let scopeEnd = tokens.length
      for (let j = i + 1; j < tokens.length; j++) {
        if ((this.depth[j] as number) < depth) {
          scopeEnd = j
          break
        }
      }
      let j = i + 1
      const recursive = isWord(tokens[j], 'recursive')
      if (recursive) j++
      for (;;) {
        const name = tokens[j]
        if (!isName(name)) break
        this.notCalls.add(j)
        j++
        if (isPunctuation(tokens[j], '(')) j = (this.closing.get(j) ?? tokens.length) + 1
        if (!isWord(tokens[j], 'as')) break
        j++
        if (isWord(tokens[j], 'not')) j++
        if (isWord(tokens[j], 'materialized')) j++
        if (!isPunctuation(tokens[j], '(')) break
        const bodyEnd = this.closing.get(j) ?? tokens.length
        // Inside its own body a non-recursive CTE's name still means the table of that name.
        this.ctes.push({ name: displayName(name as Token), from: recursive ? i : bodyEnd, to: scopeEnd })
        j = bodyEnd + 1
        if (!isPunctuation(tokens[j], ',')) break
        j++
      }
    }
  }

  private isCte(name: string, at: number): boolean {
    return this.ctes.some((cte) => cte.name === name && at >= cte.from && at < cte.to)
  }

  private visit(i: number): void {
    const tokens = this.tokens
    const token = tokens[i] as Token
    const findings = this.findings
    const depth = this.depth[i] as number
    if (token.kind === 'string') {
      if (VOLATILE_LITERALS.has(token.value.trim().toLowerCase())) {
        findings.volatility(`the literal '${token.value.trim()}' is the current time when cast to a date or time`)
      }
      return
    }
    if (token.kind === 'punctuation') {
      if (token.value === ',' && this.fromLists.has(depth)) this.fromItem(i + 1)
      // Leaving parentheses closes the FROM lists opened inside them.
      if (token.value === ')' || token.value === ']') for (const open of this.fromLists) if (open > depth) this.fromLists.delete(open)
      return
    }
    if (token.kind === 'quoted') {
      if (isPunctuation(tokens[i + 1], '(') && !this.notCalls.has(i)) this.call(i)
      return
    }
    if (token.kind !== 'word') return
    const word = token.value
    const previous = tokens[i - 1]
    if (isPunctuation(tokens[i + 1], '(') && !this.notCalls.has(i) && !NOT_CALLS.has(word) && !isWord(previous, 'as')) {
      if (!isPunctuation(previous, ')') && !(previous?.kind === 'operator' && previous.value === '::')) this.call(i)
    }
    if (FROM_LIST_ENDS.has(word)) this.fromLists.delete(depth)
    switch (word) {
      case 'from':
        if (isWord(previous, 'distinct') || isWord(previous, 'rows')) return
        if (this.isDeleteTarget(i)) {
          this.relation(this.skipOnly(i + 1), 'write')
          return
        }
        this.fromLists.add(depth)
        this.fromItem(i + 1)
        return
      case 'join':
        this.fromItem(i + 1)
        return
      case 'using':
        // JOIN … USING (columns) names columns; DELETE … USING and MERGE … USING name tables.
        if (!isName(tokens[i + 1]) && !isPunctuation(tokens[i + 1], '(')) return
        if (isPunctuation(tokens[i + 1], '(') && !isWord(tokens[i + 2], 'select') && !isWord(tokens[i + 2], 'with')) return
        this.fromLists.add(depth)
        this.fromItem(i + 1)
        return
      case 'into':
        if (isWord(previous, 'insert') || isWord(previous, 'merge')) {
          this.relation(this.skipOnly(i + 1), 'write')
          return
        }
        findings.write('SELECT … INTO creates a table')
        findings.writtenTablesKnown = false
        return
      case 'update':
        if (isWord(previous, 'for') || isWord(previous, 'key')) {
          findings.write(`FOR ${isWord(previous, 'key') ? 'NO KEY ' : ''}UPDATE takes row locks`)
          return
        }
        findings.write('UPDATE writes rows')
        if (!isWord(previous, 'do') && !isWord(previous, 'then')) this.relation(this.skipOnly(i + 1), 'write')
        return
      case 'share':
        if (isWord(previous, 'for') || (isWord(previous, 'key') && isWord(tokens[i - 2], 'for'))) {
          findings.write(`FOR ${isWord(previous, 'key') ? 'KEY ' : ''}SHARE takes row locks`)
        }
        return
      case 'insert':
      case 'delete':
      case 'merge':
        findings.write(`${word.toUpperCase()} writes rows`)
        return
      case 'truncate':
      case 'copy':
      case 'refresh':
        findings.write(`${word.toUpperCase()} writes rows`)
        if (depth === 0 && i <= this.verbIndex()) this.writeTargets(i + 1)
        return
      case 'tablesample':
        // TABLESAMPLE BERNOULLI (10): a sampling method, not a function call.
        this.notCalls.add(i + 1)
        findings.volatility('TABLESAMPLE returns a random sample')
        return
      case 'table':
        if (
          i > 0 &&
          (isPunctuation(previous, '(') || ['union', 'intersect', 'except', 'all', 'distinct'].includes(previous?.value ?? ''))
        ) {
          this.relation(i + 1, 'read')
        }
        return
    }
    if (
      VOLATILE_KEYWORDS.has(word) &&
      !isPunctuation(tokens[i + 1], '(') &&
      !isPunctuation(previous, '.') &&
      !isPunctuation(tokens[i + 1], '.')
    ) {
      findings.volatility(`${word.toUpperCase()} reads the clock or the session`)
    }
  }

  private verbIndex(): number {
    let first = 0
    while (isPunctuation(this.tokens[first], '(')) first++
    return first
  }

  /** `DELETE FROM t`: the FROM right after DELETE names the target. */
  private isDeleteTarget(i: number): boolean {
    return isWord(this.tokens[i - 1], 'delete')
  }

  private skipOnly(i: number): number {
    return isWord(this.tokens[i], 'only') ? i + 1 : i
  }

  /** `TRUNCATE [TABLE] [ONLY] a, b`, `COPY t`, `REFRESH MATERIALIZED VIEW [CONCURRENTLY] v`. */
  private writeTargets(from: number): void {
    let i = from
    while (isWord(this.tokens[i]) && ['table', 'only', 'materialized', 'view', 'concurrently'].includes(this.tokens[i]?.value ?? '')) i++
    for (;;) {
      const next = this.relation(this.skipOnly(i), 'write')
      if (next === undefined || !isPunctuation(this.tokens[next], ',')) return
      i = next + 1
    }
  }

  /** One FROM item at `i`: a relation, a function call, a subquery, or a parenthesised join. */
  private fromItem(i: number): void {
    const tokens = this.tokens
    while (isWord(tokens[i], 'only') || isWord(tokens[i], 'lateral')) i++
    const token = tokens[i]
    if (isPunctuation(token, '(')) {
      const inner = tokens[i + 1]
      if (isWord(inner) && ['select', 'with', 'values', 'table'].includes(inner?.value ?? '')) return
      // A parenthesised join: its items are FROM items too.
      this.fromLists.add((this.depth[i] as number) + 1)
      this.fromItem(i + 1)
      return
    }
    if (!isName(token) || (token?.kind === 'word' && NOT_RELATIONS.has(token.value))) return
    this.relation(i, 'read')
  }

  /**
   * A (possibly qualified) name at `i`, recorded as a read or written table unless it is a CTE or a function call.
   * Returns the index after the name, or undefined when there was none.
   */
  private relation(i: number, use: 'read' | 'write'): number | undefined {
    const tokens = this.tokens
    if (!isName(tokens[i])) return undefined
    const parts = [displayName(tokens[i] as Token)]
    let j = i + 1
    while (isPunctuation(tokens[j], '.') && isName(tokens[j + 1])) {
      parts.push(displayName(tokens[j + 1] as Token))
      j += 2
    }
    // A set-returning function in FROM: visit() judges the call.
    if (use === 'read' && isPunctuation(tokens[j], '(')) return j
    const name = parts.join('.')
    if (parts.length === 1 && this.isCte(name, i)) return j
    const findings = this.findings
    if (use === 'write') {
      findings.writtenTables.add(name)
      // INSERT INTO t (columns): a column list, not a call.
      this.notCalls.add(j - 1)
      return j
    }
    findings.tables.add(name)
    const schema = parts.length > 1 ? parts[parts.length - 2] : undefined
    const table = parts[parts.length - 1] as string
    if (schema === 'pg_catalog' || schema === 'information_schema' || (schema === undefined && table.startsWith('pg_'))) {
      findings.volatility(`reads the system catalog ${name}, which changes without a write to a table`)
    }
    return j
  }

  /** A function call at `i` (its name, possibly qualified, ends at `i`; `(` follows). */
  private call(i: number): void {
    const tokens = this.tokens
    const findings = this.findings
    const token = tokens[i] as Token
    let start = i
    while (isPunctuation(tokens[start - 1], '.') && isName(tokens[start - 2])) start -= 2
    const schema = start < i ? (tokens[i - 2] as Token).value : undefined
    const name = token.value
    const qualified = schema === undefined ? name : `${schema}.${name}`
    const builtIn = schema === undefined || schema === 'pg_catalog'
    if (builtIn && name === 'set_config' && this.isLocalSetConfig(i + 1)) {
      findings.volatility('set_config(…, true) changes a transaction-local setting')
      return
    }
    if (builtIn && isWritingFunction(name)) {
      findings.write(`calls ${name}(), which writes, takes locks or changes session state`)
      findings.volatility(`calls ${name}(), whose result changes from call to call`)
      if (ARBITRARY_SQL_FUNCTIONS.has(name) || name.startsWith('dblink')) {
        findings.writtenTablesKnown = false
        findings.unknownReads(`calls ${name}(), which runs SQL the classifier cannot see`)
      }
      return
    }
    if (builtIn && isVolatileFunction(name)) {
      findings.volatility(`calls ${name}(), which is volatile`)
      return
    }
    if (builtIn && STABLE_FUNCTIONS.has(name)) return
    findings.unknownFunctions.add(qualified)
    findings.writtenTablesKnown = false
    findings.unknownReads(`calls ${qualified}(), which the classifier does not know (it may read other tables)`)
  }

  /** `set_config(name, value, true)`: the third argument is the literal `true`. */
  private isLocalSetConfig(open: number): boolean {
    const tokens = this.tokens
    const close = this.closing.get(open)
    if (close === undefined) return false
    const depth = this.depth[open + 1] as number
    const commas: number[] = []
    for (let j = open + 1; j < close; j++) {
      if (isPunctuation(tokens[j], ',') && this.depth[j] === depth) commas.push(j)
    }
    if (commas.length !== 2) return false
    const last = commas[1] as number
    const isLocal = tokens[last + 1]
    if (last + 2 !== close || isLocal === undefined) return false
    return (
      (isLocal.kind === 'word' && isLocal.value === 'true') ||
      (isLocal.kind === 'string' && ['t', 'true', 'on'].includes(isLocal.value.toLowerCase()))
    )
  }
}
