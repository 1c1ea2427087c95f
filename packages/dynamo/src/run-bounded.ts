/**
 * Runs `task(item)` for every item with at most `concurrency` running at once; resolves when all settled.
 * A task must not throw (the engines turn every failure into a reported outcome); if one does, the rest still
 * run and the first error is rethrown at the end.
 */
export async function runBounded<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let firstError: { error: unknown } | undefined
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T
      try {
        await task(item)
      } catch (error) {
        firstError ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
  if (firstError) throw firstError.error
}

/** Splits `items` into consecutive chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = []
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size))
  return chunks
}
