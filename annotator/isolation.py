"""Cross-origin isolation on every response: the browser's decoder runs WebAssembly on
several threads, which needs `crossOriginIsolated`, so COOP and COEP must be on every
response the page loads (its HTML, scripts, workers, the .wasm and the API), not only on the
page. COEP `credentialless` still lets the page show cross-origin images without a resource
policy header (a source's photos served from elsewhere)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "credentialless",
}


class CrossOriginIsolationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for name, value in HEADERS.items():
            response.headers[name] = value
        return response
