/**
 * What the console's dashboard shows besides open alerts: the ADE funnel, assignment failures,
 * devices by platform and OS version, new devices over the last 30 days, and devices waiting in
 * Setup Assistant longer than the stuck-devices alert allows — all for the caller's subtree.
 */
import type { Scope } from '../org/scope.js';
import type { DashboardCounts, DashboardStore } from './dashboard-store.js';

const DAY_MS = 86_400_000;
export const DASHBOARD_DAYS = 30;

export interface Dashboard extends DashboardCounts {
  /** the first day of `newDevicesPerDay` (UTC midnight, epoch ms); days without devices are left out */
  since: number;
  /** minutes after which a device awaiting configuration counts as overdue */
  stuckAfterMinutes: number;
}

export class DashboardService {
  constructor(
    private readonly store: DashboardStore,
    private readonly opts: { stuckAfterMinutes: number; now?: () => number },
  ) {}

  async summary(scope: Scope): Promise<Dashboard> {
    const now = (this.opts.now ?? Date.now)();
    const since = Math.floor(now / DAY_MS) * DAY_MS - (DASHBOARD_DAYS - 1) * DAY_MS;
    const counts = await this.store.counts({ scopePrefix: scope.prefix, since, overdueBefore: now - this.opts.stuckAfterMinutes * 60_000 });
    return { ...counts, since, stuckAfterMinutes: this.opts.stuckAfterMinutes };
  }
}
