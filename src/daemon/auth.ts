// Who may talk to the daemon. A submitted experiment runs commands on the host, so the API is
// reachable from this machine only, unless a token guards it; the token is compared in constant
// time on every request.

import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { UsageError } from '../errors.js';

// A configuration mistake of the person starting the daemon: exit status 2 with the reason.
export class AuthConfigError extends UsageError {}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Read a token file: its first line, at least 16 characters. */
export function readToken(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new AuthConfigError(`--token-file: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const token = (text.split('\n')[0] ?? '').trim();
  if (token.length < 16) throw new AuthConfigError(`--token-file: ${path} must hold a token of at least 16 characters on its first line`);
  return token;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Checks `Authorization: Bearer <token>`; digests make the lengths equal, so timingSafeEqual never throws. */
export function tokenChecker(token: string): (req: IncomingMessage) => boolean {
  const want = digest(token);
  return (req) => {
    const h = req.headers.authorization ?? '';
    const given = h.startsWith('Bearer ') ? h.slice(7).trim() : '';
    return timingSafeEqual(digest(given), want);
  };
}

/**
 * Without a token, only requests addressed to a loopback name are served: a web page the user
 * visits cannot reach the API through a DNS name that resolves to 127.0.0.1.
 */
export function loopbackHostHeader(req: IncomingMessage): boolean {
  const host = req.headers.host ?? '';
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0] ?? '';
  return isLoopback(name);
}
