/**
 * POSIX shell quoting: turns argv words into text a person can paste into sh, bash, dash or zsh and get exactly those
 * words back. Pure.
 */

/** Characters that never need quoting in a POSIX shell word (nothing here is special anywhere in a word). */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes one word for a POSIX shell: left bare when every character is safe, else in single quotes, inside which
 * nothing is special (`$`, backquotes, backslashes and newlines stay literal); an embedded `'` is written `'\''`.
 */
export function shellQuote(word: string): string {
  return SAFE_WORD.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Joins argv into one POSIX command line whose words are exactly argv (each quoted as needed). */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
