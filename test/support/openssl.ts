import { execFileSync } from 'node:child_process';

/** Whether the openssl command is installed (interoperability tests skip without it). */
export const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
