import gzip

import pytest

from detection.engine import crawl
from detection.engine.crawl import RobotsRules, Scope, links_extract, sitemap_parse, url_normalize

# --- URL normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize("url, expected", [
    ("HTTP://Example.ORG:80/a", "http://example.org/a"),
    ("https://example.org:443", "https://example.org/"),
    ("https://example.org:8443/a", "https://example.org:8443/a"),
    ("https://example.org/a#comments", "https://example.org/a"),
    ("https://example.org/a/./b/../c/", "https://example.org/a/c/"),
    ("https://example.org/../../a", "https://example.org/a"),
    ("https://example.org/%7euser/%2e/a%2fb?q=%c3%a9", "https://example.org/~user/a%2Fb?q=%C3%A9"),
    ("https://example.org/a b/café", "https://example.org/a%20b/caf%C3%A9"),
    ("https://example.org/100%/x", "https://example.org/100%25/x"),
    ("https://example.org/?b=2&a=1&a=0", "https://example.org/?a=1&a=0&b=2"),
    ("https://example.org/p?id=4&PHPSESSID=abc&utm_source=x&utm_medium=y&sid=9",
     "https://example.org/p?id=4"),
    ("https://example.org/p;jsessionid=0A1B2C?page=2&sessionid=7", "https://example.org/p?page=2"),
    ("https://example.org/p?&&a=1&", "https://example.org/p?a=1"),
    ("https://Bücher.example/", "https://xn--bcher-kva.example/"),
    ("https://example.org./a", "https://example.org/a"),
    ("http://[2001:DB8::1]:80/a", "http://[2001:db8::1]/a"),
    ("  https://example.org/a\n/b\t ", "https://example.org/a/b"),
])
def test_equivalent_spellings_of_an_address_normalise_to_one(url, expected):
    assert url_normalize(url) == expected


@pytest.mark.parametrize("url", [
    "mailto:someone@example.org", "javascript:alert(1)", "data:image/png;base64,AAAA", "tel:+441234",
    "ftp://example.org/file", "https://user:secret@example.org/", "https://example.org:99999/",
    "https:///nohost", "", "   ", "https://a..b/", "https://example.org/" + "a" * 2000,
])
def test_addresses_a_crawler_would_not_fetch_normalise_to_none(url):
    assert url_normalize(url) is None


def test_a_relative_link_is_resolved_against_its_base():
    base = "https://example.org/forum/thread/7?page=2"
    assert url_normalize("../index.html", base) == "https://example.org/forum/index.html"
    assert url_normalize("?page=3", base) == "https://example.org/forum/thread/7?page=3"
    assert url_normalize("//cdn.example.net/x.jpg", base) == "https://cdn.example.net/x.jpg"
    assert url_normalize("#top", base) == "https://example.org/forum/thread/7?page=2"
    assert url_normalize("/a", None) is None  # a relative link without a base is not an address


def test_normalising_twice_changes_nothing():
    for url in ["HTTP://Example.org:80/a/../b/%7e?z=1&a=%2f#f", "https://x.example/a b?q=é&utm_id=1"]:
        once = url_normalize(url)
        assert once and url_normalize(once) == once


def test_the_host_key_and_the_robots_and_sitemap_addresses_come_from_the_origin():
    assert crawl.url_host("http://127.0.0.1:8123/a/b") == "127.0.0.1:8123"
    assert crawl.robots_url("HTTPS://Example.org:443/deep/page?x=1") == "https://example.org/robots.txt"
    assert crawl.sitemap_url("http://127.0.0.1:8123/a") == "http://127.0.0.1:8123/sitemap.xml"


# --- Links in a page ------------------------------------------------------------------------------

PAGE = "https://site.example/posts/1"


def test_srcset_candidates_keep_commas_inside_urls_and_read_descriptors():
    srcset = ("https://cdn.example/w_320,h_200/a.jpg 320w, https://cdn.example/w_640,h_400/a.jpg 640w,"
              "b.jpg 2x,c.jpg,, data:image/png;base64,AAAA 1x, d.jpg 100w 2x, e.jpg (junk, more) 3x")
    assert crawl.srcset_parse(srcset) == [
        ("https://cdn.example/w_320,h_200/a.jpg", "320w"),
        ("https://cdn.example/w_640,h_400/a.jpg", "640w"),
        ("b.jpg", "2x"),
        ("c.jpg", ""),
        ("data:image/png;base64,AAAA", "1x"),
        ("d.jpg", "100w"),
        ("e.jpg", "3x"),
    ]


def test_every_srcset_candidate_is_media_and_the_largest_is_the_one_shown():
    html = b"""<img src="a.jpg" srcset="a-small.jpg 320w, https://cdn.example/w_1280,q_80/a.jpg 1280w, a-mid.jpg 640w">
      <picture><source srcset="p.avif 1x, p@2x.avif 2x" type="image/avif"><img src="p.jpg"></picture>"""
    links = links_extract(PAGE, html)
    assert links.media == [
        "https://site.example/posts/a.jpg",
        "https://site.example/posts/a-small.jpg",
        "https://cdn.example/w_1280,q_80/a.jpg",
        "https://site.example/posts/a-mid.jpg",
        "https://site.example/posts/p.avif",
        "https://site.example/posts/p@2x.avif",
        "https://site.example/posts/p.jpg",
    ]
    assert links.shown == [
        "https://site.example/posts/a.jpg",
        "https://cdn.example/w_1280,q_80/a.jpg",
        "https://site.example/posts/p@2x.avif",
        "https://site.example/posts/p.jpg",
    ]
    assert links.pages == []


def test_pages_and_media_come_in_document_order_normalised_and_once():
    html = b"""<!doctype html><html><head>
      <meta property="og:image" content="/og.jpg"><meta name="twitter:image" content="https://cdn.example/t.png">
      <meta property="og:video" content="/clip.mp4"><meta name="description" content="/not-a-link">
      <link rel="next" href="/posts/2"><link rel="stylesheet" href="/style.css"><link rel="Prev" href="/posts/0">
      </head><body>
      <a href="/posts/3#comments">three</a><a href="HTTPS://SITE.example:443/posts/3">three again</a>
      <a href="mailto:x@example.org">mail</a><a href="javascript:void(0)">js</a><a>no href</a>
      <a href="/full/photo.JPG?size=orig"><img src="/thumbs/photo.jpg"></a>
      <map><area href="/map/area"></map><iframe src="https://embed.example/v/9"></iframe>
      <video src="v.webm" poster="poster.png"><source src="v.mp4" type="video/mp4"></video>
      <audio><source src="song.mp3"></audio><img src="data:image/png;base64,AAAA"><img src="">
    </body></html>"""
    links = links_extract(PAGE, html)
    assert links.pages == [
        "https://site.example/posts/2",
        "https://site.example/posts/0",
        "https://site.example/posts/3",
        "https://site.example/map/area",
        "https://embed.example/v/9",
    ]
    assert links.media == [
        "https://site.example/og.jpg",
        "https://cdn.example/t.png",
        "https://site.example/clip.mp4",
        "https://site.example/full/photo.JPG?size=orig",  # the full size behind a thumbnail
        "https://site.example/thumbs/photo.jpg",
        "https://site.example/posts/v.webm",
        "https://site.example/posts/poster.png",
        "https://site.example/posts/v.mp4",
    ]
    assert "https://site.example/full/photo.JPG?size=orig" not in links.shown
    assert "https://site.example/posts/poster.png" not in links.shown


def test_the_first_base_href_applies_to_every_link_even_those_above_it():
    html = b"""<head><meta property="og:image" content="og.jpg"><base href="https://mirror.example/gallery/">
      <base href="https://ignored.example/"></head><body><a href="page2.html">next</a><img src="../x.jpg"></body>"""
    links = links_extract(PAGE, html)
    assert links.pages == ["https://mirror.example/gallery/page2.html"]
    assert links.media == ["https://mirror.example/gallery/og.jpg", "https://mirror.example/x.jpg"]


def test_a_relative_base_href_is_resolved_against_the_page():
    links = links_extract(PAGE, b'<base href="/archive/"><a href="a">a</a>')
    assert links.pages == ["https://site.example/archive/a"]


@pytest.mark.parametrize("content, target", [
    ("0; url=/next", "https://site.example/next"),
    ("5;URL='https://other.example/x?a=1'", "https://other.example/x?a=1"),
    ('3, url="later.html" ignored', "https://site.example/posts/later.html"),
    ("0;/bare", "https://site.example/bare"),
    ("  10  ;  Url = next.html", "https://site.example/posts/next.html"),
])
def test_a_meta_refresh_target_is_a_page(content, target):
    html = f"<meta http-equiv='Refresh' content='{content}'>".encode() if '"' in content else \
        f'<meta http-equiv="Refresh" content="{content}">'.encode()
    assert links_extract(PAGE, html).pages == [target]


def test_a_meta_refresh_that_only_reloads_links_nowhere():
    assert crawl.meta_refresh_target("30") is None
    assert links_extract(PAGE, b'<meta http-equiv="refresh" content="30">').pages == []


def test_a_page_with_bad_bytes_and_broken_markup_still_yields_its_links():
    html = b'<a href="/a">\xff\xfe<img src="/i.jpg"<div><a href="/b"'  # the last tag never closes
    links = links_extract(PAGE, html)
    assert links.pages == ["https://site.example/a"]
    assert links.media == links.shown == ["https://site.example/i.jpg"]


# --- Scope ----------------------------------------------------------------------------------------

def test_without_patterns_a_watch_stays_on_the_hosts_of_its_start_urls():
    scope = Scope(["https://Forum.example/board/", "http://127.0.0.1:8123/"], [], max_depth=3)
    assert scope.max_depth == 3
    assert scope.allows("https://forum.example/other/page")
    assert scope.allows("http://forum.example/board/x")  # same host over http
    assert scope.allows("http://127.0.0.1:8123/deep/page")
    assert not scope.allows("http://127.0.0.1:9999/")  # another port is another site
    assert not scope.allows("https://sub.forum.example/")
    assert not scope.allows("https://elsewhere.example/")
    assert not scope.allows("mailto:x@forum.example")


def test_patterns_narrow_a_watch_to_a_section_and_may_name_other_hosts():
    scope = Scope(
        ["https://example.org/forum/"],
        ["https://EXAMPLE.org/forum/*", "https://mirror.example/*/photos/*", "https://example.org/search?q=*"],
        max_depth=2,
    )
    assert scope.allows("https://example.org/forum/")
    assert scope.allows("https://example.org/forum/thread/1?page=2")
    assert scope.allows("https://mirror.example/user/9/photos/1")
    assert scope.allows("https://example.org/search?q=name")
    assert not scope.allows("https://example.org/account/settings")
    assert not scope.allows("https://mirror.example/user/9/profile")
    assert not scope.allows("https://example.org/searchXq=name")  # "?" is literal, not a wildcard


def test_a_start_url_is_in_scope_even_when_no_pattern_names_it():
    scope = Scope(["https://example.org/start"], ["https://example.org/forum/*"], max_depth=1)
    assert scope.allows("https://example.org/start#x")
    assert not scope.allows("https://example.org/elsewhere")


# --- robots.txt -----------------------------------------------------------------------------------

ROBOTS = """\ufeff# a comment
User-agent: *
Disallow: /

User-agent: Reclaim
Disallow: /private/
Allow: /private/public-
Disallow: /*.gif$
Crawl-delay: 2.5

User-agent: OtherBot
Allow: /

Sitemap: https://site.example/sitemap.xml
Sitemap: https://site.example/news-sitemap.xml.gz
"""
AGENT = "Reclaim/0.1 (evidence capture for takedown requests)"


def test_robots_rules_for_our_user_agent_allow_and_disallow_by_the_longest_match():
    rules = RobotsRules.parse(ROBOTS, AGENT)
    assert rules.allowed("https://site.example/posts/1")
    assert not rules.allowed("https://site.example/private/photo.jpg")
    assert rules.allowed("https://site.example/private/public-photo.jpg")
    assert not rules.allowed("https://site.example/a/b.gif")
    assert rules.allowed("https://site.example/a/b.gif?x=1")
    assert rules.crawl_delay == 2.5
    assert rules.sitemaps == ["https://site.example/sitemap.xml", "https://site.example/news-sitemap.xml.gz"]


def test_an_agent_without_its_own_group_follows_the_star_group():
    rules = RobotsRules.parse(ROBOTS, "SomeoneElse/1.0")
    assert not rules.allowed("https://site.example/posts/1")
    assert rules.crawl_delay is None
    assert rules.allowed("https://site.example/robots.txt")  # RFC 9309 2.2.2: always allowed


def test_an_empty_robots_txt_allows_everything():
    rules = RobotsRules.parse("", AGENT)
    assert rules.allowed("https://site.example/anything") and rules.sitemaps == [] and rules.crawl_delay is None


@pytest.mark.parametrize("status, private_allowed, public_allowed", [
    (200, False, True),  # the file's own rules apply (Disallow: /private/)
    (404, True, True), (410, True, True), (403, True, True),  # "unavailable": no rules
    (429, False, False), (500, False, False), (503, False, False),  # "unreachable": assume the worst
    (None, False, False),  # no answer at all (connection refused, timed out)
])
def test_what_fetching_robots_txt_gave_decides_the_rules_as_rfc_9309_says(status, private_allowed, public_allowed):
    body = b"User-agent: *\nDisallow: /private/\n"
    rules = RobotsRules.from_response(status, body, AGENT)
    assert rules.allowed("https://site.example/private/a.jpg") is private_allowed
    assert rules.allowed("https://site.example/public/a.jpg") is public_allowed
    assert rules.allowed("https://site.example/robots.txt")


def test_only_the_first_500_kib_of_robots_txt_are_read():
    filler = ("# " + "x" * 98 + "\n") * 6000  # 600 kB of comments
    body = f"User-agent: *\nDisallow: /early/\n{filler}Disallow: /late/\n".encode()
    rules = RobotsRules.from_response(200, body, AGENT)
    assert not rules.allowed("https://site.example/early/a")
    assert rules.allowed("https://site.example/late/a")


def test_allow_all_and_disallow_all_say_so():
    assert RobotsRules.allow_all().allowed("https://x.example/a")
    assert not RobotsRules.disallow_all().allowed("https://x.example/a")


# --- Sitemaps -------------------------------------------------------------------------------------

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc>https://site.example/a</loc><lastmod>2026-01-01</lastmod></url>
  <url><loc>
      https://SITE.example/b?y=2&amp;x=1
  </loc><image:image><image:loc>https://site.example/img.jpg</image:loc></image:image></url>
  <url><loc>https://site.example/a#dup</loc></url>
  <url><loc>mailto:x@example.org</loc></url>
</urlset>"""

INDEX = b"""<?xml version="1.0"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://site.example/s1.xml</loc></sitemap>
  <sitemap><loc>https://site.example/s2.xml.gz</loc><lastmod>2026-01-01</lastmod></sitemap>
</sitemapindex>"""


def test_a_urlset_gives_its_page_urls_normalised():
    sitemap = sitemap_parse(URLSET)
    assert sitemap.urls == ["https://site.example/a", "https://site.example/b?x=1&y=2"]
    assert sitemap.sitemaps == [] and not sitemap.truncated


def test_a_sitemap_index_gives_more_sitemaps():
    sitemap = sitemap_parse(INDEX)
    assert sitemap.sitemaps == ["https://site.example/s1.xml", "https://site.example/s2.xml.gz"]
    assert sitemap.urls == []


def test_a_gzip_compressed_sitemap_is_read():
    assert sitemap_parse(gzip.compress(URLSET)).urls == sitemap_parse(URLSET).urls


def test_a_plain_text_sitemap_lists_one_url_a_line():
    assert sitemap_parse(b"https://site.example/a\n\nnot a url\nhttps://site.example/b\r\n").urls == [
        "https://site.example/a", "https://site.example/b",
    ]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://x.example/&lol3;</loc></url></urlset>"""


@pytest.mark.parametrize("data", [
    BILLION_LAUGHS,
    gzip.compress(BILLION_LAUGHS),
    BILLION_LAUGHS.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>').decode()
    .encode("utf-16"),  # a byte search for "<!DOCTYPE" would not see this one
    b'<?xml version="1.0"?><!DOCTYPE urlset SYSTEM "file:///etc/passwd"><urlset/>',
])
def test_a_sitemap_with_a_doctype_or_entities_is_refused(data):
    with pytest.raises(crawl.SitemapError) as error:
        sitemap_parse(data)
    assert error.value.reason == crawl.SITEMAP_DOCTYPE


def test_a_sitemap_over_the_size_limit_is_refused_compressed_or_not():
    with pytest.raises(crawl.SitemapError) as error:
        sitemap_parse(URLSET, max_bytes=100)
    assert error.value.reason == crawl.SITEMAP_TOO_LARGE.format(limit=100)
    # A gzip bomb: about 50 kB that would unpack to 51 MiB, over the 50 MiB sitemaps.org limit.
    bomb = gzip.compress(b"<urlset>" + b" " * (crawl.MAX_SITEMAP_BYTES + 1024 * 1024) + b"</urlset>")
    assert len(bomb) < 100_000
    with pytest.raises(crawl.SitemapError) as error:
        sitemap_parse(bomb)
    assert error.value.reason == crawl.SITEMAP_TOO_LARGE.format(limit=crawl.MAX_SITEMAP_BYTES)


def test_a_sitemap_keeps_at_most_50000_urls():
    entries = b"".join(b"<url><loc>https://site.example/p/%d</loc></url>" % i for i in range(50_010))
    sitemap = sitemap_parse(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + entries + b"</urlset>")
    assert len(sitemap.urls) == crawl.MAX_SITEMAP_URLS == 50_000
    assert sitemap.urls[-1] == "https://site.example/p/49999" and sitemap.truncated


@pytest.mark.parametrize("data, error", [
    (b"<urlset><url><loc>https://a.example/</loc></url>", "no element found"),
    (b"<urlset></sitemapindex>", "mismatched tag"),
    (b"\x1f\x8bnot really gzip", "Error -3 while decompressing data: unknown compression method"),
    (gzip.compress(URLSET)[:200], "unclosed token"),  # a download cut short
])
def test_a_broken_sitemap_is_an_error_with_a_reason(data, error):
    with pytest.raises(crawl.SitemapError) as raised:
        sitemap_parse(data)
    assert raised.value.reason == crawl.SITEMAP_NOT_XML.format(error=error)
