import type { Page, Response } from '@playwright/test';

/**
 * `page.goto`, once more when Chromium dropped the load with net::ERR_CERT_VERIFIER_CHANGED.
 * Chromium (146 and later) reconfigures its certificate verifier in the first moments of a fresh
 * profile, later when the machine is busy, and fails the TLS handshakes in flight with that error
 * instead of retrying them. The gateway cannot cause it (the verifier is the browser's own); any other
 * failure, or that one twice, is thrown as it came.
 */
export async function goto(page: Page, url: string, options?: Parameters<Page['goto']>[1]): Promise<Response | null> {
  try {
    return await page.goto(url, options);
  } catch (error) {
    if (!(error instanceof Error && error.message.includes('net::ERR_CERT_VERIFIER_CHANGED'))) throw error;
    return page.goto(url, options);
  }
}
