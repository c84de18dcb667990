"""Changelist filters that answer staff's first question: which ones need me?"""

from django.contrib import admin

from tickets.admin.selectors import submissions_needing_attention
from tickets.providers import enabled_providers


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [
            # Failed, held (configuration), rejected, or possibly duplicated at the provider.
            ("yes", "Needs attention"),
            ("duplicate", "Possible duplicate"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return submissions_needing_attention(queryset)
        if self.value() == "duplicate":
            return queryset.filter(possible_duplicate=True)
        return queryset


class ProviderFilter(admin.SimpleListFilter):
    """The configured providers by name; the column has no choices, so the registry gives them."""

    title = "provider"
    # The same query string as a plain field filter, so bookmarked lists keep working.
    parameter_name = "provider__exact"

    def lookups(self, request, model_admin):
        return [(provider.alias, provider.label) for provider in enabled_providers()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(provider=self.value())
        return queryset
