import { defineContentScript } from 'wxt/utils/define-content-script';
import { startPairingListener } from '../injected/pairing-listener';

/** Gateway pages on this machine (any port): the dashboard's "Pair the extension". */
export default defineContentScript({
  matches: ['http://127.0.0.1/*', 'http://localhost/*'],
  runAt: 'document_start',
  main() {
    startPairingListener();
  },
});
