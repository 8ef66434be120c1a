// The page runtime: injected inline before any page script, by the proxy (transport "bridge") or
// by the companion extension for documents the proxy never saw (transport "extension"). Runs in
// the page's own world, so it keeps references to the built-ins it needs before the page can
// replace them. ASCII only, and never the sequence that closes a script element, because it is
// spliced into HTML as bytes.
(function (config) {
  'use strict';
  var w = window;
  if (w.AiPlugs && w.AiPlugs.runtime) return; // the proxy and the extension fallback both got here
  var HOOK = '__aiplugsNavigationHook';
  // "Reload without plugins": the extension's document_start script marked this one load plugin-free.
  if (w[HOOK] && w[HOOK].suppressed) return;
  var nativeFetch = w.fetch.bind(w);
  var NativeWebSocket = w.WebSocket;
  var NativeCustomEvent = w.CustomEvent;
  var dispatch = w.dispatchEvent.bind(w);
  var listen = w.addEventListener.bind(w);
  var unlisten = w.removeEventListener.bind(w);
  var toJson = JSON.stringify;
  var fromJson = JSON.parse;
  var origin = w.location.origin;
  // Every bridge call goes under this document's capability (`/__aiplugs/cap/<token>`), which the
  // proxy minted for exactly the plugins it injected here.
  var bridge = origin + (typeof config.bridge === 'string' ? config.bridge : '/__aiplugs');
  var transport = config.transport === 'extension' ? 'extension' : 'bridge';
  var current = document.currentScript;
  var nonce = (current && (current.nonce || current.getAttribute('nonce'))) || '';

  var scriptUrlPolicy = null;
  try {
    if (transport === 'bridge' && w.trustedTypes && w.trustedTypes.createPolicy) {
      scriptUrlPolicy = w.trustedTypes.createPolicy('aiplugs', {
        createScriptURL: function (url) {
          if (String(url).indexOf(bridge + '/') === 0) return url;
          throw new TypeError('The aiplugs policy only allows AiPlugs plugin scripts');
        },
      });
    }
  } catch (error) {
    scriptUrlPolicy = null; // the page's policy names do not include ours: only static tags work
  }

  // --- plugin lifecycle -------------------------------------------------------------------------
  // id -> { state: 'running' | 'stopped' | 'error', error: string, stops: [callbacks] }
  var plugins = {};
  var order = [];
  function record(id) {
    if (!plugins[id]) {
      plugins[id] = { state: 'running', error: '', stops: [] };
      order.push(id);
    }
    return plugins[id];
  }
  (config.plugins || []).forEach(record);

  // The extension's ISOLATED content script reads this to keep the tab's badge and popup current.
  function report() {
    var list = order.map(function (id) {
      return { id: id, state: plugins[id].state, error: plugins[id].error || undefined };
    });
    dispatch(new NativeCustomEvent('aiplugs:runtime-status', {
      detail: toJson({ url: w.location.href, transport: transport, version: config.version, plugins: list }),
    }));
  }
  listen('aiplugs:status-request', function () { report(); });

  function setState(id, state, error) {
    var plugin = record(id);
    if (plugin.state === state && plugin.error === (error || '')) return;
    plugin.state = state;
    plugin.error = error || '';
    report();
  }

  function pluginOfBridgeUrl(url) {
    var prefix = bridge + '/api/plugins/';
    if (typeof url !== 'string' || url.indexOf(prefix) !== 0) return null;
    try {
      return decodeURIComponent(url.slice(prefix.length).split('/')[0]);
    } catch (error) {
      return null;
    }
  }
  // Static tags the proxy wrote (document_start / document_end) report load failures here.
  listen('error', function (event) {
    var target = event.target;
    if (!target || target === w || !target.tagName) return;
    var id = pluginOfBridgeUrl(target.src || target.href);
    if (id && plugins[id]) setState(id, 'error', 'Could not load ' + (target.src || target.href));
  }, true);

  // --- transports -------------------------------------------------------------------------------
  function AiPlugsError(body, status) {
    var error = (body && body.error) || {};
    var failure = new Error(error.message || 'AiPlugs request failed with HTTP ' + status);
    failure.name = 'AiPlugsError';
    failure.code = error.code || 'http_' + status;
    failure.status = status;
    return failure;
  }

  function bridgeInfer(pluginId, body, signal) {
    return nativeFetch(bridge + '/api/plugins/' + encodeURIComponent(pluginId) + '/infer', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: toJson(body),
      credentials: 'omit', // the site's cookies are none of the gateway's business
      signal: signal,
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (json) {
        if (!response.ok) throw AiPlugsError(json, response.status);
        return json.result;
      });
    });
  }

  // Extension transport: page -> ISOLATED content script (DOM event) -> background -> gateway.
  // The background holds the API token and only calls plugins active for this tab's URL.
  var pending = {};
  var sequence = 0;
  var channel = String(Math.random()).slice(2);
  if (transport === 'extension') {
    listen('aiplugs:extension-response', function (event) {
      var message;
      try { message = fromJson(String(event.detail)); } catch (error) { return; }
      var waiter = message && pending[message.id];
      if (!waiter) return;
      delete pending[message.id];
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(AiPlugsError({ error: message.error }, message.status || 0));
    });
  }
  function extensionCall(request, signal) {
    return new Promise(function (resolve, reject) {
      sequence += 1;
      var id = channel + ':' + sequence;
      pending[id] = { resolve: resolve, reject: reject };
      if (signal) {
        if (signal.aborted) { delete pending[id]; reject(signal.reason); return; }
        signal.addEventListener('abort', function () {
          if (pending[id]) { delete pending[id]; reject(signal.reason); }
        });
      }
      request.id = id;
      request.url = w.location.href;
      dispatch(new NativeCustomEvent('aiplugs:extension-request', { detail: toJson(request) }));
    });
  }
  function extensionInfer(pluginId, body, signal) {
    return extensionCall({ kind: 'infer', pluginId: pluginId, body: body }, signal);
  }

  function infer(pluginId, payload, options) {
    var body = { payload: payload === undefined ? null : payload };
    if (options && options.mode) body.mode = options.mode;
    var signal = options && options.signal;
    var call = transport === 'extension' ? extensionInfer(pluginId, body, signal) : bridgeInfer(pluginId, body, signal);
    return call.then(function (result) {
      if (plugins[pluginId] && plugins[pluginId].state === 'error') setState(pluginId, 'running');
      return result;
    }, function (error) {
      if (plugins[pluginId] && plugins[pluginId].state !== 'stopped' && !(error && error.name === 'AbortError')) {
        setState(pluginId, 'error', (error && error.message) || String(error));
      }
      throw error;
    });
  }

  // --- SPA navigation -------------------------------------------------------------------------
  // One hook per page: the extension's MAIN-world script may have installed it first, in which
  // case it already dispatches the events and we only listen. Both dedupe on the URL, so every
  // real change fires exactly one event whoever owns the hook.
  if (!w[HOOK]) {
    var hook = { owner: 'page-runtime', lastUrl: w.location.href };
    var notify = function (kind) {
      var to = w.location.href;
      if (to === hook.lastUrl) return;
      var from = hook.lastUrl;
      hook.lastUrl = to;
      dispatch(new NativeCustomEvent('aiplugs:navigate', { detail: { from: from, to: to, kind: kind } }));
    };
    ['pushState', 'replaceState'].forEach(function (name) {
      var original = w.history[name];
      w.history[name] = function () {
        var result = original.apply(this, arguments);
        notify(name);
        return result;
      };
    });
    listen('popstate', function () { notify('popstate'); });
    listen('hashchange', function () { notify('hashchange'); });
    if (w.navigation && w.navigation.addEventListener) {
      // Same-document navigations the history API never sees (navigation.navigate + intercept).
      // Deferred, so a pushState/popstate that caused it reports first with its own kind.
      w.navigation.addEventListener('currententrychange', function () {
        Promise.resolve().then(function () { notify('navigation'); });
      });
    }
    Object.defineProperty(w, HOOK, { value: hook });
  }

  function onNavigate(callback) {
    var listener = function (event) { callback(event.detail); };
    listen('aiplugs:navigate', listener);
    return function () { unlisten('aiplugs:navigate', listener); };
  }

  // --- WebSocket connections --------------------------------------------------------------------
  // A fresh id per connect() call: two connections of one page both live, and the id is kept only
  // across that connection's own reconnects (the gateway replaces a zombie of the same page load).
  function connectionId() {
    if (w.crypto && w.crypto.randomUUID) return w.crypto.randomUUID();
    return String(Math.random()).slice(2) + String(Math.random()).slice(2);
  }

  function connect(pluginId) {
    var events = new EventTarget();
    var socket = null;
    var closed = false;
    var attempt = 0;
    var pending = [];
    var url = (bridge.indexOf('https:') === 0 ? 'wss:' : 'ws:') + bridge.slice(bridge.indexOf('//')) +
      '/ws?plugin_id=' + encodeURIComponent(pluginId) + '&client_id=' + encodeURIComponent(connectionId());
    function emit(type, detail) { events.dispatchEvent(new NativeCustomEvent(type, { detail: detail })); }
    function open() {
      socket = new NativeWebSocket(url);
      socket.onopen = function () {
        attempt = 0;
        emit('open');
        while (pending.length) socket.send(pending.shift());
      };
      socket.onmessage = function (event) {
        var data = event.data;
        try { data = fromJson(event.data); } catch (error) { /* plain text message */ }
        emit('message', data);
      };
      socket.onclose = function (event) {
        emit('close', { code: event.code, reason: event.reason });
        // 4000 = replaced by a newer connection of this client: do not fight it.
        if (closed || event.code === 4000 || event.code === 4403) return;
        attempt += 1;
        setTimeout(open, Math.min(30000, 250 * Math.pow(2, attempt)));
      };
    }
    if (transport === 'extension') {
      // No same-origin bridge without the proxy: say so once instead of retrying forever.
      closed = true;
      setTimeout(function () { emit('close', { code: 4501, reason: 'AiPlugs.connect needs the gateway proxy on this page' }); }, 0);
    } else {
      open();
    }
    return {
      events: events,
      on: function (type, callback) {
        var listener = function (event) { callback(event.detail); };
        events.addEventListener(type, listener);
        return function () { events.removeEventListener(type, listener); };
      },
      send: function (message) {
        var text = typeof message === 'string' ? message : toJson(message);
        if (socket && socket.readyState === 1) socket.send(text); else if (!closed) pending.push(text);
      },
      close: function () { closed = true; if (socket) socket.close(1000, 'closed by page'); },
    };
  }

  // --- loading plugin files ---------------------------------------------------------------------
  function addScript(src, pluginId) {
    var element = document.createElement('script');
    if (nonce) element.nonce = nonce;
    element.async = false; // keep manifest order
    element.src = scriptUrlPolicy ? scriptUrlPolicy.createScriptURL(src) : src;
    if (pluginId) element.onerror = function () { setState(pluginId, 'error', 'Could not load ' + src); };
    (document.head || document.documentElement).appendChild(element);
  }
  function addStyle(pluginId, file) {
    var element;
    if (file.code !== undefined && transport === 'extension') {
      element = document.createElement('style');
      element.textContent = file.code;
    } else {
      element = document.createElement('link');
      element.rel = 'stylesheet';
      element.href = bridge + file.path;
    }
    if (nonce) element.nonce = nonce;
    element.setAttribute('data-aiplugs-plugin', pluginId);
    (document.head || document.documentElement).appendChild(element);
  }
  // An inline script runs synchronously when inserted, unless the page's CSP forbids it: the
  // marker it sets first tells the two apart.
  function runInline(pluginId, file) {
    var element = document.createElement('script');
    if (nonce) element.nonce = nonce;
    var marker = 'aiplugs' + String(Math.random()).slice(2);
    element.textContent = 'document.currentScript && document.currentScript.setAttribute("data-ran", "' + marker + '");\n' +
      file.code + '\n//# sourceURL=aiplugs://' + pluginId + '/' + file.file + '\n';
    try {
      (document.head || document.documentElement).appendChild(element);
    } catch (error) {
      setState(pluginId, 'error', 'The page refused the script (' + error.message + ')');
      return;
    }
    if (element.getAttribute('data-ran') !== marker) setState(pluginId, 'error', 'Blocked by the page\'s Content-Security-Policy');
    element.remove();
  }
  // Where the extension can run code in this world itself (chrome.userScripts, which the page's
  // CSP does not govern), it sends files without `code` and runs each on request: one at a time,
  // so manifest order holds.
  var extensionRuns = Promise.resolve();
  function runByExtension(pluginId, file) {
    extensionRuns = extensionRuns.then(function () {
      if (!plugins[pluginId] || plugins[pluginId].state === 'stopped') return null;
      return extensionCall({ kind: 'run', pluginId: pluginId, file: file.file }).then(null, function (error) {
        setState(pluginId, 'error', (error && error.message) || String(error));
      });
    });
  }
  function loadScript(pluginId, file) {
    if (transport !== 'extension') addScript(bridge + file.path, pluginId);
    else if (file.code === undefined) runByExtension(pluginId, file);
    else runInline(pluginId, file);
  }

  // Same run_at semantics as the proxy's markup, relative to where the document is now:
  // document_start at once, document_end once parsed (before DOMContentLoaded), document_idle after.
  function whenReady(runAt, callback) {
    var state = document.readyState;
    if (runAt === 'document_start' || (runAt === 'document_end' && state !== 'loading') || (runAt === 'document_idle' && state !== 'loading' && !waitingForContentLoaded)) {
      callback();
    } else if (runAt === 'document_end') {
      var onState = function () {
        if (document.readyState === 'loading') return;
        document.removeEventListener('readystatechange', onState);
        callback();
      };
      document.addEventListener('readystatechange', onState);
    } else {
      document.addEventListener('DOMContentLoaded', function () { callback(); }, { once: true });
    }
  }
  var waitingForContentLoaded = document.readyState === 'loading';
  if (waitingForContentLoaded) document.addEventListener('DOMContentLoaded', function () { waitingForContentLoaded = false; }, { once: true });

  function startPlugin(plan) {
    var id = plan.id;
    var plugin = record(id);
    plugin.state = 'running';
    plugin.error = '';
    plugin.stops = [];
    (plan.scripts || []).forEach(function (script) {
      (script.css || []).forEach(function (file) { addStyle(id, file); });
    });
    ['document_start', 'document_end', 'document_idle'].forEach(function (runAt) {
      var files = [];
      (plan.scripts || []).forEach(function (script) {
        if (script.run_at === runAt) files = files.concat(script.js || []);
      });
      if (files.length === 0) return;
      whenReady(runAt, function () {
        if (plugin.state === 'stopped') return; // navigated away before its time came
        files.forEach(function (file) { loadScript(id, file); });
      });
    });
    dispatch(new NativeCustomEvent('aiplugs:plugin-start', { detail: { id: id, url: w.location.href } }));
  }

  function stopPlugin(id) {
    var plugin = plugins[id];
    if (!plugin || plugin.state === 'stopped') return;
    plugin.state = 'stopped';
    plugin.error = '';
    var stops = plugin.stops;
    plugin.stops = [];
    stops.forEach(function (callback) {
      try { callback({ id: id, url: w.location.href }); } catch (error) { setTimeout(function () { throw error; }, 0); }
    });
    var styles = document.querySelectorAll('[data-aiplugs-plugin]');
    for (var i = 0; i < styles.length; i += 1) {
      if (styles[i].getAttribute('data-aiplugs-plugin') === id) styles[i].remove();
    }
    dispatch(new NativeCustomEvent('aiplugs:plugin-stop', { detail: { id: id, url: w.location.href } }));
  }

  /**
   * Makes the running set equal the plan's (the extension calls this on every navigation and
   * settings change): plugins no longer listed are told to tear down, newly listed ones start.
   * A plugin in error is only restarted when `plan.retry` is set.
   */
  function reconcile(plan) {
    // After an SPA navigation the extension brings a capability for the plugins of the new URL
    // (minted by the gateway for the extension, which holds the token): later bridge calls use it.
    if (transport === 'bridge' && typeof plan.bridge === 'string' && plan.bridge.indexOf('/__aiplugs/cap/') === 0) bridge = origin + plan.bridge;
    var wanted = {};
    (plan.plugins || []).forEach(function (item) { wanted[item.id] = item; });
    order.forEach(function (id) { if (!wanted[id]) stopPlugin(id); });
    (plan.plugins || []).forEach(function (item) {
      var known = plugins[item.id];
      if (!known || known.state === 'stopped' || (plan.retry && known.state === 'error')) startPlugin(item);
    });
    report();
    return running();
  }

  function running() {
    return order.filter(function (id) { return plugins[id].state !== 'stopped'; });
  }

  function onStop(pluginId, callback) {
    var plugin = record(pluginId);
    plugin.stops.push(callback);
    return function () {
      var index = plugin.stops.indexOf(callback);
      if (index >= 0) plugin.stops.splice(index, 1);
    };
  }

  // --- document_idle scripts of the proxy's markup ------------------------------------------------
  function loadIdleScripts() {
    (config.idle || []).forEach(function (path) { addScript(bridge + path, pluginOfBridgeUrl(bridge + path)); });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', loadIdleScripts, { once: true });
  else loadIdleScripts();

  var api = {
    runtime: config.version,
    transport: transport,
    infer: infer,
    connect: connect,
    onNavigate: onNavigate,
    onStop: onStop,
  };
  Object.defineProperty(api, 'plugins', { enumerable: true, get: function () { return Object.freeze(running()); } });
  w.AIPLUGS_API_PORT = config.apiPort;
  Object.defineProperty(w, 'AiPlugs', { value: Object.freeze(api), configurable: false, enumerable: false, writable: false });
  // For the extension only (it runs in this world through scripting.executeScript). A page can call
  // it too, which gains it nothing it could not do already: no token, no plugin the tab may not use.
  Object.defineProperty(w, '__aiplugsRuntime', {
    value: Object.freeze({ transport: transport, reconcile: reconcile, report: report, running: running }),
  });
  if (w[HOOK] && typeof w[HOOK].runtimeReady === 'function') w[HOOK].runtimeReady(transport);
  report();
})
