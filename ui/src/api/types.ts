import type { Role, StateValue } from '@hearth/model/values';

/** Shapes the hub's API answers with (hub/src/api/schemas.ts and the routes). */
export type { Role, StateValue };

export interface Session {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export interface User {
  id: string;
  username: string;
  role: Role;
  createdAt: string;
  /** Two-step login on (only in GET /me, the person's own account). */
  totp?: boolean;
}

export interface Device {
  id: string;
  name: string;
  roomId: string | null;
  driver: string;
  model: string;
  capabilities: string[];
  available: boolean;
  state: Record<string, StateValue>;
  updatedAt: string;
}

export interface Room {
  id: string;
  name: string;
  homeId: string;
  createdAt: string;
}

export interface Health {
  status: 'ok' | 'degraded' | 'starting';
  version: string;
  uptimeS: number;
  parts: Record<string, string>;
  setupRequired: boolean;
}

export interface HubEvent {
  type: string;
  deviceId?: string;
  capability?: string;
  value?: StateValue;
  available?: boolean;
  at?: number;
  [key: string]: unknown;
}
