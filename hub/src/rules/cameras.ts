/**
 * What rules may ask of the camera recorder. The rules engine never imports the recorder (it
 * starts later and depends on nothing of the rules): the hub's composition root hands the rules
 * part this interface once the recorder runs.
 */
export interface CameraClips {
  has(cameraId: string): boolean;
  /** Records an event clip of `seconds` after now, plus the camera's pre-roll; throws a HubError. */
  clip(cameraId: string, seconds: number, ruleId: string): void;
}
