// The page runtime: injected inline before any page script. Runs in the page's own world, so it
// keeps references to the built-ins it needs before the page can replace them. ASCII only, and
// never the sequence that closes a script element, because it is spliced into HTML as bytes.
(function (config) {
  'use strict';
  var w = window;
  if (w.AiPlugs && w.AiPlugs.runtime) return; // the proxy and the extension fallback both got here
  var nativeFetch = w.fetch.bind(w);
  var NativeWebSocket = w.WebSocket;
  var NativeCustomEvent = w.CustomEvent;
  var dispatch = w.dispatchEvent.bind(w);
  var origin = w.location.origin;
  var bridge = origin + '/__aiplugs';
  var current = document.currentScript;
  var nonce = (current && (current.nonce || current.getAttribute('nonce'))) || '';

  var scriptUrlPolicy = null;
  try {
    if (w.trustedTypes && w.trustedTypes.createPolicy) {
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

  function AiPlugsError(body, status) {
    var error = (body && body.error) || {};
    var failure = new Error(error.message || 'AiPlugs request failed with HTTP ' + status);
    failure.name = 'AiPlugsError';
    failure.code = error.code || 'http_' + status;
    failure.status = status;
    return failure;
  }

  function infer(pluginId, payload, options) {
    var body = { payload: payload === undefined ? null : payload };
    if (options && options.mode) body.mode = options.mode;
    return nativeFetch(bridge + '/api/plugins/' + encodeURIComponent(pluginId) + '/infer', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit', // the site's cookies are none of the gateway's business
      signal: options && options.signal,
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (json) {
        if (!response.ok) throw AiPlugsError(json, response.status);
        return json.result;
      });
    });
  }

  // --- SPA navigation -------------------------------------------------------------------------
  // One hook per page: the extension's MAIN-world script may have installed it first, in which
  // case it already dispatches the events and we only listen.
  var HOOK = '__aiplugsNavigationHook';
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
    w.addEventListener('popstate', function () { notify('popstate'); });
    w.addEventListener('hashchange', function () { notify('hashchange'); });
    Object.defineProperty(w, HOOK, { value: hook });
  }

  function onNavigate(callback) {
    var listener = function (event) { callback(event.detail); };
    w.addEventListener('aiplugs:navigate', listener);
    return function () { w.removeEventListener('aiplugs:navigate', listener); };
  }

  // --- WebSocket connections --------------------------------------------------------------------
  function clientId(pluginId) {
    var key = 'aiplugs:client:' + pluginId;
    try {
      var known = w.sessionStorage.getItem(key);
      if (known) return known;
      var fresh = (w.crypto && w.crypto.randomUUID) ? w.crypto.randomUUID() : String(Math.random()).slice(2);
      w.sessionStorage.setItem(key, fresh);
      return fresh;
    } catch (error) {
      return String(Math.random()).slice(2);
    }
  }

  function connect(pluginId) {
    var events = new EventTarget();
    var socket = null;
    var closed = false;
    var attempt = 0;
    var pending = [];
    var url = (origin.indexOf('https:') === 0 ? 'wss:' : 'ws:') + origin.slice(origin.indexOf('//')) +
      '/__aiplugs/ws?plugin_id=' + encodeURIComponent(pluginId) + '&client_id=' + encodeURIComponent(clientId(pluginId));
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
        try { data = JSON.parse(event.data); } catch (error) { /* plain text message */ }
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
    open();
    return {
      events: events,
      on: function (type, callback) {
        var listener = function (event) { callback(event.detail); };
        events.addEventListener(type, listener);
        return function () { events.removeEventListener(type, listener); };
      },
      send: function (message) {
        var text = typeof message === 'string' ? message : JSON.stringify(message);
        if (socket && socket.readyState === 1) socket.send(text); else pending.push(text);
      },
      close: function () { closed = true; if (socket) socket.close(1000, 'closed by page'); },
    };
  }

  // --- document_idle scripts --------------------------------------------------------------------
  function addScript(src) {
    var element = document.createElement('script');
    if (nonce) element.nonce = nonce;
    element.async = false; // keep manifest order
    element.src = scriptUrlPolicy ? scriptUrlPolicy.createScriptURL(src) : src;
    (document.head || document.documentElement).appendChild(element);
  }
  function loadIdleScripts() {
    (config.idle || []).forEach(function (path) { addScript(bridge + path); });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', loadIdleScripts, { once: true });
  else loadIdleScripts();

  var api = {
    runtime: config.version,
    plugins: (config.plugins || []).slice(),
    infer: infer,
    connect: connect,
    onNavigate: onNavigate,
  };
  Object.freeze(api.plugins);
  w.AIPLUGS_API_PORT = config.apiPort;
  Object.defineProperty(w, 'AiPlugs', { value: Object.freeze(api), configurable: false, enumerable: false, writable: false });
})
