import {
  CLASSICAL_PLURALS,
  COMPOUND_IRREGULARS,
  IE_NOUNS,
  IRREGULAR_NOUNS,
  NOT_COMPOUND_PLURALS,
  PLURAL_RULES,
  type Rule,
  SINGULAR_RULES,
  U_NOUNS,
  UNCOUNTABLE_NOUNS,
  UNCOUNTABLE_SUFFIXES,
} from './inflection-rules'
import { assertName, NamingError } from './naming-error'

/** Plural and singular forms of English nouns. The default one is frozen and shared. */
export interface ReadonlyInflector {
  /**
   * The plural of the last word of `name`, keeping the case of its first letter (all-caps stays
   * all-caps). A word that is already plural is returned unchanged.
   * @example
   * pluralize('user_category') // 'user_categories'
   * pluralize('Person')        // 'People'
   */
  pluralize(name: string): string
  /**
   * The singular of the last word of `name`, keeping the case of its first letter.
   * @example
   * singularize('UserCategories') // 'UserCategory'
   */
  singularize(name: string): string
  /**
   * True if `word` (one word, any case) has no plural: `sheep`, `news`…
   * @example
   * isUncountable('Equipment') // true
   */
  isUncountable(word: string): boolean
}

/** An inflector you own and may extend. */
export interface Inflector extends ReadonlyInflector {
  /**
   * Teaches this inflector an irregular pair (single words, letters only, matched case-insensitively
   * against the last word of a name). Later pairs win over earlier ones and over the rules.
   * Returns the inflector, for chaining.
   * @throws {NamingError} if either form is not a single word of letters.
   * @example
   * createInflector().addIrregular('cactus', 'cacti').pluralize('cactus') // 'cacti'
   */
  addIrregular(singular: string, plural: string): Inflector
  /**
   * Marks a word as having no plural. Returns the inflector, for chaining.
   * @throws {NamingError} if `word` is not a single word of letters.
   * @example
   * createInflector().addUncountable('staff').pluralize('staff') // 'staff'
   */
  addUncountable(word: string): Inflector
}

/** Options for {@link createInflector}. */
export interface InflectorOptions {
  /** Extra irregular pairs, singular → plural, added after the built-in ones. Default: none. */
  irregulars?: Readonly<Record<string, string>> | undefined
  /** Extra uncountable words. Default: none. */
  uncountables?: readonly string[] | undefined
}

export { IRREGULAR_NOUNS, UNCOUNTABLE_NOUNS } from './inflection-rules'

function applyRules(word: string, rules: readonly Rule[]): string {
  for (const [pattern, replacement] of rules) {
    if (pattern.test(word)) return word.replace(pattern, replacement)
  }
  return word
}

const IE_SET: ReadonlySet<string> = new Set(IE_NOUNS)
const U_SET: ReadonlySet<string> = new Set(U_NOUNS)
const NOT_COMPOUND: readonly string[] = NOT_COMPOUND_PLURALS

/** The regular plural of a word no list names: -u and -ie nouns add s, everything else follows the rules. */
function regularPlural(word: string): string {
  if (U_SET.has(word) || IE_SET.has(word)) return `${word}s`
  return applyRules(word, PLURAL_RULES)
}

/** The regular singular: -us and -ies plurals of -u and -ie nouns first, then the rules. */
function regularSingular(word: string): string {
  if (word.endsWith('s')) {
    const stem = word.slice(0, -1)
    if (U_SET.has(stem) || IE_SET.has(stem)) return stem
  }
  return applyRules(word, SINGULAR_RULES)
}

/** The compound irregular `word` ends with (`fireman` → `man`), longest first, or `undefined`. */
function compoundEnding(word: string, forms: readonly string[], exceptions: (form: string) => readonly string[]): string | undefined {
  let found: string | undefined
  for (const form of forms) {
    if (word.length <= form.length || !word.endsWith(form)) continue
    if (found !== undefined && found.length >= form.length) continue
    // An exception longer than the form (`omen` for `men`) names a word that only ends like it; `women` is no `omen`.
    if (exceptions(form).some((exception) => exception.length > form.length && word.endsWith(exception))) continue
    found = form
  }
  return found
}

const WORD = /^\p{L}+$/u
const UPPER = /^\p{Lu}$/u
const LOWER_OR_DIGIT = /^[\p{Ll}\p{N}]$/u
const UPPER_OR_DIGIT = /^[\p{Lu}\p{N}]$/u
const ALNUM = /^[\p{L}\p{N}]$/u

interface LastWord {
  head: string
  word: string
  tail: string
}

/** Finds the last word of a compound in any case style: `user_category`, `UserCategory`, `USER_CATEGORY`. */
function lastWord(name: string): LastWord | undefined {
  let end = name.length
  while (end > 0 && !ALNUM.test(name[end - 1] as string)) end--
  if (end === 0) return undefined
  let start = end
  if (UPPER.test(name[end - 1] as string)) {
    while (start > 0 && UPPER_OR_DIGIT.test(name[start - 1] as string)) start--
  } else {
    while (start > 0 && LOWER_OR_DIGIT.test(name[start - 1] as string)) start--
    if (start > 0 && UPPER.test(name[start - 1] as string)) start--
  }
  return { head: name.slice(0, start), word: name.slice(start, end), tail: name.slice(end) }
}

/** Gives `replacement` (lower-case) the case shape of `original`: `Person` → `People`, `PERSON` → `PEOPLE`. */
function matchCase(original: string, replacement: string): string {
  if (original.length > 1 && original === original.toUpperCase() && original !== original.toLowerCase()) {
    return replacement.toUpperCase()
  }
  const first = original.charAt(0)
  if (UPPER.test(first)) return replacement.charAt(0).toUpperCase() + replacement.slice(1)
  return replacement
}

const INFLECTABLE = 'a string whose last word contains letters, e.g. "user_category" or "UserCategory"'

/**
 * Creates an inflector you can extend with your own irregular and uncountable words. The shared
 * default ({@link defaultInflector}) is frozen, so one library's additions never leak into another's.
 *
 * @example
 * const inflector = createInflector({ irregulars: { cactus: 'cacti' } })
 * inflector.addUncountable('staff')
 * inflector.pluralize('garden_cactus') // 'garden_cacti'
 */
export function createInflector(options: InflectorOptions = {}): Inflector {
  const toPlural = new Map<string, string>()
  const toSingular = new Map<string, string>()
  const uncountable = new Set<string>()

  const addIrregular = (singular: string, plural: string): Inflector => {
    checkWord(singular)
    checkWord(plural)
    toPlural.set(singular.toLowerCase(), plural.toLowerCase())
    toSingular.set(plural.toLowerCase(), singular.toLowerCase())
    return inflector
  }
  const addUncountable = (word: string): Inflector => {
    checkWord(word)
    uncountable.add(word.toLowerCase())
    return inflector
  }

  const isMass = (word: string): boolean =>
    uncountable.has(word) || UNCOUNTABLE_SUFFIXES.some((suffix) => word.length > suffix.length && word.endsWith(suffix))

  // Compound irregulars (`fireman`, `grandchildren`) come from the built-in list only: a pair you add is one word.
  const compoundSingulars = Object.keys(COMPOUND_IRREGULARS)
  const compoundPlurals = compoundSingulars.map((one) => IRREGULAR_NOUNS[one] as string)
  const pluralOfCompound = (word: string): string | undefined => {
    const ending = compoundEnding(word, compoundSingulars, (form) => COMPOUND_IRREGULARS[form] ?? [])
    return ending === undefined ? undefined : word.slice(0, -ending.length) + (IRREGULAR_NOUNS[ending] as string)
  }
  const singularOfCompound = (word: string): string | undefined => {
    const ending = compoundEnding(word, compoundPlurals, () => NOT_COMPOUND)
    if (ending === undefined) return undefined
    const one = compoundSingulars[compoundPlurals.indexOf(ending)] as string
    return word.slice(0, -ending.length) + one
  }

  // Lists first (uncountable, irregular, compound, classical), then the rules. A word already in the asked-for
  // form comes back unchanged: an irregular or classical plural, or a word the rules read as a plural of a
  // singular that the rules turn back into it (`menus`, `users`).
  const plural = (word: string): string => {
    if (isMass(word)) return word
    const irregular = toPlural.get(word)
    if (irregular !== undefined) return irregular
    if (toSingular.has(word) || Object.hasOwn(CLASSICAL_PLURALS, word)) return word
    const compound = pluralOfCompound(word)
    if (compound !== undefined) return compound
    if (singularOfCompound(word) !== undefined) return word
    const singularGuess = regularSingular(word)
    if (singularGuess !== word && regularPlural(singularGuess) === word) return word
    return regularPlural(word)
  }
  const singular = (word: string): string => {
    if (isMass(word)) return word
    const irregular = toSingular.get(word)
    if (irregular !== undefined) return irregular
    if (toPlural.has(word)) return word
    if (Object.hasOwn(CLASSICAL_PLURALS, word)) return CLASSICAL_PLURALS[word] as string
    const compound = singularOfCompound(word)
    if (compound !== undefined) return compound
    if (pluralOfCompound(word) !== undefined) return word
    const pluralGuess = regularPlural(word)
    if (pluralGuess !== word && regularSingular(pluralGuess) === word) return word
    return regularSingular(word)
  }
  const inflect = (name: string, convert: (word: string) => string): string => {
    assertName(name, INFLECTABLE)
    const parts = lastWord(name)
    if (parts === undefined || !/\p{L}/u.test(parts.word)) {
      throw new NamingError({ input: name, reason: 'its last word has no letters', accepted: INFLECTABLE })
    }
    return parts.head + matchCase(parts.word, convert(parts.word.toLowerCase())) + parts.tail
  }

  const inflector: Inflector = {
    pluralize: (name) => inflect(name, plural),
    singularize: (name) => inflect(name, singular),
    isUncountable: (word) => typeof word === 'string' && isMass(word.toLowerCase()),
    addIrregular,
    addUncountable,
  }
  for (const [one, many] of Object.entries(IRREGULAR_NOUNS)) addIrregular(one, many)
  for (const word of UNCOUNTABLE_NOUNS) addUncountable(word)
  for (const [one, many] of Object.entries(options.irregulars ?? {})) addIrregular(one, many)
  for (const word of options.uncountables ?? []) addUncountable(word)
  return inflector
}

function checkWord(word: unknown): asserts word is string {
  const accepted = 'a single word of letters, e.g. "cactus"'
  assertName(word, accepted)
  if (!WORD.test(word)) throw new NamingError({ input: word, reason: 'not a single word of letters', accepted })
}

const shared = createInflector()

/**
 * The shared inflector with the built-in irregular and uncountable words. Frozen: it has no
 * `addIrregular`; make your own with {@link createInflector}.
 *
 * @example
 * defaultInflector.pluralize('analysis') // 'analyses'
 */
export const defaultInflector: ReadonlyInflector = Object.freeze({
  pluralize: shared.pluralize,
  singularize: shared.singularize,
  isUncountable: shared.isUncountable,
})

/**
 * Plural of the last word of `name` with the default inflector.
 * @throws {NamingError} for a non-string, an empty string, or a name whose last word has no letters.
 * @example
 * pluralize('user_category') // 'user_categories'
 */
export function pluralize(name: string): string {
  return shared.pluralize(name)
}

/**
 * Singular of the last word of `name` with the default inflector.
 * @throws {NamingError} for a non-string, an empty string, or a name whose last word has no letters.
 * @example
 * singularize('people') // 'person'
 */
export function singularize(name: string): string {
  return shared.singularize(name)
}

/**
 * True if `word` has no plural in the default inflector.
 * @example
 * isUncountable('news') // true
 */
export function isUncountable(word: string): boolean {
  return shared.isUncountable(word)
}
