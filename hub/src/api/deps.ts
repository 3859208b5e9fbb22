import type {
  Enrolment,
  FirmwareImage,
  HubUpdateView,
  PlugRollout,
  PlugUpdateView,
  TransportSecurity,
} from '@hearth/model/api';
import type { Actor } from '@hearth/model/values';
import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuthService, UserActor } from '../auth/service.ts';
import type { FirstRunControl, ScheduleControl } from '../backup/schedule-types.ts';
import type { AuditEvent, EventBus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import type { HubConfig } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { DeviceRegistry } from '../devices/registry.ts';
import type { EnergyService } from '../energy/service.ts';
import type { HistoryService } from '../history/service.ts';
import type { DeviceView } from '../devices/views.ts';
import type { RecorderService } from '../recorder/service.ts';
import type { RulesService } from '../rules/service.ts';

type MaybePromise<T> = T | Promise<T>;

export interface IntegrationUser {
  username: string;
  scope: string;
  topics: string[];
  createdAt: number;
}

/**
 * The slice of the MQTT broker the API uses: the `/mqtt` WebSocket, stats for /metrics and the
 * integration users. Declared here (not imported) so the API only depends on what it calls.
 */
export interface ApiBroker {
  handleWebSocket(stream: Duplex, req: IncomingMessage): void;
  stats(): Record<string, number>;
  /** The certificate MQTT over TLS presents (for clients to pin), or undefined when it is off. */
  certificate(): { pem: string; sha256: string; port: number } | undefined;
  credentials: {
    createIntegrationUser(input: {
      username: string;
      scope: 'read' | 'readwrite';
      topics: string[];
    }): MaybePromise<{ username: string; password: string }>;
    listIntegrationUsers(): MaybePromise<IntegrationUser[]>;
    deleteIntegrationUser(username: string): MaybePromise<boolean>;
  };
}

/** Hearth plugs: discovery and pairing (hub/src/drivers/plug/service.ts). */
export interface ApiPlugs {
  discovered(): MaybePromise<{ id: string; model: string; firmware: string; address: string; port: number }[]>;
  pair(
    plugId: string,
    body: { setupCode: string; name: string; roomId?: string | null },
    actor: UserActor,
  ): Promise<DeviceView>;
  addFirmware(body: { manifest: unknown; sig: string; image: string }, actor: UserActor): FirmwareImage;
  firmware(): FirmwareImage[];
  update(plugId: string, actor: UserActor): PlugUpdateView;
  startUpdate(plugId: string, body: { version: string; downgrade?: boolean }, actor: UserActor): Promise<unknown>;
  /** Many plugs in waves (hub/src/drivers/plug/rollout.ts). */
  startRollout(
    body: { model: string; version: string; plugs?: string[]; waveSize?: number; downgrade?: boolean },
    actor: UserActor,
  ): unknown;
  rolloutView(): PlugRollout | null;
  resumeRollout(actor: UserActor): unknown;
  cancelRollout(actor: UserActor): unknown;
}

/** The Zigbee network (hub/src/drivers/zigbee/driver.ts). */
export interface ApiZigbee {
  status(): {
    state: string;
    adapter: string;
    port: string;
    channel: number | null;
    permitJoin: boolean;
    permitJoinUntil: number | null;
    devices: number;
    failures: number;
  };
  permitJoin(seconds: number, actor: UserActor): Promise<ReturnType<ApiZigbee['status']>>;
}

/** Remote access through the relay (hub/src/relay/service.ts). */
export interface ApiRemote {
  enroll(actor: UserActor, body: { publicKey: string; boxPublicKey: string; name: string }): Enrolment;
  callerOf(marker: string): { id: string; userId: string; username: string; invite?: true } | null;
  /** The home key sealed to a remote device, for its login's or refresh's answer (or null). */
  sessionHomeKey(deviceId: string, accessToken: string): string | null;
  invite(actor: UserActor, name: string): { id: string; name: string; expiresAt: number; link: string };
  withdrawInvite(actor: UserActor, id: string): void;
  redeem(inviteId: string, body: { publicKey: string; boxPublicKey: string; name: string }): unknown;
  invites: {
    list(actor: UserActor): {
      id: string;
      name: string;
      userId: string;
      username: string;
      role: string;
      createdAt: number;
      expiresAt: number;
    }[];
  };
  status(): { configured: boolean; connected: boolean; hubId: string; relayUrls: string[] };
  devices: {
    list(actor: UserActor): {
      id: string;
      name: string;
      publicKey: string;
      userId: string;
      username: string;
      role: string;
      createdAt: number;
    }[];
    revoke(actor: UserActor, id: string): void;
    /** The device if `actor` may change it (own; an admin: anyone's but an owner's), else throws. */
    manageable(actor: UserActor, id: string): { id: string };
    /** Every device of the user, at the hub and (through the tunnel) the relay; returns how many. */
    revokeUser(userId: string): number;
    setPush(
      actor: UserActor,
      id: string,
      subscription: { endpoint: string; keys: { p256dh: string; auth: string } } | null,
    ): void;
  };
  push: { publicKey: string };
  notify(
    payload: { title: string; body: string },
    only?: { deviceId?: string },
  ): Promise<{ deviceId: string; status?: number; code?: string }[]>;
}

/** Encrypted backups (hub/src/backup/service.ts). */
export interface ApiBackup {
  create(
    passphrase: string,
    options?: { recordings?: boolean },
  ): Promise<{ id: string; bytes: number; createdAt: number; recordings?: { files: number; bytes: number } }>;
  /** What camera recordings would add to a backup (closed segments), and the most one takes. */
  recordings(): { files: number; bytes: number; maxBytes: number };
  list(): { id: string; bytes: number; createdAt: number }[];
  file(id: string): { path: string; name: string; bytes: number };
  /** The nightly backups; absent, their routes answer 503 `not_ready`. */
  schedule?: ScheduleControl | undefined;
  /** "Restore from a backup" before setup; absent, its route answers 503 `not_ready`. */
  firstRun?: FirstRunControl | undefined;
}

/** Hub self-update (hub/src/update/service.ts). */
export interface ApiUpdate {
  receivePackage(body: Readable, declaredBytes?: number): Promise<{ bytes: number; sha256: string }>;
  fetchRelease(): Promise<{ version: string; minVersion: string; bytes: number }>;
  start(body: {
    release?: unknown;
    confirmDowngrade?: boolean;
    passphrase: string;
  }): Promise<{ id: string; from: string; to: string; backupId: string | null }>;
  view(): HubUpdateView;
}

/** The audit log (hub/src/store/audit-log.ts): routes record what people change; admins page it. */
export interface ApiAudit {
  record(event: AuditEvent): void;
  /** Up to `limit` entries older than entry `before`, newest first. */
  list(limit: number, before?: number): (AuditEvent & { id: number })[];
}

export interface ApiHomeView {
  id: string;
  name: string;
  location: { latitude: number; longitude: number } | null;
  timezone: string | null;
}

/** The home's name, location and time zone (hub/src/devices/home.ts). */
export interface ApiHome {
  /** The home, or 503 `not_ready` before there is one. */
  view(): ApiHomeView;
  /** Changes what the patch names, audited; returns the home as it is now. */
  update(patch: Partial<Omit<ApiHomeView, 'id'>>, actor: Actor, at: number): ApiHomeView;
}

/**
 * Users and sessions (hub/src/auth/service.ts): setup, login and tokens, the access check,
 * passwords and two-step login, user management and the installer's handover.
 */
export type ApiAuth = Pick<
  AuthService,
  | 'setupRequired'
  | 'setup'
  | 'requireSetupCode'
  | 'inspectAccess'
  | 'login'
  | 'refresh'
  | 'logout'
  | 'user'
  | 'changePassword'
  | 'twoFactor'
  | 'enableTotp'
  | 'disableTotp'
  | 'users'
  | 'handover'
  | 'acceptOwnerInvite'
  | 'apiTokens'
>;

/** Devices and rooms (hub/src/devices/registry.ts): who sees what, commands, counts for /metrics. */
export type ApiRegistry = Pick<
  DeviceRegistry,
  | 'list'
  | 'get'
  | 'canSee'
  | 'access'
  | 'sharing'
  | 'presence'
  | 'create'
  | 'update'
  | 'remove'
  | 'command'
  | 'counts'
  | 'listRooms'
  | 'createRoom'
  | 'renameRoom'
  | 'deleteRoom'
>;

/**
 * History (hub/src/history/service.ts): charts, energy, the event log and what it costs on disk,
 * and the ingest and size figures /metrics reports. Nothing of its maintenance or purging.
 */
export type ApiHistory = Pick<HistoryService, 'history' | 'energyReport' | 'events' | 'storageReport'> & {
  ingest: Pick<HistoryService['ingest'], 'counters' | 'pending'>;
  storage: Pick<HistoryService['storage'], 'bytes' | 'budgetBytes'>;
};

/** Energy insight (hub/src/energy/service.ts): summary, costs, standby, tariffs, roles. */
export type ApiEnergy = Pick<
  EnergyService,
  'summary' | 'costs' | 'standby' | 'cycles' | 'plan' | 'setPlan' | 'roles' | 'setRole'
>;

/** The rules engine (hub/src/rules/service.ts): rules, their versions and traces, dry runs, scenes. */
export type ApiRules = Pick<
  RulesService,
  | 'list'
  | 'get'
  | 'create'
  | 'update'
  | 'remove'
  | 'setEnabled'
  | 'run'
  | 'traces'
  | 'dryRun'
  | 'versions'
  | 'version'
  | 'diff'
  | 'revert'
  | 'listScenes'
  | 'getScene'
  | 'saveScene'
  | 'removeScene'
  | 'activateScene'
>;

/** Cameras (hub/src/recorder/service.ts): cameras, recordings, playback and export, live views, storage. */
export type ApiRecorder = Pick<
  RecorderService,
  | 'list'
  | 'get'
  | 'add'
  | 'update'
  | 'remove'
  | 'recordings'
  | 'exportRange'
  | 'exportStats'
  | 'clip'
  | 'snapshot'
  | 'watch'
  | 'hls'
  | 'hlsTicket'
  | 'storageView'
>;

export type PartHealth = 'ok' | 'starting' | 'failed' | 'stopped';

export interface ApiDeps {
  config: HubConfig;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  auth: ApiAuth;
  registry: ApiRegistry;
  broker: ApiBroker;
  home: ApiHome;
  audit: ApiAudit;
  /** Absent when the hub runs without plug support (API unit tests): its routes answer 503. */
  plugs?: ApiPlugs;
  /** Absent unless a Zigbee coordinator is configured: its routes say `{state: 'off'}` / 503. */
  zigbee?: ApiZigbee;
  /** The history store; its routes answer 503 `not_ready` without it. */
  history?: ApiHistory;
  /** Energy insight; its routes answer 503 `not_ready` without it. */
  energy?: ApiEnergy;
  /** The rules engine; its routes answer 503 `not_ready` without it. */
  rules?: ApiRules;
  /** Cameras and recordings; their routes answer 503 `not_ready` without it. */
  recorder?: ApiRecorder;
  /** Remote access; its routes answer 503 `not_ready` without it. */
  remote?: ApiRemote;
  /** Backups; their routes answer 503 `not_ready` without it. */
  backup?: ApiBackup;
  /** Self-update; its routes answer 503 `not_ready` without it. */
  update?: ApiUpdate;
  version: string;
  /** When the hub started, in the clock's milliseconds. */
  startedAt: number;
  /** The HTTPS listener's port and certificate fingerprint, or undefined without one (tls/https-listener.ts). */
  https?: () => { port: number; sha256: string } | undefined;
  /**
   * The owner's switches for cleartext on the LAN (tls/transport-settings.ts); without it the
   * config file's http.strict holds and the settings routes answer 503 `not_ready`.
   */
  transport?: ApiTransport;
  partsHealth: () => Record<string, PartHealth>;
  /** The built web UI; defaults to the repository's `ui/dist`. */
  uiDir?: string;
  /** Bytes a slow events WebSocket may have queued before it is dropped (tests lower it). */
  eventsMaxBufferedBytes?: number;
}

/** http.strict and mqtt.plainIntegrations as the owner set them (tls/transport-settings.ts). */
export interface ApiTransport {
  readonly httpStrict: boolean;
  view(): TransportSecurity;
  update(patch: { httpStrict?: boolean; plainIntegrations?: boolean }): TransportSecurity;
}

/** Every resource plugin receives the same dependencies. */
export type ApiPlugin = FastifyPluginAsyncTypebox<{ deps: ApiDeps }>;
