/**
 * Times each step of simulated ADE enrollments without touching the simulators: every HTTP
 * request a device makes (activation, MachineInfo or the web view's pages, SCEP, check-ins) goes
 * through `fetch`, which this wraps for the duration of the measured window. Requests are told
 * apart by path, method and answer, and attributed to their device through AsyncLocalStorage (the
 * devices run concurrently). A step's time for a device is the sum of its requests — response
 * body included — so the web view's load is the page and its redirect, and SCEP is GetCACaps,
 * GetCACert and PKIOperation together.
 *
 * With a `serverCpu` reader and one device at a time, it also charges the server's CPU during each
 * request to that request's step: where an enrollment's server time goes, step by step.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { readdirSync, readFileSync } from 'node:fs';

export const STEPS = ['activation', 'MachineInfo POST', 'web view load', 'sign-in', 'terms', 'profile', 'SCEP', 'Authenticate', 'TokenUpdate', 'other'] as const;
export type Step = (typeof STEPS)[number];

interface DeviceTimes {
  ms: Map<Step, number>;
  cpuMs: Map<Step, number>;
  /** the step a followed redirect belongs to */
  last?: Step;
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const round = (n: number) => +n.toFixed(2);

/**
 * CPU time (ms) of every thread of a process so far, from the scheduler's nanosecond counters
 * (/proc/PID/task/TID/schedstat): precise enough to charge single requests, unlike the 10 ms ticks
 * of /proc/PID/stat.
 */
export function threadsCpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1e6;
}

export class StepTimer {
  readonly #als = new AsyncLocalStorage<DeviceTimes>();
  readonly #devices: DeviceTimes[] = [];

  /** `serverCpu`: read before and after each request (only meaningful with one device at a time). */
  constructor(private readonly serverCpu?: () => number) {}

  /** Wraps the global fetch until the returned function is called. */
  install(): () => void {
    const real = globalThis.fetch;
    globalThis.fetch = async (input, init) => {
      const times = this.#als.getStore();
      if (!times) return real(input, init);
      const cpu0 = this.serverCpu?.();
      const t0 = performance.now();
      const res = await real(input, init);
      const body = await res.arrayBuffer();
      const ms = performance.now() - t0;
      const cpu = cpu0 === undefined ? undefined : this.serverCpu!() - cpu0;
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      const step = classify(times, init?.method ?? 'GET', url.pathname, res.headers.get('content-type') ?? '', init?.body);
      times.ms.set(step, (times.ms.get(step) ?? 0) + ms);
      if (cpu !== undefined) times.cpuMs.set(step, (times.cpuMs.get(step) ?? 0) + cpu);
      times.last = step;
      return new Response(body, { status: res.status, headers: res.headers });
    };
    return () => {
      globalThis.fetch = real;
    };
  }

  /** Runs one device's enrollment; its requests count for it. */
  device<T>(fn: () => Promise<T>): Promise<T> {
    const times: DeviceTimes = { ms: new Map(), cpuMs: new Map() };
    this.#devices.push(times);
    return this.#als.run(times, fn);
  }

  /**
   * p50/p99 (ms) of each step over the devices that made it, and of the whole enrollment without
   * activation; with a CPU reader, also the server's mean CPU ms per device for each step.
   */
  summary(): { steps: Record<string, { devices: number; p50: number; p99: number; serverCpuMs?: number }>; enrollment: { p50: number; p99: number } } {
    const steps: Record<string, { devices: number; p50: number; p99: number; serverCpuMs?: number }> = {};
    for (const step of STEPS) {
      const xs = this.#devices.map((d) => d.ms.get(step)).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
      if (!xs.length) continue;
      steps[step] = { devices: xs.length, p50: round(pct(xs, 50)), p99: round(pct(xs, 99)) };
      if (this.serverCpu) steps[step]!.serverCpuMs = round(this.#devices.reduce((sum, d) => sum + (d.cpuMs.get(step) ?? 0), 0) / xs.length);
    }
    const totals = this.#devices.map((d) => [...d.ms].filter(([s]) => s !== 'activation').reduce((sum, [, ms]) => sum + ms, 0)).sort((a, b) => a - b);
    return { steps, enrollment: { p50: round(pct(totals, 50)), p99: round(pct(totals, 99)) } };
  }
}

function classify(times: DeviceTimes, method: string, path: string, contentType: string, body: unknown): Step {
  if (path.startsWith('/_sim/devices/')) return 'activation';
  if (path === '/enroll/ade' && method === 'POST') return 'MachineInfo POST';
  if (path === '/enroll/ade/webview') return 'web view load';
  if (path.startsWith('/enroll/sign-in/')) {
    if (contentType.startsWith('application/x-apple-aspen-config')) return 'profile';
    if (method === 'POST' && (path.endsWith('/password') || path.endsWith('/token'))) return 'sign-in';
    if (method === 'POST' && path.endsWith('/terms')) return 'terms';
    return times.last ?? 'other'; // the page a redirect led to
  }
  if (path === '/scep') return 'SCEP';
  if (path === '/mdm/checkin' && body) {
    const text = Buffer.from(body as Uint8Array).toString('utf8');
    if (text.includes('<string>Authenticate</string>')) return 'Authenticate';
    if (text.includes('<string>TokenUpdate</string>')) return 'TokenUpdate';
  }
  return 'other';
}
