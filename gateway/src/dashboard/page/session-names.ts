/**
 * How the dashboard's page proves a call is its own, beside its session cookie: browsers send a
 * cookie of 127.0.0.1 to every port of it, so a server another account runs there would get the
 * cookie from any request the browser makes to it. The sign-in also hands the page a key, in the
 * fragment of the address it goes on to (never sent to a server), which the page keeps in its
 * origin's storage (one port's alone) and sends with each API call: in this header, or, for the
 * event stream (EventSource sends no headers), in this query parameter.
 */
export const SESSION_KEY_HEADER = 'x-aiplugs-session';
export const SESSION_KEY_PARAM = 'session';
