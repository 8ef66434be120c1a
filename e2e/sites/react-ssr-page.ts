import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { respond, type Handler } from '../support/test-site.js';

/**
 * A page as a React 18 app that renders its whole document on the server and hydrates it in the
 * browser with `hydrateRoot(document, …)`, as Remix does: real React, so the test sees what React
 * itself makes of the nodes we add. React 18 throws its server render away when it meets a node it
 * did not render before its own, and renders the document again from scratch, without ours.
 */

const require = createRequire(import.meta.url);

interface ReactModule {
  createElement(type: unknown, props?: Record<string, unknown> | null, ...children: unknown[]): unknown;
}
interface ReactDomServer {
  renderToString(element: unknown): string;
}

/**
 * The app, one source for both sides: plain JavaScript the browser runs as it is. `scripts` are
 * the head's script elements (expressions over `h`): how the page loads React and hydrates.
 */
const app = (scripts: string) => `function App() {
  const h = React.createElement;
  React.useEffect(() => { window.__hydration.done = true; }, []);
  return h('html', { lang: 'en' },
    h('head', null,
      h('meta', { charSet: 'utf-8' }),
      h('title', null, 'react ssr'),
      ${scripts}),
    h('body', null, h('h1', { id: 'server-rendered' }, 'rendered on the server')));
}`;

/** As most pages load it: deferred scripts, run once the document is parsed. */
const DEFERRED = app(`h('script', { defer: true, src: '/react/react.js' }),
      h('script', { defer: true, src: '/react/react-dom.js' }),
      h('script', { defer: true, src: '/react/app.js' })`);

/** One async script (as Remix's module script): it hydrates as soon as it arrives, the document still being parsed. */
const ASYNC = app(`h('script', { async: true, src: '/react/async-bundle.js' })`);

/** Runs in the page after React: marks the server's node, hydrates, and records what React reports. */
const hydrate = (source: string) => `${source}
window.__hydration = { errors: [], done: false, readyState: document.readyState };
document.getElementById('server-rendered').__fromServer = true;
ReactDOM.hydrateRoot(document, React.createElement(App), { onRecoverableError: (error) => window.__hydration.errors.push(String(error && error.message)) });`;

/** How long the async page holds its last bytes: the document stays unparsed while the async script runs. */
const ASYNC_HOLD_MS = 1500;

/** What the page's own code recorded: React's hydration errors, and whether its effects ran. */
export interface HydrationRecord {
  errors: string[];
  done: boolean;
  /** The document's readyState when the page hydrated. */
  readyState: DocumentReadyState;
}

/** A browser build of a package (its `exports` do not list them). */
const umd = (name: string, file: string) => readFileSync(join(dirname(require.resolve(name)), 'umd', file));

export function reactSsrRoutes(): Record<string, Handler> {
  const React = require('react') as ReactModule;
  const { renderToString } = require('react-dom/server') as ReactDomServer;
  const render = (source: string) => `<!DOCTYPE html>${renderToString(React.createElement(new Function('React', `${source}; return App;`)(React) as () => unknown))}`;
  const script = (body: string | Buffer): Handler => respond(200, { 'content-type': 'text/javascript' }, body);
  const document = render(DEFERRED);
  const asyncDocument = render(ASYNC);
  const end = asyncDocument.lastIndexOf('</body>');
  return {
    '/react-ssr': respond(200, { 'content-type': 'text/html; charset=utf-8' }, document),
    // The same, its head sent in two parts a moment apart, as a server that streams its render does:
    // what arrives meanwhile finds the head begun and not yet ended.
    '/react-ssr-streamed': (_request, response) => {
      const cut = document.indexOf('<title>');
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.write(document.slice(0, cut));
      setTimeout(() => response.end(document.slice(cut)), 300);
    },
    // Hydrated by an async script before the parser reaches the end: the document's deferred
    // scripts (a plugin's document_end files among them) have not run yet.
    '/react-ssr-async': (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.write(asyncDocument.slice(0, end));
      setTimeout(() => response.end(asyncDocument.slice(end)), ASYNC_HOLD_MS);
    },
    '/react/react.js': script(umd('react', 'react.production.min.js')),
    '/react/react-dom.js': script(umd('react-dom', 'react-dom.production.min.js')),
    '/react/app.js': script(hydrate(DEFERRED)),
    '/react/async-bundle.js': script(Buffer.concat([umd('react', 'react.production.min.js'), Buffer.from('\n'), umd('react-dom', 'react-dom.production.min.js'), Buffer.from(`\n${hydrate(ASYNC)}`)])),
  };
}
