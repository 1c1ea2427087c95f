// BEGIN codecs (registry, parsers, policies)
// END codecs

// BEGIN serialize + convert (parameters, lenient coercion)
// END serialize + convert
