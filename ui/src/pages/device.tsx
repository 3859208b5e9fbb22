export function DevicePage(_p: { id?: string }) { return <p>Not yet</p>; }
