// @ts-check
/// <reference path="../../types/aiplugs-page.d.ts" />
// Image Reader, in the page: hovering an image shows a "Read text" button; clicking it sends the
// image to the plugin's local backend (Tesseract OCR) and shows the text in a panel under the image.
// The button and panels live in one shadow root laid over the document, so the page's layout and
// CSS are untouched; the UI is rebuilt from nothing but DOM calls (works under strict CSP and
// Trusted Types).
(() => {
  const PLUGIN = 'image-reader';
  const MIN_WIDTH = 40;
  const MIN_HEIGHT = 16;
  /** Larger images are scaled down before OCR: Tesseract gains nothing from more pixels. */
  const MAX_SIDE = 3000;

  const sheet = new CSSStyleSheet();
  sheet.replaceSync(`
    :host { all: initial; }
    .layer { position: absolute; top: 0; left: 0; width: 0; height: 0; z-index: 2147483646;
      font: 13px/1.4 system-ui, sans-serif; }
    button { font: 600 12px/1 system-ui, sans-serif; border: 0; border-radius: 6px; cursor: pointer;
      padding: 6px 9px; color: #fff; background: #1d4ed8; box-shadow: 0 1px 4px rgba(0,0,0,.3); }
    button:hover { background: #1e40af; }
    .read { position: absolute; }
    .read[hidden] { display: none; }
    .panel { position: absolute; max-width: 480px; min-width: 180px; background: #fff; color: #0f172a;
      border: 1px solid #cbd5e1; border-radius: 8px; box-shadow: 0 4px 16px rgba(0,0,0,.2); padding: 8px 10px; }
    .panel .head { display: flex; gap: 6px; align-items: center; margin-bottom: 6px; color: #475569; font-size: 11px; }
    .panel .head span { flex: 1; }
    .panel .head button { padding: 3px 6px; font-size: 11px; }
    .panel .head button.close { background: #64748b; }
    .panel .text { white-space: pre-wrap; margin: 0; font: 13px/1.45 ui-monospace, monospace; max-height: 320px; overflow: auto; }
    .panel.error .text { color: #b91c1c; font-family: system-ui, sans-serif; }
  `);

  const host = document.createElement('aiplugs-image-reader');
  const root = host.attachShadow({ mode: 'open' });
  root.adoptedStyleSheets = [sheet];
  const layer = document.createElement('div');
  layer.className = 'layer';
  const readButton = document.createElement('button');
  readButton.className = 'read';
  readButton.type = 'button';
  readButton.textContent = 'Read text';
  readButton.hidden = true;
  layer.append(readButton);
  root.append(layer);

  /** The layer sits at the document's origin, so page coordinates position things on it. */
  function attach() {
    if (!host.isConnected) document.documentElement.append(host);
    host.style.setProperty('position', 'absolute', 'important');
    host.style.setProperty('top', '0', 'important');
    host.style.setProperty('left', '0', 'important');
    host.style.setProperty('display', 'block', 'important');
  }

  /** @param {Element} element */
  function pageRect(element) {
    const rect = element.getBoundingClientRect();
    const origin = document.documentElement.getBoundingClientRect();
    return { left: rect.left - origin.left, top: rect.top - origin.top, width: rect.width, height: rect.height };
  }

  /** @param {EventTarget | null} target @returns {target is HTMLImageElement} */
  function readable(target) {
    if (!(target instanceof HTMLImageElement) || !target.complete) return false;
    const rect = target.getBoundingClientRect();
    return target.naturalWidth >= MIN_WIDTH && target.naturalHeight >= MIN_HEIGHT && rect.width >= MIN_WIDTH && rect.height >= MIN_HEIGHT;
  }

  // --- the hover button -------------------------------------------------------------------------
  /** @type {HTMLImageElement | null} */
  let hovered = null;
  let hideTimer = 0;

  /** @param {HTMLImageElement} image */
  function showButton(image) {
    attach();
    clearTimeout(hideTimer);
    hovered = image;
    const rect = pageRect(image);
    readButton.style.left = `${rect.left + 6}px`;
    readButton.style.top = `${rect.top + 6}px`;
    readButton.hidden = false;
  }
  function hideSoon() {
    clearTimeout(hideTimer);
    hideTimer = window.setTimeout(() => {
      readButton.hidden = true;
      hovered = null;
    }, 400);
  }
  /** @param {MouseEvent} event */
  const onOver = (event) => {
    if (event.target === host) clearTimeout(hideTimer);
    else if (readable(event.target)) showButton(event.target);
  };
  /** @param {MouseEvent} event */
  const onOut = (event) => {
    if ((event.target === hovered || event.target === host) && event.relatedTarget !== host && event.relatedTarget !== hovered) hideSoon();
  };
  readButton.addEventListener('click', () => {
    if (hovered) void read(hovered);
  });

  // --- reading ------------------------------------------------------------------------------------
  /** @param {Blob} blob @returns {Promise<string>} */
  function blobToDataUrl(blob) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }

  /**
   * The image's pixels as a PNG data: URL. Drawing on a canvas works for same-origin, CORS-enabled,
   * data: and blob: images; for others, the bytes are fetched (with the page's cookies) instead.
   * @param {HTMLImageElement} image
   */
  async function imageData(image) {
    try {
      const scale = Math.min(1, MAX_SIDE / Math.max(image.naturalWidth, image.naturalHeight));
      const canvas = document.createElement('canvas');
      canvas.width = Math.round(image.naturalWidth * scale);
      canvas.height = Math.round(image.naturalHeight * scale);
      const context = canvas.getContext('2d');
      if (!context) throw new Error('no 2d context');
      context.fillStyle = '#fff'; // transparent PNGs read better on white
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      return canvas.toDataURL('image/png'); // throws SecurityError for a cross-origin image
    } catch {
      const response = await fetch(image.currentSrc || image.src, { credentials: 'include' });
      if (!response.ok) throw new Error(`Could not fetch the image (HTTP ${response.status})`);
      return blobToDataUrl(await response.blob());
    }
  }

  /** @type {Map<HTMLImageElement, HTMLElement>} */
  const panels = new Map();

  /** @param {HTMLImageElement} image */
  function panelFor(image) {
    let panel = panels.get(image);
    if (!panel) {
      panel = document.createElement('div');
      panel.className = 'panel';
      panel.setAttribute('role', 'status');
      const head = document.createElement('div');
      head.className = 'head';
      const title = document.createElement('span');
      title.className = 'title';
      const copy = document.createElement('button');
      copy.type = 'button';
      copy.textContent = 'Copy';
      const close = document.createElement('button');
      close.type = 'button';
      close.className = 'close';
      close.textContent = 'Close';
      close.setAttribute('aria-label', 'Close');
      head.append(title, copy, close);
      const text = document.createElement('pre');
      text.className = 'text';
      panel.append(head, text);
      const owned = panel;
      copy.addEventListener('click', () => void navigator.clipboard?.writeText(text.textContent ?? ''));
      close.addEventListener('click', () => {
        owned.remove();
        panels.delete(image);
      });
      panels.set(image, panel);
      layer.append(panel);
    }
    const rect = pageRect(image);
    panel.style.left = `${rect.left}px`;
    panel.style.top = `${rect.top + rect.height + 6}px`;
    return panel;
  }

  /** @param {HTMLElement} panel @param {'reading' | 'done' | 'error'} state @param {string} title @param {string} body */
  function showPanel(panel, state, title, body) {
    panel.dataset.state = state;
    panel.classList.toggle('error', state === 'error');
    /** @type {HTMLElement} */ (panel.querySelector('.title')).textContent = title;
    /** @type {HTMLElement} */ (panel.querySelector('.text')).textContent = body;
  }

  /** @param {HTMLImageElement} image */
  async function read(image) {
    const panel = panelFor(image);
    showPanel(panel, 'reading', 'Image Reader', 'Reading text… (the first use loads the OCR model)');
    try {
      /** @type {{ text: string, confidence: number }} */
      const answer = await window.AiPlugs.infer(PLUGIN, { image: await imageData(image) });
      showPanel(panel, 'done', `Tesseract, ${answer.confidence}% confident`, answer.text || '(no text found)');
    } catch (error) {
      showPanel(panel, 'error', 'Image Reader', `Could not read this image: ${/** @type {Error} */ (error).message}`);
    }
  }

  // --- lifecycle --------------------------------------------------------------------------------
  /** Panels follow their images when the layout changes, and go when their image goes. */
  function relayout() {
    for (const [image, panel] of panels) {
      if (!image.isConnected) {
        panel.remove();
        panels.delete(image);
      } else {
        panelFor(image);
      }
    }
  }
  const stopNavigate = window.AiPlugs.onNavigate(() => {
    attach();
    readButton.hidden = true;
    hovered = null;
    relayout();
  });
  const onResize = () => relayout();
  document.addEventListener('mouseover', onOver, true);
  document.addEventListener('mouseout', onOut, true);
  window.addEventListener('resize', onResize);
  window.AiPlugs.onStop?.(PLUGIN, () => {
    stopNavigate();
    document.removeEventListener('mouseover', onOver, true);
    document.removeEventListener('mouseout', onOut, true);
    window.removeEventListener('resize', onResize);
    host.remove();
  });
  attach();
})();
