import { Field } from './form.tsx';

/** Picks a room, or none; used when pairing, adding and editing a device. */
export function RoomSelect(props: {
  id: string;
  value: string;
  rooms: { id: string; name: string }[];
  onChange: (id: string) => void;
}) {
  return (
    <Field label="Room" id={props.id}>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        <option value="">No room</option>
        {props.rooms.map((r) => (
          <option value={r.id}>{r.name}</option>
        ))}
      </select>
    </Field>
  );
}
