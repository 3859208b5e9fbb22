import { render } from 'preact';
import { App } from './app.tsx';
import './styles.css';

render(<App />, document.getElementById('app')!);

// The service worker caches the app shell so the UI opens at once and installs as an app.
// Browsers allow it only in a secure context (https, or localhost); elsewhere this is a no-op.
if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => undefined);
