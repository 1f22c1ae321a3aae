import { describe, expect, it } from 'vitest';
import { safeRedirectPath } from './safe-redirect.js';

const FALLBACK = '/';

describe('safeRedirectPath', () => {
  it.each([
    '/',
    '/devices',
    '/enroll/ade/webview?session=abc&step=2',
    '/console#/devices/42',
    '/caf%C3%A9',
    '/café',
    '/a/../b',
  ])('accepts the same-origin path %j', (path) => {
    expect(safeRedirectPath(path, FALLBACK)).toBe(path);
  });

  it.each([
    ['scheme-relative', '//evil.example/'],
    ['scheme-relative with three slashes', '///evil.example/'],
    ['backslash after the slash', '/\\evil.example/'],
    ['backslash later on', '/a\\b'],
    ['absolute https', 'https://evil.example/'],
    ['absolute http, mixed case', 'HtTp://evil.example/'],
    ['javascript URL', 'javascript:alert(1)'],
    ['data URL', 'data:text/html,<script>alert(1)</script>'],
    ['relative without a slash', 'devices'],
    ['dot relative', './devices'],
    ['tab between the slashes', '/\t/evil.example'],
    ['newline between the slashes', '/\n/evil.example'],
    ['carriage return', '/devices\r\nSet-Cookie: x=1'],
    ['NUL', '/devices\u0000'],
    ['DEL', '/devices\u007f'],
    ['leading space', ' //evil.example'],
    ['trailing space', '/devices '],
    ['no-break space', '/\u00a0/evil.example'],
    ['line separator', '/\u2028/evil.example'],
    ['empty', ''],
    ['too long', '/' + 'a'.repeat(5000)],
  ])('refuses %s', (_label, value) => {
    expect(safeRedirectPath(value, FALLBACK)).toBe(FALLBACK);
  });

  it('refuses values that are not strings', () => {
    expect(safeRedirectPath(undefined, '/home')).toBe('/home');
    expect(safeRedirectPath(null, '/home')).toBe('/home');
    expect(safeRedirectPath(['/devices'], '/home')).toBe('/home');
    expect(safeRedirectPath({ toString: () => '/devices' }, '/home')).toBe('/home');
  });
});
