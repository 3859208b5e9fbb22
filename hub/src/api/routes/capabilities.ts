import { capabilityList } from '@hearth/model/capabilities';
import type { ApiPlugin } from '../deps.ts';

/**
 * The capability model (packages/model): each capability's value type, unit, range, values,
 * whether it can be set, whether it is an event, how it is charted. The same table the hub
 * validates with, for clients, scripts and bridges. Anyone signed in reads it.
 */
export const capabilityRoutes: ApiPlugin = async (app) => {
  app.get('/capabilities', { config: { access: 'guest' } }, async () => capabilityList());
};
