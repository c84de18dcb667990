"""StoreHub's form, as tickets/providers/storehub/README.md describes it.

Written out here, not read from ``StoreHubForm``: tests/providers/test_form_contract.py holds the
form to it. Phone (16 digits once normalised) is checked in test_form.py: what people type is
longer than what is sent.
"""

FORM_CONTRACT = {
    # Every "Yes" of Ticket and Appointment but IsReceiveSms: a checkbox, so always a value.
    "required": {
        "name",
        "phone",
        "issue",
        "priority",
        "address",
        "state",
        "service_id",
        "latitude",
        "longitude",
    },
    "text_limits": {
        "name": 100,
        "email": 100,
        "store_name": 100,
        "dealer_reseller": 50,
        "address": 500,
        "issue": 500,
        "remark": 1000,
    },
    "choices": {
        "priority": [-1, 0, 1],  # Low, Normal, High
        "service_id": [1, 2, 3, 18, 23, 39],
        # The 13 states and 3 federal territories (State's 50 characters are never reached).
        "state": [
            "Johor",
            "Kedah",
            "Kelantan",
            "Melaka",
            "Negeri Sembilan",
            "Pahang",
            "Pulau Pinang",
            "Perak",
            "Perlis",
            "Sabah",
            "Sarawak",
            "Selangor",
            "Terengganu",
            "Kuala Lumpur",
            "Labuan",
            "Putrajaya",
        ],
    },
    "uploads": {},
}
