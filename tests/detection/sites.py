"""The crawl tests' site, served on 127.0.0.1 (test_crawl, test_crawl_workers): planted photos of the
enrolled subject two to four links deep, a robots.txt Disallow, a sitemap, a redirect, a broken link, a
slow page and an endless calendar. Its request log, with each request's time, is the evidence of what was
(and was not) fetched, and how fast."""

import time

from tests.detection.test_fetching import LocalServer

# Planted photos of the subject a crawl that obeys robots.txt must find (paths on the site).
PLANTED = ("/img/depth2.jpg", "/img/depth3.jpg", "/img/depth4.jpg", "/img/listed.jpg")
SLOW_S = 0.5  # how long /slow takes to answer


def html(body: str, etag: str | None = None):
    data = f"<!doctype html><html><body>{body}</body></html>".encode()
    return 200, {"Content-Type": "text/html; charset=utf-8", "ETag": etag}, data


def jpeg(data: bytes, etag: str):
    return 200, {"Content-Type": "image/jpeg", "ETag": etag}, data


class Site(LocalServer):
    """The test site. Pages and images carry an ETag; a request whose If-None-Match matches gets 304.
    ``filler`` plain pages (/page/N), linked from the home page, make a longer crawl."""

    def __init__(self, images: dict[str, bytes], filler: int = 0):
        super().__init__()
        self.times: list[tuple[float, str]] = []  # (time.monotonic() when the request came, path)
        face, other = images["reported-astronaut.jpg"], images["reported-coffee.jpg"]
        r = self.routes
        r["/robots.txt"] = (200, {"Content-Type": "text/plain"},
                            f"User-agent: *\nDisallow: /private/\nSitemap: {self.url('/sitemap.xml')}\n".encode())
        r["/sitemap.xml"] = (200, {"Content-Type": "application/xml"}, (
            '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{self.url('/listed')}</loc></url></urlset>").encode())
        r["/"] = html('<a href="/a">a</a> <a href="/old">old</a> <a href="/broken">broken</a> '
                      '<a href="/private/album">private</a> <a href="/calendar/1">calendar</a> '
                      '<a href="/slow">slow</a> <a href="mailto:x@example.org">mail</a>'
                      + "".join(f' <a href="/page/{n}">{n}</a>' for n in range(filler)), etag='"home"')
        for n in range(filler):
            r[f"/page/{n}"] = html(f"page {n}", etag=f'"page{n}"')
        r["/a"] = html('<a href="/a/b">deeper</a> <img src="/img/shared.jpg">', etag='"a"')
        r["/a/b"] = html('<a href="/a/b/c">deeper</a> <img src="/img/depth2.jpg" alt="">', etag='"ab"')
        r["/a/b/c"] = html('<a href="/a/b/c/d">deeper</a> <img srcset="/img/depth3.jpg 2x">', etag='"abc"')
        r["/a/b/c/d"] = html('<picture><source srcset="/img/depth4.jpg"></picture>', etag='"abcd"')
        r["/old"] = (301, {"Location": "/moved"}, b"")
        r["/moved"] = html('<img src="/img/shared.jpg">', etag='"moved"')
        r["/private/album"] = html('<img src="/private/secret.jpg">')
        r["/private/secret.jpg"] = jpeg(face, '"secret"')
        r["/listed"] = html('<meta property="og:image" content="/img/listed.jpg">', etag='"listed"')
        for name in ("depth2", "depth3", "depth4", "listed"):
            r[f"/img/{name}.jpg"] = jpeg(face, f'"{name}"')
        r["/img/shared.jpg"] = jpeg(other, '"shared"')
        r["/slow"] = self.slow
        self._answer_conditionally_and_endlessly()

    def _answer_conditionally_and_endlessly(self):
        """The endless calendar and conditional answers (a route table cannot say either)."""
        base = self
        handler_class = self.httpd.RequestHandlerClass
        original = handler_class.do_GET

        def do_get(handler):
            base.times.append((time.monotonic(), handler.path))
            path = handler.path
            if path.startswith("/calendar/"):
                n = int(path.split("/")[2].split("?")[0])
                base.routes[path] = html(f'<a href="/calendar/{n + 1}?sid={n}">next month</a>')
            route = base.routes.get(path)
            if isinstance(route, tuple) and route[1].get("ETag") and handler.headers.get("If-None-Match") == route[1]["ETag"]:
                base.requests.append((path, dict(handler.headers)))
                handler.send_response(304)
                handler.send_header("ETag", route[1]["ETag"])
                handler.end_headers()
                return
            original(handler)

        handler_class.do_GET = do_get

    def slow(self, handler):
        time.sleep(SLOW_S)
        status, headers, body = html("slow but there")
        handler.send_response(status)
        handler.send_header("Content-Type", headers["Content-Type"])
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def most_in_one_second(self) -> int:
        """The most requests that came within any one second of the log (each request opens a window)."""
        times = sorted(t for t, _ in self.times)
        return max((sum(1 for t in times if start <= t < start + 1.0) for start in times), default=0)
