import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib'
import { ConversionError } from '@tessera/core'

/** How large entries are compressed in Redis. */
export type CompressionAlgorithm = 'gzip' | 'brotli'

// A stored text starting with \u0001 is compressed (base64 after the tag). No codec output starts with a control
// character, so entries written before compression was turned on (or below the threshold) read as they are.
const GZIP_TAG = '\u0001gz:'
const BROTLI_TAG = '\u0001br:'

/** Compression of entries at or above a size, for Redis only (L1 holds values, never text). */
export class EntryCompression {
  constructor(
    private readonly thresholdBytes: number,
    private readonly algorithm: CompressionAlgorithm,
  ) {}

  /** `text` compressed and tagged when it is at least the threshold and compression makes it smaller; else `text`. */
  compress(text: string): string {
    // A UTF-16 unit is at least 1 byte: shorter texts are decided without counting.
    if (text.length * 3 < this.thresholdBytes) return text
    const input = Buffer.from(text)
    if (input.length < this.thresholdBytes) return text
    const packed =
      this.algorithm === 'gzip'
        ? GZIP_TAG + gzipSync(input, { level: 6 }).toString('base64')
        : BROTLI_TAG +
          brotliCompressSync(input, {
            params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_SIZE_HINT]: input.length },
          }).toString('base64')
    return packed.length < input.length ? packed : text
  }
}

/** Whether a stored text was compressed (by any cache, whatever its own setting). */
export function isCompressed(text: string): boolean {
  return text.charCodeAt(0) === 1
}

/** The text a compressed entry was made from. Throws a `ConversionError` for a damaged one. */
export function decompress(text: string): string {
  try {
    if (text.startsWith(GZIP_TAG)) return gunzipSync(Buffer.from(text.slice(GZIP_TAG.length), 'base64')).toString()
    if (text.startsWith(BROTLI_TAG)) return brotliDecompressSync(Buffer.from(text.slice(BROTLI_TAG.length), 'base64')).toString()
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new ConversionError(
      { value: text.slice(0, 40), target: 'a cache entry', reason: `cannot decompress: ${reason}` },
      { cause: error },
    )
  }
  throw new ConversionError({ value: text.slice(0, 40), target: 'a cache entry', reason: 'unknown compression tag' })
}
