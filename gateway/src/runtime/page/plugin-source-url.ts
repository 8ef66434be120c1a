/**
 * The name a plugin's file runs under when its code is inline (a `//# sourceURL=` comment): stack
 * traces and DevTools show `aiplugs://<plugin>/<file>` instead of an anonymous script. Shared by the
 * proxy's markup and the runtime, so a file has one name however it arrived. Percent-encoded, so
 * no file name can end the comment's line.
 */
export function pluginSourceUrl(pluginId: string, file: string): string {
  return `aiplugs://${encodeURIComponent(pluginId)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}
