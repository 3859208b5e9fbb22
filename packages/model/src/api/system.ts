/** GET /health: no token needed. */
export interface Health {
  status: 'ok' | 'degraded' | 'starting';
  version: string;
  uptimeS: number;
  /** Each part's state: ok, starting, failed or stopped. */
  parts: Record<string, string>;
  /** True until the first owner exists; the UI shows its setup form then. */
  setupRequired: boolean;
  /**
   * The HTTPS port, its certificate's SHA-256 fingerprint (`AB:CD:…`) and whether plain http
   * sends everything but first contact to it (`http.strict`); null without a certificate.
   */
  https: { port: number; sha256: string; strict: boolean } | null;
}

/** GET, PATCH /home: the home's name, location and time zone. */
export interface HomeSettings {
  name: string;
  location: { latitude: number; longitude: number } | null;
  timezone: string | null;
}

/** GET /backups (and POST's answer): a backup kept on the hub. */
export interface BackupFile {
  id: string;
  bytes: number;
  createdAt: number;
  /** Only when the backup holds camera recordings (asked for): segments and their bytes. */
  recordings?: { files: number; bytes: number };
}

/** GET /backups/recordings: what camera recordings would add to a backup, and the most one takes. */
export interface BackupRecordings {
  files: number;
  bytes: number;
  maxBytes: number;
}

/** GET, PUT /backups/schedule. */
export interface BackupSchedule {
  enabled: boolean;
  time: string;
  keep: number;
  offsite?: boolean;
  dir: string;
  timeZone: string;
  passphraseSet: boolean;
  nextRunAt: number | null;
  lastGoodAt: number | null;
  lastGood: string | null;
  lastOffsiteAt?: number | null;
  lastError: { code: string; message: string; at: number; file?: string; reason?: string } | null;
  stale: boolean;
  files: BackupFile[];
}

/** A hub update in progress or the last one. */
export interface HubUpdate {
  id: string;
  from: string;
  to: string;
  state: 'running' | 'done' | 'rolled_back' | 'refused' | 'failed';
  step: string;
  steps: { step: string; at: number }[];
  error: { code: string; message: string } | null;
  missingDevices: string[];
  backupId: string | null;
  queued?: boolean;
}

/** GET /update. */
export interface HubUpdateView {
  version: string;
  fetchConfigured: boolean;
  staged: { bytes: number; release: { version: string } | null } | null;
  update: HubUpdate | null;
}

/** GET|PATCH /settings/transport: the owner's switches for cleartext on the LAN. */
export interface TransportSecurity {
  /** http.strict: plain http only for first contact; everything else goes to https. */
  httpStrict: boolean;
  /** mqtt.plainIntegrations: integration users may log in on cleartext MQTT (1883, ws://). */
  plainIntegrations: boolean;
  /** The HTTPS port; 0 when the hub has no certificate (strict cannot be on then). */
  httpsPort: number;
}

/** GET /broker/certificate: what an MQTT client pins. */
export interface BrokerCertificate {
  pem: string;
  sha256: string;
  port: number;
}

/** POST /integrations/mqtt-users: the new login with its password, shown this once. */
export interface MqttUserCreated {
  username: string;
  password: string;
}

/** GET /integrations/mqtt-users: an integration's MQTT login (never its password). */
export interface MqttUser {
  username: string;
  scope: string;
  topics: string[];
  createdAt: string;
}

/** PATCH /home: any of name, location (null clears it) and IANA time zone (null clears it). */
export interface HomePatch {
  name?: string;
  location?: { latitude: number; longitude: number } | null;
  timezone?: string | null;
}

/** POST /update: install a signed release (omitted after POST /update/fetch staged one), after a backup. */
export interface HubUpdateStart {
  release?: { manifest: string; sig: string };
  confirmDowngrade?: boolean;
  passphrase: string;
}

/** PATCH /settings/transport: either switch or both (at least one). */
export interface TransportPatch {
  httpStrict?: boolean;
  plainIntegrations?: boolean;
}

/** POST /integrations/mqtt-users: a broker login for another program, limited to these topic filters. */
export interface MqttUserCreate {
  username: string;
  scope: 'read' | 'readwrite';
  topics: string[];
}

/** POST /backups: the passphrase that opens the file, and whether camera recordings go in too. */
export interface BackupCreate {
  passphrase: string;
  recordings?: boolean;
}

/** PUT /backups/schedule: the nightly backup (HH:MM local time), how many are kept, off-site or not. */
export interface BackupScheduleBody {
  enabled: boolean;
  time: string;
  keep: number;
  offsite?: boolean;
  /** Sets the schedule's passphrase (needed the first time it is enabled). */
  passphrase?: string;
}
