/**
 * Power-cut tests (hub/test/update): `HEARTH_UPDATE_CRASH_AT=<point>` makes the helper kill
 * itself with SIGKILL at that point, after the state file says where it was: the start of each
 * step (its name) and inside the steps that change files (`install:unpacked`: a new version
 * unpacked, not yet in place; `install:mid`: in place, `current` not yet switched). Unset in
 * service.
 */
export function crashPoint(point: string): void {
  if (process.env.HEARTH_UPDATE_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}
