/**
 * What a page is told when a call fails: the stable code and a message written for any website
 * to read. Gateway messages can hold paths, stderr, tracebacks, model source URLs and hashes;
 * those stay in the log and the dashboard. A code missing here gets the fallback text. No imports:
 * the extension tells pages the same (extension/src/background/message-handlers.ts).
 */
const PAGE_MESSAGES: Record<string, string> = {
  backend_error: "The plugin's backend failed on this request",
  models_unavailable: "The plugin's model files are not available (see the AiPlugs dashboard)",
  worker_busy: 'The plugin is busy; try again shortly',
  worker_failed: "The plugin's backend is stopped after repeated crashes (see the AiPlugs dashboard)",
  worker_start_failed: "The plugin's backend could not start",
  worker_crashed: "The plugin's backend crashed while answering",
  worker_restarted: "The plugin's backend was restarted before it answered",
  worker_timeout: "The plugin's backend did not answer in time",
  worker_memory_exceeded: "The plugin's backend used more memory than allowed and was stopped",
  worker_cpu_exceeded: "The plugin's backend used more CPU time than allowed and was stopped",
  result_too_large: "The plugin's backend answered more than AiPlugs passes on",
  no_local_backend: 'The plugin has no local backend',
  unsupported_backend: "The plugin's backend cannot run on this machine",
  no_inference: 'The plugin declares no backend',
  plugin_not_found: 'No such plugin',
  plugin_disabled: 'The plugin is disabled',
  plugin_not_injected: 'This plugin is not active on this page',
  mode_not_allowed: 'This plugin may not run in the requested mode on pages',
  cloud_budget_exceeded: "The plugin used up its cloud budget for now; try again in a minute",
  cloud_input_too_large: 'This call sends more to the cloud AI server than AiPlugs allows pages',
  cloud_not_configured: 'No cloud AI server is configured in AiPlugs',
  cloud_unreachable: 'The cloud AI server could not be reached',
  cloud_timeout: 'The cloud AI server did not answer in time',
  cloud_rate_limited: 'The cloud AI server is rate limiting; try again later',
  cloud_unauthorized: 'The cloud AI server refused the configured credentials',
  cloud_not_found: 'The cloud AI server does not know this endpoint or model',
  cloud_error: 'The cloud AI server failed',
  cloud_rejected: 'The cloud AI server rejected the request',
  cloud_bad_response: 'The cloud AI server sent an answer AiPlugs cannot read',
  cloud_response_too_large: 'The cloud AI server sent more than AiPlugs accepts',
  invalid_body: 'The request body does not have the expected shape',
  invalid_json: 'The request body is not valid JSON',
  invalid_payload: 'The payload is not what this plugin accepts',
  body_too_large: 'The request body is too large',
  gateway_busy: 'AiPlugs is busy; try again shortly',
  file_not_found: 'No such plugin file',
  not_found: 'No such AiPlugs route',
  method_not_allowed: 'This AiPlugs route does not answer that method',
  forbidden: 'Pages may not make this call',
  capability_required: 'Pages may not make this call',
  shutting_down: 'AiPlugs is shutting down',
  cancelled: 'The call was cancelled',
  gateway_down: 'AiPlugs is not running',
  gateway_unpaired: 'The AiPlugs extension is not paired with a gateway',
  extension_error: 'The AiPlugs extension failed on this call',
  extension_unavailable: 'The AiPlugs extension did not answer (it may have been updated or reloaded)',
  too_many_requests: 'This page has too many AiPlugs calls in flight; try again shortly',
};

/** The message a page is given for an error code. */
export function pageMessage(code: string): string {
  return PAGE_MESSAGES[code] ?? `The AiPlugs call failed (${code})`;
}
