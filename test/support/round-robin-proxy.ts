/**
 * A load balancer for tests: an HTTP server on loopback that hands each request to the next of
 * its targets in turn (bodies and headers passed through), and counts what each target served.
 * A target that refuses the connection (its node is down) is skipped and the request goes to the
 * next, as a balancer's health check would arrange; the answer names the target that served it
 * in `x-upstream` (its index), so a test can tell which node a device talked to.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RoundRobinProxy {
  url: string;
  /** requests each target answered, in target order */
  served: number[];
  close(): Promise<void>;
}

export async function startRoundRobinProxy(targets: string[]): Promise<RoundRobinProxy> {
  const served = targets.map(() => 0);
  let next = 0;
  const server: Server = createServer(async (req, res) => {
    // Read the body first: a refused request is sent again, to another target.
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const attempt = (tries: number) => {
      const i = next++ % targets.length;
      const target = new URL(req.url ?? '/', targets[i]);
      const upstream = request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
        served[i]!++;
        res.writeHead(up.statusCode ?? 502, { ...up.headers, 'x-upstream': String(i) });
        up.pipe(res);
      });
      upstream.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED' && tries + 1 < targets.length) return attempt(tries + 1);
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`proxy: ${err.message}`);
      });
      upstream.end(body);
    };
    attempt(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
