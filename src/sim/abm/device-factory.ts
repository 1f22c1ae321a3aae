/**
 * Deterministic, realistic devices: 12-character serials from Apple's serial alphabet (digits
 * and consonants without B, S, Z), catalog models with matching os / device_family, v10
 * identifiers (MACs from Apple OUIs, Luhn-valid IMEIs, MEIDs, EIDs) where the hardware has them.
 */
import { CATALOG, FAMILY_WEIGHTS, type CatalogModel } from './device-catalog.js';
import type { DeviceFamily, DeviceFields } from './device-record.js';
import type { Rng } from './rng.js';

export const SERIAL_ALPHABET = '0123456789CDFGHJKLMNPQRTVWXY';
const PLANTS = ['C02', 'C39', 'DMP', 'F9F', 'FVF', 'G6T', 'DLX', 'F4K', 'GG7', 'H4H', 'C07', 'DX3'];
const OUIS = ['a4:83:e7', 'f0:18:98', '3c:22:fb', '88:66:5a', 'bc:d0:74', '14:7d:da', 'f8:4d:89', '60:3e:5f'];

export function isAppleSerial(s: string): boolean {
  return s.length === 12 && [...s].every((c) => SERIAL_ALPHABET.includes(c));
}

export interface GenerateOptions {
  /** restrict to these families (weights of FAMILY_WEIGHTS among them) */
  families?: readonly DeviceFamily[];
  /** a share of devices with an asset tag; default 0.2 */
  assetTagShare?: number;
}

export class DeviceFactory {
  constructor(
    private readonly rng: Rng,
    /** serials already in use anywhere (checked and extended) */
    private readonly taken: { has(serial: string): boolean },
  ) {}

  serial(): string {
    for (;;) {
      const s = this.rng.chars(SERIAL_ALPHABET, 9, this.rng.pick(PLANTS));
      if (!this.taken.has(s)) return s;
    }
  }

  pickModel(families?: readonly DeviceFamily[]): CatalogModel {
    const fams = families?.length ? families : (Object.keys(FAMILY_WEIGHTS) as DeviceFamily[]);
    const total = fams.reduce((n, f) => n + (FAMILY_WEIGHTS[f] || 1), 0);
    let r = this.rng.next() * total;
    let family = fams[fams.length - 1];
    for (const f of fams) {
      r -= FAMILY_WEIGHTS[f] || 1;
      if (r < 0) {
        family = f;
        break;
      }
    }
    return this.rng.pick(BY_FAMILY.get(family)!);
  }

  /** A new device record (profile_status empty; assignment fields are the caller's). */
  device(opts: GenerateOptions = {}, serial = this.serial()): DeviceFields {
    const m = this.pickModel(opts.families);
    const color = this.rng.pick(m.colors);
    const f: DeviceFields = {
      serial_number: serial,
      model: m.model,
      description: m.description.replace('{COLOR}', color).replace('{CAP}', this.rng.pick(m.capacities)),
      color,
      os: m.os,
      device_family: m.family,
      profile_status: 'empty',
      wifi_mac_address: this.mac(),
      bluetooth_mac_address: this.mac(),
      is_replacement_device: false,
    };
    if (this.rng.next() < (opts.assetTagShare ?? 0.2)) f.asset_tag = this.rng.chars(DIGITS, 6, 'AT');
    if (m.ethernet) f.ethernet_mac_address = this.mac();
    if (m.cellular > 0 && this.rng.next() < m.cellular) {
      const imei = this.imei();
      f.imei = m.family === 'iPhone' ? [imei, this.imei()] : [imei];
      f.meid = [imei.slice(0, 14)];
      f.eid = this.rng.chars(DIGITS, 24, '89049032');
    }
    return f;
  }

  private mac(): string {
    const r = this.rng.chars('0123456789abcdef', 6);
    return `${this.rng.pick(OUIS)}:${r[0]}${r[1]}:${r[2]}${r[3]}:${r[4]}${r[5]}`;
  }

  private imei(): string {
    const body = this.rng.chars(DIGITS, 12, '35');
    return body + luhn(body);
  }
}

const BY_FAMILY = new Map<DeviceFamily, CatalogModel[]>();
for (const m of CATALOG) BY_FAMILY.set(m.family, [...(BY_FAMILY.get(m.family) ?? []), m]);

const DIGITS = '0123456789';

function luhn(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}
