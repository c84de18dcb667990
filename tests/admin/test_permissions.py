"""Who may see and do what in the staff console, refused on the server and not only hidden."""

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from tests.support.console import (
    CHANGELIST,
    EXPORT,
    change_url,
    changelist,
    correct_url,
    form_data,
    make,
    refreshed,
    run_action,
)
from tests.support.factories import onecloud_data, png_upload
from tickets.customer.intake import submission_create
from tickets.models import Status


@pytest.mark.django_db
def test_view_only_staff_can_look_but_not_resend_cancel_or_correct(viewer_client):
    failed = make(status=Status.FAILED)
    tasks_before = DBTaskResult.objects.count()

    listing = changelist(viewer_client)
    detail = viewer_client.get(change_url(failed))

    assert listing.status_code == 200
    assert detail.status_code == 200
    choices = [name for name, _ in listing.context["action_form"].fields["action"].choices]
    assert "export_selected_csv" in choices
    assert {"resend_now", "cancel", "mark_duplicate_checked"}.isdisjoint(choices)
    assert 'value="resend_now"' not in listing.text
    assert 'value="resend_now"' not in detail.text
    assert correct_url(failed) not in detail.text
    # Refused on the server, not only hidden.
    run_action(viewer_client, "resend_now", failed)
    run_action(viewer_client, "cancel", failed)
    viewer_client.post(
        change_url(failed),
        {"CHANGE_FORM-action": "resend_now", "_selected_action": [failed.pk], "index": 0},
    )
    assert viewer_client.get(correct_url(failed)).status_code == 403
    assert (
        viewer_client.post(
            correct_url(failed), {**form_data(failed, name="X"), "note": "x"}
        ).status_code
        == 403
    )
    assert refreshed(failed).status == Status.FAILED
    assert refreshed(failed).name == "Ahmad Ibrahim"
    assert DBTaskResult.objects.count() == tasks_before
    # Looking includes exporting.
    assert viewer_client.get(reverse(EXPORT)).status_code == 200


@pytest.mark.django_db
def test_staff_without_the_view_permission_see_nothing(client, django_user_model, media):
    submission = submission_create(
        provider="onecloud", data=onecloud_data(), files={"attachment": png_upload()}
    )
    [attachment] = submission.attachments.all()
    stranger = django_user_model.objects.create_user(username="stranger", is_staff=True)
    client.force_login(stranger)

    for url in (
        reverse(CHANGELIST),
        change_url(submission),
        reverse(EXPORT),
        reverse("admin:tickets_submission_attachment", args=[submission.pk, attachment.pk]),
    ):
        assert client.get(url).status_code == 403, url


@pytest.mark.django_db
@pytest.mark.parametrize("logged_in_customer", [False, True])
def test_anonymous_or_non_staff_users_reach_no_admin_page_or_file(
    client, django_user_model, media, logged_in_customer
):
    if logged_in_customer:
        client.force_login(django_user_model.objects.create_user(username="customer"))
    submission = submission_create(
        provider="onecloud", data=onecloud_data(), files={"attachment": png_upload()}
    )
    [attachment] = submission.attachments.all()
    login = reverse("admin:login")

    for url in (
        reverse("admin:index"),
        reverse(CHANGELIST),
        change_url(submission),
        correct_url(submission),
        reverse(EXPORT),
        reverse("admin:tickets_submission_attachment", args=[submission.pk, attachment.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(login), url
    assert client.get(f"/media/{attachment.file.name}").status_code == 404
    assert run_action(client, "resend_now", submission).status_code == 302
    assert refreshed(submission).status == Status.QUEUED
