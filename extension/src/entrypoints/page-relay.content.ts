import { defineContentScript } from 'wxt/utils/define-content-script';
import { startPageRelay } from '../injected/page-relay';

/** ISOLATED world, top frame, document_start: the page's messenger to the background. */
export default defineContentScript({
  matches: ['http://*/*', 'https://*/*'],
  runAt: 'document_start',
  main() {
    startPageRelay();
  },
});
