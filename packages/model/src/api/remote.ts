/** GET /remote/status: whether the hub has a relay and is connected to it. */
export interface RemoteStatus {
  configured: boolean;
  connected: boolean;
}

/** GET /remote/push-key: the VAPID key a browser passes to pushManager.subscribe. */
export interface PushKey {
  publicKey: string;
}

/** POST /remote/devices: this browser enrolled for access through the relay. */
export interface Enrolment {
  device: { id: string; name: string };
  hubId: string;
  relayUrls: string[];
  homeKey: string | null;
}

/** GET /remote/invites: an invite not yet used. */
export interface OpenInvite {
  id: string;
  name: string;
  username: string;
  expiresAt: number;
}

/** POST /remote/invites: the new invite with its one-time link. */
export interface IssuedInvite {
  id: string;
  name: string;
  expiresAt: number;
  link: string;
}

/** What one enrolled device's push service answered to a test notification. */
export interface PushResult {
  deviceId: string;
  status?: number;
  code?: string;
}

/** POST /remote/devices/:id/push/test. */
export interface PushTest {
  results: PushResult[];
}

/** POST /remote/devices, /remote/invites/redeem: a phone or browser's keys (base64) and name. */
export interface RemoteEnrol {
  publicKey: string;
  boxPublicKey: string;
  name: string;
}

/** POST /remote/invites: an invite link, named for the device it is meant for. */
export interface RemoteInviteCreate {
  name?: string;
}

/** PUT /remote/devices/:id/push: the browser's Web Push subscription. */
export interface PushSubscriptionBody {
  endpoint: string;
  expirationTime?: number | null;
  keys: { p256dh: string; auth: string };
}
