"""The staff console's CSV export: the filtered or selected list, safe to open in a spreadsheet."""

import csv
import io

import pytest
from django.urls import reverse

from tests.support.console import EXPORT, changelist, make, run_action
from tickets.models import Status


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.django_db
def test_the_export_streams_the_filtered_list_as_csv(admin_client):
    failed = make(status=Status.FAILED, name="Ahmad Ibrahim", ticket_id="")
    make(status=Status.SENT, ticket_id="1")
    make("onecloud", status=Status.FAILED)

    response = admin_client.get(
        reverse(EXPORT), {"status__exact": "failed", "provider__exact": "storehub"}
    )

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="submissions-')
    header, *rows = csv_rows(response)
    assert header[:4] == ["reference", "created_at", "provider", "status"]
    assert [row[0] for row in rows] == [failed.reference]
    row = dict(zip(header, rows[0], strict=True))
    assert row["status"] == "failed"
    assert row["provider"] == "StoreHub"
    assert row["email"] == "ahmad_ibrahim@gmail.com"
    # Every provider form's own fields follow, empty where the provider does not ask for them.
    # A choice as the words the customer chose, not its code; the pin's coordinates.
    assert (row["issue"], row["receive_sms"]) == ("*Onsite Support", "yes")
    assert row["service_id"] == "iOS hardware installation (on-site deployment)"
    assert row["priority"] != "0" and not row["priority"].isdigit()
    assert (row["latitude"], row["longitude"]) == (str(failed.latitude), str(failed.longitude))
    assert row["subject"] == ""


@pytest.mark.django_db
def test_the_export_button_carries_the_filters_and_search(admin_client):
    page = changelist(admin_client, status__exact="failed", q="Ahmad").content.decode()

    assert f'href="{reverse(EXPORT)}?q=Ahmad&amp;status__exact=failed"' in page


@pytest.mark.django_db
@pytest.mark.parametrize("formula", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)"])
def test_the_export_defuses_spreadsheet_formulas(admin_client, formula):
    make(name=formula)

    header, row = csv_rows(admin_client.get(reverse(EXPORT)))

    assert dict(zip(header, row, strict=True))["name"] == "'" + formula


@pytest.mark.django_db
@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_no_cell_becomes_a_formula_whatever_the_spreadsheets_list_separator(
    admin_client, separator
):
    make(name="Kedai;=cmd|' /C calc'!A0", remark="ok, =1+1\t@SUM(A1);+2")

    response = admin_client.get(reverse(EXPORT))
    text = b"".join(response.streaming_content).decode("utf-8-sig")

    # Cut as a spreadsheet with that list separator may cut it, quotes or not.
    for line in text.splitlines()[1:]:
        for cell in line.split(separator):
            assert not cell.strip().strip('"').startswith(("=", "+", "-", "@")), cell
    header, row = csv_rows(admin_client.get(reverse(EXPORT)))
    assert dict(zip(header, row, strict=True))["name"] == "Kedai;'=cmd|' /C calc'!A0"


@pytest.mark.django_db
def test_the_export_action_exports_the_selected_rows(admin_client):
    chosen, _other = make(), make()

    response = run_action(admin_client, "export_selected_csv", chosen)

    assert [row[0] for row in csv_rows(response)[1:]] == [chosen.reference]
