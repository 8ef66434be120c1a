import { join } from 'node:path';
import type { CapabilityIssuer } from '../bridge/page-capability.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import { NO_SNI_FILE } from '../ca/no-sni-certificate.js';
import type { GatewayConfig } from '../config/config-schema.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../events/logger.js';
import { servableFromPage } from '../inference/plugin-availability.js';
import { pickPort } from '../net/pick-port.js';
import { isAddressInUse, PortInUseError } from '../net/port-in-use.js';
import type { PluginRegistry } from '../plugins/plugin-registry.js';
import { createProxy, type GatewayProxy, type ProxyOptions } from '../proxy/create-proxy.js';
import { isGatewayOrigin, whyNoPlugins } from '../settings/active-plugins.js';
import type { SettingsStore } from '../settings/settings-store.js';
import { VERSION } from '../version.js';

export interface GatewayProxyOptions {
  config: GatewayConfig;
  /** Keeps the certificate for clients without SNI beside the CA. */
  dataDir: string;
  ca: CertificateAuthority;
  apiPort: number;
  registry: PluginRegistry;
  settings: SettingsStore;
  /** Told of each document decision, for the dashboard's activity view. */
  bus: EventBus;
  activePlugins: ProxyOptions['activePlugins'];
  capabilities: CapabilityIssuer;
  bridgeSecret: string;
  bridgeFetch: ProxyOptions['bridgeFetch'];
  logger: Logger;
}

/** Starts the intercepting proxy on a port from the configured range, with the configured limits. */
export async function startGatewayProxy({ config, dataDir, ca, apiPort, registry, settings, bus, activePlugins, capabilities, bridgeSecret, bridgeFetch, logger }: GatewayProxyOptions): Promise<GatewayProxy> {
  const requestedProxyPort = await pickPort(config.proxy.port, config.proxy.port_range);
  return createProxy({
    port: requestedProxyPort,
    ca,
    activePlugins,
    capabilities,
    bridgeSecret,
    bridgeFetch,
    logger: logger.child('proxy'),
    version: VERSION,
    apiPort: () => apiPort,
    cspMode: config.proxy.csp_mode,
    maxHeadBytes: config.proxy.max_head_bytes,
    trustedTestHosts: config.proxy.trusted_test_hosts,
    upstreamCaFiles: config.proxy.upstream_ca_files,
    localNetwork: { allowedPages: config.proxy.local_network_sites },
    leafCertificates: { cacheSize: config.proxy.leaf_cache_size, mintsPerSecond: config.proxy.leaf_mints_per_second, mintBurst: config.proxy.leaf_mint_burst },
    uploadReplayBytes: config.proxy.upload_replay_bytes,
    maxWebSocketMessageBytes: config.proxy.max_websocket_message_bytes,
    maxWebSocketTotalBytes: config.proxy.max_websocket_total_bytes,
    noSniCertificatePath: join(dataDir, NO_SNI_FILE),
    webAi: () => (config.webai.enabled ? { replaceNative: config.webai.replace_native } : null),
    decisions: {
      explainNoPlugins: (url) => (isGatewayOrigin(url, apiPort) ? 'gateway-page' : whyNoPlugins(registry, settings.get(), url)),
      onDecision: (decision) => bus.emit(decision),
    },
    servable: ({ plugin }) =>
      servableFromPage(plugin.manifest, { cloudConfigured: config.cloud.base_url !== null, userMode: settings.get().plugin_modes[plugin.id], fallback: config.cloud.fallback }),
  }).catch((error: unknown) => {
    throw isAddressInUse(error) ? new PortInUseError('proxy', requestedProxyPort) : error;
  });
}
