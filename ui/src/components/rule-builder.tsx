import type { Device } from '@hearth/model/api';
import { useState } from 'preact/hooks';
import { toggleOf } from '../format.ts';
import { Field } from './form.tsx';

type When = 'on' | 'off' | 'above' | 'below';

/**
 * The common rule as a form: "when DEVICE switches on/off, or its READING goes above/below N,
 * switch DEVICE on/off". It writes the rule's JSON into the editor, where anything beyond this
 * (conditions, delays, other triggers) is written by hand.
 */
export function RuleBuilder(props: { devices: Device[]; onBuild: (json: string) => void }) {
  const first = props.devices[0];
  const [name, setName] = useState('');
  // Empty until picked: the device list may still be loading on the first render.
  const [picked, setSource] = useState('');
  const source = picked || first?.id || '';
  const [when, setWhen] = useState<When>('on');
  const [capability, setCapability] = useState('');
  const [threshold, setThreshold] = useState('');
  const [pickedTarget, setTarget] = useState('');
  const target = pickedTarget || props.devices.find((d) => toggleOf(d.capabilities))?.id || '';
  const [value, setValue] = useState('true');

  const sourceDevice = props.devices.find((d) => d.id === source);
  const readings = sourceDevice?.capabilities.filter((c) => !toggleOf([c])) ?? [];
  const switchable = props.devices.filter((d) => toggleOf(d.capabilities));
  // A device without a switch can only trigger on a reading.
  const effective: When =
    sourceDevice && !toggleOf(sourceDevice.capabilities) && (when === 'on' || when === 'off') ? 'above' : when;
  const numeric = effective === 'above' || effective === 'below';

  const build = (e: Event) => {
    e.preventDefault();
    const src = props.devices.find((d) => d.id === source);
    const dst = props.devices.find((d) => d.id === target);
    if (!src || !dst) return;
    const trigger = numeric
      ? { type: 'numeric', device: src.id, capability: capability || readings[0], [effective]: Number(threshold) }
      : { type: 'state', device: src.id, capability: toggleOf(src.capabilities), to: effective === 'on' };
    const rule = {
      name: name.trim() || `${src.name} → ${dst.name}`,
      mode: 'single',
      triggers: [trigger],
      conditions: [],
      actions: [{ type: 'command', device: dst.id, capability: toggleOf(dst.capabilities), value: value === 'true' }],
    };
    props.onBuild(JSON.stringify(rule, null, 2));
  };

  if (!first) return <p class="muted">Add a device first; rules act on devices.</p>;
  return (
    <form class="card" onSubmit={build} aria-labelledby="builder-title">
      <h2 id="builder-title">Quick rule</h2>
      <Field label="Rule name" id="qr-name">
        <input id="qr-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </Field>
      <div class="row">
        <Field label="When" id="qr-source">
          <select id="qr-source" value={source} onChange={(e) => setSource(e.currentTarget.value)}>
            {props.devices.map((d) => (
              <option value={d.id}>{d.name}</option>
            ))}
          </select>
        </Field>
        <Field label="Does" id="qr-when">
          <select id="qr-when" value={effective} onChange={(e) => setWhen(e.currentTarget.value as When)}>
            {sourceDevice && toggleOf(sourceDevice.capabilities) && <option value="on">switches on</option>}
            {sourceDevice && toggleOf(sourceDevice.capabilities) && <option value="off">switches off</option>}
            {readings.length > 0 && <option value="above">reading goes above</option>}
            {readings.length > 0 && <option value="below">reading goes below</option>}
          </select>
        </Field>
        {numeric && (
          <>
            <Field label="Reading" id="qr-cap">
              <select
                id="qr-cap"
                value={capability || readings[0]}
                onChange={(e) => setCapability(e.currentTarget.value)}
              >
                {readings.map((c) => (
                  <option value={c}>{c}</option>
                ))}
              </select>
            </Field>
            <Field label="Threshold" id="qr-threshold">
              <input
                id="qr-threshold"
                type="number"
                step="any"
                required
                value={threshold}
                onInput={(e) => setThreshold(e.currentTarget.value)}
              />
            </Field>
          </>
        )}
      </div>
      <div class="row">
        <Field label="Then switch" id="qr-target">
          <select id="qr-target" value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
            {switchable.map((d) => (
              <option value={d.id}>{d.name}</option>
            ))}
          </select>
        </Field>
        <Field label="To" id="qr-value">
          <select id="qr-value" value={value} onChange={(e) => setValue(e.currentTarget.value)}>
            <option value="true">on</option>
            <option value="false">off</option>
          </select>
        </Field>
      </div>
      <button type="submit">Write into the editor</button>
    </form>
  );
}
