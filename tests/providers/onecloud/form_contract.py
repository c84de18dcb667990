"""OneCloud's form, as tickets/providers/onecloud/README.md documents it (the keys the form's fields
become are client.py's business: fullName is ``name``, contact is ``email``).

Written out here, not read from ``OneCloudForm``: tests/providers/test_form_contract.py holds the
form to it.
"""

FORM_CONTRACT = {
    # Every key the document marks "Y"; the coordinate is optional, as both halves or neither.
    "required": {"name", "email", "subject", "category", "content"},
    "text_limits": {
        "name": 100,
        "email": 254,  # an e-mail address's own limit: the document gives none
        "subject": 200,
        "content": 5000,
    },
    # The categories are a setting; these are its default (ONECLOUD_CATEGORIES).
    "choices": {"category": ["Request", "Question", "Complaint", "Problem"]},
    "uploads": {
        "attachment": {"jpg", "jpeg", "png"},
        "file": {
            *("doc", "docx", "xls", "xlsx", "ppt", "pptx", "pdf", "csv", "txt"),
            *("jpg", "jpeg", "png"),
        },
    },
}
