import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs'

// Everything under DATA_DIR is private to the server's user whatever the umask: directories 0700,
// files (database, -wal, -shm, backups, uploads, the secret key) 0600. The mode is set explicitly
// (chmod), because a umask only ever takes bits away from what is asked for.

export const PRIVATE_FILE_MODE = 0o600
export const PRIVATE_DIR_MODE = 0o700

/** Creates the directory (and parents) if needed; the directory itself is made 0700. */
export function privateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE })
  chmodSync(path, PRIVATE_DIR_MODE)
}

/** Makes the file 0600, creating it empty first when `create` and it does not exist. */
export function privateFile(path: string, options: { create?: boolean } = {}): void {
  if (options.create && !existsSync(path)) {
    try {
      closeSync(openSync(path, 'a', PRIVATE_FILE_MODE))
    } catch (error) {
      // a missing directory: left for the caller's own open to report
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
  if (existsSync(path)) chmodSync(path, PRIVATE_FILE_MODE)
}
