import type { StateValue } from '@hearth/model/values';

// The API's answers are the shared model's (@hearth/model/api): the UI's files import them from there.

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
