/** Device and enrollment reads for the admin API and for resolving command targets. */
import type { Db } from '../db/database.js';
import type { Device, Enrollment } from '../db/schema.js';

export interface DeviceFilter {
  serial?: string;
  udid?: string;
  q?: string; // matches serial, UDID, name or model
  status?: 'enrolled' | 'pending' | 'removed';
  limit: number;
  offset: number;
}

export class DeviceStore {
  constructor(private readonly db: Db) {}

  /**
   * Maps each target — an enrollment id, Pomona device id, UDID or serial number — to one
   * enrollment: the exact enrollment when an id names one, else the device channel.
   */
  async resolveTargets(targets: string[]): Promise<Map<string, Enrollment>> {
    const out = new Map<string, Enrollment>();
    const unique = [...new Set(targets)];
    for (let i = 0; i < unique.length; i += 250) {
      const chunk = unique.slice(i, i + 250);
      const rows = await this.db
        .selectFrom('enrollments as e')
        .innerJoin('devices as d', 'd.id', 'e.device_id')
        .selectAll('e')
        .select(['d.udid as d_udid', 'd.serial_number as d_serial'])
        .where((eb) =>
          eb.or([
            eb('e.id', 'in', chunk),
            eb.and([
              eb('e.parent_id', 'is', null),
              eb.or([eb('d.id', 'in', chunk), eb('d.udid', 'in', chunk), eb('d.serial_number', 'in', chunk)]),
            ]),
          ]),
        )
        .execute();
      for (const t of chunk) {
        const exact = rows.find((r) => r.id === t);
        const byDevice = rows.find((r) => r.parent_id === null && (r.device_id === t || r.d_udid === t || r.d_serial === t));
        const hit = exact ?? byDevice;
        if (hit) {
          const { d_udid: _u, d_serial: _s, ...enrollment } = hit;
          out.set(t, enrollment);
        }
      }
    }
    return out;
  }

  async list(f: DeviceFilter): Promise<{ devices: Array<Device & { enrollment_status: string | null; enrollment_id: string | null }>; total: number }> {
    let q = this.db
      .selectFrom('devices as d')
      .leftJoin('enrollments as e', (j) => j.onRef('e.device_id', '=', 'd.id').on('e.parent_id', 'is', null));
    if (f.serial) q = q.where('d.serial_number', '=', f.serial);
    if (f.udid) q = q.where('d.udid', '=', f.udid);
    if (f.q) {
      const like = `%${f.q.replace(/[%_\\]/g, (c) => `\\${c}`)}%`;
      q = q.where((eb) =>
        eb.or(['d.serial_number', 'd.udid', 'd.device_name', 'd.model_name', 'd.product_name'].map((c) => eb(eb.fn('lower', [eb.ref(c as 'd.udid')]), 'like', like.toLowerCase()))),
      );
    }
    if (f.status === 'enrolled') q = q.where('e.status', '=', 'active');
    if (f.status === 'pending') q = q.where('e.status', '=', 'pending');
    if (f.status === 'removed') q = q.where('e.status', '=', 'removed');
    const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const devices = await q
      .selectAll('d')
      .select(['e.status as enrollment_status', 'e.id as enrollment_id'])
      .orderBy('d.created_at', 'desc')
      .orderBy('d.id')
      .limit(f.limit)
      .offset(f.offset)
      .execute();
    return { devices, total: Number(total.n) };
  }

  get(id: string): Promise<Device | undefined> {
    return this.db
      .selectFrom('devices')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', id), eb('udid', '=', id), eb('serial_number', '=', id)]))
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  enrollments(deviceId: string): Promise<Enrollment[]> {
    return this.db.selectFrom('enrollments').selectAll().where('device_id', '=', deviceId).orderBy('channel').orderBy('id').execute();
  }

  async listEnrollments(limit: number, offset: number): Promise<Enrollment[]> {
    return this.db.selectFrom('enrollments').selectAll().orderBy('created_at', 'desc').orderBy('id').limit(limit).offset(offset).execute();
  }
}
