export function Settings(_p: { id?: string }) { return <p>Not yet</p>; }
