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
 *
 * First-start rule for plainIntegrations when neither the owner nor the config file chose: a home
 * with no integration user yet (a new one) gets off; a home that already has integration users
 * (updated from a version where cleartext was the only way) gets on, so they keep working. The
 * answer is stored at once, so the rule runs once per home: integration users added later to a
 * new home do not turn cleartext back on at the next start.
 */
export class TransportSettings {
  readonly #settings: SettingsRepo;
  readonly #httpsPort: () => number;
  readonly #listeners: ((view: TransportSettingsView) => void)[] = [];
  #current: { httpStrict: boolean; plainIntegrations: boolean };

  constructor(deps: {
    settings: SettingsRepo;
    defaults: { httpStrict: boolean; plainIntegrations?: boolean | undefined };
    httpsPort: () => number;
    /** Whether any integration user exists, asked only by the first-start rule. */
    hasIntegrationUsers: () => boolean;
  }) {
    this.#settings = deps.settings;
    this.#httpsPort = deps.httpsPort;
    const stored = deps.settings.get<Partial<{ httpStrict: unknown; plainIntegrations: unknown }>>(KEY) ?? {};
    let plainIntegrations: boolean;
    if (typeof stored.plainIntegrations === 'boolean') plainIntegrations = stored.plainIntegrations;
    else if (deps.defaults.plainIntegrations !== undefined) plainIntegrations = deps.defaults.plainIntegrations;
    else {
      plainIntegrations = deps.hasIntegrationUsers();
      deps.settings.set(KEY, { ...stored, plainIntegrations });
    }
    this.#current = {
      httpStrict: typeof stored.httpStrict === 'boolean' ? stored.httpStrict : deps.defaults.httpStrict,
      plainIntegrations,
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
