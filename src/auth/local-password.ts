import type { User } from '../db/schema.ts'

// An account claimed through an identity provider has no local password. `users.password_hash`
// is NOT NULL, so it holds this sentinel instead: it is not an argon2 encoding, so no password
// ever verifies against it (and callers never pass it to the hasher: see hasLocalPassword).

/** The password_hash of an account without a local password. */
export const NO_LOCAL_PASSWORD = '!'

/** Only an argon2 PHC string ("$argon2…") is a local password: the sentinel, or anything else, is none. */
export function hasLocalPassword(user: Pick<User, 'passwordHash'>): boolean {
  return user.passwordHash.startsWith('$argon2')
}
