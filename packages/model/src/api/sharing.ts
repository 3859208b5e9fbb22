/** What can be shared with a person (POST /shares names one of them). */
export type ShareKind = 'device' | 'room' | 'scene' | 'camera';

/** How far a share reaches: `view` sees it (state, history, live view), `control` also commands it. */
export type ShareAccess = 'view' | 'control';

/** A weekly window a share is open in, in the home's time zone: `days` of the week, `from` to `to` (HH:MM, `to` later). */
export interface ShareWindow {
  days: ('mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun')[];
  from: string;
  to: string;
}

/** POST /shares, GET /shares. */
export interface Share {
  id: string;
  userId: string;
  kind: ShareKind;
  targetId: string;
  access: ShareAccess;
  /** When it ends by itself (ISO), or null. */
  until: string | null;
  /** Open only in these weekly windows; empty: always (until `until`). */
  windows: ShareWindow[];
  /** Whether it gives access right now (not ended, inside a window if it has any). */
  active: boolean;
  createdAt: string;
}

/** GET /devices/:id/people: who reaches a device, and how. */
export interface DevicePerson {
  userId: string;
  username: string;
  role: string;
  access: ShareAccess;
  /** `role` (members and above reach everything), or the kind of share: `device` or `room`. */
  via: string;
  share: Share | null;
}

/** POST /shares: one device, room, scene or camera (exactly one of the four) for a person. */
export interface ShareCreate {
  userId: string;
  device?: string;
  room?: string;
  scene?: string;
  camera?: string;
  access: ShareAccess;
  /** Epoch ms or an ISO 8601 time. */
  until?: number | string;
  windows?: ShareWindow[];
}
