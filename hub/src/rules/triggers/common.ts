import Type from 'typebox';
import { StateValue } from '../../devices/schemas.ts';

/** Schema pieces shared by several triggers and conditions. */
export const DeviceRef = Type.String({ minLength: 1, maxLength: 64 });
export const CapabilityRef = Type.String({ minLength: 1, maxLength: 64 });
export const Value = StateValue;
export const closed = { additionalProperties: false } as const;
