import type { Device } from '@hearth/model/api';
import { formatValue, toggleOf } from '../format.ts';
import { href } from '../router.ts';
import { Spinner } from './form.tsx';
import { useToggle } from './use-toggle.ts';

/**
 * One device on the home page: name, availability, its main reading, and a toggle that shows the
 * state the device confirmed (the hub answers the command only once the device reported it).
 */
export function DeviceTile(props: { device: Device }) {
  const { device } = props;
  const toggle = toggleOf(device.capabilities);
  const { pending, error, run } = useToggle(device, toggle);
  const on = toggle ? device.state[toggle] === true : false;
  const power = device.capabilities.includes('power') ? device.state.power : undefined;

  return (
    <article
      class={`tile${on ? ' on' : ''}${device.available ? '' : ' offline'}`}
      data-device={device.id}
      aria-label={device.name}
    >
      <div class="tile-head">
        <a class="tile-name" href={href(`/devices/${device.id}`)}>
          {device.name}
        </a>
        <span
          class={`dot ${device.available ? 'up' : 'down'}`}
          role="img"
          aria-label={device.available ? 'Online' : 'Offline'}
          title={device.available ? 'Online' : 'Offline'}
        />
      </div>
      {power !== undefined && (
        <p class="reading" data-reading="power">
          {formatValue('power', power)}
        </p>
      )}
      {toggle && (
        <button type="button" class="toggle" aria-pressed={on} disabled={pending} onClick={() => void run(!on)}>
          <span class="state" data-state={toggle}>
            {formatValue(toggle, device.state[toggle])}
          </span>
          {pending && <Spinner label="Waiting for the device" />}
        </button>
      )}
      {!device.available && <p class="muted">Offline</p>}
      {error && (
        <p class="tile-error" role="alert">
          {error}
        </p>
      )}
    </article>
  );
}
