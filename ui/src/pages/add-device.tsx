export function AddDevice(_p: { id?: string }) { return <p>Not yet</p>; }
