import { randomInt, timingSafeEqual } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivateFileAtomic } from '../core/data-dir.ts';

/** Letters and digits a person can read off a screen without confusing them (no I, L, O, U, 0, 1). */
const ALPHABET = 'ABCDEFGHJKMNPQRSTVWXYZ23456789';
/** 12 symbols of 30: ~59 bits, far beyond what the bounded guessing below can reach. */
const LENGTH = 12;

export const SETUP_CODE_FILE = 'setup-code';

/**
 * The one-time code that lets the first owner be created over HTTP (DESIGN.md "First run"). Only
 * someone who can read the hub's data dir, its log or its console has it, so a browser page that
 * rebinds a name to the hub, or a guest who reaches a new hub first, cannot take the home over.
 *
 * Kept in `DATA/setup-code` (0600) and read back at each check, so `hearth-admin setup-code` and
 * the hub agree without talking to each other; removed once an owner exists.
 */
export class SetupCode {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, SETUP_CODE_FILE);
  }

  /** The current code (as shown to people), made and written 0600 if there is none yet. */
  ensure(): string {
    const current = this.read();
    return current ? formatSetupCode(current) : this.replace();
  }

  /** A new code replaces the old one (after too many wrong guesses at it). */
  replace(): string {
    const code = newCode();
    writePrivateFileAtomic(this.path, `${code}\n`);
    return code;
  }

  read(): string | undefined {
    try {
      return normalise(readFileSync(this.path, 'utf8')) || undefined;
    } catch {
      return undefined;
    }
  }

  /** Compares in constant time; spaces, dashes and case are forgiven (people copy it by hand). */
  matches(candidate: string | undefined): boolean {
    const expected = this.read();
    if (!expected || !candidate) return false;
    const a = Buffer.from(normalise(candidate));
    const b = Buffer.from(normalise(expected));
    return a.length === b.length && timingSafeEqual(a, b);
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }
}

/** `ABCD-EFGH-JKMN`: three groups of four, easy to read aloud and type (owner invites use it too). */
export function newCode(): string {
  const chars = Array.from({ length: LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]!);
  return [chars.slice(0, 4), chars.slice(4, 8), chars.slice(8)].map((g) => g.join('')).join('-');
}

/** What is compared: spaces, dashes and case are forgiven (people copy codes by hand). */
export function normalise(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '');
}

/** The code as shown to a person: grouped by four. */
export function formatSetupCode(code: string): string {
  const n = normalise(code);
  return n.length === LENGTH ? `${n.slice(0, 4)}-${n.slice(4, 8)}-${n.slice(8)}` : code;
}
