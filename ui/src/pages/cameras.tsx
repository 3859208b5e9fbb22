export function Cameras(_p: { id?: string }) { return <p>Not yet</p>; }
export function CameraPage(_p: { id: string }) { return <p>Not yet</p>; }
