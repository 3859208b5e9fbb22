import type { TransportSecurity as TransportSettingsView } from '@hearth/model/api';
import { HubError } from '../core/errors.ts';
import type { SettingsRepo } from '../store/settings-repo.ts';

export type { TransportSettingsView };

export type TransportSettingsPatch = Partial<Pick<TransportSettingsView, 'httpStrict' | 'plainIntegrations'>>;

const KEY = 'transport';

/**
 * The owner's choices about cleartext on the LAN, kept in settings (so they survive restarts and
 * travel in backups) over the config file's `http.strict` and `mqtt.plainIntegrations`, which
 * stay the defaults until the owner first chooses. Read per request and per CONNECT (a field
 * read), so a change takes effect at once; `onChange` lets the broker close the cleartext
 * integration connections that turning plainIntegrations off no longer allows.
 */
export class TransportSettings {
  readonly #settings: SettingsRepo;
  readonly #httpsPort: () => number;
  readonly #listeners: ((view: TransportSettingsView) => void)[] = [];
  #current: { httpStrict: boolean; plainIntegrations: boolean };

  constructor(deps: {
    settings: SettingsRepo;
    defaults: { httpStrict: boolean; plainIntegrations: boolean };
    httpsPort: () => number;
  }) {
    this.#settings = deps.settings;
    this.#httpsPort = deps.httpsPort;
    const stored = deps.settings.get<Partial<{ httpStrict: unknown; plainIntegrations: unknown }>>(KEY) ?? {};
    this.#current = {
      httpStrict: typeof stored.httpStrict === 'boolean' ? stored.httpStrict : deps.defaults.httpStrict,
      plainIntegrations:
        typeof stored.plainIntegrations === 'boolean' ? stored.plainIntegrations : deps.defaults.plainIntegrations,
    };
  }

  get httpStrict(): boolean {
    return this.#current.httpStrict;
  }

  get plainIntegrations(): boolean {
    return this.#current.plainIntegrations;
  }

  view(): TransportSettingsView {
    return { ...this.#current, httpsPort: this.#httpsPort() };
  }

  onChange(listener: (view: TransportSettingsView) => void): void {
    this.#listeners.push(listener);
  }

  /** Applies the owner's change. Strict needs an HTTPS listener: with none it would send nobody anywhere. */
  update(patch: TransportSettingsPatch): TransportSettingsView {
    if (patch.httpStrict === true && this.#httpsPort() === 0)
      throw new HubError('https_unavailable', 'this hub has no HTTPS listener (no certificate): strict cannot be on', {
        field: 'httpStrict',
      });
    const next = {
      httpStrict: patch.httpStrict ?? this.#current.httpStrict,
      plainIntegrations: patch.plainIntegrations ?? this.#current.plainIntegrations,
    };
    this.#settings.set(KEY, next);
    this.#current = next;
    const view = this.view();
    for (const listener of this.#listeners) listener(view);
    return view;
  }
}
