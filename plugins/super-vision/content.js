// @ts-check
/// <reference path="../../types/aiplugs-page.d.ts" />
// Super Vision, in the page: hovering an image shows a "Detect objects" button; clicking it sends
// the image to the plugin's local backend (CenterNet, 80 COCO classes), then draws a labelled box
// over the image for every object found and lists them in a panel under it. Everything lives in
// one shadow root laid over the document (the page's layout and CSS are untouched), built from DOM
// calls only (works under strict CSP and Trusted Types).
(() => {
  const PLUGIN = 'super-vision';
  const MIN_SIDE = 32;
  /** The page sends at most this many pixels on a side (the detector looks at 512 × 512). */
  const MAX_SEND_SIDE = 1280;
  /** How often the panel asks for the model download's progress while a detection waits. */
  const POLL_MS = 500;

  const sheet = new CSSStyleSheet();
  sheet.replaceSync(`
    :host { all: initial; }
    .layer { position: absolute; top: 0; left: 0; width: 0; height: 0; z-index: 2147483646;
      font: 13px/1.4 system-ui, sans-serif; }
    button { white-space: nowrap; font: 600 12px/1 system-ui, sans-serif; border: 0; border-radius: 6px; cursor: pointer;
      padding: 6px 9px; color: #fff; background: #7c3aed; box-shadow: 0 1px 4px rgba(0,0,0,.3); }
    button:hover { background: #6d28d9; }
    .detect { position: absolute; transform: translateX(-100%); }
    .detect[hidden] { display: none; }
    .overlay { position: absolute; overflow: hidden; pointer-events: none; }
    .box { position: absolute; box-sizing: border-box; border: 2px solid #f59e0b; border-radius: 2px; }
    .box.hot { border-color: #ef4444; border-width: 3px; }
    .box .tag { position: absolute; left: -2px; top: -2px; transform: translateY(-100%); white-space: nowrap;
      padding: 1px 4px; font: 600 11px/1.3 system-ui, sans-serif; color: #111827; background: #f59e0b; border-radius: 2px 2px 0 0; }
    .box.top .tag { transform: none; border-radius: 0 0 2px 0; }
    .panel { position: absolute; transform: translateX(-100%); max-width: 360px; min-width: 240px; background: #fff; color: #0f172a;
      border: 1px solid #cbd5e1; border-radius: 8px; box-shadow: 0 4px 16px rgba(0,0,0,.2); padding: 8px 10px; }
    .panel .head { display: flex; gap: 6px; align-items: center; margin-bottom: 6px; color: #475569; font-size: 11px; }
    .panel .head span { flex: 1; white-space: nowrap; }
    .panel .head button { padding: 3px 6px; font-size: 11px; background: #64748b; }
    .panel .message { margin: 0; }
    .panel.error .message { color: #b91c1c; }
    .panel ol { margin: 0; padding: 0 0 0 20px; max-height: 240px; overflow: auto; }
    .panel li { padding: 1px 0; cursor: default; }
    .panel li .score { color: #64748b; margin-left: 6px; font-variant-numeric: tabular-nums; }
  `);

  const host = document.createElement('aiplugs-super-vision');
  const root = host.attachShadow({ mode: 'open' });
  root.adoptedStyleSheets = [sheet];
  const layer = document.createElement('div');
  layer.className = 'layer';
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
  function detectable(target) {
    if (!(target instanceof HTMLImageElement) || !target.complete || target.naturalWidth < MIN_SIDE || target.naturalHeight < MIN_SIDE) return false;
    const rect = target.getBoundingClientRect();
    return rect.width >= MIN_SIDE && rect.height >= MIN_SIDE;
  }

  // --- the trigger: the one place that decides where "Detect objects" lives ----------------------
  // Today a button on the hovered image; when the page dock (AiPlugs.ui) exists, this function is
  // what moves there. The rest of the script only knows `onPick(image)`.
  /** @param {(image: HTMLImageElement) => void} onPick */
  function createImageButton(onPick) {
    const button = document.createElement('button');
    button.className = 'detect';
    button.type = 'button';
    button.textContent = 'Detect objects';
    button.hidden = true;
    layer.append(button);
    /** @type {HTMLImageElement | null} */
    let hovered = null;
    let hideTimer = 0;
    const hideSoon = () => {
      clearTimeout(hideTimer);
      hideTimer = window.setTimeout(() => {
        button.hidden = true;
        hovered = null;
      }, 400);
    };
    /** @param {MouseEvent} event */
    const onOver = (event) => {
      if (event.target === host) return clearTimeout(hideTimer);
      if (!detectable(event.target)) return;
      attach();
      clearTimeout(hideTimer);
      hovered = event.target;
      // The top-right corner: the top-left one is where other image plugins (image-reader) go.
      const rect = pageRect(hovered);
      button.style.left = `${rect.left + rect.width - 6}px`;
      button.style.top = `${rect.top + 6}px`;
      button.hidden = false;
    };
    /** @param {MouseEvent} event */
    const onOut = (event) => {
      if ((event.target === hovered || event.target === host) && event.relatedTarget !== host && event.relatedTarget !== hovered) hideSoon();
    };
    button.addEventListener('click', () => {
      if (hovered) onPick(hovered);
    });
    document.addEventListener('mouseover', onOver, true);
    document.addEventListener('mouseout', onOut, true);
    return {
      reset() {
        button.hidden = true;
        hovered = null;
      },
      stop() {
        document.removeEventListener('mouseover', onOver, true);
        document.removeEventListener('mouseout', onOut, true);
        button.remove();
      },
    };
  }

  // --- the image's pixels ------------------------------------------------------------------------
  /**
   * The image as a JPEG data: URL of at most MAX_SEND_SIDE on a side, with its full size so the
   * boxes come back in its own pixels; null when the canvas is tainted (cross-origin, no CORS).
   * @param {HTMLImageElement} image
   */
  function pixelsOf(image) {
    const width = image.naturalWidth;
    const height = image.naturalHeight;
    const scale = Math.min(1, MAX_SEND_SIDE / Math.max(width, height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    const context = canvas.getContext('2d');
    if (!context) return null;
    context.fillStyle = '#fff';
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    try {
      return { image: canvas.toDataURL('image/jpeg', 0.9), size: { width, height } };
    } catch {
      return null; // SecurityError: the image is from another origin that does not allow reading it
    }
  }

  /** The same URL loaded again as a CORS request (no cookies): readable if its server allows it. @param {string} url */
  function loadWithCors(url) {
    const copy = new Image();
    copy.crossOrigin = 'anonymous';
    copy.src = url;
    return copy.decode().then(() => copy, () => null);
  }

  /**
   * An image chosen from `srcset` reports its size in CSS pixels (a 640w file shown at 320px is
   * 320 wide): the same file loaded on its own (cached) reports its real pixels.
   * @param {HTMLImageElement} image @param {string} url
   */
  async function fullResolution(image, url) {
    if (!image.srcset && !(image.parentElement instanceof HTMLPictureElement)) return image;
    const copy = new Image();
    copy.src = url;
    return copy.decode().then(() => copy, () => image);
  }

  /**
   * What to send for this image: its pixels when the page can read them (same origin, data:,
   * blob:, or CORS allows), else its http(s) address for the backend to fetch (fetch-image.js
   * explains the limits on that). Boxes come back in the coordinates of what was sent, and are
   * drawn in percent of the picture, so the size sent never has to match the size shown.
   * @param {HTMLImageElement} image
   * @returns {Promise<{ image: string, size: { width: number, height: number } } | { url: string }>}
   */
  async function payloadFor(image) {
    const url = image.currentSrc || image.src;
    const direct = pixelsOf(await fullResolution(image, url));
    if (direct) return direct;
    const copy = await loadWithCors(url);
    const viaCors = copy && pixelsOf(copy);
    if (viaCors) return viaCors;
    return { url };
  }

  // --- results: boxes over the image, a list under it ------------------------------------------
  /**
   * @typedef {{ label: string, class_id: number, score: number, box: { x: number, y: number, width: number, height: number } }} Detection
   * @typedef {{ model: string, image: { width: number, height: number }, detections: Detection[], elapsed_ms: number }} Found
   * @typedef {{ refused: { code: string, message: string } }} Refused
   * @typedef {{ panel: HTMLElement, overlay: HTMLElement | null }} View
   */

  /**
   * Where the picture itself is drawn inside the element (page coordinates): the content box,
   * narrowed by `object-fit: contain | cover | none | scale-down` (centred, the default position).
   * @param {HTMLImageElement} image
   */
  function pictureRect(image) {
    const rect = pageRect(image);
    const style = getComputedStyle(image);
    const px = (/** @type {string} */ value) => Number.parseFloat(value) || 0;
    const left = rect.left + px(style.borderLeftWidth) + px(style.paddingLeft);
    const top = rect.top + px(style.borderTopWidth) + px(style.paddingTop);
    const width = rect.width - px(style.borderLeftWidth) - px(style.paddingLeft) - px(style.paddingRight) - px(style.borderRightWidth);
    const height = rect.height - px(style.borderTopWidth) - px(style.paddingTop) - px(style.paddingBottom) - px(style.borderBottomWidth);
    const box = { left, top, width, height };
    const fit = style.objectFit;
    if (fit === 'fill' || !image.naturalWidth || !image.naturalHeight) return { box, picture: box };
    const contain = Math.min(width / image.naturalWidth, height / image.naturalHeight);
    const scale = fit === 'cover' ? Math.max(width / image.naturalWidth, height / image.naturalHeight) : fit === 'none' ? 1 : fit === 'scale-down' ? Math.min(1, contain) : contain;
    const shownWidth = image.naturalWidth * scale;
    const shownHeight = image.naturalHeight * scale;
    return { box, picture: { left: left + (width - shownWidth) / 2, top: top + (height - shownHeight) / 2, width: shownWidth, height: shownHeight } };
  }

  /** @type {Map<HTMLImageElement, View>} */
  const views = new Map();
  const resizes = new ResizeObserver(() => relayout());

  /** @param {HTMLImageElement} image */
  function viewFor(image) {
    let view = views.get(image);
    if (!view) {
      const panel = document.createElement('div');
      panel.className = 'panel';
      panel.setAttribute('role', 'status');
      const head = document.createElement('div');
      head.className = 'head';
      const title = document.createElement('span');
      title.className = 'title';
      const close = document.createElement('button');
      close.type = 'button';
      close.textContent = 'Close';
      close.setAttribute('aria-label', 'Close');
      head.append(title, close);
      const body = document.createElement('div');
      body.className = 'body';
      panel.append(head, body);
      close.addEventListener('click', () => forget(image));
      layer.append(panel);
      view = { panel, overlay: null };
      views.set(image, view);
      resizes.observe(image);
    }
    return view;
  }

  /** @param {HTMLImageElement} image */
  function forget(image) {
    const view = views.get(image);
    if (!view) return;
    view.panel.remove();
    view.overlay?.remove();
    views.delete(image);
    resizes.unobserve(image);
  }

  /** @param {HTMLElement} panel @param {'working' | 'done' | 'error'} state @param {string} title @param {Node} body */
  function showPanel(panel, state, title, body) {
    panel.dataset.state = state;
    panel.classList.toggle('error', state === 'error');
    /** @type {HTMLElement} */ (panel.querySelector('.title')).textContent = title;
    /** @type {HTMLElement} */ (panel.querySelector('.body')).replaceChildren(body);
  }

  /** @param {string} text */
  function message(text) {
    const p = document.createElement('p');
    p.className = 'message';
    p.textContent = text;
    return p;
  }

  /** @param {number} score */
  const percent = (score) => `${Math.round(score * 100)}%`;

  /** Boxes positioned in percent of the picture, so they follow it when it is resized. @param {Found} found */
  function drawBoxes(found) {
    const overlay = document.createElement('div');
    overlay.className = 'overlay';
    const picture = document.createElement('div');
    picture.className = 'picture';
    picture.style.position = 'absolute';
    overlay.append(picture);
    found.detections.forEach((detection, index) => {
      const box = document.createElement('div');
      box.className = 'box';
      box.dataset.index = String(index);
      box.dataset.label = detection.label;
      box.style.left = `${(detection.box.x / found.image.width) * 100}%`;
      box.style.top = `${(detection.box.y / found.image.height) * 100}%`;
      box.style.width = `${(detection.box.width / found.image.width) * 100}%`;
      box.style.height = `${(detection.box.height / found.image.height) * 100}%`;
      box.classList.toggle('top', detection.box.y / found.image.height < 0.06); // no room for the tag above
      const tag = document.createElement('span');
      tag.className = 'tag';
      tag.textContent = `${detection.label} ${percent(detection.score)}`;
      box.append(tag);
      picture.append(box);
    });
    layer.append(overlay);
    return overlay;
  }

  /** @param {Found} found @param {HTMLElement} overlay */
  function detectionList(found, overlay) {
    if (found.detections.length === 0) return message('No objects found (it knows 80 everyday kinds: people, animals, vehicles, furniture, food…).');
    const list = document.createElement('ol');
    found.detections.forEach((detection, index) => {
      const item = document.createElement('li');
      item.append(detection.label);
      const score = document.createElement('span');
      score.className = 'score';
      score.textContent = percent(detection.score);
      item.append(score);
      const box = overlay.querySelector(`.box[data-index="${index}"]`);
      item.addEventListener('mouseenter', () => box?.classList.add('hot'));
      item.addEventListener('mouseleave', () => box?.classList.remove('hot'));
      list.append(item);
    });
    return list;
  }

  /** Puts the panel under the image and the overlay over its picture. @param {HTMLImageElement} image @param {View} view */
  function place(image, view) {
    const { box, picture } = pictureRect(image);
    // Right-aligned under the image (clear of another plugin's left-aligned panel), never off the page's left edge.
    view.panel.style.left = `${Math.max(box.left + box.width, view.panel.offsetWidth)}px`;
    view.panel.style.top = `${box.top + box.height + 8}px`;
    if (!view.overlay) return;
    Object.assign(view.overlay.style, { left: `${box.left}px`, top: `${box.top}px`, width: `${box.width}px`, height: `${box.height}px` });
    const inner = /** @type {HTMLElement} */ (view.overlay.firstElementChild);
    Object.assign(inner.style, { left: `${picture.left - box.left}px`, top: `${picture.top - box.top}px`, width: `${picture.width}px`, height: `${picture.height}px` });
  }

  /** What the user reads when a call fails. @param {unknown} error */
  function explain(error) {
    const failure = /** @type {Partial<AiPlugsError>} */ (error);
    if (failure.code === 'models_unavailable') {
      return 'The object detector model is not downloaded and could not be fetched now (offline?). Connect and try again, or run "aiplugs models pull super-vision"; the AiPlugs dashboard shows why.';
    }
    return `Could not detect objects: ${failure.message ?? String(error)}`;
  }

  /** @param {number} bytes */
  const megabytes = (bytes) => (bytes / 1e6).toFixed(1);

  /**
   * While `pending` is unsettled, asks every POLL_MS how far the model download is and shows it
   * in the panel; the first use is the only one that waits on a download.
   * @param {HTMLElement} panel @param {Promise<unknown>} pending
   */
  function showDownloadProgress(panel, pending) {
    const stop = new AbortController();
    let timer = 0;
    const poll = () => {
      window.AiPlugs.modelStatus(PLUGIN, { signal: stop.signal }).then(
        (status) => {
          if (stop.signal.aborted) return;
          if (status.state === 'downloading' && status.totalBytes) {
            const done = Math.min(100, Math.floor((100 * status.receivedBytes) / status.totalBytes));
            showPanel(panel, 'working', 'Super Vision', message(`Downloading the detector model: ${done}% (${megabytes(status.receivedBytes)} of ${megabytes(status.totalBytes)} MB)`));
          }
          timer = window.setTimeout(poll, POLL_MS);
        },
        () => undefined, // progress is a nicety: the infer itself reports what went wrong
      );
    };
    poll();
    const settle = () => {
      stop.abort();
      clearTimeout(timer);
    };
    pending.then(settle, settle);
  }

  /** @param {HTMLImageElement} image */
  async function detect(image) {
    attach();
    const view = viewFor(image);
    view.overlay?.remove();
    view.overlay = null;
    place(image, view);
    showPanel(view.panel, 'working', 'Super Vision', message('Finding objects… (the first use downloads the detector model, about 4 MB)'));
    try {
      /** @type {Promise<Found | Refused>} */
      const pending = window.AiPlugs.infer(PLUGIN, await payloadFor(image));
      showDownloadProgress(view.panel, pending);
      const answer = await pending;
      if (!views.has(image)) return; // closed meanwhile
      if ('refused' in answer) return showPanel(view.panel, 'error', 'Super Vision', message(`Could not read this image: ${answer.refused.message}`));
      view.overlay = drawBoxes(answer);
      view.overlay.dataset.count = String(answer.detections.length);
      place(image, view);
      const count = answer.detections.length;
      showPanel(view.panel, 'done', `${count} object${count === 1 ? '' : 's'} · CenterNet · ${answer.elapsed_ms} ms`, detectionList(answer, view.overlay));
    } catch (error) {
      if (views.has(image)) showPanel(view.panel, 'error', 'Super Vision', message(explain(error)));
    }
  }

  // --- lifecycle --------------------------------------------------------------------------------
  /** Views follow their images when the layout changes, and go when their image goes. */
  function relayout() {
    for (const [image, view] of views) {
      if (image.isConnected) place(image, view);
      else forget(image);
    }
  }
  const trigger = createImageButton((image) => void detect(image));
  const stopNavigate = window.AiPlugs.onNavigate(() => {
    attach();
    trigger.reset();
    relayout();
  });
  const onResize = () => relayout();
  window.addEventListener('resize', onResize);
  window.AiPlugs.onStop?.(PLUGIN, () => {
    stopNavigate();
    trigger.stop();
    resizes.disconnect();
    window.removeEventListener('resize', onResize);
    host.remove();
  });
  attach();
})();
