/** Replace me. */
export function hello(): string {
  return 'cluster'
}
