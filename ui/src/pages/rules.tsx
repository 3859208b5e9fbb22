export function Rules(_p: { id?: string }) { return <p>Not yet</p>; }
export function RulePage(_p: { id: string }) { return <p>Not yet</p>; }
