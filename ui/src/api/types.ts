import type { Device, Health, Room, Session, User } from '@hearth/model/api';
import type { Role, StateValue } from '@hearth/model/values';

/** Shapes the hub's API answers with: the shared model's, re-exported for the UI's files. */
export type { Device, Health, Role, Room, Session, StateValue, User };

/** An event of the /events stream, read loosely: each listener picks the fields of its type. */
export interface HubEvent {
  type: string;
  deviceId?: string;
  capability?: string;
  value?: StateValue;
  available?: boolean;
  at?: number;
  [key: string]: unknown;
}
