import type { Device } from '@hearth/model/api';
import { DeviceTile } from '../components/device-tile.tsx';
import { ScenesBar } from '../components/scenes-bar.tsx';
import { Spinner } from '../components/form.tsx';
import { devices, loaded, rooms } from '../live.ts';
import { href } from '../router.ts';
import { useStore } from '../store.ts';

/** The home at a glance: one section per room with its device tiles, then unassigned devices. */
export function Home() {
  const all = [...useStore(devices).values()];
  const roomList = useStore(rooms);
  const ready = useStore(loaded);
  const byName = (a: Device, b: Device) => a.name.localeCompare(b.name);

  if (!ready) return <Spinner label="Loading devices" />;
  const sections = roomList.map((room) => ({
    id: room.id,
    name: room.name,
    list: all.filter((d) => d.roomId === room.id).sort(byName),
  }));
  const known = new Set(roomList.map((r) => r.id));
  const rest = all.filter((d) => !d.roomId || !known.has(d.roomId)).sort(byName);
  if (rest.length) sections.push({ id: 'none', name: roomList.length ? 'Other devices' : 'Devices', list: rest });
  const offline = all.filter((d) => !d.available).length;

  return (
    <>
      <div class="page-head">
        <h1>Home</h1>
        <a class="button" href={href('/add')}>
          Add device
        </a>
      </div>
      <p class="summary" aria-live="polite">
        {all.length} {all.length === 1 ? 'device' : 'devices'}
        {offline ? `, ${offline} offline` : ', all online'}
      </p>
      {all.length === 0 && (
        <p>
          No devices yet. <a href={href('/add')}>Add the first one</a>.
        </p>
      )}
      {all.length > 0 && <ScenesBar />}
      {sections
        .filter((s) => s.list.length)
        .map((section) => (
          <section class="room" aria-labelledby={`room-${section.id}`}>
            <h2 id={`room-${section.id}`}>{section.name}</h2>
            <div class="tiles">
              {section.list.map((d) => (
                <DeviceTile key={d.id} device={d} />
              ))}
            </div>
          </section>
        ))}
    </>
  );
}
