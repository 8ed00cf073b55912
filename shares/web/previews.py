"""Link-preview fetchers: they get the landing page whatever their Accept says.

Chat and social apps fetch a pasted URL to draw a card, often with
`Accept: */*`, which would otherwise be answered with the file and use a
slot. Each entry is a User-Agent substring that no browser sends, with who
sends it; matching is case-insensitive on a bounded prefix of the header.
"""

PREVIEW_AGENTS = (
    ("facebookexternalhit", "Facebook, Messenger and Instagram link cards; iMessage sends it too"),
    ("Facebot", "Facebook's other fetcher"),
    ("Slackbot", "Slack unfurls (Slackbot-LinkExpanding, Slackbot 1.0)"),
    ("Twitterbot", "X/Twitter cards; also sent by iMessage"),
    ("Discordbot", "Discord embeds"),
    ("WhatsApp", "WhatsApp previews; Signal sends it too"),
    ("TelegramBot", "Telegram link previews"),
    ("LinkedInBot", "LinkedIn post previews"),
    ("SkypeUriPreview", "Skype and Microsoft Teams previews"),
    ("BingPreview", "Bing's page snapshots, also behind Outlook previews"),
    ("Mastodon", "every Mastodon server that receives a post with the link"),
    ("Synapse", "Matrix homeservers' URL previews"),
    ("redditbot", "Reddit link posts"),
    ("Pinterestbot", "Pinterest pins"),
    ("vkShare", "VK share cards"),
    ("Snap URL Preview", "Snapchat previews"),
    ("MicrosoftPreview", "Outlook and Teams previews"),
    ("Embedly", "embed services used by many sites"),
    ("Iframely", "embed services used by many sites"),
    ("Googlebot", "Google's crawler: a pasted link in a public page"),
    ("bingbot", "Bing's crawler"),
    ("Applebot", "Apple's crawler behind Siri and Spotlight suggestions"),
)

MAX_AGENT = 512  # enough for any real User-Agent; the rest is not read
_NEEDLES = tuple(needle.lower() for needle, _ in PREVIEW_AGENTS)


def is_link_preview(user_agent: str | None) -> bool:
    if not user_agent:
        return False
    agent = user_agent[:MAX_AGENT].lower()
    return any(needle in agent for needle in _NEEDLES)
