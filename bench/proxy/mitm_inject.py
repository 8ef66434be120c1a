"""mitmproxy addon equivalent to the gateway's document injection, for bench/proxy.

Same decisions as gateway/src/proxy: a GET navigation (Sec-Fetch-Dest document/iframe/frame and
Sec-Fetch-Mode navigate, or Accept: text/html without fetch metadata) whose 2xx response is HTML
gets one script tag right after <head> (else after <html>, else at the top), conditional request
headers are dropped, and the injected document is sent uncached with CSP headers stripped.
Bodies larger than STREAM_BYTES are streamed untouched (mitmproxy cannot rewrite a streamed body).

Run: mitmdump -q -s bench/proxy/mitm_inject.py --set stream_large_bodies=1m
"""
import re

from mitmproxy import http

MARKUP = b'<script data-aiplugs="runtime">window.AIPLUGS_API_PORT=5000</script><script src="/__aiplugs/api/plugins/bench-inject/files/content.js"></script>'
HEAD = re.compile(rb"<head(?:\s[^>]*)?>", re.I)
HTML = re.compile(rb"<html(?:\s[^>]*)?>", re.I)
CONDITIONAL = ["if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range"]
CACHE = ["cache-control", "expires", "etag", "last-modified", "age", "pragma"]
BLOCKING = ["content-security-policy", "content-security-policy-report-only", "x-frame-options"]


def is_document_request(request: http.Request) -> bool:
    if request.method != "GET":
        return False
    dest = request.headers.get("sec-fetch-dest")
    if dest is not None:
        return dest.lower() in ("document", "iframe", "frame") and request.headers.get("sec-fetch-mode", "").lower() == "navigate"
    if request.headers.get("x-requested-with", "").lower() == "xmlhttprequest":
        return False
    return re.search(r"text/html|application/xhtml\+xml", request.headers.get("accept", ""), re.I) is not None


def request(flow: http.HTTPFlow) -> None:
    if is_document_request(flow.request):
        for name in CONDITIONAL:
            flow.request.headers.pop(name, None)


def response(flow: http.HTTPFlow) -> None:
    response = flow.response
    if response is None or response.stream or not is_document_request(flow.request):
        return
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (200 <= response.status_code < 300) or content_type not in ("text/html", "application/xhtml+xml"):
        return
    body = response.content  # decoded (gzip, br, deflate, zstd)
    if body is None:
        return
    match = HEAD.search(body, 0, 64 * 1024) or HTML.search(body, 0, 64 * 1024)
    at = match.end() if match else 0
    response.content = body[:at] + MARKUP + body[at:]  # re-encoded to the response's encoding
    for name in CACHE + BLOCKING:
        response.headers.pop(name, None)
    response.headers["cache-control"] = "no-store"
