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

/** The app, one source for both sides: plain JavaScript the browser runs as it is. */
const APP = `function App() {
  const h = React.createElement;
  React.useEffect(() => { window.__hydration.done = true; }, []);
  return h('html', { lang: 'en' },
    h('head', null,
      h('meta', { charSet: 'utf-8' }),
      h('title', null, 'react ssr'),
      h('script', { defer: true, src: '/react/react.js' }),
      h('script', { defer: true, src: '/react/react-dom.js' }),
      h('script', { defer: true, src: '/react/app.js' })),
    h('body', null, h('h1', { id: 'server-rendered' }, 'rendered on the server')));
}`;

/** Runs in the page after React: marks the server's node, hydrates, and records what React reports. */
const HYDRATE = `${APP}
window.__hydration = { errors: [], done: false };
document.getElementById('server-rendered').__fromServer = true;
ReactDOM.hydrateRoot(document, React.createElement(App), { onRecoverableError: (error) => window.__hydration.errors.push(String(error && error.message)) });`;

/** What the page's own code recorded: React's hydration errors, and whether its effects ran. */
export interface HydrationRecord {
  errors: string[];
  done: boolean;
}

/** A browser build of a package (its `exports` do not list them). */
const umd = (name: string, file: string) => readFileSync(join(dirname(require.resolve(name)), 'umd', file));

export function reactSsrRoutes(): Record<string, Handler> {
  const React = require('react') as ReactModule;
  const { renderToString } = require('react-dom/server') as ReactDomServer;
  const App = new Function('React', `${APP}; return App;`)(React) as () => unknown;
  const script = (body: string | Buffer): Handler => respond(200, { 'content-type': 'text/javascript' }, body);
  const document = `<!DOCTYPE html>${renderToString(React.createElement(App))}`;
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
    '/react/react.js': script(umd('react', 'react.production.min.js')),
    '/react/react-dom.js': script(umd('react-dom', 'react-dom.production.min.js')),
    '/react/app.js': script(HYDRATE),
  };
}
