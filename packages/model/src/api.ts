/**
 * What the hub's REST API answers (/api/v1, the contract in DESIGN.md), as the UI reads it, by
 * area. The hub builds devices and rooms as these types (hub/src/devices/views.ts); its response
 * schemas (hub/src/api/schemas.ts, routes/health.ts) are checked against them at compile time
 * (hub/test/api/model-types.test.ts), and its routes name the others as their answers, so the two
 * cannot drift apart silently.
 */
export type * from './api/cameras.ts';
export type * from './api/devices.ts';
export type * from './api/energy.ts';
export type * from './api/history.ts';
export type * from './api/people.ts';
export type * from './api/presence.ts';
export type * from './api/remote.ts';
export type * from './api/rules.ts';
export type * from './api/sharing.ts';
export type * from './api/system.ts';
