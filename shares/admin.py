"""The operator's pages (Django admin): shares, downloads, slots, bans.

Everything here is read-only except the actions, and every action calls the
same function in shares/services.py that the CLI calls.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from shares.config.durations import MAX_MINUTES
from shares.human import human_bytes, human_duration
from shares.models import Ban, Download, Share, Slot
from shares.operator import actions, housekeeping

admin.site.site_header = "pasla"
admin.site.site_title = "pasla"
admin.site.index_title = "Shares, downloads and bans"
admin.site.site_url = None  # there is no public site to go back to

# The inline on a share's page shows the latest downloads; the full
# history is one click away, paginated.
INLINE_DOWNLOADS = 100


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ShareActionForm(ActionForm):
    amount = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_MINUTES,
        label="N",
        help_text="minutes to extend by, or downloads to add",
    )


def _amount(modeladmin, request) -> int | None:
    # The action form's own validation also re-checks the action choice,
    # which the admin has done already: only N is read here.
    field = ShareActionForm.base_fields["amount"]
    try:
        value = field.clean(request.POST.get("amount", ""))
    except forms.ValidationError:
        value = None
    if value:
        return value
    modeladmin.message_user(request, f"Give N (1 to {MAX_MINUTES}) beside the action.", messages.ERROR)
    return None


class DownloadInline(ReadOnly, admin.TabularInline):
    model = Download
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("started_at", "finished_at", "client_ip", "status", "byte_range", "bytes_sent", "outcome")
    readonly_fields = fields
    verbose_name_plural = f"Downloads (latest {INLINE_DOWNLOADS})"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        latest = qs.order_by("-started_at", "-pk").values("pk")[:INLINE_DOWNLOADS]
        return qs.filter(pk__in=latest)

    @admin.display(description="range")
    def byte_range(self, obj):
        return f"{obj.range_start}-{obj.range_end}"


@admin.register(Share)
class ShareAdmin(ReadOnly, admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "state_now",
        "time_left_text",
        "downloads_text",
        "bytes_text",
        "active",
        "scheme",
        "port",
        "created_at",
    )
    list_filter = ("state", "kind", "scheme", "created_at")
    search_fields = ("id", "name", "path")
    date_hierarchy = "created_at"
    list_per_page = 50
    inlines = (DownloadInline,)
    action_form = ShareActionForm
    actions = ("revoke_shares", "extend_shares", "add_downloads")
    exclude = ("token_digest", "manifest")
    readonly_fields = ("history_link",)

    def get_queryset(self, request):
        active = Count("downloads", filter=Q(downloads__outcome=Download.Outcome.IN_PROGRESS))
        return super().get_queryset(request).annotate(active_count=active)

    def changelist_view(self, request, extra_context=None):
        # A server killed hard cleaned nothing up: do it before showing states.
        housekeeping.housekeeping()
        return super().changelist_view(request, extra_context)

    @admin.display(description="state", ordering="state")
    def state_now(self, obj):
        return obj.effective_state

    @admin.display(description="time left", ordering="expires_at")
    def time_left_text(self, obj):
        return human_duration(obj.time_left.total_seconds()) if obj.is_live else "-"

    @admin.display(description="downloads", ordering="slots_used")
    def downloads_text(self, obj):
        return f"{obj.slots_used}/{obj.max_downloads if obj.is_capped else '∞'}"

    @admin.display(description="bytes served", ordering="bytes_served")
    def bytes_text(self, obj):
        return human_bytes(obj.bytes_served)

    @admin.display(description="active", ordering="active_count")
    def active(self, obj):
        return obj.active_count

    @admin.display(description="download history")
    def history_link(self, obj):
        url = reverse("admin:shares_download_changelist") + f"?share__id__exact={obj.pk}"
        return format_html('<a href="{}">all downloads of this share</a>', url)

    @admin.action(description="Revoke (the link answers 410, the server stops)")
    def revoke_shares(self, request, queryset):
        stopped = sum(actions.stop_share(share) for share in queryset)
        self.message_user(request, f"Revoked {stopped} share(s).", messages.SUCCESS)

    @admin.action(description="Extend by N minutes")
    def extend_shares(self, request, queryset):
        minutes = _amount(self, request)
        if minutes is None:
            return
        for share in queryset:
            try:
                actions.extend(share, minutes)
            except actions.OperatorError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{share.id}: {minutes} more minute(s).", messages.SUCCESS)

    @admin.action(description="Raise the cap by N downloads")
    def add_downloads(self, request, queryset):
        count = _amount(self, request)
        if count is None:
            return
        for share in queryset:
            try:
                actions.add_downloads(share, count)
            except actions.OperatorError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request, f"{share.id}: cap raised to {share.max_downloads}.", messages.SUCCESS
                )


@admin.register(Download)
class DownloadAdmin(ReadOnly, admin.ModelAdmin):
    list_display = (
        "started_at",
        "share",
        "client_ip",
        "status",
        "range_start",
        "range_end",
        "bytes_sent",
        "outcome",
        "finished_at",
    )
    list_filter = ("outcome", "status", "started_at", "share__state")
    search_fields = ("client_ip", "share__id", "share__name", "user_agent")
    date_hierarchy = "started_at"
    list_select_related = ("share",)
    list_per_page = 100


@admin.register(Slot)
class SlotAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("share", "client_ip", "complete", "sent", "created_at", "updated_at")
    list_filter = ("complete", "created_at")
    search_fields = ("client_ip", "share__id", "share__name")
    list_select_related = ("share",)


@admin.register(Ban)
class BanAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("ip", "share", "reason", "strikes", "created_at")
    list_filter = ("created_at",)
    search_fields = ("ip", "share__id", "share__name")
    list_select_related = ("share",)
    actions = ("unban",)

    @admin.action(description="Unban (lift the ban now)")
    def unban(self, request, queryset):
        count = 0
        for ban in queryset:
            actions.unban(ban)
            count += 1
        self.message_user(request, f"Unbanned {count} address(es).", messages.SUCCESS)
