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

/** Built-in irregular pairs, singular → plural. */
export const IRREGULAR_NOUNS: Readonly<Record<string, string>> = Object.freeze({
  person: 'people',
  man: 'men',
  woman: 'women',
  child: 'children',
  mouse: 'mice',
  goose: 'geese',
  foot: 'feet',
  tooth: 'teeth',
  ox: 'oxen',
  datum: 'data',
  medium: 'media',
  criterion: 'criteria',
  phenomenon: 'phenomena',
  curriculum: 'curricula',
  quiz: 'quizzes',
  axis: 'axes',
  matrix: 'matrices',
  vertex: 'vertices',
  hero: 'heroes',
  potato: 'potatoes',
  tomato: 'tomatoes',
  echo: 'echoes',
  veto: 'vetoes',
  cache: 'caches',
  niche: 'niches',
  avalanche: 'avalanches',
  headache: 'headaches',
  movie: 'movies',
  cookie: 'cookies',
  zombie: 'zombies',
  pie: 'pies',
  tie: 'ties',
  rookie: 'rookies',
  selfie: 'selfies',
  hoodie: 'hoodies',
  calorie: 'calories',
  brownie: 'brownies',
  goalie: 'goalies',
})

/** Built-in words with no plural. */
export const UNCOUNTABLE_NOUNS: readonly string[] = Object.freeze([
  'sheep',
  'fish',
  'deer',
  'moose',
  'bison',
  'series',
  'species',
  'equipment',
  'information',
  'news',
  'metadata',
  'rice',
  'money',
  'software',
  'hardware',
  'firmware',
  'feedback',
  'staff',
  'police',
  'traffic',
  'aircraft',
  'music',
  'advice',
  'furniture',
  'luggage',
  'knowledge',
  'evidence',
  'research',
  'weather',
  'chassis',
  'headquarters',
  'audio',
])

type Rule = readonly [pattern: RegExp, replacement: string]

// First match wins. Input is one lower-case word. Anchored stems (^…) are whole words, so
// `databases` never turns into `databasis`.
const PLURAL_RULES: readonly Rule[] = [
  [/(qu)y$/, '$1ies'],
  [/([^aeiou])y$/, '$1ies'],
  [/(kni|wi|^li)fe$/, '$1ves'],
  [/(lea|loa|thie|wol|hal|cal|el|scar|dwar|whar)f$/, '$1ves'],
  [/sis$/, 'ses'],
  [/(x|ch|sh|s|z)$/, '$1es'],
  [/$/, 's'],
]

const SINGULAR_RULES: readonly Rule[] = [
  [/(qu)ies$/, '$1y'],
  [/([^aeiou])ies$/, '$1y'],
  [/(kni|wi|^li)ves$/, '$1fe'],
  [/^(alias|gas|atlas|canvas|bias|lens)$/, '$1'],
  [/(lea|loa|thie|wol|hal|cal|el|scar|dwar|whar)ves$/, '$1f'],
  [/(analy|paraly|cataly|diagno|progno|synop|the|synthe|parenthe|empha|cri|oa)ses$/, '$1sis'],
  [
    /^(statu|bu|campu|viru|bonu|censu|focu|corpu|cactu|octopu|syllabu|radiu|circu|genu|surplu|consensu|nexu|prospectu|apparatu|walru|lotu|minu|plu|alia|ga|atla|canva|bia|len)ses$/,
    '$1s',
  ],
  [/(x|ch|sh|ss|zz|tz)es$/, '$1'],
  [/(ss|us|is)$/, '$1'],
  [/s$/, ''],
]

function applyRules(word: string, rules: readonly Rule[]): string {
  for (const [pattern, replacement] of rules) {
    if (pattern.test(word)) return word.replace(pattern, replacement)
  }
  return word
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

  // Regular forms, then irregulars: an irregular plural is never mistaken for a singular.
  const plural = (word: string): string => {
    if (uncountable.has(word)) return word
    const irregular = toPlural.get(word)
    if (irregular !== undefined) return irregular
    if (toSingular.has(word)) return word
    const singularGuess = applyRules(word, SINGULAR_RULES)
    if (singularGuess !== word && applyRules(singularGuess, PLURAL_RULES) === word) return word
    return applyRules(word, PLURAL_RULES)
  }
  const singular = (word: string): string => {
    if (uncountable.has(word)) return word
    const irregular = toSingular.get(word)
    if (irregular !== undefined) return irregular
    if (toPlural.has(word)) return word
    const pluralGuess = applyRules(word, PLURAL_RULES)
    if (pluralGuess !== word && applyRules(pluralGuess, SINGULAR_RULES) === word) return word
    return applyRules(word, SINGULAR_RULES)
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
    isUncountable: (word) => typeof word === 'string' && uncountable.has(word.toLowerCase()),
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
