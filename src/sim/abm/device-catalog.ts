/**
 * Models the generated fleets are drawn from: Apple's model names, ABM-style upper-case
 * descriptions, colours, and the os / device_family pair each reports.
 */
import type { DeviceFamily, DeviceOs } from './device-record.js';

export interface CatalogModel {
  model: string;
  family: DeviceFamily;
  os: DeviceOs;
  /** `{COLOR}` and `{CAP}` are filled in */
  description: string;
  colors: readonly string[];
  capacities: readonly string[];
  /** has a SIM (imei/meid/eid): always, never, or a share of units */
  cellular: number;
  ethernet: boolean;
}

export const CATALOG: readonly CatalogModel[] = [
  { model: 'iPhone 16', family: 'iPhone', os: 'iOS', description: 'IPHONE 16 {COLOR} {CAP}-USA', colors: ['BLACK', 'WHITE', 'PINK', 'TEAL', 'ULTRAMARINE'], capacities: ['128GB', '256GB', '512GB'], cellular: 1, ethernet: false },
  { model: 'iPhone 15 Pro', family: 'iPhone', os: 'iOS', description: 'IPHONE 15 PRO {COLOR} {CAP}-USA', colors: ['NATURAL TITANIUM', 'BLUE TITANIUM', 'WHITE TITANIUM', 'BLACK TITANIUM'], capacities: ['128GB', '256GB', '512GB', '1TB'], cellular: 1, ethernet: false },
  { model: 'iPhone 15', family: 'iPhone', os: 'iOS', description: 'IPHONE 15 {COLOR} {CAP}-USA', colors: ['BLACK', 'BLUE', 'GREEN', 'YELLOW', 'PINK'], capacities: ['128GB', '256GB', '512GB'], cellular: 1, ethernet: false },
  { model: 'iPhone 14', family: 'iPhone', os: 'iOS', description: 'IPHONE 14 {COLOR} {CAP}-USA', colors: ['MIDNIGHT', 'STARLIGHT', 'PURPLE', 'BLUE', '(PRODUCT)RED'], capacities: ['128GB', '256GB'], cellular: 1, ethernet: false },
  { model: 'iPhone SE (3rd generation)', family: 'iPhone', os: 'iOS', description: 'IPHONE SE {COLOR} {CAP}-USA', colors: ['MIDNIGHT', 'STARLIGHT', '(PRODUCT)RED'], capacities: ['64GB', '128GB'], cellular: 1, ethernet: false },
  { model: 'iPad (10th generation)', family: 'iPad', os: 'iPadOS', description: 'IPAD WI-FI {CAP} {COLOR}', colors: ['BLUE', 'PINK', 'SILVER', 'YELLOW'], capacities: ['64GB', '256GB'], cellular: 0.2, ethernet: false },
  { model: 'iPad Air (5th generation)', family: 'iPad', os: 'iPadOS', description: 'IPAD AIR WI-FI {CAP} {COLOR}', colors: ['SPACE GRAY', 'STARLIGHT', 'PINK', 'PURPLE', 'BLUE'], capacities: ['64GB', '256GB'], cellular: 0.3, ethernet: false },
  { model: 'iPad Pro 11-inch (4th generation)', family: 'iPad', os: 'iPadOS', description: 'IPAD PRO 11 WI-FI {CAP} {COLOR}', colors: ['SPACE GRAY', 'SILVER'], capacities: ['128GB', '256GB', '512GB'], cellular: 0.3, ethernet: false },
  { model: 'iPad mini (6th generation)', family: 'iPad', os: 'iPadOS', description: 'IPAD MINI WI-FI {CAP} {COLOR}', colors: ['SPACE GRAY', 'PINK', 'PURPLE', 'STARLIGHT'], capacities: ['64GB', '256GB'], cellular: 0.2, ethernet: false },
  { model: 'MacBook Pro', family: 'Mac', os: 'OSX', description: 'MBP 14 {COLOR}/M3 PRO/18GB/{CAP}-USA', colors: ['SPACE BLACK', 'SILVER'], capacities: ['512GB', '1TB'], cellular: 0, ethernet: false },
  { model: 'MacBook Pro', family: 'Mac', os: 'OSX', description: 'MBP 13.3 {COLOR}/2.0GHZ/8GB/{CAP}-USA', colors: ['SPACE GRAY', 'SILVER'], capacities: ['256GB', '512GB'], cellular: 0, ethernet: false },
  { model: 'MacBook Air', family: 'Mac', os: 'OSX', description: 'MBA 13.6 {COLOR}/M2/8GB/{CAP}-USA', colors: ['MIDNIGHT', 'STARLIGHT', 'SPACE GRAY', 'SILVER'], capacities: ['256GB', '512GB'], cellular: 0, ethernet: false },
  { model: 'Mac mini', family: 'Mac', os: 'OSX', description: 'MAC MINI/M2/8GB/{CAP}-USA', colors: ['SILVER'], capacities: ['256GB', '512GB'], cellular: 0, ethernet: true },
  { model: 'iMac', family: 'Mac', os: 'OSX', description: 'IMAC 24 {COLOR}/M3/8GB/{CAP}-USA', colors: ['BLUE', 'GREEN', 'PINK', 'SILVER', 'YELLOW', 'ORANGE', 'PURPLE'], capacities: ['256GB', '512GB'], cellular: 0, ethernet: true },
  { model: 'Apple TV 4K', family: 'AppleTV', os: 'tvOS', description: 'APPLE TV 4K WI-FI + ETHERNET {CAP}', colors: ['BLACK'], capacities: ['128GB'], cellular: 0, ethernet: true },
  { model: 'Apple Vision Pro', family: 'Vision', os: 'visionOS', description: 'APPLE VISION PRO {CAP}', colors: ['SILVER'], capacities: ['256GB', '512GB'], cellular: 0, ethernet: false },
  { model: 'iPod touch (7th generation)', family: 'iPod', os: 'iOS', description: 'IPOD TOUCH {CAP} {COLOR}', colors: ['SPACE GRAY', 'SILVER', 'GOLD'], capacities: ['32GB', '128GB'], cellular: 0, ethernet: false },
];

/** How often each family appears in a generated fleet. */
export const FAMILY_WEIGHTS: Readonly<Record<DeviceFamily, number>> = { iPhone: 40, iPad: 25, Mac: 27, AppleTV: 5, Vision: 2, iPod: 1 };
