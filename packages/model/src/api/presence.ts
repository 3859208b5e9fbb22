import type { StateValue } from '../values.ts';

/** A person's presence as the API shows it (GET /presence, PUT /me/presence). */
export interface PersonPresence {
  userId: string;
  username: string;
  state: 'home' | 'away';
  /** What set it: `manual`, `phone` (the app on the home network) or `device` (a device's state). */
  source: 'manual' | 'phone' | 'device';
  /** With source `device`: the device followed. */
  device: string | null;
  changedAt: string;
}

/** GET /presence: the home's state (null for a guest) and the people the caller may see. */
export interface PresenceView {
  home: 'someone_home' | 'everyone_away' | 'unknown' | null;
  people: PersonPresence[];
}

/** PUT /me/presence: a state set by hand or by the phone app, or a device whose state says home. */
export type PresenceSet =
  | { state: 'home' | 'away'; source?: 'manual' | 'phone' }
  | { device: string; capability: string; home: StateValue };
