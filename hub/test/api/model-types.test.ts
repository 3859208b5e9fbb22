import type {
  BackupCreate,
  BackupScheduleBody,
  CameraCreate,
  CameraPatch,
  ClipCreate,
  Device,
  DeviceCommand,
  DeviceCreate,
  DevicePatch,
  EnergyRoleBody,
  FirmwareUpload,
  HandoverAccept,
  HandoverInviteCreate,
  Health,
  HomePatch,
  HubUpdateStart,
  LoginBody,
  MqttUserCreate,
  PasswordChange,
  PlugPair,
  PlugRolloutStart,
  PlugUpdateStart,
  PresenceSet,
  PushSubscriptionBody,
  RefreshBody,
  RemoteEnrol,
  RemoteInviteCreate,
  Room,
  RoomBody,
  RuleBody,
  RuleDryRun,
  RuleRevert,
  SceneBody,
  ScriptKeyCreate,
  Session,
  SetupBody,
  ShareCreate,
  SupportExtend,
  TariffPlan,
  TotpDisable,
  TotpEnable,
  TransportPatch,
  User,
  UserCreate,
  UserPatch,
  ZigbeePermitJoin,
} from '@hearth/model/api';
import { readdirSync, readFileSync } from 'node:fs';
import type { Static } from 'typebox';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as tokens from '../../src/api/routes/api-tokens.ts';
import * as auth from '../../src/api/routes/auth.ts';
import * as backups from '../../src/api/routes/backups.ts';
import * as cameras from '../../src/api/routes/cameras.ts';
import * as devices from '../../src/api/routes/devices.ts';
import type * as energy from '../../src/api/routes/energy.ts';
import type * as handover from '../../src/api/routes/handover.ts';
import { Health as HealthSchema } from '../../src/api/routes/health.ts';
import { HomePatch as HomePatchSchema } from '../../src/api/routes/home.ts';
import type * as integrations from '../../src/api/routes/integrations.ts';
import * as plugs from '../../src/api/routes/plugs.ts';
import type { PresenceBody } from '../../src/api/routes/presence.ts';
import type { RoomBody as RoomBodySchema } from '../../src/api/routes/rooms.ts';
import type * as remote from '../../src/api/routes/remote.ts';
import * as rules from '../../src/api/routes/rules.ts';
import { SetupBody as SetupBodySchema } from '../../src/api/routes/setup.ts';
import * as shares from '../../src/api/routes/shares.ts';
import { Patch as TransportPatchSchema } from '../../src/api/routes/transport.ts';
import type { StartBody as HubUpdateStartSchema } from '../../src/api/routes/update.ts';
import * as users from '../../src/api/routes/users.ts';
import type { PermitJoinBody } from '../../src/api/routes/zigbee.ts';
import * as schemas from '../../src/api/schemas.ts';
import { SceneBody as SceneBodySchema } from '../../src/rules/validate.ts';

/**
 * The UI reads the API through the shared model's types (packages/model/src/api/); the hub
 * answers through its TypeBox response schemas, which also decide which fields are sent. These
 * checks keep the two the same: the type assertions fail the type check, the key lists this run.
 */
describe("the API's response schemas are the shared model's types", () => {
  it('types: Device, Room, Session and Health are the same; a User the hub sends is what the UI reads', () => {
    expectTypeOf<Static<typeof schemas.Device>>().toEqualTypeOf<Device>();
    expectTypeOf<Static<typeof schemas.Room>>().toEqualTypeOf<Room>();
    expectTypeOf<Static<typeof schemas.Session>>().toEqualTypeOf<Session>();
    expectTypeOf<Static<typeof HealthSchema>>().toEqualTypeOf<Health>();
    // The schema types a role as any string; the model names the five.
    expectTypeOf<Omit<Static<typeof schemas.User>, 'role'>>().toEqualTypeOf<Omit<Required<User>, 'role' | 'totp'>>();
    expectTypeOf<User['role']>().toExtend<Static<typeof schemas.User>['role']>();
  });

  it('fields: each schema sends exactly the fields the model names', () => {
    // `satisfies Record<keyof T, true>`: a field added to the model and not listed here is a type error.
    const device = {
      id: true,
      name: true,
      roomId: true,
      driver: true,
      model: true,
      capabilities: true,
      available: true,
      state: true,
      updatedAt: true,
    } satisfies Record<keyof Device, true>;
    const room = { id: true, name: true, homeId: true, createdAt: true } satisfies Record<keyof Room, true>;
    const session = { accessToken: true, refreshToken: true, expiresIn: true } satisfies Record<keyof Session, true>;
    const health = {
      status: true,
      version: true,
      uptimeS: true,
      parts: true,
      setupRequired: true,
      https: true,
    } satisfies Record<keyof Health, true>;
    // totp comes only with GET /me (routes/auth.ts adds it to this schema there).
    const user = { id: true, username: true, role: true, createdAt: true } satisfies Record<
      Exclude<keyof User, 'totp'>,
      true
    >;
    const fields = (schema: { properties: object }) => Object.keys(schema.properties).sort();
    expect(fields(schemas.Device)).toEqual(Object.keys(device).sort());
    expect(fields(schemas.Room)).toEqual(Object.keys(room).sort());
    expect(fields(schemas.Session)).toEqual(Object.keys(session).sort());
    expect(fields(HealthSchema)).toEqual(Object.keys(health).sort());
    expect(fields(schemas.User)).toEqual(Object.keys(user).sort());
  });

  it('request bodies: what the UI sends (typed by the model) is what the route schemas accept', () => {
    expectTypeOf<Static<typeof devices.CreateBody>>().toEqualTypeOf<DeviceCreate>();
    expectTypeOf<Static<typeof devices.UpdateBody>>().toEqualTypeOf<DevicePatch>();
    expectTypeOf<Static<typeof devices.CommandBody>>().toEqualTypeOf<DeviceCommand>();
    expectTypeOf<Static<typeof RoomBodySchema>>().toEqualTypeOf<RoomBody>();
    expectTypeOf<Static<typeof users.CreateBody>>().toEqualTypeOf<UserCreate>();
    expectTypeOf<Static<typeof users.UpdateBody>>().toEqualTypeOf<UserPatch>();
    expectTypeOf<Static<typeof HomePatchSchema>>().toEqualTypeOf<HomePatch>();
    // And the fields the schemas list (the types above cannot see a schema-only default).
    const fields = (schema: { properties: object }) => Object.keys(schema.properties).sort();
    expect(fields(devices.UpdateBody)).toEqual(['name', 'roomId']);
    expect(fields(users.UpdateBody)).toEqual(['password', 'role']);
    expect(fields(HomePatchSchema)).toEqual(['location', 'name', 'timezone']);
  });

  it('request bodies: plugs, Zigbee, hub update, transport and presence', () => {
    expectTypeOf<Static<typeof plugs.PairBody>>().toEqualTypeOf<PlugPair>();
    expectTypeOf<Static<typeof plugs.FirmwareBody>>().toEqualTypeOf<FirmwareUpload>();
    expectTypeOf<Static<typeof plugs.UpdateBody>>().toEqualTypeOf<PlugUpdateStart>();
    expectTypeOf<Static<typeof plugs.RolloutBody>>().toEqualTypeOf<PlugRolloutStart>();
    expectTypeOf<Static<typeof PermitJoinBody>>().toEqualTypeOf<ZigbeePermitJoin>();
    expectTypeOf<Static<typeof HubUpdateStartSchema>>().toEqualTypeOf<HubUpdateStart>();
    expectTypeOf<Static<typeof TransportPatchSchema>>().toEqualTypeOf<TransportPatch>();
    expectTypeOf<Static<typeof PresenceBody>>().toEqualTypeOf<PresenceSet>();
    const fields = (schema: { properties: object }) => Object.keys(schema.properties).sort();
    expect(fields(plugs.RolloutBody)).toEqual(['downgrade', 'model', 'plugs', 'version', 'waveSize']);
    expect(fields(TransportPatchSchema)).toEqual(['httpStrict', 'plainIntegrations']);
  });

  it('request bodies: sign-in, first run, two-step login, script keys and the handover', () => {
    expectTypeOf<Static<typeof auth.LoginBody>>().toEqualTypeOf<LoginBody>();
    expectTypeOf<Static<typeof auth.RefreshBody>>().toEqualTypeOf<RefreshBody>();
    expectTypeOf<Static<typeof SetupBodySchema>>().toEqualTypeOf<SetupBody>();
    expectTypeOf<Static<typeof auth.PasswordChangeBody>>().toEqualTypeOf<PasswordChange>();
    expectTypeOf<Static<typeof auth.TotpEnableBody>>().toEqualTypeOf<TotpEnable>();
    expectTypeOf<Static<typeof auth.TotpDisableBody>>().toEqualTypeOf<TotpDisable>();
    expectTypeOf<Static<typeof tokens.CreateBody>>().toEqualTypeOf<ScriptKeyCreate>();
    expectTypeOf<Static<typeof handover.InviteBody>>().toEqualTypeOf<HandoverInviteCreate>();
    expectTypeOf<Static<typeof handover.AcceptBody>>().toEqualTypeOf<HandoverAccept>();
    expectTypeOf<Static<typeof handover.SupportBody>>().toEqualTypeOf<SupportExtend>();
    const fields = (schema: { properties: object }) => Object.keys(schema.properties).sort();
    expect(fields(auth.LoginBody)).toEqual(['password', 'recoveryCode', 'totp', 'username']);
    expect(fields(SetupBodySchema)).toEqual(['password', 'role', 'setupCode', 'username']);
    expect(fields(tokens.CreateBody)).toEqual(['devices', 'name', 'scope']);
  });

  it('request bodies: cameras, remote access and MQTT integrations', () => {
    expectTypeOf<Static<typeof cameras.CameraBody>>().toEqualTypeOf<CameraCreate>();
    expectTypeOf<Static<typeof cameras.CameraPatch>>().toEqualTypeOf<CameraPatch>();
    expectTypeOf<Static<typeof cameras.ClipBody>>().toEqualTypeOf<ClipCreate>();
    expectTypeOf<Static<typeof remote.EnrolBody>>().toEqualTypeOf<RemoteEnrol>();
    expectTypeOf<Static<typeof remote.InviteBody>>().toEqualTypeOf<RemoteInviteCreate>();
    expectTypeOf<Static<typeof remote.Subscription>>().toEqualTypeOf<PushSubscriptionBody>();
    expectTypeOf<Static<typeof integrations.CreateBody>>().toEqualTypeOf<MqttUserCreate>();
    const fields = (schema: { properties: object }) => Object.keys(schema.properties).sort();
    expect(fields(cameras.CameraBody)).toEqual(['mode', 'name', 'settings', 'subUrl', 'url']);
    expect(fields(cameras.CameraPatch)).toEqual(['mode', 'name', 'settings', 'subUrl']);
  });

  it('request bodies: rules and scenes', () => {
    expectTypeOf<Static<typeof rules.RuleBody>>().toEqualTypeOf<RuleBody>();
    expectTypeOf<Static<typeof rules.DryRunBody>>().toEqualTypeOf<RuleDryRun>();
    expectTypeOf<Static<typeof rules.RevertBody>>().toEqualTypeOf<RuleRevert>();
    // The scene route takes any object; the rules part checks it against this schema.
    expectTypeOf<Static<typeof SceneBodySchema>>().toEqualTypeOf<SceneBody>();
    const fields = (schema: { properties: object }) => Object.keys(schema.properties).sort();
    expect(fields(rules.DryRunBody)).toEqual(['from', 'rule', 'ruleId', 'to']);
    expect(fields(SceneBodySchema)).toEqual(['name', 'states']);
  });

  it('request bodies: tariffs, energy roles, shares and backups', () => {
    expectTypeOf<Static<typeof energy.Plan>>().toEqualTypeOf<TariffPlan>();
    expectTypeOf<Static<typeof energy.RoleBody>>().toEqualTypeOf<EnergyRoleBody>();
    expectTypeOf<Static<typeof shares.CreateBody>>().toEqualTypeOf<ShareCreate>();
    expectTypeOf<Static<typeof backups.CreateBody>>().toEqualTypeOf<BackupCreate>();
    expectTypeOf<Static<typeof backups.ScheduleBody>>().toEqualTypeOf<BackupScheduleBody>();
    const fields = (schema: { properties: object }) => Object.keys(schema.properties).sort();
    expect(fields(shares.CreateBody)).toEqual([
      'access',
      'camera',
      'device',
      'room',
      'scene',
      'until',
      'userId',
      'windows',
    ]);
    expect(fields(backups.ScheduleBody)).toEqual(['enabled', 'keep', 'offsite', 'passphrase', 'time']);
  });

  it('request bodies: every body schema of a route is one of those checked above', () => {
    // A route given a new body schema fails here until the model has its type and a check above holds the two equal.
    const checked = [
      'api-tokens: CreateBody',
      'auth: LoginBody, RefreshBody, RefreshBody, PasswordChangeBody, TotpEnableBody, TotpDisableBody',
      'backups: CreateBody, ScheduleBody',
      'cameras: CameraBody, CameraPatch, ClipBody',
      'devices: CreateBody, UpdateBody, CommandBody',
      'energy: Plan, RoleBody',
      'handover: InviteBody, AcceptBody, SupportBody',
      'home: HomePatch',
      'integrations: CreateBody',
      'plugs: PairBody, FirmwareBody, UpdateBody, RolloutBody',
      'presence: PresenceBody',
      'remote: EnrolBody, InviteBody, EnrolBody, Subscription',
      'rooms: RoomBody, RoomBody',
      'rules: RuleBody, DryRunBody, RuleBody, RevertBody',
      // The route takes any object; the rules part checks it (validate.ts's SceneBody, above).
      'scenes: SceneBody, SceneBody',
      'setup: SetupBody',
      'shares: CreateBody',
      'transport: Patch',
      'update: StartBody',
      'users: CreateBody, UpdateBody',
      'zigbee: PermitJoinBody',
    ];
    const dir = new URL('../../src/api/routes/', import.meta.url);
    const found = readdirSync(dir)
      .filter((file) => file.endsWith('.ts'))
      .sort()
      .map((file) => {
        const names = [...readFileSync(new URL(file, dir), 'utf8').matchAll(/\bbody: ([A-Z]\w*)/g)].map((m) => m[1]);
        return `${file.slice(0, -3)}: ${names.join(', ')}`;
      })
      .filter((line) => !line.endsWith(': '));
    expect(found).toEqual(checked);
  });
});
