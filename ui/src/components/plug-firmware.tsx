import type { FirmwareImage, FirmwareUpload } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { formatTime } from '../format.ts';
import { Field, FormError, Spinner } from './form.tsx';

/** `MAJOR.MINOR.PATCH` compared numerically, as the hub and the plug do; NaN parts compare as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] || 0) - (pb[i] || 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(2)} MB`;
}

/** The hub's `firmware_invalid` reasons (docs/plug-protocol.md "Firmware update") in plain words. */
const REFUSED: Record<string, string> = {
  bad_signature: 'The image is not signed by a trusted Hearth key. Only images from a Hearth release can be installed.',
  bad_hash:
    'The image does not match its signed manifest (its SHA-256 differs): the file is damaged or altered, or the manifest belongs to another image.',
  size_mismatch:
    'The image is not the size its signed manifest names: the file is incomplete or belongs to another manifest.',
  malformed: 'The manifest is not valid: it needs the model, the version (like 1.2.0), the size and the SHA-256.',
  too_large: 'The image is larger than a plug can hold (1.875 MB).',
  no_trusted_key:
    'The hub trusts no firmware release key yet. Add the Hearth release key to plugs.firmwareKeys in the hub configuration, then upload again.',
};

export function uploadError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'firmware_invalid')
      return REFUSED[String(err.details?.reason)] ?? `The hub refused the image: ${err.message}`;
    if (err.code === 'conflict') return 'This model and version is stored already.';
    if (err.code === 'validation_failed')
      return 'These files are not a firmware release the hub understands: the manifest file must hold "manifest" and "sig" (the release signature).';
    if (err.code === 'not_ready') return 'Plug support is not running on this hub.';
  }
  return plainMessage(err);
}

/** Standard base64 of a file's bytes (chunked: a 2 MB image is too many arguments for one call). */
async function base64Of(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/**
 * The signed manifest file of a release: `{"manifest": {...}, "sig": "<base64>"}` (what the
 * release process writes next to the image; the hub keeps the same shape in DATA/firmware).
 * A bundle that also carries `"image"` (base64) needs no separate image file.
 */
type ManifestFile = Pick<FirmwareUpload, 'manifest' | 'sig'> & { image?: unknown };

/** Read as the upload's shape; the hub checks every field of it. */
function readManifestFile(text: string): ManifestFile | null {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || !('manifest' in value) || !('sig' in value)) return null;
    return value as ManifestFile;
  } catch {
    return null;
  }
}

/**
 * Settings → Plug firmware (owners and admins): the signed images the hub can offer its plugs,
 * and uploading one (image + signed manifest). The hub keeps only images signed by a release
 * key it trusts whose bytes match; its refusals are shown in plain words.
 */
export function PlugFirmware() {
  const [images, setImages] = useState<FirmwareImage[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [image, setImage] = useState<File | null>(null);
  const [manifestFile, setManifestFile] = useState<File | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [formKey, setFormKey] = useState(0);

  const load = () =>
    api<FirmwareImage[]>('GET', '/plugs/firmware').then(setImages, (err) => setListError(uploadError(err)));
  useEffect(() => void load(), []);

  const upload = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setFileError(null);
    setAdded(null);
    if (!manifestFile) return setFileError('Choose the signed manifest file (.json) of the release.');
    const signed = readManifestFile(await manifestFile.text());
    if (!signed) return setFileError('This is not a signed manifest: the file must be JSON with "manifest" and "sig".');
    const bundled = typeof signed.image === 'string' ? signed.image : null;
    if (!image && !bundled) return setError('Choose the firmware image (.bin) too.');
    setBusy(true);
    try {
      const stored = await api<FirmwareImage>('POST', '/plugs/firmware', {
        manifest: signed.manifest,
        sig: signed.sig,
        image: image ? await base64Of(image) : (bundled ?? ''), // not null here: refused above
      } satisfies FirmwareUpload);
      setAdded(`Stored ${stored.model} ${stored.version}. Plugs of this model can now be updated from their page.`);
      setImage(null);
      setManifestFile(null);
      setFormKey((k) => k + 1);
      await load();
    } catch (err) {
      setError(uploadError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="plug-firmware-title">
      <h2 id="plug-firmware-title">Plug firmware</h2>
      {listError && (
        <p class="form-error" role="alert">
          {listError}
        </p>
      )}
      {!images && !listError && <Spinner label="Loading the stored images" />}
      {images && images.length === 0 && <p class="muted">No firmware images are stored yet.</p>}
      {images && images.length > 0 && (
        <table data-testid="firmware-images">
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Version</th>
              <th scope="col">Size</th>
              <th scope="col">Added</th>
            </tr>
          </thead>
          <tbody>
            {images.map((i) => (
              <tr key={`${i.model}@${i.version}`}>
                <td>{i.model}</td>
                <td>{i.version}</td>
                <td>{formatSize(i.size)}</td>
                <td>{formatTime(i.addedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form key={formKey} onSubmit={upload} aria-label="Upload plug firmware">
        <p class="muted">
          A Hearth release has two files: the image (.bin) and its signed manifest (.json). The hub checks the signature
          and the bytes before it keeps them.
        </p>
        <div class="row">
          <Field label="Firmware image" id="fw-image">
            <input
              id="fw-image"
              type="file"
              accept=".bin,application/octet-stream"
              onChange={(e) => setImage(e.currentTarget.files?.[0] ?? null)}
            />
          </Field>
          <Field label="Signed manifest" id="fw-manifest" error={fileError ?? undefined}>
            <input
              id="fw-manifest"
              type="file"
              accept=".json,application/json"
              aria-invalid={fileError ? true : undefined}
              aria-describedby={fileError ? 'fw-manifest-error' : undefined}
              onChange={(e) => setManifestFile(e.currentTarget.files?.[0] ?? null)}
            />
          </Field>
        </div>
        <FormError message={error} />
        {added && (
          <p role="status" class="ok">
            {added}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Upload firmware
        </button>
        {busy && <Spinner label="Uploading and checking the image" />}
      </form>
    </section>
  );
}
