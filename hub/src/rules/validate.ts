import type { StateValue } from '@hearth/model/values';
import Type, { type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { CAPABILITIES, type ValueProblem, valueProblem } from '@hearth/model/capabilities';
import { HubError } from '../core/errors.ts';
import { ACTIONS } from './actions/index.ts';
import { SceneState } from './actions/scene.ts';
import { checkRepeatBounds } from './budget.ts';
import { CONDITIONS } from './conditions/index.ts';
import { parseCron } from './schedule/cron.ts';
import { DEFAULT_MAX, DEFAULT_TRACE_LIMIT, MODES, type RuleDefinition, type Tagged } from './model.ts';
import type { Child } from './spec.ts';
import { TRIGGERS } from './triggers/index.ts';

/**
 * Checks a rule definition and names the exact field that is wrong (`details.path`, e.g.
 * `actions.2.then.0.for`). Tagged lists are checked item by item against the schema of that
 * item's `type`, so an error inside one action is reported there rather than as "matches no
 * branch of a union" at the list.
 */
const Top = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    enabled: Type.Optional(Type.Boolean()),
    mode: Type.Union(MODES.map((m) => Type.Literal(m))),
    max: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    triggers: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 32 }),
    conditions: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 64 })),
    actions: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 256 }),
    missed: Type.Optional(Type.Union([Type.Literal('skip'), Type.Literal('catch_up')])),
    traceLimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);

/** What the validator may look up: devices and their capabilities (absent in pure checks). */
export interface RefChecker {
  capabilities(deviceId: string): string[] | undefined;
  hasLocation(): boolean;
  hasScene(sceneId: string): boolean;
  /** Absent while the recorder is not running: camera references are then not checked. */
  hasCamera?(cameraId: string): boolean;
}

const compiled = new Map<TSchema, ReturnType<typeof Compile>>();

function fail(path: string, rule: string, message: string, code: ValueProblem['code'] = 'validation_failed'): never {
  throw new HubError(code, `${path || 'body'}: ${message}`, {
    location: 'body',
    path,
    field: path,
    rule,
  });
}

const join = (base: string, key: string | number): string => (base ? `${base}.${key}` : String(key));

function check(schema: TSchema, value: unknown, path: string): void {
  let validator = compiled.get(schema);
  if (!validator) compiled.set(schema, (validator = Compile(schema)));
  if (validator.Check(value)) return;
  const issues = [...validator.Errors(value)] as {
    keyword: string;
    instancePath: string;
    params?: Record<string, unknown>;
    message: string;
  }[];
  // The named field of a missing/extra property beats the generic "schema is false" issue.
  const issue = issues.find((i) => i.keyword === 'required' || i.keyword === 'additionalProperties') ?? issues[0]!;
  const segments = issue.instancePath.split('/').filter(Boolean);
  const named = issue.params?.requiredProperties ?? issue.params?.additionalProperties;
  const extra = Array.isArray(named) ? named[0] : named;
  if (typeof extra === 'string') segments.push(extra);
  let at = path;
  for (const s of segments) at = join(at, s);
  const rule = issue.keyword === 'boolean' ? 'additionalProperties' : issue.keyword;
  fail(
    at,
    rule,
    issue.keyword === 'anyOf' || issue.keyword === 'oneOf'
      ? 'needs one of its alternative fields (see the rule type)'
      : issue.message,
  );
}

function checkList(
  list: unknown,
  kind: Child['kind'],
  path: string,
  refs: RefChecker | undefined,
  depth: number,
): void {
  if (depth > 16) fail(path, 'maxDepth', 'nested too deeply (16 levels at most)');
  if (!Array.isArray(list)) fail(path, 'type', 'must be an array');
  const specs = kind === 'trigger' ? TRIGGERS : kind === 'condition' ? CONDITIONS : ACTIONS;
  list.forEach((item: unknown, i) => {
    const at = join(path, i);
    if (typeof item !== 'object' || item === null || Array.isArray(item)) fail(at, 'type', 'must be an object');
    const type = (item as { type?: unknown }).type;
    if (typeof type !== 'string') fail(join(at, 'type'), 'required', `needs a type: ${[...specs.keys()].join(', ')}`);
    const spec = specs.get(type);
    if (!spec) fail(join(at, 'type'), 'enum', `unknown ${kind} type '${type}'; known: ${[...specs.keys()].join(', ')}`);
    check(spec.schema, item, at);
    checkSemantics(item as Tagged, kind, at, refs);
    if (type === 'scene') checkScene(item as { scene?: string; states?: Tagged[] }, at, refs);
    for (const child of ('children' in spec ? spec.children?.(item as never) : undefined) ?? [])
      checkList(child.list, child.kind, join(at, child.key), refs, depth + 1);
  });
}

/** What a schema cannot say: cron syntax, devices that exist, values that fit the capability. */
function checkSemantics(item: Tagged, kind: Child['kind'], at: string, refs: RefChecker | undefined): void {
  if (item.type === 'cron') {
    const parsed = parseCron(item.cron as string);
    if (typeof parsed === 'string') fail(join(at, 'cron'), 'cron', parsed);
  }
  if (item.type === 'sun' && refs && !refs.hasLocation()) {
    throw new HubError('location_required', 'sun rules need the home location (settings home.location)', {
      location: 'body',
      path: at,
      field: at,
    });
  }
  if (item.type === 'camera_clip' && refs?.hasCamera && !refs.hasCamera(item.camera as string))
    fail(join(at, 'camera'), 'exists', `no camera ${String(item.camera)}`);
  if (typeof item.device !== 'string') return;
  const caps = refs?.capabilities(item.device);
  if (refs && !caps) fail(join(at, 'device'), 'exists', `no device ${item.device}`);
  if (typeof item.capability !== 'string') return;
  if (!CAPABILITIES[item.capability] || (caps && !caps.includes(item.capability))) {
    fail(join(at, 'capability'), 'exists', `device ${item.device} has no capability '${item.capability}'`);
  }
  // A value of the wrong type would never match: say so now rather than never firing.
  const spec = CAPABILITIES[item.capability]!;
  if (item.type === 'numeric' && spec.type !== 'number')
    fail(join(at, 'capability'), 'type', `'${item.capability}' is not numeric`);
  if (kind !== 'action' && item.type === 'state') {
    for (const field of ['from', 'to', 'value']) {
      const v = item[field];
      if (v === undefined) continue;
      (Array.isArray(v) ? v : [v]).forEach((one, k) => {
        if (one !== null && typeof one !== spec.type)
          fail(
            Array.isArray(v) ? join(join(at, field), k) : join(at, field),
            'type',
            `${item.capability} takes a ${spec.type}`,
          );
      });
    }
  }
  if (kind === 'action' && item.type === 'command') {
    if (!CAPABILITIES[item.capability]!.writable)
      fail(join(at, 'capability'), 'writable', `'${item.capability}' is read-only`);
    // Out of range or not among the values: the same stable code a direct command gets.
    const bad = valueProblem(item.capability, item.value as never);
    if (bad) fail(join(at, 'value'), 'type', bad.message, bad.code);
  }
}

function checkScene(item: { scene?: string; states?: Tagged[] }, at: string, refs: RefChecker | undefined): void {
  if (item.scene !== undefined && refs && !refs.hasScene(item.scene))
    fail(join(at, 'scene'), 'exists', `no scene ${item.scene}`);
  item.states?.forEach((s, k) =>
    checkSemantics({ ...s, type: 'command' }, 'action', join(join(at, 'states'), k), refs),
  );
}

export const SceneBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    states: Type.Array(SceneState, { minItems: 1, maxItems: 64 }),
  },
  { additionalProperties: false },
);

/** A saved scene: a name and the device states it sets, each checked like a command. */
export function validateScene(
  body: unknown,
  refs: RefChecker,
): { name: string; states: { device: string; capability: string; value: StateValue }[] } {
  check(SceneBody, body, '');
  const scene = body as { name: string; states: { device: string; capability: string; value: StateValue }[] };
  checkScene({ states: scene.states as unknown as Tagged[] }, '', refs);
  return scene;
}

/**
 * Validates `body` and returns the normalised definition plus the requested enabled flag
 * (`enabled` lives outside the versioned definition: switching a rule off is not an edit).
 */
export function validateRule(
  body: unknown,
  refs?: RefChecker,
): { definition: RuleDefinition; enabled: boolean | undefined } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) fail('', 'type', 'a rule is a JSON object');
  check(Top, body, '');
  const b = body as Record<string, unknown>;
  checkList(b.triggers, 'trigger', 'triggers', refs, 0);
  checkList(b.conditions ?? [], 'condition', 'conditions', refs, 0);
  checkList(b.actions, 'action', 'actions', refs, 0);
  checkRepeatBounds(b.actions as Tagged[], 'actions');
  const { enabled, ...rest } = b;
  const definition = { ...rest, conditions: rest.conditions ?? [] } as unknown as RuleDefinition;
  return { definition, enabled: enabled as boolean | undefined };
}

export const ruleMax = (d: RuleDefinition): number => d.max ?? DEFAULT_MAX;
export const ruleTraceLimit = (d: RuleDefinition): number => d.traceLimit ?? DEFAULT_TRACE_LIMIT;
