import Type from 'typebox';

/**
 * The JSON schema of one capability's value (the runtime shape is `StateValue` in core/bus.ts).
 * Shared by the API's command body and the rules' triggers, conditions and actions.
 */
export const StateValue = Type.Union([Type.Boolean(), Type.Number(), Type.String({ maxLength: 1024 }), Type.Null()]);
