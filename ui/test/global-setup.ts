import { ensureUiBuilt } from './helpers/home.ts';

/** The tests drive the built UI the hub serves; build it first if the sources changed. */
export default function setup(): void {
  ensureUiBuilt();
}
