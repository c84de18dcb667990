"""Fixtures for the staff-console tests: a view-only staff member, and a private media folder."""

import pytest
from django.contrib.auth.models import Permission


@pytest.fixture
def viewer_client(client, django_user_model):
    """A staff member who may only look: the "view submission" permission and nothing else."""
    viewer = django_user_model.objects.create_user(
        username="viewer", password="a-long-test-password", is_staff=True
    )
    viewer.user_permissions.add(Permission.objects.get(codename="view_submission"))
    client.force_login(viewer)
    return client


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path
