"""Link-preview fetchers get the landing page whatever they accept (shares/web/previews.py).

One server for the module: each entry's request must add no download row
and leave every slot where it was.
"""

import pytest

from shares.web.previews import PREVIEW_AGENTS, is_link_preview
from tests.conftest import start_pasla

WEBKIT = "AppleWebKit/537.36 (KHTML, like Gecko)"
# A real User-Agent for every entry of the table, as each service sends it.
SAMPLES = {
    "facebookexternalhit": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Facebot": "Facebot",
    "Slackbot": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Twitterbot": "Twitterbot/1.0",
    "Discordbot": "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "WhatsApp": "WhatsApp/2.23.20.0 A",
    "TelegramBot": "TelegramBot (like TwitterBot)",
    "LinkedInBot": "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "SkypeUriPreview": (
        "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com"
    ),
    "BingPreview": f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {WEBKIT} BingPreview/1.0b",
    "Mastodon": "http.rb/5.1.1 (Mastodon/4.2.10; +https://mastodon.social/)",
    "Synapse": "Synapse (bot; +https://github.com/matrix-org/synapse)",
    "redditbot": "Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)",
    "Pinterestbot": "Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)",
    "vkShare": "Mozilla/5.0 (compatible; vkShare; +http://vk.com/dev/Share)",
    "Snap URL Preview": "Mozilla/5.0 (compatible; Snap URL Preview Service; +https://developers.snap.com/robots)",
    "MicrosoftPreview": (
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {WEBKIT} Chrome/96.0.4664.93 Safari/537.36 "
        "Edg/96.0.1054.53 (compatible; MicrosoftPreview/2.0; +https://aka.ms/MicrosoftPreview)"
    ),
    "Embedly": "Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)",
    "Iframely": "Iframely/1.3.1 (+https://iframely.com/docs/about)",
    "Googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "bingbot": "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Applebot": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)"
    ),
}
NOT_PREVIEWS = [
    "curl/8.5.0",
    "Wget/1.21.4",
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {WEBKIT} Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
    "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.22621.2506",
    "",
]


def test_every_table_entry_has_a_sample():
    assert sorted(SAMPLES) == sorted(needle for needle, _ in PREVIEW_AGENTS)


@pytest.mark.parametrize("agent", NOT_PREVIEWS)
def test_browsers_and_programs_are_not_previews(agent):
    assert not is_link_preview(agent)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("previews")
    data = tmp / "data"
    data.mkdir(mode=0o700)
    shared = tmp / "report.pdf"
    shared.write_bytes(b"%PDF-1.4 not really\n" * 1000)
    server = start_pasla([shared, 10, 1000], data, tmp)
    yield server
    server.proc.kill()
    server.proc.wait(timeout=10)
    server.proc.stdout.close()
    assert server.token not in server.stderr()


@pytest.mark.parametrize("needle", sorted(SAMPLES))
@pytest.mark.parametrize("accept", ["*/*", None, "application/pdf"])
def test_a_preview_fetch_gets_the_page_and_uses_nothing(served, needle, accept):
    headers = {"User-Agent": SAMPLES[needle]}
    if accept:
        headers["Accept"] = accept
    before = len(served.downloads())
    resp, body = served.request(headers=headers)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    assert b"<form" in body and b"report.pdf" in body
    assert len(served.downloads()) == before
    assert served.share_row()["slots_used"] == 0


def test_programs_still_get_the_file_on_that_share(served):
    resp, body = served.request(headers={"User-Agent": "curl/8.5.0", "Accept": "*/*"})
    assert resp.status == 200 and body.startswith(b"%PDF")
