import type { Device, DeviceCommand } from '@hearth/model/api';
import { capabilitySpec } from '@hearth/model/capabilities';
import type { StateValue } from '@hearth/model/values';
import { useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { plainMessage } from '../api/errors.ts';
import { putDevice } from '../live.ts';
import { hexToHueSaturation, hexToXy } from './colour.ts';

/** What a person reads next to a control; the capability's own name otherwise. */
const LABELS: Record<string, string> = {
  brightness: 'Brightness',
  color_temp: 'Colour temperature',
  cover_position: 'Position',
  cover_tilt: 'Tilt',
  climate_mode: 'Mode',
  power_on_behavior: 'After a power cut',
};
const COLOUR = new Set(['color_x', 'color_y', 'color_hue', 'color_saturation']);

/**
 * Sends commands one after another and waits for each confirmation (as the toggle does): the
 * shown state changes only with the device's answer, never optimistically.
 */
function useSend(device: Device) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const send = async (...commands: [string, StateValue][]) => {
    setPending(true);
    setError(null);
    try {
      for (const [capability, value] of commands)
        putDevice(
          await api<Device>('POST', `/devices/${device.id}/commands`, { capability, value } satisfies DeviceCommand),
        );
    } catch (err) {
      setError(plainMessage(err));
    } finally {
      setPending(false);
    }
  };
  return { pending, error, send };
}

/**
 * A fitting control for each settable capability the capability model describes (except the
 * main toggle): a colour picker, sliders for ranges (cover position, brightness, colour
 * temperature), a thermostat, open/stop/close, a choice for listed values, and a lock that asks
 * before it unlocks or locks (the model's `confirm`).
 */
export function DeviceControls(props: { device: Device; skip?: string | undefined }) {
  const { device } = props;
  const { pending, error, send } = useSend(device);
  const caps = device.capabilities.filter((c) => c !== props.skip && capabilitySpec(c)?.writable);
  if (caps.length === 0) return null;
  return (
    // One command at a time: disabled while one waits for its confirmation.
    <fieldset class="controls" aria-busy={pending} disabled={pending}>
      {caps.some((c) => COLOUR.has(c)) && <ColourPicker device={device} send={send} />}
      {caps
        .filter((c) => !COLOUR.has(c))
        .map((c) => (
          <Control key={c} device={device} capability={c} send={send} />
        ))}
      {error && (
        <p class="tile-error" role="alert">
          {error}
        </p>
      )}
    </fieldset>
  );
}

type Send = (...commands: [string, StateValue][]) => Promise<void>;

function Control(props: { device: Device; capability: string; send: Send }) {
  const { device, capability, send } = props;
  const spec = capabilitySpec(capability)!;
  const value = device.state[capability];
  const label = LABELS[capability] ?? capability;
  if (capability === 'lock') return <LockControl device={device} send={send} />;
  if (capability === 'cover')
    return (
      <div class="row" role="group" aria-label="Cover">
        {(['open', 'stop', 'close'] as const).map((v) => (
          <button type="button" onClick={() => void send(['cover', v])}>
            {v === 'open' ? 'Open' : v === 'stop' ? 'Stop' : 'Close'}
          </button>
        ))}
      </div>
    );
  if (capability === 'setpoint') {
    const target = typeof value === 'number' ? value : 20;
    const step = (d: number) => void send(['setpoint', Math.min(spec.max ?? 35, Math.max(spec.min ?? 5, target + d))]);
    return (
      <div class="row" role="group" aria-label="Thermostat">
        <button type="button" aria-label="Lower target" onClick={() => step(-0.5)}>
          −
        </button>
        <output data-control="setpoint">{typeof value === 'number' ? `${value.toFixed(1)} °C` : '–'}</output>
        <button type="button" aria-label="Raise target" onClick={() => step(0.5)}>
          +
        </button>
      </div>
    );
  }
  if (spec.values)
    return (
      <label>
        {label}{' '}
        <select
          value={typeof value === 'string' ? value : ''}
          onChange={(e) => void send([capability, e.currentTarget.value])}
        >
          {typeof value !== 'string' && <option value="">–</option>}
          {spec.values.map((v) => (
            <option value={v}>{v.replace('_', ' ')}</option>
          ))}
        </select>
      </label>
    );
  if (spec.type === 'number')
    return (
      <label>
        {label} <span data-control={capability}>{typeof value === 'number' ? `${value} ${spec.unit ?? ''}` : '–'}</span>
        <input
          type="range"
          min={spec.min}
          max={spec.max}
          step={capability === 'color_temp' ? 100 : 1}
          value={typeof value === 'number' ? value : spec.min}
          onChange={(e) => void send([capability, Number(e.currentTarget.value)])}
        />
      </label>
    );
  if (spec.type === 'boolean')
    return (
      <button type="button" aria-pressed={value === true} onClick={() => void send([capability, value !== true])}>
        {label}
      </button>
    );
  return null;
}

/** Locking or unlocking a door is asked twice: a click, then a confirmation naming what happens. */
function LockControl(props: { device: Device; send: Send }) {
  const locked = props.device.state.lock === true;
  const [asking, setAsking] = useState(false);
  const action = locked ? 'Unlock' : 'Lock';
  return (
    <div class="row" role="group" aria-label="Lock">
      <span data-control="lock">{locked ? 'Locked' : props.device.state.lock === false ? 'Unlocked' : '–'}</span>
      {asking ? (
        <div role="alertdialog" aria-label={`${action} ${props.device.name}?`}>
          {action} {props.device.name}?{' '}
          <button
            type="button"
            onClick={() => {
              setAsking(false);
              void props.send(['lock', !locked]);
            }}
          >
            Yes, {action.toLowerCase()}
          </button>{' '}
          <button type="button" onClick={() => setAsking(false)}>
            Cancel
          </button>
        </div>
      ) : (
        <button type="button" onClick={() => setAsking(true)}>
          {action}
        </button>
      )}
    </div>
  );
}

/** A colour picker: hue and saturation for a device that takes them, else CIE xy. */
function ColourPicker(props: { device: Device; send: Send }) {
  const hs = props.device.capabilities.includes('color_hue');
  return (
    <label>
      Colour{' '}
      <input
        type="color"
        onChange={(e) => {
          const hex = e.currentTarget.value;
          if (hs) {
            const { hue, saturation } = hexToHueSaturation(hex);
            void props.send(['color_hue', hue], ['color_saturation', saturation]);
          } else {
            const { x, y } = hexToXy(hex);
            void props.send(['color_x', x], ['color_y', y]);
          }
        }}
      />
    </label>
  );
}
