import { defineContentScript } from 'wxt/utils/define-content-script';
import { installNavigationHook } from '../injected/navigation-hook';

/** Page world, document_start, before any page script: SPA navigation events and injection detection. */
export default defineContentScript({
  matches: ['http://*/*', 'https://*/*'],
  runAt: 'document_start',
  world: 'MAIN',
  main() {
    installNavigationHook();
  },
});
