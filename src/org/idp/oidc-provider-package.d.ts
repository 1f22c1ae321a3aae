/**
 * The few parts of the `oidc-provider` package (a devDependency; it ships no types and
 * @types/oidc-provider is not installed) that the in-test OpenID Provider uses.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export default class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>);
    readonly issuer: string;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}
