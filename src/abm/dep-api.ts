/**
 * The part of the DEP client the ABM services use, and how they get one per server — so a
 * service depends on this small surface, and tests can hand it a client aimed at the simulator.
 */
import type {
  AccountDetail, AssignProfileResponse, ClearProfileResponse, DefineProfileResponse, DeviceListResponse, DisownResponse, FetchDeviceResponse, FetchedProfile, Profile,
} from './dep-types.js';

export interface DepApi {
  account(): Promise<AccountDetail>;
  fetchDevices(req: { cursor?: string; limit?: number }): Promise<FetchDeviceResponse>;
  syncDevices(req: { cursor: string; limit?: number }): Promise<FetchDeviceResponse>;
  deviceDetails(serials: string[]): Promise<DeviceListResponse>;
  disown(serials: string[]): Promise<DisownResponse>;
  defineProfile(profile: Profile): Promise<DefineProfileResponse>;
  getProfile(uuid: string): Promise<FetchedProfile>;
  assignProfile(uuid: string, serials: string[]): Promise<AssignProfileResponse>;
  removeProfile(serials: string[]): Promise<ClearProfileResponse>;
}

export interface DepConnection {
  baseUrl: string;
  credentials: { consumerKey: string; consumerSecret: string; accessToken: string; accessSecret: string };
  /** the DEP session, kept in the database so every node shares it */
  sessions: { load(): Promise<string | undefined>; save(token: string | undefined): Promise<void> };
}

export type DepClientFactory = (c: DepConnection) => DepApi;
