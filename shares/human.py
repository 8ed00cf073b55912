"""Sizes and durations as people read them: the terminal, `list`, the admin and the landing page."""


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.1f} {unit}" if unit != "B" else f"{int(count)} B"
        count /= 1024
    return f"{count} B"


def human_minutes(minutes: float) -> str:
    if minutes < 1:
        return f"{round(minutes * 60)} second(s)"
    if minutes == int(minutes):
        return f"{int(minutes)} minute(s)"
    return f"{minutes:.2f} minute(s)"


def human_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s"
