// The part of pg-copy-streams the COPY benchmark uses (the package ships no types).
declare module 'pg-copy-streams' {
  import type { Readable, Writable } from 'node:stream'
  import type { Submittable } from 'pg'

  interface PgCopyStreams {
    from(text: string): Writable & Submittable
    to(text: string): Readable & Submittable
  }
  const pgCopyStreams: PgCopyStreams
  export default pgCopyStreams
}
