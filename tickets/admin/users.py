"""Staff accounts in the console: Django's own, with each account's second factor, and a
superuser's reset of it for a lost phone.

django-otp's own device pages are taken out of the console: they show an app's secret to
whoever may view devices. A reset is the one thing anyone does to another person's devices.
"""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy, ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from tickets.admin.second_factor import selectors, services

User = get_user_model()

for device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(device_model):
        admin.site.unregister(device_model)
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class StaffAdmin(UserAdmin):
    list_display = (*UserAdmin.list_display, "second_factor")
    actions = ("reset_second_factor",)

    def get_queryset(self, request):
        return selectors.with_second_factor(super().get_queryset(request))

    @admin.display(description=gettext_lazy("Second factor"), boolean=True)
    def second_factor(self, user) -> bool:
        return user.has_second_factor

    def has_reset_second_factor_permission(self, request) -> bool:
        return request.user.is_superuser

    @admin.action(
        description=gettext_lazy("Reset the second factor (a lost phone)"),
        permissions=["reset_second_factor"],
    )
    def reset_second_factor(self, request, queryset) -> None:
        for user in queryset:
            services.second_factor_reset(user=user)
            self.log_change(request, user, "Reset the second factor.")
        count = len(queryset)
        self.message_user(
            request,
            ngettext(
                "The second factor of %(count)d account is reset: it sets up a new one at its "
                "next sign-in.",
                "The second factor of %(count)d accounts is reset: each sets up a new one at its "
                "next sign-in.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
